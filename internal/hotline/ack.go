package hotline

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/incident"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

var appendAudit = audit.Append

// How an acknowledgement arrived.
const (
	ViaAPI      = "api"
	ViaConsole  = "console"
	ViaMailCode = "email-code"
	ViaFallback = "fallback-code"
)

// Purposes of acknowledgement codes.
const (
	codeNotify   = "notify"   // in our escalation e-mail to one of our people
	codeFallback = "fallback" // in our fallback e-mail to a partner's hotline address
)

const codeLifetime = 24 * time.Hour

func ackBytes(c stateChange) []byte {
	return envelope.Canonical("csirtlink/ack/v1", []byte(c.PageID), []byte(c.Team), []byte(c.By), []byte(c.Via), envelope.FormatTime(c.At))
}

func verifyAck(pub ed25519.PublicKey, c stateChange) error {
	if !identity.Verify(pub, ackBytes(c), c.Statement) {
		return errors.New("bad acknowledgement signature")
	}
	return nil
}

// SignedAck is a receiving node's signed statement that one of its people acknowledged
// a page: what a delivery keeps as evidence, whole, so it can be checked on its own.
type SignedAck struct {
	PageID    string    `json:"page_id"`
	Team      string    `json:"team"`
	By        string    `json:"by"`
	Via       string    `json:"via"`
	At        time.Time `json:"at"`
	Signature []byte    `json:"signature"`
}

func (c stateChange) signedAck() []byte {
	b, _ := json.Marshal(SignedAck{PageID: c.PageID, Team: c.Team, By: c.By, Via: c.Via, At: c.At, Signature: c.Statement})
	return b
}

// ReadAcknowledgement returns the signed statement a delivery keeps. It may differ from
// the delivery's own acknowledgement: when a partner first acknowledged with a fallback
// code, its node's signed statement arrives later and is kept beside it.
func ReadAcknowledgement(d store.Delivery) (SignedAck, error) {
	var a SignedAck
	if d.AckStatement == nil {
		return a, errors.New("no signed acknowledgement")
	}
	if err := json.Unmarshal(d.AckStatement, &a); err != nil {
		return a, fmt.Errorf("acknowledgement statement: %w", err)
	}
	return a, nil
}

// VerifyAcknowledgement checks a delivery's signed acknowledgement against the
// receiving team's key: proof, for the sender, of who acknowledged and when.
func VerifyAcknowledgement(pub ed25519.PublicKey, pageID string, d store.Delivery) error {
	a, err := ReadAcknowledgement(d)
	if err != nil {
		return err
	}
	if a.PageID != pageID || a.Team != d.Team {
		return errors.New("the statement is about another page or team")
	}
	// Unless the delivery was first acknowledged by fallback code, the statement is the
	// acknowledgement recorded: the two must agree.
	if d.AckVia != ViaFallback && (d.AcknowledgedAt == nil || a.By != d.AcknowledgedBy || a.Via != d.AckVia || !a.At.Equal(*d.AcknowledgedAt)) {
		return errors.New("the statement does not match the acknowledgement recorded")
	}
	return verifyAck(pub, stateChange{PageID: a.PageID, Team: a.Team, By: a.By, Via: a.Via, At: a.At, Statement: a.Signature})
}

// Ack acknowledges, for this team, a page a partner sent us.
func (s *Service) Ack(ctx context.Context, a Actor, pageID, via string) (store.Page, error) {
	r, err := s.AckPage(ctx, a, pageID, via)
	return r.Page, err
}

// AckResult is what acknowledging a page did.
type AckResult struct {
	Page store.Page
	// Incident: the page is about an incident in which our participation was only
	// invited, and acknowledging the page acknowledged it too.
	Incident bool
}

// AckPage acknowledges, for this team, a page a partner sent us; when the page is about
// an incident we were invited to and have not answered, our participation in it is
// acknowledged in the same transaction.
func (s *Service) AckPage(ctx context.Context, a Actor, pageID, via string) (AckResult, error) {
	if via == "" {
		via = ViaAPI
	}
	var p store.Page
	var inc bool
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.GetPage(ctx, pageID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("page %q not found", pageID)
		}
		if err != nil {
			return err
		}
		if p.From == s.dir.Self.ID {
			return problem.Conflict("page %s is ours; the partners acknowledge it", pageID)
		}
		if p.ResolvedAt != nil {
			return problem.Conflict("page %s was resolved by %s", pageID, p.From)
		}
		if inc, err = s.acknowledge(ctx, tx, p, a.label(), a.Name, via); err != nil {
			return err
		}
		p, err = tx.GetPage(ctx, pageID)
		return err
	})
	return AckResult{Page: p, Incident: inc}, err
}

// acknowledge records our acknowledgement of a received page, stops its escalation and
// tells the sender, with a statement signed by this node. For a page about an incident
// it acknowledges our participation too, when that was only invited; it reports whether
// it did.
func (s *Service) acknowledge(ctx context.Context, tx store.Tx, p store.Page, by, actor, via string) (bool, error) {
	d, err := tx.GetDelivery(ctx, p.ID, s.dir.Self.ID)
	if err != nil {
		return false, err
	}
	if d.AcknowledgedAt != nil {
		return false, problem.Conflict("page %s was acknowledged by %s at %s", p.ID, d.AcknowledgedBy, d.AcknowledgedAt.Format(time.RFC3339))
	}
	now := s.clock.Now().Truncate(time.Microsecond)
	c := stateChange{PageID: p.ID, Team: s.dir.Self.ID, State: Acknowledged, At: now, By: by, Via: via}
	c.Statement = s.key.Sign(ackBytes(c))
	d.AcknowledgedAt, d.AcknowledgedBy, d.AckVia, d.AckStatement = &now, by, via, c.signedAck()
	if stateRank[d.State] < stateRank[Acknowledged] {
		d.State = Acknowledged
	}
	if err := tx.PutDelivery(ctx, d); err != nil {
		return false, err
	}
	if err := s.stopEscalation(ctx, tx, p.ID, now, "acknowledged by "+by); err != nil {
		return false, err
	}
	if err := s.tellSender(ctx, tx, p, c); err != nil {
		return false, err
	}
	s.touched(tx, p.ID)
	if err := appendAudit(ctx, tx, now, actor, "page.ack", p.ID, "via "+via); err != nil {
		return false, err
	}
	// Whoever answers the page has taken up the incident it is about: the coordinator
	// must not go on seeing us as merely invited. The entry is ours, signed like any
	// other, and reaches the coordinator in the same outbox transaction.
	if p.IncidentID == "" || s.part == nil {
		return false, nil
	}
	return s.part.AcknowledgeInTx(ctx, tx, incident.Actor{Name: actor}, p.IncidentID)
}

// tellSender sends a state change of our delivery back to the page's sender.
func (s *Service) tellSender(ctx context.Context, tx store.Tx, p store.Page, c stateChange) error {
	payload, err := s.statePayload(c)
	if err != nil {
		return err
	}
	// State changes carry no content of the page; they go to its sender, which the TLP
	// rule always allows (the author gets its own item back).
	err = s.fed.Enqueue(ctx, tx, federation.Message{To: p.From, Type: typeState, ObjectID: p.ID, Payload: payload,
		Item: tlp.Item{Label: tlp.Label(p.TLP), Author: p.From}})
	if errors.Is(err, federation.ErrNotAllowed) {
		s.log.Warn("cannot tell the sender", "page", p.ID, "sender", p.From, "err", err)
		return nil
	}
	return err
}

// newCode makes a one-time acknowledgement code, easy to type from a phone: fifteen
// base32 characters in three groups of five (75 bits).
func newCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	c := base32.StdEncoding.EncodeToString(b[:])[:15]
	return c[:5] + "-" + c[5:10] + "-" + c[10:]
}

// normCode is a code as typed, without dashes and spaces, in upper case.
func normCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}

// codeKey derives the key of the codes' keyed hash from the node's signing key. An
// Ed25519 signature is deterministic (RFC 8032), so signing a fixed label gives the
// same secret on every start, and only the holder of node.key can compute it: a copy
// of the database (a backup) alone cannot test guesses offline.
func codeKey(k identity.Key) []byte {
	sum := sha256.Sum256(k.Sign([]byte("csirtlink/ack-code-key/v1")))
	return sum[:]
}

// hashCode is what the database keeps of a code: HMAC-SHA256 under the node's code key.
func hashCode(key []byte, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csirtlink/ack-code/v2:" + normCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

// legacyHashCode is how codes of ten characters were kept before the keyed hash:
// unsalted SHA-256. Such codes were mailed before an upgrade and live at most a day
// (codeLifetime); they are looked up this way so that none stops working mid-incident.
func legacyHashCode(code string) (string, bool) {
	norm := normCode(code)
	if len(norm) != 10 {
		return "", false
	}
	sum := sha256.Sum256([]byte("csirtlink/ack-code/v1:" + norm))
	return hex.EncodeToString(sum[:]), true
}

// issueCode stores a code's hash and returns the code, to be sent once. showsContent
// records whether the mail carrying it shows the page's content, so that the
// acknowledgement form shows no more than the mail did.
func (s *Service) issueCode(ctx context.Context, tx store.Tx, pageID, team, user, purpose string, showsContent bool) (string, error) {
	code := newCode()
	err := tx.PutAckCode(ctx, store.AckCode{CodeHash: hashCode(s.codeKey, code), PageID: pageID, Team: team, User: user, Purpose: purpose,
		ExpiresAt: s.clock.Now().Add(codeLifetime), ShowsContent: showsContent})
	return code, err
}

// findCode looks a code up by its keyed hash, then, for the old shape, by its legacy
// hash; it returns the hash it was found under.
func (s *Service) findCode(ctx context.Context, tx store.Tx, code string) (string, store.AckCode, error) {
	h := hashCode(s.codeKey, code)
	ac, err := tx.GetAckCode(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		if lh, ok := legacyHashCode(code); ok {
			h = lh
			ac, err = tx.GetAckCode(ctx, h)
		}
	}
	return h, ac, err
}

// ErrBadCode means an acknowledgement code is unknown, used or expired.
var ErrBadCode = problem.Invalid("code", "unknown, already used or expired")

// AckByCode acknowledges a page with a one-time code from an e-mail. name is who the
// person says they are; for our own people the code already names them. The page comes
// back as the code's mail showed it: without its summary and details when the mail was
// a notice, since whoever holds the code may have read it in transit.
func (s *Service) AckByCode(ctx context.Context, code, name string) (store.Page, store.Delivery, error) {
	if len(code) > 32 {
		return store.Page{}, store.Delivery{}, ErrBadCode
	}
	if err := problem.CheckText("name", name, 100, false); err != nil {
		return store.Page{}, store.Delivery{}, err
	}
	var p store.Page
	var d store.Delivery
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		h, ac, err := s.findCode(ctx, tx, code)
		now := s.clock.Now().Truncate(time.Microsecond)
		if errors.Is(err, store.ErrNotFound) || err == nil && (ac.UsedAt != nil || !now.Before(ac.ExpiresAt)) {
			return ErrBadCode
		}
		if err != nil {
			return err
		}
		if err := tx.UseAckCode(ctx, h, now); err != nil {
			return ErrBadCode
		}
		p, err = tx.GetPage(ctx, ac.PageID)
		if err != nil {
			return err
		}
		switch ac.Purpose {
		case codeNotify:
			u, err := tx.UserByName(ctx, ac.User)
			if err != nil {
				return err
			}
			if _, err := s.acknowledge(ctx, tx, p, Actor{Name: u.Name, DisplayName: u.DisplayName}.label(), u.Name, ViaMailCode); err != nil {
				return err
			}
		case codeFallback:
			if strings.TrimSpace(name) == "" {
				return problem.Invalid("name", "say who acknowledges")
			}
			d, err = tx.GetDelivery(ctx, p.ID, ac.Team)
			if err != nil {
				return err
			}
			if d.AcknowledgedAt != nil {
				return problem.Conflict("page %s was acknowledged by %s", p.ID, d.AcknowledgedBy)
			}
			// Anyone who read the code on its way can type any name: the acknowledgement is
			// recorded as a fallback one (AckVia) and shown as unverified wherever it appears,
			// until the partner's node signs its own.
			by := fmt.Sprintf("%s (%s)", strings.TrimSpace(name), ac.Team)
			d.AcknowledgedAt, d.AcknowledgedBy, d.AckVia = &now, by, ViaFallback
			if stateRank[d.State] < stateRank[Acknowledged] {
				d.State = Acknowledged
			}
			if err := tx.PutDelivery(ctx, d); err != nil {
				return err
			}
			s.touched(tx, p.ID)
			detail := fmt.Sprintf("via %s, unverified (not signed by %s's node): %s", ViaFallback, ac.Team, by)
			if err := appendAudit(ctx, tx, now, "fallback:"+ac.Team, "page.ack", p.ID, detail); err != nil {
				return err
			}
		default:
			return ErrBadCode
		}
		if !ac.ShowsContent {
			p.Summary, p.Details = "", ""
		}
		d, err = tx.GetDelivery(ctx, p.ID, ac.Team)
		return err
	})
	return p, d, err
}
