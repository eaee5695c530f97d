package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
)

// TLS modes for SMTPConfig.TLS.
const (
	// TLSStartTLS requires STARTTLS: a server that does not offer it (or a
	// man in the middle that strips it) gets nothing. The default.
	TLSStartTLS = "starttls"
	// TLSOpportunistic uses STARTTLS when the server offers it and plain SMTP
	// otherwise. The certificate is still verified when STARTTLS is used: a
	// failed handshake fails the send rather than falling back to clear text.
	TLSOpportunistic = "opportunistic"
	// TLSNone never starts TLS: for a relay on the same host or in tests.
	TLSNone = "none"
	// TLSImplicit speaks TLS from the first byte (port 465, RFC 8314).
	TLSImplicit = "implicit"
)

// SMTPConfig says how to reach the mail relay.
type SMTPConfig struct {
	Addr               string        // host:port of the relay
	From               string        // envelope and header sender, e.g. "JPCERT/CC hotline <hotline@jpcert.example>"
	Username, Password string        // AUTH PLAIN credentials; empty Username = no AUTH
	TLS                string        // TLSStartTLS (default when empty), TLSOpportunistic, TLSNone or TLSImplicit
	Timeout            time.Duration // bound on one whole SMTP exchange; 0 = 30s
	// RootCAs verifies the relay's certificate; nil = the system roots. Set it
	// for a relay with a private CA (and in tests).
	RootCAs *x509.CertPool
	// LocalName is the name sent with EHLO; "" = this host's name.
	LocalName string
	// Clock dates the messages; nil = the system clock.
	Clock clock.Clock
}

// Mail is one message to one person.
type Mail struct {
	To      string // one address, with or without a display name
	Subject string
	Body    string // plain text, UTF-8; at most MaxMailBody bytes
	// RecipientKey is the recipient's armored OpenPGP public key; when set,
	// the body (and the real subject) is encrypted to it. "" = no encryption.
	RecipientKey string
	// Headers are extra header fields, e.g. X-Csirtlink-Page. Only X-* and
	// Importance, Priority and Auto-Submitted are accepted. They travel in
	// clear even when the body is encrypted.
	Headers map[string]string
	// Attachments go after the body, inside the encryption when there is one: a
	// routed report's events. At most MaxAttachmentBytes in all.
	Attachments []Attachment
	// ReplyTo, when set, is where replies go instead of the sender: a vulnerability
	// case's reply address, which the relay hands back to this node.
	ReplyTo string
	// Egress is egress.Decide's answer for this mail. Send refuses a mail
	// without a decision that allows it, or whose decision counted on
	// encryption when no RecipientKey is given.
	Egress egress.Decision
}

// Attachment is a file sent with a mail.
type Attachment struct {
	Name        string // file name: letters, digits, '.', '-', '_'
	ContentType string // e.g. text/csv; charset=utf-8
	Data        []byte
}

// Mailer sends mail through one relay. It holds no per-message state and is
// safe for concurrent use; each Send opens its own SMTP session, so a slow
// or stuck relay affects only the attempts that use it.
type Mailer struct {
	cfg        SMTPConfig
	host       string // relay host, for TLS verification and AUTH
	mode       string
	from       *mail.Address
	fromDomain string
	localName  string
	signer     *openpgp.Entity
	clock      clock.Clock
}

// From is the address the mailer sends from (its local part and domain make a
// vulnerability case's reply addresses).
func (m *Mailer) From() string { return m.from.Address }

// NewMailer checks cfg and returns a Mailer. signer, when not nil, signs
// every message (inside the encryption when the recipient has a key); it must
// hold a usable, already decrypted private signing key.
func NewMailer(cfg SMTPConfig, signer *openpgp.Entity) (*Mailer, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fieldErr("SMTPConfig.Addr", "%q is not host:port", cfg.Addr)
	}
	from, err := parseAddress("SMTPConfig.From", cfg.From)
	if err != nil {
		return nil, err
	}
	mode := strings.ToLower(strings.TrimSpace(cfg.TLS))
	switch mode {
	case "":
		mode = TLSStartTLS
	case TLSStartTLS, TLSOpportunistic, TLSNone, TLSImplicit:
	default:
		return nil, fieldErr("SMTPConfig.TLS", "%q is not one of %q, %q, %q, %q", cfg.TLS, TLSStartTLS, TLSOpportunistic, TLSNone, TLSImplicit)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, fieldErr("SMTPConfig.Username", "empty while a password is set")
	}
	if strings.ContainsAny(cfg.Username+cfg.Password, "\x00\r\n") {
		return nil, fieldErr("SMTPConfig.Username", "username or password contains NUL or a line break, which AUTH PLAIN cannot carry")
	}
	// net/smtp refuses to send a password without TLS except to loopback; say
	// so when the configuration is read, not at the first page.
	if cfg.Username != "" && mode == TLSNone && !isLoopbackHost(host) {
		return nil, fieldErr("SMTPConfig.TLS", "%q would send the password in clear to %s; use %q or %q", TLSNone, host, TLSStartTLS, TLSImplicit)
	}
	if cfg.Timeout < 0 {
		return nil, fieldErr("SMTPConfig.Timeout", "must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	localName := cfg.LocalName
	if localName == "" {
		localName, _ = os.Hostname()
	}
	if localName == "" || strings.ContainsAny(localName, " \t\r\n\x00") || !isASCII(localName) {
		if cfg.LocalName != "" {
			return nil, fieldErr("SMTPConfig.LocalName", "%q is not a host name", cfg.LocalName)
		}
		localName = "localhost"
	}
	if signer != nil {
		if err := checkSigner(signer); err != nil {
			return nil, err
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Mailer{
		cfg:        cfg,
		host:       host,
		mode:       mode,
		from:       from,
		fromDomain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		localName:  localName,
		signer:     signer,
		clock:      clk,
	}, nil
}

// checkSigner makes sure signing will work, so a bad key is found when the
// node starts and not when the first page goes out.
func checkSigner(e *openpgp.Entity) error {
	if e.PrimaryKey == nil || e.PrivateKey == nil {
		return fieldErr("signer", "has no private key")
	}
	k, ok := e.SigningKey(time.Now())
	if !ok {
		return fieldErr("signer", "key %X has no usable signing key (expired or revoked)", e.PrimaryKey.Fingerprint)
	}
	if k.PrivateKey == nil {
		return fieldErr("signer", "key %X: the signing key's private part is missing", e.PrimaryKey.Fingerprint)
	}
	if k.PrivateKey.Encrypted {
		return fieldErr("signer", "key %X: the private key is protected by a passphrase; decrypt it first", e.PrimaryKey.Fingerprint)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers one message. Input errors are *FieldError and happen before
// any connection is made; delivery errors are *SendError naming the SMTP step
// that failed and the relay's reply. The whole exchange is bounded by ctx and
// SMTPConfig.Timeout, whichever ends first.
func (m *Mailer) Send(ctx context.Context, ml Mail) error {
	msg, rcpt, err := m.compose(ml)
	if err != nil {
		return err
	}
	return m.deliver(ctx, rcpt, msg)
}

// deliver runs one SMTP session. net/smtp has no context support, so the
// context is turned into a deadline on the connection, and cancellation into
// an immediate deadline: every blocked read or write then returns at once.
func (m *Mailer) deliver(ctx context.Context, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeoutCause(ctx, m.cfg.Timeout,
		fmt.Errorf("SMTPConfig.Timeout of %v elapsed", m.cfg.Timeout))
	defer cancel()
	fail := func(step string, err error, permanent bool) error {
		return m.sendError(ctx, step, err, permanent)
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return fail("dial", err, false)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(dl); err != nil {
			return fail("dial", err, false)
		}
	}
	// The deadline on the TCP connection also bounds TLS on top of it.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := raw
	if m.mode == TLSImplicit {
		tc := tls.Client(raw, m.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("TLS handshake", err, isCertError(err))
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fail("greeting", err, false)
	}
	defer c.Close()
	if err := c.Hello(m.localName); err != nil {
		return fail("EHLO", err, false)
	}
	if m.mode == TLSStartTLS || m.mode == TLSOpportunistic {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return fail("STARTTLS", err, isCertError(err))
			}
		} else if m.mode == TLSStartTLS {
			return fail("STARTTLS", errors.New(`the server does not offer STARTTLS and SMTPConfig.TLS is "starttls"`), true)
		}
	}
	if m.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasWord(mechs, "PLAIN") {
			return fail("AUTH", fmt.Errorf("the server does not offer AUTH PLAIN (offers %q)", mechs), true)
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.host)); err != nil {
			return fail("AUTH PLAIN", err, false)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fail("MAIL FROM <"+m.from.Address+">", err, false)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fail("RCPT TO <"+rcpt+">", err, false)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err, false)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err, false)
	}
	if err := w.Close(); err != nil {
		return fail("end of DATA", err, false)
	}
	// The relay has taken the message once it accepted the end of DATA; a
	// failed QUIT changes nothing for the recipient, so it is not an error.
	_ = c.Quit()
	return nil
}

func (m *Mailer) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: m.host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
}

// sendError classifies a failed step. An SMTP reply code of 5xx is the
// relay's definitive refusal; a failure after the context ended is reported
// as a timeout or cancellation with its cause, so the record says "no answer
// within 30s" rather than a bare "i/o timeout".
func (m *Mailer) sendError(ctx context.Context, step string, err error, permanent bool) error {
	se := &SendError{Channel: "smtp", Remote: m.cfg.Addr, Step: step, Err: err, Permanent: permanent}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		se.Code = tpe.Code
		se.Permanent = tpe.Code >= 500
	}
	// The connection deadline and the context's timer fire at the same
	// instant; when the I/O timeout wins the race, wait for the context so
	// the error says which deadline it was.
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			<-ctx.Done()
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ctxErr {
			se.Err = fmt.Errorf("%w (%v): %w", ctxErr, cause, err)
		} else {
			se.Err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		se.Permanent = false
	}
	return se
}

func isCertError(err error) bool {
	var ce *tls.CertificateVerificationError
	return errors.As(err, &ce)
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}
