package partner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/egress"
	"csirtlink/internal/federation"
	"csirtlink/internal/notify"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// The hotline address check: a partner's published hotline e-mail address is the way
// the fallback mail reaches it when its node does not answer, so we prove the address
// works before we count on it. We mail a short code there; the partner's admin returns
// it signed through federation (a "directory.verify" of kind "hotline"), or reads it
// out and ours enters it.

const (
	settingHotline = "hotline-checks" // per partner: the address checked and the code outstanding
	// HotlineCodeValid is how long a mailed code can be returned.
	HotlineCodeValid = 7 * 24 * time.Hour
	codeAlphabet     = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L: read out over a phone
	codeLen          = 8
)

// Mailer sends e-mail (notify.Mailer).
type Mailer interface {
	Send(ctx context.Context, m notify.Mail) error
}

// SetMailer gives the directory the node's mail channel; without one no code is mailed
// and the check says why.
func (s *Service) SetMailer(m Mailer) { s.mailer = m }

// hotlineCheck is what we hold about one partner's hotline address.
type hotlineCheck struct {
	Address    string     `json:"address"`               // the address the code went to, or that was verified
	CodeHash   string     `json:"code_hash,omitempty"`   // SHA-256 of team, address and code; never the code
	SentAt     *time.Time `json:"sent_at,omitempty"`     // when the outstanding code was mailed
	Expires    *time.Time `json:"expires,omitempty"`     // the outstanding code is refused after
	VerifiedAt *time.Time `json:"verified_at,omitempty"` // Address proved to work
	Error      string     `json:"error,omitempty"`       // why the last code could not be mailed
	TriedAt    *time.Time `json:"tried_at,omitempty"`    // when that failed attempt was
}

// HotlineStatus is a partner's hotline address check as the API and console show it.
type HotlineStatus struct {
	Address    string     `json:"address"`
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CodeSentAt *time.Time `json:"code_sent_at,omitempty"`
	Expires    *time.Time `json:"code_expires,omitempty"`
	Error      string     `json:"error,omitempty"`
}

func codeHash(teamID, address, code string) string {
	h := sha256.Sum256([]byte("csirtlink/hotline-code/v1\x00" + teamID + "\x00" + strings.ToLower(address) + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// normalCode accepts a code as people type it: any case, with spaces or dashes.
func normalCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

func newCode() string {
	b := make([]byte, codeLen)
	for i := range b {
		b[i] = codeAlphabet[randIndex(len(codeAlphabet))]
	}
	return string(b)
}

func randIndex(n int) int {
	// Rejection sampling keeps every letter equally likely.
	limit := 256 - 256%n
	var one [1]byte
	for {
		if _, err := rand.Read(one[:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

func (s *Service) hotlineChecks(ctx context.Context, tx store.Tx) (map[string]hotlineCheck, error) {
	m := map[string]hotlineCheck{}
	b, err := tx.GetSetting(ctx, settingHotline)
	if errors.Is(err, store.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(b, &m)
}

func (s *Service) putHotlineChecks(ctx context.Context, tx store.Tx, m map[string]hotlineCheck) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.PutSetting(ctx, settingHotline, b, s.clock.Now())
}

// WithHotline fills in each partner's hotline address check.
func (s *Service) WithHotline(ctx context.Context, vs []View) ([]View, error) {
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		m, err := s.hotlineChecks(ctx, tx)
		if err != nil {
			return err
		}
		for i := range vs {
			p, _ := s.dir.Peer(vs[i].ID)
			h := s.hotlineStatus(p, m[vs[i].ID])
			vs[i].Hotline = &h
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("partner: hotline checks: %w", err)
	}
	return vs, nil
}

func (s *Service) hotlineStatus(p team.Peer, c hotlineCheck) HotlineStatus {
	st := HotlineStatus{Address: p.HotlineEmail, Error: c.Error}
	// A check proves only the address it was made for: a changed address is unverified.
	if c.VerifiedAt != nil && strings.EqualFold(c.Address, p.HotlineEmail) {
		st.Verified, st.VerifiedAt = true, c.VerifiedAt
	}
	if c.CodeHash != "" && strings.EqualFold(c.Address, p.HotlineEmail) {
		st.CodeSentAt, st.Expires = c.SentAt, c.Expires
	}
	return st
}

// hotlineDue reports whether a partner's address wants a code mailed: it is unchecked
// (or checked for another address, or longer ago than the re-verification period) and
// no code for it is outstanding.
func (s *Service) hotlineDue(p team.Peer, c hotlineCheck, now time.Time) bool {
	if p.HotlineEmail == "" || !p.IsActive() {
		return false
	}
	same := strings.EqualFold(c.Address, p.HotlineEmail)
	if same && c.VerifiedAt != nil && now.Sub(*c.VerifiedAt) <= s.opts.Reverify {
		return false
	}
	return !(same && c.CodeHash != "" && c.Expires != nil && now.Before(*c.Expires))
}

// SendHotlineCode mails a new code to a partner's hotline address, replacing any code
// outstanding. The mail goes through the egress decision like the hotline's fallback
// mail: never to a partner that is not active.
func (s *Service) SendHotlineCode(ctx context.Context, id, actor string) (HotlineStatus, error) {
	s.mailing.Lock()
	defer s.mailing.Unlock()
	return s.sendHotlineCode(ctx, id, actor)
}

func (s *Service) sendHotlineCode(ctx context.Context, id, actor string) (HotlineStatus, error) {
	p, ok := s.dir.Peer(id)
	if !ok {
		return HotlineStatus{}, problem.NotFound("no partner %q", id)
	}
	if p.HotlineEmail == "" {
		return HotlineStatus{}, problem.Conflict("%s publishes no hotline address", id)
	}
	dec := egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Green, Author: s.dir.Self.ID}, Context: egress.NewContext(s.dir, nil),
		To: egress.Destination{Kind: egress.FallbackMail, Team: id, Encrypted: p.PGPKey != ""}})
	if !dec.Allowed() {
		return HotlineStatus{}, problem.Conflict("no code mailed to %s: %s", id, dec.Reason())
	}
	if s.mailer == nil {
		const f = "no mail relay is configured on this node (smtp)"
		return HotlineStatus{}, &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Format: f, Message: f}
	}
	now := s.clock.Now().UTC()
	code := newCode()
	expires := now.Add(HotlineCodeValid)
	c := hotlineCheck{Address: p.HotlineEmail, CodeHash: codeHash(id, p.HotlineEmail, code), SentAt: &now, Expires: &expires}
	shown := code[:4] + "-" + code[4:]
	body := fmt.Sprintf(`%s (%s) checks that this address reaches the hotline of %s (%s),
the address your node publishes in its signed introduction.

Code: %s

Please return it within 7 days: an admin of your node runs
  csirtlink partner hotline-code --return %s %s
(POST /api/v1/directory/hotline-code/return {"team":"%s","code":"%s"}), which sends it back
signed by your node; or read it out to %s over the hotline.
If you did not expect this mail, tell %s: someone may have published this address by mistake.
`, s.dir.Self.Name, s.dir.Self.ID, p.Name, p.ID, shown, s.dir.Self.ID, shown, s.dir.Self.ID, shown, s.dir.Self.ID, s.dir.Self.ID)
	mail := notify.Mail{To: p.HotlineEmail, Subject: fmt.Sprintf("[csirtlink] %s checks your hotline address", s.dir.Self.ID), Body: body,
		RecipientKey: p.PGPKey, Egress: dec, Headers: map[string]string{"X-Csirtlink-Hotline-Check": id}}
	sendErr := s.mailer.Send(ctx, mail)
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		m, err := s.hotlineChecks(ctx, tx)
		if err != nil {
			return err
		}
		old := m[id]
		if old.VerifiedAt != nil && strings.EqualFold(old.Address, p.HotlineEmail) {
			c.VerifiedAt = old.VerifiedAt // a new code does not unverify until the period ends
		}
		detail := "code mailed to " + p.HotlineEmail
		if sendErr != nil {
			c = old
			c.Error, c.TriedAt = sendErr.Error(), &now
			detail = "code not mailed to " + p.HotlineEmail + ": " + sendErr.Error()
		}
		m[id] = c
		if err := s.putHotlineChecks(ctx, tx, m); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "partner.hotline.code", id, detail)
	})
	if err != nil {
		return HotlineStatus{}, fmt.Errorf("partner: hotline code for %s: %w", id, err)
	}
	if sendErr != nil {
		const f = "the code could not be mailed to %s: %s"
		args := []any{p.HotlineEmail, sendErr.Error()}
		return HotlineStatus{}, &problem.Error{Status: http.StatusBadGateway, Code: "mail_failed", Format: f, Args: args, Message: fmt.Sprintf(f, args...)}
	}
	return s.hotlineStatus(p, c), nil
}

// mailDueCodes mails a code to every active partner (or only those named) whose
// address is due a check; a failure is recorded on the partner's check and does not
// stop the others.
func (s *Service) mailDueCodes(ctx context.Context, actor string, only ...string) {
	if s.mailer == nil {
		return
	}
	s.mailing.Lock()
	defer s.mailing.Unlock()
	var due []string
	now := s.clock.Now().UTC()
	_ = s.st.InTx(ctx, func(tx store.Tx) error {
		m, err := s.hotlineChecks(ctx, tx)
		if err != nil {
			return err
		}
		for _, p := range s.dir.Peers() {
			if len(only) > 0 && !slices.Contains(only, p.ID) {
				continue
			}
			if c := m[p.ID]; s.hotlineDue(p, c, now) && (c.TriedAt == nil || now.Sub(*c.TriedAt) >= askEvery) {
				due = append(due, p.ID)
			}
		}
		return nil
	})
	for _, id := range due {
		if _, err := s.sendHotlineCode(ctx, id, actor); err != nil {
			s.log.Warn("hotline code", "peer", id, "err", err)
		}
	}
}

// EnterHotlineCode checks a code for a partner's address: one the partner read out to
// us (actor is our admin), or one its node returned signed (actor is the partner). A
// wrong or expired code is refused naming the field code.
func (s *Service) EnterHotlineCode(ctx context.Context, id, code, actor string) (HotlineStatus, error) {
	var out HotlineStatus
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = s.checkHotlineCode(ctx, tx, id, code, actor)
		return err
	})
	return out, err
}

func (s *Service) checkHotlineCode(ctx context.Context, tx store.Tx, id, code, actor string) (HotlineStatus, error) {
	p, ok := s.dir.Peer(id)
	if !ok {
		return HotlineStatus{}, problem.NotFound("no partner %q", id)
	}
	code = normalCode(code)
	if len(code) != codeLen {
		return HotlineStatus{}, problem.Invalid("code", "a hotline code is %d letters and digits", codeLen)
	}
	m, err := s.hotlineChecks(ctx, tx)
	if err != nil {
		return HotlineStatus{}, err
	}
	c := m[id]
	now := s.clock.Now().UTC()
	switch {
	case c.CodeHash == "" || !strings.EqualFold(c.Address, p.HotlineEmail):
		return HotlineStatus{}, problem.Invalid("code", "no code is outstanding for %s's hotline address %s", id, p.HotlineEmail)
	case c.Expires != nil && !now.Before(*c.Expires):
		return HotlineStatus{}, problem.Invalid("code", "the code mailed at %s has expired; mail a new one", c.SentAt.Format(time.RFC3339))
	case subtle.ConstantTimeCompare([]byte(c.CodeHash), []byte(codeHash(id, p.HotlineEmail, code))) != 1:
		return HotlineStatus{}, problem.Invalid("code", "does not match the code mailed to %s", p.HotlineEmail)
	}
	c.VerifiedAt, c.CodeHash, c.Expires, c.Error, c.TriedAt = &now, "", nil, "", nil
	m[id] = c
	if err := s.putHotlineChecks(ctx, tx, m); err != nil {
		return HotlineStatus{}, err
	}
	if err := audit.Append(ctx, tx, now, actor, "partner.hotline.verified", id, p.HotlineEmail); err != nil {
		return HotlineStatus{}, err
	}
	return s.hotlineStatus(p, c), nil
}

// ReturnHotlineCode sends a code that a partner mailed to our hotline address back to
// it, signed by our node.
func (s *Service) ReturnHotlineCode(ctx context.Context, to, code, actor string) error {
	p, ok := s.dir.Peer(to)
	if !ok {
		return problem.NotFound("no partner %q", to)
	}
	if !p.IsActive() {
		return problem.Conflict("%s is %s: nothing goes to it", to, p.Status)
	}
	code = normalCode(code)
	if len(code) != codeLen {
		return problem.Invalid("code", "a hotline code is %d letters and digits", codeLen)
	}
	now := s.clock.Now().UTC()
	payload, err := wire.EncodeVerifyAsk(wire.VerifyAsk{Team: s.dir.Self.ID, Kind: wire.VerifyHotline, Code: code, At: now})
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := s.fed.Enqueue(ctx, tx, federation.Message{To: to, Type: wire.TypeVerifyAsk, ObjectID: fmt.Sprintf("%s:hotline:%d", s.dir.Self.ID, now.UnixMicro()),
			Item: tlp.Item{Label: tlp.Green, Author: s.dir.Self.ID}, Payload: payload}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "directory.hotline.return", to, "hotline code returned")
	})
	if errors.Is(err, federation.ErrNotAllowed) {
		return problem.Conflict("nothing may go to %s", to)
	}
	if err != nil {
		return fmt.Errorf("partner: return hotline code to %s: %w", to, err)
	}
	return nil
}

// applyHotlineCode takes a code a partner's node returned signed.
func (s *Service) applyHotlineCode(ctx context.Context, tx store.Tx, v wire.VerifyAsk) error {
	if _, err := s.checkHotlineCode(ctx, tx, v.Team, v.Code, v.Team); err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			return federation.Rejectf("code: %s", pe.Message)
		}
		return err
	}
	return nil
}
