package hotline

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// objectID is the shape of ids that come from peers: they end up in URLs and file names.
var objectID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// pageNumber is what follows "<sender>-" in a page id: exactly the sender's year and
// number, so a team "cn" cannot send ids that team "cn-x" will use.
var pageNumber = regexp.MustCompile(`^[0-9]{4}-p[0-9]{4,9}$`)

// stateChange is what a receiver tells the sender about its delivery, and what the
// sender tells receivers when it resolves a page.
type stateChange struct {
	PageID  string    `json:"page_id"`
	Team    string    `json:"team"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel,omitempty"`
	By      string    `json:"by,omitempty"`
	Via     string    `json:"via,omitempty"`
	// Statement is the receiving node's signature over the acknowledgement.
	Statement []byte `json:"statement,omitempty"`
}

// applySend takes a page from a partner and starts our escalation for it.
func (s *Service) applySend(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	var w wirePage
	if err := json.Unmarshal(env.Payload, &w); err != nil {
		return federation.Rejectf("page payload: %v", err)
	}
	p := w.Page
	switch {
	case p.ID != env.ObjectID || !objectID.MatchString(p.ID) || !pageNumber.MatchString(strings.TrimPrefix(p.ID, env.Origin+"-")) || !strings.HasPrefix(p.ID, env.Origin+"-"):
		return federation.Rejectf("page id %q from %s", p.ID, env.Origin)
	case p.From != env.Origin:
		return federation.Rejectf("page %s from %s sent by %s", p.ID, p.From, env.Origin)
	case !slices.Contains(Severities, p.Severity):
		return federation.Rejectf("page %s: unknown severity %q", p.ID, p.Severity)
	case problem.CheckText("summary", p.Summary, maxSummary, true) != nil || problem.CheckText("details", p.Details, maxDetails, false) != nil:
		return federation.Rejectf("page %s: summary or details malformed", p.ID)
	case !tlp.Label(p.TLP).Valid():
		return federation.Rejectf("page %s: unknown TLP %q", p.ID, p.TLP)
	case !slices.Contains(w.To, s.dir.Self.ID):
		return federation.Rejectf("page %s is not addressed to %s", p.ID, s.dir.Self.ID)
	}
	if old, err := tx.GetPage(ctx, p.ID); err == nil {
		if old.From != env.Origin {
			// Team ids may contain '-': "cn" must not take an id "cn-x" will use.
			return federation.Rejectf("page id %s already used by %s", p.ID, old.From)
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := s.clock.Now()
	p.ResolvedAt, p.ResolvedBy = nil, ""
	p.Deliveries = []store.Delivery{{Team: s.dir.Self.ID, State: Delivered, SentAt: p.CreatedAt, DeliveredAt: &now}}
	if err := tx.CreatePage(ctx, p); err != nil {
		return err
	}
	if err := s.startEscalation(ctx, tx, p.ID, now); err != nil {
		return err
	}
	s.touched(tx, p.ID)
	return s.auditPeer(ctx, tx, env.Origin, "page.receive", p.ID, p.Severity+": "+p.Summary)
}

// delivered is told of each receipt a peer returns: a receipt for a page is the
// "delivered" state, and the receipt itself is kept as its evidence.
func (s *Service) delivered(ctx context.Context, tx store.Tx, env *envelope.Envelope, r *envelope.Receipt) error {
	if env.Type != typeSend || r.Status != envelope.Applied && r.Status != envelope.Duplicate {
		return nil
	}
	d, err := tx.GetDelivery(ctx, env.ObjectID, env.Destination)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d.Receipt = r.Marshal()
	at := r.ReceivedAt
	d.DeliveredAt = &at
	if stateRank[d.State] < stateRank[Delivered] {
		d.State = Delivered
	}
	if err := tx.PutDelivery(ctx, d); err != nil {
		return err
	}
	s.touched(tx, d.PageID)
	return nil
}

// applyState takes a receiver's news about its delivery of our page.
func (s *Service) applyState(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	var c stateChange
	if err := json.Unmarshal(env.Payload, &c); err != nil {
		return federation.Rejectf("page state payload: %v", err)
	}
	if c.Team != env.Origin || c.PageID != env.ObjectID {
		return federation.Rejectf("page state for %s/%s sent by %s", c.PageID, c.Team, env.Origin)
	}
	if c.State != Notified && c.State != Acknowledged {
		return federation.Rejectf("page state %q cannot come from a receiver", c.State)
	}
	p, err := tx.GetPage(ctx, c.PageID)
	if errors.Is(err, store.ErrNotFound) || err == nil && p.From != s.dir.Self.ID {
		return federation.Rejectf("page %s was not sent by %s", c.PageID, s.dir.Self.ID)
	}
	if err != nil {
		return err
	}
	d, err := tx.GetDelivery(ctx, c.PageID, c.Team)
	if errors.Is(err, store.ErrNotFound) {
		return federation.Rejectf("page %s was not sent to %s", c.PageID, c.Team)
	}
	if err != nil {
		return err
	}
	at := c.At
	switch c.State {
	case Notified:
		if d.NotifiedAt == nil {
			d.NotifiedAt, d.NotifiedChannel = &at, c.Channel
		}
	case Acknowledged:
		pub, _ := s.dir.Key(c.Team)
		if verifyAck(pub, c) != nil {
			return federation.Rejectf("acknowledgement of %s by %s: bad statement signature", c.PageID, c.Team)
		}
		if d.AcknowledgedAt != nil {
			// Already acknowledged (perhaps by fallback code); keep the first, but keep
			// the partner node's signed statement if we had none.
			if d.AckStatement == nil {
				d.AckStatement = c.signedAck()
			}
			break
		}
		d.AcknowledgedAt, d.AcknowledgedBy, d.AckVia, d.AckStatement = &at, c.By, c.Via, c.signedAck()
	}
	if stateRank[c.State] > stateRank[d.State] && d.State != Resolved {
		d.State = c.State
	}
	if err := tx.PutDelivery(ctx, d); err != nil {
		return err
	}
	s.touched(tx, c.PageID)
	return s.auditPeer(ctx, tx, env.Origin, "page."+c.State, c.PageID, c.By)
}

// applyResolve takes the sender's resolution of a page it sent us.
func (s *Service) applyResolve(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	var c stateChange
	if err := json.Unmarshal(env.Payload, &c); err != nil {
		return federation.Rejectf("page resolve payload: %v", err)
	}
	p, err := tx.GetPage(ctx, env.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return federation.Rejectf("page %s unknown here", env.ObjectID)
	}
	if err != nil {
		return err
	}
	if p.From != env.Origin {
		return federation.Rejectf("page %s was sent by %s, not %s", p.ID, p.From, env.Origin)
	}
	if p.ResolvedAt != nil {
		return nil
	}
	now := s.clock.Now()
	if err := tx.ResolvePage(ctx, p.ID, now, c.By); err != nil {
		return err
	}
	d, err := tx.GetDelivery(ctx, p.ID, s.dir.Self.ID)
	if err != nil {
		return err
	}
	d.State, d.ResolvedAt = Resolved, &now
	if err := tx.PutDelivery(ctx, d); err != nil {
		return err
	}
	if err := s.stopEscalation(ctx, tx, p.ID, now, "resolved by "+p.From); err != nil {
		return err
	}
	s.touched(tx, p.ID)
	return s.auditPeer(ctx, tx, env.Origin, "page.resolve", p.ID, c.By)
}

func (s *Service) auditPeer(ctx context.Context, tx store.Tx, peer, action, object, detail string) error {
	return appendAudit(ctx, tx, s.clock.Now(), "peer:"+peer, action, object, detail)
}
