package hotline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
)

// stateChange is what a receiver tells the sender about its delivery, and what the
// sender tells receivers when it resolves a page.
// It travels as a wire.PageState (wire.go).
type stateChange struct {
	PageID  string
	Team    string
	State   string
	At      time.Time
	Channel string
	By      string
	Via     string
	// Statement is the receiving node's signature over the acknowledgement.
	Statement []byte
}

// applySend takes a page from a partner and starts our escalation for it.
func (s *Service) applySend(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	p, to, err := decodePage(env)
	if err != nil {
		return err
	}
	switch {
	case p.ID != env.ObjectID:
		return refuse("page "+env.ObjectID, fmt.Errorf("the payload is about %q", p.ID))
	case p.From != env.Origin:
		return refuse("page "+p.ID, fmt.Errorf("from %q, sent by %s", p.From, env.Origin))
	}
	if err := validPage(p, to, s.dir.Self.ID, s.clock.Now()); err != nil {
		return refuse("page "+p.ID, err)
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
	c, err := decodeState(env)
	if err != nil {
		return err
	}
	if c.Team != env.Origin || c.PageID != env.ObjectID {
		return refuse("page "+env.ObjectID, fmt.Errorf("state of %q at %q sent by %s", c.PageID, c.Team, env.Origin))
	}
	if err := validState(c, s.clock.Now()); err != nil {
		return refuse("page "+c.PageID, err)
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
	c, err := decodeState(env)
	if err != nil {
		return err
	}
	if c.Team != env.Origin || c.PageID != env.ObjectID || c.State != Resolved {
		return refuse("page "+env.ObjectID, fmt.Errorf("resolution of %q by %q (%q) sent by %s", c.PageID, c.Team, c.State, env.Origin))
	}
	if err := validState(c, s.clock.Now()); err != nil {
		return refuse("page "+c.PageID, err)
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
