package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"csirtlink/internal/egress"
	"csirtlink/internal/tlp"
)

// cjkSummary is the kind of summary a page between cn, jp and kr carries.
const cjkSummary = "フィッシングサイト 203.0.113.7 / 피싱 사이트 신고 / 钓鱼网站仍在运行"

func jpPage() Page {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	seoul, _ := time.LoadLocation("Asia/Seoul")
	return Page{
		ID: "pg-0042", From: "jp", FromName: "JPCERT/CC", To: "kr",
		Severity: "high", Summary: cjkSummary, Details: "詳細: ログを添付します。\n로그를 확인하세요.",
		TLP: "AMBER", IncidentID: "INC-7", SentAt: time.Date(2026, 3, 1, 9, 4, 0, 0, time.UTC),
		FromZone: tokyo, ToZone: seoul, Level: 1, Round: 1,
		AckCode: "482913", AckURL: "https://jp.example/ack/pg-0042",
		Egress: decide(egress.PersonMail, "AMBER", false),
	}
}

// decide asks egress, the only maker of decisions, about a page from jp to kr's
// people.
func decide(kind egress.Kind, label string, encrypted bool) egress.Decision {
	return egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(label), Author: "jp", Recipients: []string{"kr"}},
		Context: egress.Context{Self: "kr", Peers: []string{"jp"}, Participants: []string{"jp", "kr"}},
		To:      egress.Destination{Kind: kind, Team: "kr", Encrypted: encrypted}})
}

// personMail allows a clear-text mail to one of kr's people.
var personMail = decide(egress.PersonMail, "AMBER", false)

func newKey(t *testing.T, name, email string) *openpgp.Entity {
	t.Helper()
	e, err := GenerateKey(name, email)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newMailer(t *testing.T, cfg SMTPConfig, signer *openpgp.Entity) *Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "JPCERT/CC hotline <hotline@jp.example>"
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	m, err := NewMailer(cfg, signer)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func onlyMessage(t *testing.T, srv *testSMTP) received {
	t.Helper()
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func decodeHeader(t *testing.T, s string) string {
	t.Helper()
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatalf("decode header %q: %v", s, err)
	}
	return out
}

// readEntity parses a MIME entity and returns its header and decoded text.
func readEntity(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, string(text)
}

func checkSevenBit(t *testing.T, raw []byte) {
	t.Helper()
	for i, c := range raw {
		if c >= 0x80 {
			t.Fatalf("byte %d is 0x%x: the message must be 7-bit clean", i, c)
		}
	}
	for i, l := range bytes.Split(raw, []byte("\r\n")) {
		if len(l) > 998 {
			t.Fatalf("line %d is %d bytes long", i, len(l))
		}
	}
}

func TestSendEncryptedAndSigned(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	signer := newKey(t, "jp node", "hotline@jp.example")
	duty := newKey(t, "KrCERT duty officer", "duty@kr.example")
	pub, err := ArmorPublic(duty)
	if err != nil {
		t.Fatal(err)
	}
	// The node keeps its key armored; sign with a key read back from that.
	signerArmored, err := ArmorPrivate(signer)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := ReadArmoredKey(signerArmored)
	if err != nil {
		t.Fatal(err)
	}
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, stored)

	subject, body := RenderMail(jpPage())
	err = m.Send(context.Background(), Mail{Egress: personMail,
		To: "Duty <duty@kr.example>", Subject: subject, Body: body, RecipientKey: pub,
		Headers: map[string]string{"X-Csirtlink-Page": "pg-0042"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	checkSevenBit(t, got.data)
	if got.from != "hotline@jp.example" || len(got.to) != 1 || got.to[0] != "duty@kr.example" {
		t.Fatalf("envelope from %q to %q", got.from, got.to)
	}

	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != NeutralSubject {
		t.Errorf("clear-text Subject = %q, want the neutral %q", s, NeutralSubject)
	}
	if bytes.Contains(got.data, []byte("482913")) || bytes.Contains(got.data, []byte("Phishing")) {
		t.Error("ack code visible outside the encryption")
	}
	if msg.Header.Get("X-Csirtlink-Page") != "pg-0042" {
		t.Errorf("X-Csirtlink-Page = %q", msg.Header.Get("X-Csirtlink-Page"))
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("Content-Type = %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	p1, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	v, _ := io.ReadAll(p1)
	if p1.Header.Get("Content-Type") != "application/pgp-encrypted" || !strings.Contains(string(v), "Version: 1") {
		t.Fatalf("first part %q: %q", p1.Header.Get("Content-Type"), v)
	}
	p2, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if ct := p2.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		t.Fatalf("second part Content-Type = %q", ct)
	}
	block, err := armor.Decode(p2)
	if err != nil {
		t.Fatal(err)
	}

	// The recipient decrypts with the private key as stored in armor, and
	// knows the signer's public key.
	dutyArmored, err := ArmorPrivate(duty)
	if err != nil {
		t.Fatal(err)
	}
	dutyPriv, err := ReadArmoredKey(dutyArmored)
	if err != nil {
		t.Fatal(err)
	}
	signerPubArmored, err := ArmorPublic(signer)
	if err != nil {
		t.Fatal(err)
	}
	signerPub, err := ReadArmoredKey(signerPubArmored)
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{dutyPriv, signerPub}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !md.IsEncrypted || !md.IsSigned || md.SignedBy == nil {
		t.Fatalf("encrypted=%v signed=%v signedBy=%v", md.IsEncrypted, md.IsSigned, md.SignedBy)
	}
	if !bytes.Equal(md.SignedBy.Entity.PrimaryKey.Fingerprint, signer.PrimaryKey.Fingerprint) {
		t.Error("signed by another key than the signer")
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	if md.SignatureError != nil {
		t.Fatalf("signature: %v", md.SignatureError)
	}

	inner, text := readEntity(t, plain)
	if got := decodeHeader(t, inner.Get("Subject")); got != subject {
		t.Errorf("protected Subject = %q, want %q", got, subject)
	}
	if !strings.Contains(inner.Get("Content-Type"), `protected-headers="v1"`) {
		t.Errorf("inner Content-Type = %q", inner.Get("Content-Type"))
	}
	for _, want := range []string{cjkSummary, "482913", "https://jp.example/ack/pg-0042", "TLP:AMBER"} {
		if !strings.Contains(text, want) {
			t.Errorf("decrypted text lacks %q:\n%s", want, text)
		}
	}
}

func TestSendEncryptedWithoutSigner(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	duty := newKey(t, "duty", "duty@kr.example")
	pub, _ := ArmorPublic(duty)
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, nil)
	if err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "안녕하세요", RecipientKey: pub}); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	i := bytes.Index(got.data, []byte("-----BEGIN PGP MESSAGE-----"))
	if i < 0 {
		t.Fatal("no PGP message")
	}
	block, err := armor.Decode(bytes.NewReader(got.data[i:]))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{duty}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(md.UnverifiedBody)
	if md.IsSigned {
		t.Error("signed without a signer")
	}
	if _, text := readEntity(t, plain); text != "안녕하세요" {
		t.Errorf("text = %q", text)
	}
}

func TestSendPlain(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, nil)
	subject := "[TLP:GREEN] 긴급 호출: 钓鱼网站 — フィッシング " + strings.Repeat("長い件名", 20)
	body := "From the start: a line that begins with From.\nSecond line 第二行\r\n\n" + strings.Repeat("x", 2000) + "\n.\n"
	err := m.Send(context.Background(), Mail{Egress: personMail,
		To: "当番 <duty@cn.example>", Subject: subject, Body: body,
		Headers: map[string]string{"x-csirtlink-page": "pg-1", "Importance": "high"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	checkSevenBit(t, got.data)
	h, text := readEntity(t, got.data)
	if d := decodeHeader(t, h.Get("Subject")); d != subject {
		t.Errorf("Subject decodes to %q, want %q", d, subject)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@jp.example>") {
		t.Errorf("Message-ID = %q", id)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("MIME-Version"))
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "当番" || to[0].Address != "duty@cn.example" {
		t.Errorf("To = %v (%v)", to, err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "hotline@jp.example" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if h.Get("X-Csirtlink-Page") != "pg-1" || h.Get("Importance") != "high" {
		t.Errorf("extra headers: %v", h)
	}
	want := strings.ReplaceAll(body, "\r\n", "\n")
	if strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n") != strings.TrimRight(want, "\n") {
		t.Errorf("body round trip:\n got %q\nwant %q", text, want)
	}
	if bytes.Contains(got.data, []byte("\r\nFrom ")) {
		t.Error(`a body line starts with "From "; mbox stores would mangle it`)
	}
}

func TestSendPlainSigned(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	signer := newKey(t, "jp node", "hotline@jp.example")
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, signer)
	subject, body := RenderMail(jpPage())
	if err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: subject, Body: body}); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	checkSevenBit(t, got.data)
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeHeader(t, msg.Header.Get("Subject")); d != subject {
		t.Errorf("Subject = %q", d)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/signed" || params["protocol"] != "application/pgp-signature" || params["micalg"] != "pgp-sha256" {
		t.Fatalf("Content-Type = %q", msg.Header.Get("Content-Type"))
	}
	// The signed data is the first part exactly as sent, up to the CRLF
	// before the next delimiter (RFC 3156 section 5).
	raw, _ := io.ReadAll(msg.Body)
	delim := "--" + params["boundary"]
	start := bytes.Index(raw, []byte(delim+"\r\n"))
	end := bytes.Index(raw[start+1:], []byte("\r\n"+delim+"\r\n")) + start + 1
	if start < 0 || end <= start {
		t.Fatalf("cannot find the signed part in\n%s", raw)
	}
	signed := raw[start+len(delim)+2 : end]
	sigStart := bytes.Index(raw, []byte("-----BEGIN PGP SIGNATURE-----"))
	sigEnd := bytes.Index(raw, []byte("-----END PGP SIGNATURE-----"))
	if sigStart < 0 || sigEnd < sigStart {
		t.Fatal("no signature")
	}
	sig := raw[sigStart : sigEnd+len("-----END PGP SIGNATURE-----")]
	signerPub, _ := ArmorPublic(signer)
	pubKey, _ := ReadArmoredKey(signerPub)
	if _, err := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{pubKey}, bytes.NewReader(signed), bytes.NewReader(sig), nil); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	tampered := bytes.Replace(signed, []byte("482913"), []byte("482914"), 1)
	if _, err := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{pubKey}, bytes.NewReader(tampered), bytes.NewReader(sig), nil); err == nil {
		t.Fatal("signature verifies over a tampered part")
	}
	// What a client without OpenPGP shows is the readable first part.
	_, text := readEntity(t, signed)
	if !strings.Contains(text, cjkSummary) || !strings.Contains(text, "482913") {
		t.Errorf("signed part text:\n%s", text)
	}
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *FieldError for %s", err, err, field)
	}
	if fe.Field != field {
		t.Fatalf("error names field %q (%v), want %q", fe.Field, err, field)
	}
	if !IsPermanent(err) {
		t.Errorf("a field error must be permanent")
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, nil)
	signOnly := newKey(t, "sign only", "s@kr.example")
	signOnly.Subkeys = nil // only the EdDSA primary key, which cannot encrypt
	signOnlyPub, _ := ArmorPublic(signOnly)
	ok := Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"}
	tests := []struct {
		name  string
		edit  func(*Mail)
		field string
	}{
		{"subject CRLF injection", func(m *Mail) { m.Subject = "hi\r\nBcc: victim@evil.example" }, "Mail.Subject"},
		{"subject LF injection", func(m *Mail) { m.Subject = "hi\nBcc: victim@evil.example" }, "Mail.Subject"},
		{"to injection", func(m *Mail) { m.To = "duty@kr.example\r\nBcc: victim@evil.example" }, "Mail.To"},
		{"header value injection", func(m *Mail) { m.Headers = map[string]string{"X-Page": "1\r\nBcc: v@evil.example"} }, "Mail.Headers[X-Page]"},
		{"structural header", func(m *Mail) { m.Headers = map[string]string{"Bcc": "v@evil.example"} }, "Mail.Headers[Bcc]"},
		{"content header", func(m *Mail) { m.Headers = map[string]string{"Content-Type": "text/html"} }, "Mail.Headers[Content-Type]"},
		{"header name with colon", func(m *Mail) { m.Headers = map[string]string{"X-A: b\r\nBcc": "x"} }, "Mail.Headers[X-A: b\r\nBcc]"},
		{"duplicate header", func(m *Mail) { m.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, ""},
		{"not an address", func(m *Mail) { m.To = "not an address" }, "Mail.To"},
		{"empty address", func(m *Mail) { m.To = "" }, "Mail.To"},
		{"two addresses", func(m *Mail) { m.To = "a@kr.example, b@kr.example" }, "Mail.To"},
		{"no domain", func(m *Mail) { m.To = "duty@" }, "Mail.To"},
		{"non-ASCII local part", func(m *Mail) { m.To = "当番@kr.example" }, "Mail.To"},
		{"body too large", func(m *Mail) { m.Body = strings.Repeat("a", MaxMailBody+1) }, "Mail.Body"},
		{"body not UTF-8", func(m *Mail) { m.Body = "\xff\xfe" }, "Mail.Body"},
		{"garbage key", func(m *Mail) {
			m.RecipientKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----"
		}, "Mail.RecipientKey"},
		{"not armored key", func(m *Mail) { m.RecipientKey = "hello" }, "Mail.RecipientKey"},
		{"signing-only key", func(m *Mail) { m.RecipientKey = signOnlyPub }, "Mail.RecipientKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ml := ok
			tt.edit(&ml)
			err := m.Send(context.Background(), ml)
			if tt.field == "" {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v, want a *FieldError", err)
				}
				return
			}
			wantFieldError(t, err, tt.field)
		})
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("server got %d messages from refused input", n)
	}
}

func TestSendInternationalisedDomain(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	m := newMailer(t, SMTPConfig{Addr: srv.addr, From: "hotline@例え.jp"}, nil)
	if err := m.Send(context.Background(), Mail{Egress: personMail, To: "担当 <duty@한국.kr>", Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	if got.from != "hotline@xn--r8jz45g.jp" || got.to[0] != "duty@xn--3e0b707e.kr" {
		t.Errorf("envelope from %q to %q", got.from, got.to)
	}
	checkSevenBit(t, got.data)
}

func TestNewMailerRefusesBadConfig(t *testing.T) {
	locked := newKey(t, "locked", "l@jp.example")
	if err := locked.EncryptPrivateKeys([]byte("passphrase"), nil); err != nil {
		t.Fatal(err)
	}
	pubOnly, _ := ArmorPublic(newKey(t, "pub", "p@jp.example"))
	pubEntity, _ := ReadArmoredKey(pubOnly)
	good := SMTPConfig{Addr: "127.0.0.1:25", From: "hotline@jp.example"}
	tests := []struct {
		name   string
		edit   func(*SMTPConfig)
		signer *openpgp.Entity
		field  string
	}{
		{"no port", func(c *SMTPConfig) { c.Addr = "mail.jp.example" }, nil, "SMTPConfig.Addr"},
		{"bad from", func(c *SMTPConfig) { c.From = "hotline" }, nil, "SMTPConfig.From"},
		{"from injection", func(c *SMTPConfig) { c.From = "a@jp.example\r\nBcc: x@y.example" }, nil, "SMTPConfig.From"},
		{"bad TLS mode", func(c *SMTPConfig) { c.TLS = "ssl" }, nil, "SMTPConfig.TLS"},
		{"password in clear", func(c *SMTPConfig) {
			c.Addr, c.TLS, c.Username, c.Password = "mail.jp.example:25", TLSNone, "u", "p"
		}, nil, "SMTPConfig.TLS"},
		{"password without user", func(c *SMTPConfig) { c.Password = "p" }, nil, "SMTPConfig.Username"},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, nil, "SMTPConfig.Timeout"},
		{"bad local name", func(c *SMTPConfig) { c.LocalName = "a b" }, nil, "SMTPConfig.LocalName"},
		{"encrypted signer", func(*SMTPConfig) {}, locked, "signer"},
		{"public-only signer", func(*SMTPConfig) {}, pubEntity, "signer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := NewMailer(cfg, tt.signer)
			wantFieldError(t, err, tt.field)
		})
	}
}

func TestSendRecipientRejected(t *testing.T) {
	srv := startSMTP(t, smtpOptions{rejectRcpt: true})
	m := newMailer(t, SMTPConfig{Addr: srv.addr}, nil)
	err := m.Send(context.Background(), Mail{Egress: personMail, To: "nobody@kr.example", Subject: "s", Body: "b"})
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *SendError", err, err)
	}
	if se.Code != 550 || !se.Permanent || se.Step != "RCPT TO <nobody@kr.example>" {
		t.Errorf("SendError = %+v", se)
	}
	for _, want := range []string{"RCPT TO <nobody@kr.example>", "550", "mailbox unavailable", srv.addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// silentServer accepts connections and never says a word, like a relay
// behind a black-holing firewall or a hung process.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestSendHonoursContextDeadline(t *testing.T) {
	addr := silentServer(t)
	m := newMailer(t, SMTPConfig{Addr: addr, Timeout: time.Minute}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.Send(ctx, Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Send took %v with a 200ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	var se *SendError
	if !errors.As(err, &se) || se.Step != "greeting" || se.Permanent {
		t.Fatalf("error %v: want a temporary failure at the greeting", err)
	}
}

func TestSendHonoursConfiguredTimeout(t *testing.T) {
	addr := silentServer(t)
	m := newMailer(t, SMTPConfig{Addr: addr, Timeout: 200 * time.Millisecond}, nil)
	start := time.Now()
	err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Send took %v with a 200ms timeout", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "SMTPConfig.Timeout") {
		t.Fatalf("error %v: want a deadline that names SMTPConfig.Timeout", err)
	}
}

func TestSendCancelled(t *testing.T) {
	addr := silentServer(t)
	m := newMailer(t, SMTPConfig{Addr: addr, Timeout: time.Minute}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	err := m.Send(ctx, Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestSendStartTLSAndAuth(t *testing.T) {
	serverTLS, pool := testCert(t)
	srv := startSMTP(t, smtpOptions{tls: serverTLS, user: "jp-node", pass: "s3cret"})
	m := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSStartTLS, RootCAs: pool, Username: "jp-node", Password: "s3cret"}, nil)
	if err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	if !got.tls || got.user != "jp-node" {
		t.Errorf("tls=%v user=%q", got.tls, got.user)
	}

	bad := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSStartTLS, RootCAs: pool, Username: "jp-node", Password: "wrong"}, nil)
	err := bad.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	var se *SendError
	if !errors.As(err, &se) || se.Step != "AUTH PLAIN" || se.Code != 535 || !se.Permanent {
		t.Errorf("wrong password: %v", err)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	serverTLS, pool := testCert(t)
	srv := startSMTP(t, smtpOptions{tls: serverTLS, implicit: true})
	m := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSImplicit, RootCAs: pool}, nil)
	if err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := onlyMessage(t, srv); !got.tls {
		t.Error("message not received over TLS")
	}
	untrusted := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSImplicit}, nil)
	err := untrusted.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	var se *SendError
	if !errors.As(err, &se) || se.Step != "TLS handshake" || !se.Permanent {
		t.Fatalf("error %v, want a permanent TLS handshake failure", err)
	}
}

func TestSendStartTLSRequired(t *testing.T) {
	srv := startSMTP(t, smtpOptions{}) // offers no STARTTLS
	m := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSStartTLS}, nil)
	err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	var se *SendError
	if !errors.As(err, &se) || se.Step != "STARTTLS" || !se.Permanent {
		t.Fatalf("error %v, want a permanent STARTTLS failure", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatal("message sent in clear although STARTTLS was required")
	}

	opp := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSOpportunistic}, nil)
	if err := opp.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"}); err != nil {
		t.Fatalf("opportunistic without STARTTLS: %v", err)
	}
}

func TestSendStartTLSUntrustedCertificate(t *testing.T) {
	serverTLS, _ := testCert(t)
	srv := startSMTP(t, smtpOptions{tls: serverTLS})
	m := newMailer(t, SMTPConfig{Addr: srv.addr, TLS: TLSOpportunistic}, nil) // system roots only
	err := m.Send(context.Background(), Mail{Egress: personMail, To: "duty@kr.example", Subject: "s", Body: "b"})
	var se *SendError
	if !errors.As(err, &se) || se.Step != "STARTTLS" || !se.Permanent {
		t.Fatalf("error %v, want a permanent STARTTLS failure", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatal("message sent after a failed handshake")
	}
}

func TestKeyHelpers(t *testing.T) {
	e := newKey(t, "KrCERT", "hotline@kr.example")
	pub, err := ArmorPublic(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Fatalf("armored public key starts %q", pub[:40])
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) != 40 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q: want 40 upper-case hex digits", fp)
	}
	priv, err := ArmorPrivate(e)
	if err != nil {
		t.Fatal(err)
	}
	if fp2, err := Fingerprint(priv); err != nil || fp2 != fp {
		t.Errorf("fingerprint of the private block = %q, %v; want %q", fp2, err, fp)
	}
	back, err := ReadArmoredKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if back.PrivateKey != nil {
		t.Error("public armor carried a private key")
	}
	if _, ok := back.EncryptionKey(time.Now()); !ok {
		t.Error("generated key cannot encrypt")
	}
	for _, in := range []string{"", "   ", "junk", "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----", strings.Repeat("a", maxArmoredKey+1)} {
		if _, err := Fingerprint(in); err == nil {
			t.Errorf("Fingerprint(%.20q) succeeded", in)
		}
	}
	if _, err := GenerateKey("bad <name>", "a@b.example"); err == nil {
		t.Error("GenerateKey accepted <> in the name")
	}
	if _, err := GenerateKey("name", "not-an-address"); err == nil {
		t.Error("GenerateKey accepted a bad address")
	}
	if _, err := ArmorPublic(nil); err == nil {
		t.Error("ArmorPublic(nil) succeeded")
	}
	if _, err := ArmorPrivate(back); err == nil {
		t.Error("ArmorPrivate of a public key succeeded")
	}
}
