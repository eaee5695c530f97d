package cvd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"csirtlink/internal/audit"
	"csirtlink/internal/egress"
	"csirtlink/internal/identity"
	"csirtlink/internal/notify"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// A vendor without a person on this node is reached by e-mail: the coordinator writes
// from the case's page, the mail goes out through the node's relay with a reply
// address of its own for that case and vendor, and the relay hands replies back to
// POST /api/v1/cvd/mail. The address carries a tag only this node can make, so it
// cannot be guessed from the case and vendor ids; the vendor's mail stays on this node.

// MaxInboundMail bounds a reply handed back by the relay.
const MaxInboundMail = 1 << 20

// Mail directions.
const (
	MailOut = "out"
	MailIn  = "in"
)

// Mailer sends mail (notify.Mailer), if the egress decision allows.
type Mailer interface {
	Send(ctx context.Context, m notify.Mail) error
	From() string
}

// VendorMessage is one mail to or from a vendor of this team, held here only.
type VendorMessage struct {
	ID        string `json:"id"`
	Vendor    string `json:"vendor"`
	Direction string `json:"direction"`
	Address   string `json:"address"`
	Subject   string `json:"subject"`
	Body      string `json:"body"`
	Author    string `json:"author"`
	// Statuses are the statuses a reply set (its "status …" lines).
	Statuses  int       `json:"statuses,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// SetMail gives the service the node's mail relay; without it vendors are not mailed.
func (s *Service) SetMail(m Mailer) { s.mail = m }

// CanMail reports whether vendors can be mailed: the node has a mail relay.
func (s *Service) CanMail() bool { return s.mail != nil }

// ReplyAddress is the address a vendor's replies about a case go to: the relay's
// sender with "+<case>.<vendor>.<tag>" in its local part. The tag is an HMAC of the
// case and vendor, keyed by the node's signature over a fixed label (Ed25519
// signatures are deterministic, so the key is stable and secret as long as the node's
// key is): a new node key makes earlier reply addresses stop working.
func (s *Service) ReplyAddress(caseID, vendorID string) (string, error) {
	if s.mail == nil {
		return "", &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "no mail relay is set up on this node"}
	}
	local, domain, ok := strings.Cut(s.mail.From(), "@")
	if !ok {
		return "", fmt.Errorf("cvd: the relay's sender %q has no domain", s.mail.From())
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local + "+" + caseID + "." + vendorID + "." + s.replyTag(caseID, vendorID) + "@" + domain, nil
}

func (s *Service) replyTag(caseID, vendorID string) string {
	mac := hmac.New(sha256.New, s.key.Sign([]byte("csirtlink/cvd-reply-address/v1")))
	mac.Write([]byte(caseID + "\x00" + vendorID))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:10]))
}

// parseReplyAddress is the case and vendor of a reply address, or an error when the
// tag does not match.
func (s *Service) parseReplyAddress(to string) (caseID, vendorID string, err error) {
	addr, err := mail.ParseAddress(to)
	if err != nil || len(to) > 320 {
		return "", "", problem.Invalid("to", "not an e-mail address")
	}
	local, _, _ := strings.Cut(addr.Address, "@")
	_, suffix, ok := strings.Cut(local, "+")
	parts := strings.Split(suffix, ".")
	if !ok || len(parts) != 3 {
		return "", "", problem.NotFound("no case has the reply address %q", to)
	}
	want := s.replyTag(parts[0], parts[1])
	if !hmac.Equal([]byte(strings.ToLower(parts[2])), []byte(want)) {
		return "", "", problem.NotFound("no case has the reply address %q", to)
	}
	return parts[0], parts[1], nil
}

// MailVendor writes to one of this team's vendors of a case, from the case's reply
// address, if the egress decision allows: under the embargo only to a vendor party to
// it, and only labels that may travel in mail not encrypted to the vendor.
func (s *Service) MailVendor(ctx context.Context, a Actor, id, vendorID, subject, body string) (VendorMessage, error) {
	subject = strings.TrimSpace(subject)
	if err := problem.CheckLine("subject", subject, maxTitle, true); err != nil {
		return VendorMessage{}, err
	}
	if err := problem.CheckText("body", body, maxBody, true); err != nil {
		return VendorMessage{}, err
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return VendorMessage{}, err
	}
	i := slices.IndexFunc(c.Vendors, func(v Vendor) bool { return v.ID == vendorID })
	if i < 0 {
		return VendorMessage{}, problem.Invalid("vendor", "%q is not a vendor of this team for %s", vendorID, id)
	}
	v := c.Vendors[i]
	if v.Email == "" {
		return VendorMessage{}, problem.Invalid("vendor", "vendor %s has no e-mail address", v.Name)
	}
	from, err := s.ReplyAddress(id, v.ID)
	if err != nil {
		return VendorMessage{}, err
	}
	d := s.decideVendorMail(c, v.ID)
	if !d.Full() {
		return VendorMessage{}, problem.Forbidden("mail to vendor %s refused: %s", v.Name, d.Reason())
	}
	to := (&mail.Address{Name: v.Contact, Address: v.Email}).String()
	err = s.mail.Send(ctx, notify.Mail{To: to, ReplyTo: from, Subject: "[" + c.ID + "] " + subject, Body: body,
		Headers: map[string]string{"X-Csirtlink-Case": c.ID}, Egress: d})
	if err != nil {
		return VendorMessage{}, fmt.Errorf("cvd: mail to vendor %s of %s: %w", v.ID, id, err)
	}
	m := store.CVDVendorMessage{ID: identity.RandomID(8), CaseID: id, VendorID: v.ID, Direction: MailOut, Address: v.Email,
		Subject: subject, Body: body, Author: a.Name, CreatedAt: s.now()}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AddCVDVendorMessage(ctx, m); err != nil {
			return err
		}
		s.notify(tx, id)
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.vendor.mail", id, v.ID)
	})
	return vendorMessage(m), err
}

// decideVendorMail asks the one egress decision whether the case may go by mail to
// one of this team's vendors now.
func (s *Service) decideVendorMail(c Case, vendorID string) egress.Decision {
	hold := Hold(c)
	for _, v := range c.Vendors {
		if !s.cutOff(c, v.ID) {
			hold.Vendors = append(hold.Vendors, v.ID)
		}
	}
	return egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(c.TLP), Author: c.Owner},
		Context: egress.NewContext(s.dir, c.Participants), Embargo: hold, Now: s.clock.Now(),
		To: egress.Destination{Kind: egress.VendorMail, Team: s.Self(), Vendor: vendorID, Ceiling: tlp.Label(c.VendorLabel(vendorID)),
			Removed: s.cutOff(c, vendorID)}})
}

// statusLine is a status a vendor states in a reply, on a line of its own:
// "status <vulnerability> <product> <status> [fixed version | justification]".
var statusLine = regexp.MustCompile(`(?i)^status:?\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(\S+))?\s*$`)

// ReceiveVendorMail takes a vendor's reply that the relay handed back for the reply
// address to: it is kept with the case as the vendor's message, and each status line
// in it (outside quoted text) sets that vendor's status, with the rest of the reply as
// the statement.
func (s *Service) ReceiveVendorMail(ctx context.Context, a Actor, to string, raw []byte) (VendorMessage, error) {
	if len(raw) > MaxInboundMail {
		return VendorMessage{}, problem.Invalid("body", "larger than %d bytes", MaxInboundMail)
	}
	caseID, vendorID, err := s.parseReplyAddress(to)
	if err != nil {
		return VendorMessage{}, err
	}
	vs, err := s.st.ListCVDVendors(ctx, caseID)
	if err != nil {
		return VendorMessage{}, err
	}
	i := slices.IndexFunc(vs, func(v store.CVDVendor) bool { return v.ID == vendorID })
	if i < 0 {
		return VendorMessage{}, problem.NotFound("no case has the reply address %q", to)
	}
	v := vs[i]
	from, subject, text, err := ParseMail(raw)
	if err != nil {
		return VendorMessage{}, problem.Invalid("body", "%v", err)
	}
	var statuses []StatusInput
	var statement []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, ">") {
			continue // the quoted mail we sent
		}
		if m := statusLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			in := StatusInput{Vendor: v.ID, Vulnerability: m[1], Product: m[2], Status: strings.ToLower(m[3])}
			if in.Status == Fixed {
				in.FixedVersion = m[4]
			} else if in.Status == NotAffected {
				in.Justification = m[4]
			}
			statuses = append(statuses, in)
			continue
		}
		statement = append(statement, line)
	}
	if len(statuses) > maxVulns {
		return VendorMessage{}, problem.Invalid("body", "more than %d status lines", maxVulns)
	}
	vendorActor := Actor{Name: v.Name, Role: a.Role}
	for _, in := range statuses {
		in.Statement = strings.TrimSpace(strings.Join(statement, "\n"))
		if len(in.Statement) > maxBody {
			in.Statement = in.Statement[:maxBody]
			for !utf8.ValidString(in.Statement) {
				in.Statement = in.Statement[:len(in.Statement)-1]
			}
		}
		if _, err := s.SetStatus(ctx, vendorActor, caseID, in); err != nil {
			return VendorMessage{}, fmt.Errorf("status line %s %s %s: %w", in.Vulnerability, in.Product, in.Status, err)
		}
	}
	if len(text) > maxBody {
		text = strings.ToValidUTF8(text[:maxBody], "")
	}
	m := store.CVDVendorMessage{ID: identity.RandomID(8), CaseID: caseID, VendorID: v.ID, Direction: MailIn, Address: from,
		Subject: subject, Body: text, Author: v.Name, CreatedAt: s.now()}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AddCVDVendorMessage(ctx, m); err != nil {
			return err
		}
		s.notify(tx, caseID)
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.vendor.reply", caseID, v.ID)
	})
	out := vendorMessage(m)
	out.Statuses = len(statuses)
	return out, err
}

func vendorMessage(m store.CVDVendorMessage) VendorMessage {
	return VendorMessage{ID: m.ID, Vendor: m.VendorID, Direction: m.Direction, Address: m.Address, Subject: m.Subject,
		Body: m.Body, Author: m.Author, CreatedAt: m.CreatedAt}
}

// ParseMail reads an RFC 5322 message from outside: its sender, its subject (decoded)
// and its text — the first text/plain part, decoded from quoted-printable or base64.
func ParseMail(raw []byte) (from, subject, text string, err error) {
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(bytes.NewReader(raw), MaxInboundMail)))
	if err != nil {
		return "", "", "", fmt.Errorf("not a mail message: %w", err)
	}
	addr, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return "", "", "", fmt.Errorf("header From: %w", err)
	}
	dec := new(mime.WordDecoder)
	subject, err = dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	subject = strings.ToValidUTF8(strings.Join(strings.Fields(subject), " "), "")
	if len(subject) > maxTitle {
		subject = strings.ToValidUTF8(subject[:maxTitle], "")
	}
	body, err := textOf(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return "", "", "", err
	}
	if !utf8.Valid(body) {
		return "", "", "", errors.New("the text is not UTF-8")
	}
	return addr.Address, subject, strings.ReplaceAll(string(body), "\r\n", "\n"), nil
}

// textOf is the first text/plain content of a part, descending into multiparts (to a
// bounded depth).
func textOf(contentType, encoding string, r io.Reader, depth int) ([]byte, error) {
	if depth > 5 {
		return nil, errors.New("multipart nested too deeply")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "text/plain", nil
	}
	if err != nil {
		return nil, fmt.Errorf("header Content-Type: %w", err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no text/plain part")
			}
			if err != nil {
				return nil, fmt.Errorf("multipart: %w", err)
			}
			t, err := textOf(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err == nil {
				return t, nil
			}
		}
	}
	if mt != "text/plain" {
		return nil, fmt.Errorf("content type %s is not text/plain", mt)
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return nil, fmt.Errorf("charset %s: only UTF-8 is read", cs)
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // it skips the line breaks
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxInboundMail))
	if err != nil {
		return nil, fmt.Errorf("decoding the text: %w", err)
	}
	return b, nil
}
