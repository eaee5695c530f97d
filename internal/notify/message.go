package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/net/idna"

	"csirtlink/internal/egress"
)

// Limits on what goes into a message. The body limit keeps a runaway
// "details" field from turning a page into a bulk transfer that relays reject
// or delay; a page is read on a phone. The header limits keep every header
// line well under the 998-octet line limit of RFC 5322 even after encoding.
const (
	MaxMailBody = 256 << 10 // bytes of Mail.Body
	// MaxAttachmentBytes bounds a mail's attachments together: relays commonly take
	// messages of 25 to 50 MB, and base64 makes 4 bytes of 3.
	MaxAttachmentBytes = 16 << 20
	maxSubject         = 400 // bytes of Mail.Subject (UTF-8)
	maxHeaderValue     = 400 // bytes of each Mail.Headers value
	maxExtraHeaders    = 20
	// NeutralSubject replaces the subject of an encrypted mail: the Subject
	// header travels in clear, so it must not leak what the encryption hides.
	// The real subject goes inside the encrypted part as a protected header.
	NeutralSubject = "csirtlink hotline message"
)

// allowedHeaders lists the extra headers a caller may set besides X-*.
// Anything structural (From, To, Cc, Bcc, Sender, Reply-To, Content-*,
// Resent-*, ...) is refused: those are either written here or would redirect
// the message or change how it is parsed.
var allowedHeaders = map[string]bool{
	"Importance":     true,
	"Priority":       true,
	"Auto-Submitted": true,
}

// header is one header field with its value already encoded for the wire.
type header struct{ name, value string }

// parseAddress reads one address and normalises it for SMTP without the
// SMTPUTF8 extension: the domain becomes its ASCII (A-label) form, so
// internationalised domain names work, while a non-ASCII local part is
// refused, because delivering it needs SMTPUTF8 on every relay and we would
// rather fail now, with a clear reason, than bounce later.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fieldErr(field, "contains a line break or NUL (header injection)")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fieldErr(field, "%q is not a valid e-mail address: %v", s, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return nil, fieldErr(field, "%q is not a valid e-mail address: no domain", s)
	}
	local, domain := a.Address[:at], a.Address[at+1:]
	if !isASCII(local) {
		return nil, fieldErr(field, "local part %q is not ASCII; that needs SMTPUTF8, which is not supported", local)
	}
	if !strings.HasPrefix(domain, "[") {
		d, err := idna.Lookup.ToASCII(domain)
		if err != nil {
			return nil, fieldErr(field, "domain %q is not a valid domain name: %v", domain, err)
		}
		domain = d
	}
	a.Address = local + "@" + domain
	return a, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkHeaderText refuses values that could end a header line early (header
// injection) or that are not text at all.
func checkHeaderText(field, s string, limit int) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fieldErr(field, "contains a line break or NUL (header injection)")
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "is not valid UTF-8")
	}
	if len(s) > limit {
		return fieldErr(field, "is %d bytes; the limit is %d", len(s), limit)
	}
	return nil
}

// encodeText encodes an unstructured header value (RFC 2047) when it is not
// plain printable ASCII, and folds the encoded words onto continuation lines
// so no line grows past what relays accept. Mostly-ASCII text uses Q encoding
// so it stays readable in raw form; CJK text uses B encoding, which is about
// half the size of Q for three-byte characters.
func encodeText(s string) string {
	enc := mime.QEncoding
	nonASCII := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			nonASCII++
		}
	}
	if nonASCII*3 > len(s) {
		enc = mime.BEncoding
	}
	out := enc.Encode("utf-8", s)
	if out == s {
		return s
	}
	// Encoded words never contain spaces, so every space separates two words.
	return strings.ReplaceAll(out, " ", "\r\n ")
}

// extraHeaders validates the caller's extra headers and returns them in a
// stable order (sorted), so the same Mail always yields the same header block.
func extraHeaders(h map[string]string) ([]header, error) {
	if len(h) > maxExtraHeaders {
		return nil, fieldErr("Mail.Headers", "%d headers; the limit is %d", len(h), maxExtraHeaders)
	}
	seen := map[string]bool{}
	out := make([]header, 0, len(h))
	for name, value := range h {
		field := "Mail.Headers[" + name + "]"
		if !validHeaderName(name) {
			return nil, fieldErr(field, "not a valid header name")
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if !strings.HasPrefix(canon, "X-") && !allowedHeaders[canon] {
			return nil, fieldErr(field, "only X-* headers and Importance, Priority, Auto-Submitted may be set")
		}
		if seen[canon] {
			return nil, fieldErr(field, "set twice (header names are case-insensitive)")
		}
		seen[canon] = true
		if err := checkHeaderText(field, value, maxHeaderValue); err != nil {
			return nil, err
		}
		out = append(out, header{canon, encodeText(value)})
	}
	slices.SortFunc(out, func(a, b header) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// validHeaderName accepts RFC 5322 field names (printable ASCII except colon)
// limited to letters, digits and hyphens, which is all real headers use.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func writeHeaders(b *bytes.Buffer, hs []header) {
	for _, h := range hs {
		b.WriteString(h.name)
		b.WriteString(": ")
		b.WriteString(h.value)
		b.WriteString("\r\n")
	}
}

// quotedPrintable encodes UTF-8 text as quoted-printable with CRLF line
// breaks, so the message is 7-bit clean: it needs no 8BITMIME from any relay
// and, for a signed message, no relay will re-encode it and break the
// signature (RFC 3156 section 3). A line starting with "From " is encoded as
// "=46rom " because mbox stores would otherwise rewrite it to ">From ".
func quotedPrintable(text string) []byte {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write([]byte(text))
	_ = w.Close()
	out := b.Bytes()
	if bytes.HasPrefix(out, []byte("From ")) {
		out = append([]byte("=46"), out[1:]...)
	}
	return bytes.ReplaceAll(out, []byte("\r\nFrom "), []byte("\r\n=46rom "))
}

// textPart returns a complete text/plain MIME entity (its headers, a blank
// line and the encoded body, without a final line break). protected, when
// given, are copies of the message's headers carried inside an encrypted part
// ("protected headers", draft-autocrypt-lamps-protected-headers), so a client
// can show the real subject that the outer, clear-text header had to hide.
func textPart(body string, protected []header) []byte {
	var b bytes.Buffer
	if protected != nil {
		b.WriteString("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n")
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	writeHeaders(&b, protected)
	b.WriteString("\r\n")
	b.Write(bytes.TrimRight(quotedPrintable(body), "\r\n"))
	return b.Bytes()
}

// crlf turns the bare LF line ends of armored OpenPGP output into CRLF, the
// line end of the SMTP DATA stream.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func boundary() string { return "csirtlink-" + rand.Text() }

// checkMailEgress refuses a mail that egress did not allow: nothing is sent by
// mail without egress.Decide's answer for that way out.
func checkMailEgress(ml Mail) error {
	d := ml.Egress
	switch {
	case !d.Allowed():
		return fieldErr("Mail.Egress", "refused: %s", d.Reason())
	case d.Kind() != egress.PersonMail && d.Kind() != egress.FallbackMail && d.Kind() != egress.OwnerReport && d.Kind() != egress.VendorMail:
		return fieldErr("Mail.Egress", "the decision is for %q, not for mail", d.Kind())
	case d.Encrypted() && strings.TrimSpace(ml.RecipientKey) == "":
		return fieldErr("Mail.RecipientKey", "empty, but the egress decision counted on encrypting to the recipient")
	}
	return nil
}

// compose builds the message and returns it with the envelope recipient.
func (m *Mailer) compose(ml Mail) (msg []byte, rcpt string, err error) {
	if err := checkMailEgress(ml); err != nil {
		return nil, "", err
	}
	to, err := parseAddress("Mail.To", ml.To)
	if err != nil {
		return nil, "", err
	}
	if err := checkHeaderText("Mail.Subject", ml.Subject, maxSubject); err != nil {
		return nil, "", err
	}
	extra, err := extraHeaders(ml.Headers)
	if err != nil {
		return nil, "", err
	}
	if len(ml.Body) > MaxMailBody {
		return nil, "", fieldErr("Mail.Body", "is %d bytes; the limit is %d", len(ml.Body), MaxMailBody)
	}
	if !utf8.ValidString(ml.Body) {
		return nil, "", fieldErr("Mail.Body", "is not valid UTF-8")
	}
	if err := checkAttachments(ml.Attachments); err != nil {
		return nil, "", err
	}
	var recipient *openpgp.Entity
	if strings.TrimSpace(ml.RecipientKey) != "" {
		if recipient, err = recipientKey(ml.RecipientKey); err != nil {
			return nil, "", err
		}
	}

	date := m.clock.Now().UTC().Format(time.RFC1123Z)
	id := "<" + rand.Text() + "@" + m.fromDomain + ">"
	subject := encodeText(ml.Subject)
	base := []header{
		{"Date", date},
		{"Message-ID", id},
		{"From", m.from.String()},
		{"To", to.String()},
	}
	if ml.ReplyTo != "" {
		replyTo, err := parseAddress("Mail.ReplyTo", ml.ReplyTo)
		if err != nil {
			return nil, "", err
		}
		base = append(base, header{"Reply-To", replyTo.String()})
	}

	var b bytes.Buffer
	switch {
	case recipient != nil:
		writeHeaders(&b, base)
		writeHeaders(&b, []header{{"Subject", NeutralSubject}, {"MIME-Version", "1.0"}})
		writeHeaders(&b, extra)
		protected := append(slices.Clone(base), header{"Subject", subject})
		if err := m.writeEncrypted(&b, content(ml.Body, protected, ml.Attachments), recipient); err != nil {
			return nil, "", err
		}
	case m.signer != nil:
		writeHeaders(&b, base)
		writeHeaders(&b, []header{{"Subject", subject}, {"MIME-Version", "1.0"}})
		writeHeaders(&b, extra)
		if err := m.writeSigned(&b, content(ml.Body, nil, ml.Attachments)); err != nil {
			return nil, "", err
		}
	default:
		writeHeaders(&b, base)
		writeHeaders(&b, []header{{"Subject", subject}, {"MIME-Version", "1.0"}})
		writeHeaders(&b, extra)
		b.Write(content(ml.Body, nil, ml.Attachments))
		b.WriteString("\r\n")
	}
	return b.Bytes(), to.Address, nil
}

// checkAttachments refuses names that could change how a client stores a file, and
// more than MaxAttachmentBytes.
func checkAttachments(as []Attachment) error {
	total := 0
	for i, a := range as {
		field := fmt.Sprintf("Mail.Attachments[%d]", i)
		if a.Name == "" || len(a.Name) > 100 || strings.Trim(a.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" ||
			strings.HasPrefix(a.Name, ".") {
			return fieldErr(field+".Name", "%q: use letters, digits, '.', '-' and '_'", a.Name)
		}
		if _, _, err := mime.ParseMediaType(a.ContentType); err != nil || strings.ContainsAny(a.ContentType, "\r\n") {
			return fieldErr(field+".ContentType", "%q is not a media type", a.ContentType)
		}
		total += len(a.Data)
	}
	if total > MaxAttachmentBytes {
		return fieldErr("Mail.Attachments", "%d bytes; the limit is %d", total, MaxAttachmentBytes)
	}
	return nil
}

// content is the MIME entity a message carries (and signs or encrypts): the text part
// alone, or a multipart/mixed of the text and the attachments. protected headers go on
// the entity's root, where clients look for them.
func content(body string, protected []header, as []Attachment) []byte {
	if len(as) == 0 {
		return textPart(body, protected)
	}
	var b bytes.Buffer
	bd := boundary()
	if protected != nil {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"; protected-headers=\"v1\"\r\n", bd)
	} else {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n", bd)
	}
	writeHeaders(&b, protected)
	b.WriteString("\r\n--" + bd + "\r\n")
	b.Write(textPart(body, nil))
	for _, a := range as {
		b.WriteString("\r\n--" + bd + "\r\n")
		fmt.Fprintf(&b, "Content-Type: %s; name=\"%s\"\r\n", a.ContentType, a.Name)
		b.WriteString("Content-Transfer-Encoding: base64\r\n")
		fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n", a.Name)
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc)
	}
	b.WriteString("\r\n--" + bd + "--")
	return b.Bytes()
}

// recipientKey reads the recipient's key and checks it can encrypt now: a
// signing-only, expired or revoked key would otherwise fail deep inside the
// encryption with a less useful message.
func recipientKey(armored string) (*openpgp.Entity, error) {
	e, err := ReadArmoredKey(armored)
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.Field = "Mail.RecipientKey"
		}
		return nil, err
	}
	if _, ok := e.EncryptionKey(time.Now()); !ok {
		return nil, fieldErr("Mail.RecipientKey", "key %X has no usable encryption key (expired, revoked or signing-only)", e.PrimaryKey.Fingerprint)
	}
	return e, nil
}

// writeSigned writes a PGP/MIME signed body (RFC 3156 section 5). We chose
// multipart/signed over an inline clear-signed body: clients without OpenPGP
// show the text untouched with a small signature attachment, instead of armor
// lines around the text on a phone; the signature covers the MIME part
// exactly as transmitted (quoted-printable, CRLF), so charset handling cannot
// break it; and signed and encrypted mail share one standard. The signature
// is a text-mode signature, so a store that rewrites CRLF to LF does not
// invalidate it.
func (m *Mailer) writeSigned(b *bytes.Buffer, part []byte) error {
	var sig bytes.Buffer
	if err := openpgp.DetachSignText(&sig, m.signer, bytes.NewReader(part), pgpConfig()); err != nil {
		return fmt.Errorf("notify: sign message: %w", err)
	}
	alg, err := micalg(sig.Bytes())
	if err != nil {
		return fmt.Errorf("notify: sign message: %w", err)
	}
	armored, err := armorBytes("PGP SIGNATURE", sig.Bytes())
	if err != nil {
		return fmt.Errorf("notify: armor signature: %w", err)
	}
	bd := boundary()
	fmt.Fprintf(b, "Content-Type: multipart/signed; micalg=%s; protocol=\"application/pgp-signature\"; boundary=\"%s\"\r\n\r\n", alg, bd)
	b.WriteString("This is an OpenPGP/MIME signed message (RFC 4880 and 3156).\r\n")
	// The CRLF before each delimiter belongs to the delimiter, not to the
	// signed part (RFC 3156 section 5), hence "\r\n--" after the part.
	b.WriteString("--" + bd + "\r\n")
	b.Write(part)
	b.WriteString("\r\n--" + bd + "\r\n")
	b.WriteString("Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n")
	b.WriteString("Content-Description: OpenPGP digital signature\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n")
	b.WriteString(crlf(armored))
	b.WriteString("\r\n--" + bd + "--\r\n")
	return nil
}

// writeEncrypted writes a PGP/MIME encrypted body (RFC 3156 section 4),
// signed inside the encryption when the mailer has a signer (section 6.2,
// the combined form every client reads).
func (m *Mailer) writeEncrypted(b *bytes.Buffer, part []byte, to *openpgp.Entity) error {
	var ct bytes.Buffer
	w, err := openpgp.Encrypt(&ct, []*openpgp.Entity{to}, m.signer, &openpgp.FileHints{}, pgpConfig())
	if err != nil {
		return fmt.Errorf("notify: encrypt message to key %X: %w", to.PrimaryKey.Fingerprint, err)
	}
	if _, err := w.Write(part); err != nil {
		return fmt.Errorf("notify: encrypt message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: encrypt message: %w", err)
	}
	armored, err := armorBytes("PGP MESSAGE", ct.Bytes())
	if err != nil {
		return fmt.Errorf("notify: armor encrypted message: %w", err)
	}
	bd := boundary()
	fmt.Fprintf(b, "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"%s\"\r\n\r\n", bd)
	b.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156).\r\n")
	b.WriteString("--" + bd + "\r\n")
	b.WriteString("Content-Type: application/pgp-encrypted\r\n")
	b.WriteString("Content-Description: PGP/MIME version identification\r\n\r\n")
	b.WriteString("Version: 1\r\n")
	b.WriteString("\r\n--" + bd + "\r\n")
	b.WriteString("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n")
	b.WriteString("Content-Description: OpenPGP encrypted message\r\n")
	b.WriteString("Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")
	b.WriteString(crlf(armored))
	b.WriteString("\r\n--" + bd + "--\r\n")
	return nil
}
