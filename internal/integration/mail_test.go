package integration

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server (go-smtp) on loopback that keeps what it receives.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []gotMail
	// refused addresses are answered 550 at RCPT, a permanent failure.
	refused map[string]bool
}

// refuse makes the server refuse (true) or take again (false) mail to an address.
func (mb *mailbox) refuse(addr string, on bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.refused == nil {
		mb.refused = map[string]bool{}
	}
	mb.refused[strings.ToLower(addr)] = on
}

type gotMail struct {
	to  string
	raw []byte
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// to returns the messages received for an address, in order.
func (mb *mailbox) to(addr string) []gotMail {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []gotMail
	for _, m := range mb.msgs {
		if strings.EqualFold(m.to, addr) {
			out = append(out, m)
		}
	}
	return out
}

type mailSession struct {
	mb *mailbox
	to []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mb.mu.Lock()
	refused := s.mb.refused[strings.ToLower(to)]
	s.mb.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox refused"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	for _, to := range s.to {
		s.mb.msgs = append(s.mb.msgs, gotMail{to: to, raw: b})
	}
	s.mb.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

// readMail returns a received message's text: decrypted with key when it is PGP/MIME
// encrypted (and then also whether a signature by signer verified), else the plain body.
func readMail(t *testing.T, raw []byte, key, signer *openpgp.Entity) (text string, signed bool) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if mt != "multipart/encrypted" {
		if mt == "multipart/signed" {
			mr := multipart.NewReader(msg.Body, params["boundary"])
			part, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(decodeCTE(part.Header.Get("Content-Transfer-Encoding"), part))
			return string(b), true
		}
		b, _ := io.ReadAll(decodeCTE(msg.Header.Get("Content-Transfer-Encoding"), msg.Body))
		return string(b), false
	}
	if key == nil {
		t.Fatal("encrypted mail but no key to read it")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var armored []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		if bytes.Contains(b, []byte("BEGIN PGP MESSAGE")) {
			armored = b
		}
	}
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatalf("armor: %v", err)
	}
	keys := openpgp.EntityList{key}
	if signer != nil {
		keys = append(keys, signer)
	}
	md, err := openpgp.ReadMessage(block.Body, keys, nil, nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	b, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	signed = md.IsSigned && md.SignatureError == nil && md.SignedBy != nil
	// The decrypted payload is itself a MIME entity; its body is the text.
	inner, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return string(b), signed
	}
	ib, _ := io.ReadAll(decodeCTE(inner.Header.Get("Content-Transfer-Encoding"), inner.Body))
	return string(ib), signed
}

func decodeCTE(cte string, r io.Reader) io.Reader {
	if strings.EqualFold(cte, "quoted-printable") {
		return quotedprintable.NewReader(r)
	}
	return r
}

// count is how many messages (one per recipient) arrived.
func (mb *mailbox) count() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.msgs)
}

// recipients lists who the messages were for, in order.
func (mb *mailbox) recipients() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []string
	for _, m := range mb.msgs {
		out = append(out, m.to)
	}
	return out
}
