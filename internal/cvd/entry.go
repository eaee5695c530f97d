package cvd

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"csirtlink/internal/audit"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Timeline entry kinds.
const (
	KindComment   = "comment"
	KindPropose   = "embargo.propose"
	KindAgree     = "embargo.agree"
	KindObject    = "embargo.object"
	KindEmergency = "embargo.emergency"
	KindStatus    = "status"
	KindOffer     = "handoff.offer"
	KindAccept    = "handoff.accept"
)

var kinds = []string{KindComment, KindPropose, KindAgree, KindObject, KindEmergency, KindStatus, KindOffer, KindAccept, KindRemove}

func signedBytes(e store.CVDEntry) []byte {
	return envelope.Canonical("csirtlink/cvd-entry/v1", []byte(e.ID), []byte(e.CaseID), []byte(e.Team), []byte(e.Author),
		[]byte(e.Kind), []byte(e.Body), []byte(e.TLP), []byte(e.Data), envelope.FormatTime(e.CreatedAt))
}

// write makes, signs and records one entry of this team on a case: sequenced here when
// we own the case, otherwise sent to the owner, who sequences and relays it. allow sees
// the case first and may refuse, or fill in data.
func (s *Service) write(ctx context.Context, a Actor, id, kind, body string, data wire.CVDData, allow func(Case) error) (Case, error) {
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		c, err := loadLocal(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(c.Participants, s.Self()) {
			return problem.Forbidden("%s is not a participant", s.Self())
		}
		if allow != nil {
			if err := allow(c); err != nil {
				return err
			}
		}
		e := store.CVDEntry{ID: identity.RandomID(16), CaseID: id, Team: s.Self(), Author: a.Name, Kind: kind, Body: body,
			TLP: c.TLP, CreatedAt: s.now()}
		if data != (wire.CVDData{}) {
			e.Data = wire.EncodeCVDData(data)
		}
		if err := validEntry(e, c, s.clock.Now()); err != nil {
			return err
		}
		e.Signature = s.key.Sign(signedBytes(e))
		if err := audit.Append(ctx, tx, e.CreatedAt, a.Name, "cvd."+kind, id, e.ID); err != nil {
			return err
		}
		if c.Owner == s.Self() {
			return s.sequence(ctx, tx, c, e)
		}
		if err := tx.PutCVDEntry(ctx, e); err != nil {
			return err
		}
		if data.VendorRef != "" && kind == KindRemove {
			// Our own vendor is cut off here at once, not when the owner relays the
			// entry back: nothing more may reach it meanwhile.
			c.RemovedVendors = append(c.RemovedVendors, RemovedVendor{Team: e.Team, VendorRef: data.VendorRef, Vendor: data.Vendor, At: e.CreatedAt})
			if err := s.save(ctx, tx, &c); err != nil {
				return err
			}
		}
		s.notify(tx, id)
		return s.send(ctx, tx, c, e, wire.TypeCVDSubmit, c.Owner)
	})
	if err != nil {
		return Case{}, err
	}
	return s.Get(ctx, id)
}

// sequence gives an entry the next position of a case we own, applies it, and relays
// it to every other participant.
func (s *Service) sequence(ctx context.Context, tx store.Tx, c Case, e store.CVDEntry) error {
	c.lastPosition++
	e.Position = c.lastPosition
	// The entry goes to those who took part when it was written: a coordinator removed
	// by it is told so, and gets nothing after it.
	before := c
	if err := s.apply(ctx, tx, &c, e); err != nil {
		return err
	}
	var others []string
	for _, t := range before.Participants {
		if t != s.Self() {
			others = append(others, t)
		}
	}
	s.notify(tx, c.ID)
	return s.send(ctx, tx, before, e, wire.TypeCVDAppend, others...)
}

// send enqueues an entry for teams; egress.Decide (in Enqueue) has the last word.
func (s *Service) send(ctx context.Context, tx store.Tx, c Case, e store.CVDEntry, typ string, to ...string) error {
	payload, err := encodeEntry(e)
	if err != nil {
		return err
	}
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: typ, ObjectID: c.ID, Payload: payload,
			Item: tlp.Item{Label: tlp.Label(e.TLP), Author: e.Team, Recipients: c.Participants}, Participants: c.Participants,
			Embargo: Hold(c)})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}

// effects folds one sequenced entry into the case. Each field has one writer: the
// proposal and hand-off offers only from the owner, an agreement, objection or vendor
// status only from the team it is about, the acceptance only from the team offered.
func (s *Service) effects(c *Case, e store.CVDEntry) error {
	if e.Position > c.lastPosition {
		c.lastPosition = e.Position
	}
	if e.CreatedAt.After(c.UpdatedAt) {
		c.UpdatedAt = e.CreatedAt
	}
	var d wire.CVDData
	if e.Data != "" {
		var err error
		if d, err = wire.DecodeCVDData(e.Data); err != nil {
			return federation.Rejectf("case entry %s: %v", e.ID, err)
		}
	}
	bad := func(format string, args ...any) error {
		return federation.Rejectf("case entry %s (%s by %s): "+format, append([]any{e.ID, e.Kind, e.Team}, args...)...)
	}
	em := &c.Embargo
	switch e.Kind {
	case KindPropose:
		if e.Team != c.Owner || d.PublishAt == nil {
			return bad("only the owner proposes an instant")
		}
		at := *d.PublishAt
		em.PublishAt, em.ProposedBy, em.Agreed, em.Objections = &at, e.Team, []string{}, nil
	case KindAgree, KindObject:
		if d.PublishAt == nil {
			return bad("no instant")
		}
		// An answer to an earlier proposal stays in the timeline and changes nothing.
		if em.PublishAt == nil || !em.PublishAt.Equal(*d.PublishAt) {
			return nil
		}
		em.Agreed = slices.DeleteFunc(em.Agreed, func(t string) bool { return t == e.Team })
		em.Objections = slices.DeleteFunc(em.Objections, func(o Objection) bool { return o.Team == e.Team })
		if e.Kind == KindAgree {
			em.Agreed = append(em.Agreed, e.Team)
			slices.Sort(em.Agreed)
		} else {
			em.Objections = append(em.Objections, Objection{Team: e.Team, By: e.Author, Reason: e.Body, At: e.CreatedAt})
		}
	case KindEmergency:
		if em.Emergency == nil {
			em.Emergency = &Emergency{Team: e.Team, By: e.Author, Reason: e.Body, At: e.CreatedAt}
		}
	case KindStatus:
		st := Status{Team: e.Team, VendorRef: d.VendorRef, Vendor: d.Vendor, Vulnerability: d.Vulnerability, Product: d.Product,
			Status: d.Status, Justification: d.Justification, FixedVersion: d.FixedVersion, Statement: e.Body, At: e.CreatedAt}
		if err := validStatus(*c, st); err != nil {
			return bad("%v", err)
		}
		c.Statuses = slices.DeleteFunc(c.Statuses, func(o Status) bool {
			return o.Team == st.Team && o.VendorRef == st.VendorRef && o.Vulnerability == st.Vulnerability && o.Product == st.Product
		})
		c.Statuses = append(c.Statuses, st)
	case KindOffer:
		if e.Team != c.Owner || !slices.Contains(c.Participants, d.Team) || d.Team == c.Owner {
			return bad("only the owner offers the case, to another participant")
		}
		c.Handoff = &Handoff{From: c.Owner, To: d.Team, At: e.CreatedAt}
	case KindAccept:
		if c.Handoff == nil || c.Handoff.To != e.Team || d.Team != e.Team {
			return bad("no offer to %s", e.Team)
		}
		c.Owner, c.Handoff = e.Team, nil
		c.Owners = append(c.Owners, e.Team)
	case KindRemove:
		if err := foldRemoval(c, e, d); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// verify checks an entry that came from another node: its author's signature, then
// every rule an entry written here obeys.
func (s *Service) verify(e store.CVDEntry, c Case) error {
	pub, ok := s.dir.Key(e.Team)
	if !ok {
		return federation.Rejectf("case entry %s: by unknown team %q", e.ID, e.Team)
	}
	if !identity.Verify(pub, signedBytes(e), e.Signature) {
		return federation.Rejectf("case entry %s: bad signature by %s", e.ID, e.Team)
	}
	if err := validEntry(e, c, s.clock.Now()); err != nil {
		return federation.Rejectf("case entry %s: %v", e.ID, err)
	}
	return nil
}

// held reports whether an entry is already sequenced here, and refuses an id that a
// different entry already has.
func held(ctx context.Context, tx store.Tx, e store.CVDEntry) (bool, error) {
	old, err := tx.GetCVDEntry(ctx, e.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if old.Team != e.Team || !bytes.Equal(old.Signature, e.Signature) {
		return false, federation.Rejectf("case entry id %s reused by %s", e.ID, e.Team)
	}
	return old.Position > 0, nil
}

func caseFor(ctx context.Context, tx store.Tx, id string) (Case, error) {
	c, err := load(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, federation.Rejectf("case %s unknown here", id)
	}
	return c, err
}

// applyCase takes the owner's snapshot of a case's own fields.
func (s *Service) applyCase(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	in, err := decodeCase(env)
	if err != nil {
		return err
	}
	if in.ID != env.ObjectID || in.Owner != env.Origin {
		return federation.Rejectf("case %s: sent by %s, owned by %s", env.ObjectID, env.Origin, in.Owner)
	}
	if err := validCase(in, s.Self(), s.clock.Now()); err != nil {
		return federation.Rejectf("case %s: %v", in.ID, err)
	}
	old, err := load(ctx, tx, in.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in.Owners, in.Statuses, in.Embargo.Agreed = []string{in.Owner}, []Status{}, []string{}
	case err != nil:
		return err
	case old.Owner != env.Origin:
		return federation.Rejectf("case %s is owned by %s", in.ID, old.Owner)
	default:
		// The snapshot carries the owner's own fields; what the timeline folds stays.
		in.Embargo, in.Statuses, in.Handoff, in.Owners, in.lastPosition = old.Embargo, old.Statuses, old.Handoff, old.Owners, old.lastPosition
		in.RemovedVendors, in.RemovedItems = old.RemovedVendors, old.RemovedItems
		// This node's advisory texts stay: the snapshot never carries them.
		in.Advisories, in.vendorTLP = old.Advisories, old.vendorTLP
		in.CreatedAt = old.CreatedAt
	}
	if err := s.save(ctx, tx, &in); err != nil {
		return err
	}
	s.notify(tx, in.ID)
	return audit.Append(ctx, tx, s.clock.Now(), "peer:"+env.Origin, "cvd.receive", in.ID, in.Title)
}

// applySubmit sequences a participant's entry on a case we own.
func (s *Service) applySubmit(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	e, err := decodeEntry(env)
	if err != nil {
		return err
	}
	c, err := caseFor(ctx, tx, e.CaseID)
	if err != nil {
		return err
	}
	switch {
	case c.Owner != s.Self():
		return federation.Rejectf("case %s is owned by %s", c.ID, c.Owner)
	case e.Team != env.Origin:
		return federation.Rejectf("case entry %s by %s submitted by %s", e.ID, e.Team, env.Origin)
	}
	if err := s.verify(e, c); err != nil {
		return err
	}
	e.Position = 0
	if done, err := held(ctx, tx, e); done || err != nil {
		return err
	}
	if err := s.sequence(ctx, tx, c, e); err != nil {
		return err
	}
	return audit.Append(ctx, tx, s.clock.Now(), "peer:"+env.Origin, "cvd."+e.Kind, c.ID, e.ID)
}

// applyAppend takes a sequenced entry from the owner.
func (s *Service) applyAppend(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	e, err := decodeEntry(env)
	if err != nil {
		return err
	}
	c, err := caseFor(ctx, tx, e.CaseID)
	if err != nil {
		return err
	}
	if c.Owner != env.Origin {
		return federation.Rejectf("case %s is owned by %s, not %s", c.ID, c.Owner, env.Origin)
	}
	if e.Position <= 0 {
		return federation.Rejectf("case entry %s has no position", e.ID)
	}
	if err := s.verify(e, c); err != nil {
		return err
	}
	if done, err := held(ctx, tx, e); done || err != nil {
		return err
	}
	if gone(c, e) {
		// A coordinator added later folds the timeline so far on the owner's current
		// snapshot: an entry about an item removed since then changed what the owner
		// sequenced it on, and changes nothing here. It is kept in the timeline.
		if e.Position > c.lastPosition {
			c.lastPosition = e.Position
		}
		if d, err := wire.DecodeCVDData(e.Data); err == nil && e.Kind == KindRemove {
			// Its ids are not given again, should this node own the case one day.
			for _, id := range []string{d.Vulnerability, d.Product} {
				if id != "" && !slices.Contains(c.RemovedItems, id) {
					c.RemovedItems = append(c.RemovedItems, id)
				}
			}
		}
		if err := tx.PutCVDEntry(ctx, e); err != nil {
			return err
		}
		s.notify(tx, c.ID)
		return s.save(ctx, tx, &c)
	}
	if err := s.apply(ctx, tx, &c, e); err != nil {
		return err
	}
	s.notify(tx, c.ID)
	return nil
}

// apply folds a positioned entry into the case and stores both.
func (s *Service) apply(ctx context.Context, tx store.Tx, c *Case, e store.CVDEntry) error {
	if err := s.effects(c, e); err != nil {
		return err
	}
	if err := tx.PutCVDEntry(ctx, e); err != nil {
		return err
	}
	return s.save(ctx, tx, c)
}

// Comment adds a comment to a case's timeline.
func (s *Service) Comment(ctx context.Context, a Actor, id, body string) (Case, error) {
	if err := problem.CheckText("body", body, maxBody, true); err != nil {
		return Case{}, err
	}
	return s.write(ctx, a, id, KindComment, body, wire.CVDData{}, nil)
}

// OfferHandoff offers the case's ownership to another participant (owner only).
func (s *Service) OfferHandoff(ctx context.Context, a Actor, id, to string) (Case, error) {
	return s.write(ctx, a, id, KindOffer, "", wire.CVDData{Team: to}, func(c Case) error {
		if c.Owner != s.Self() {
			return problem.Forbidden("only the owner (%s) does this", c.Owner)
		}
		if to == c.Owner || !slices.Contains(c.Participants, to) {
			return problem.Invalid("team", "%q is not a participant of %s", to, c.ID)
		}
		return nil
	})
}

// AcceptHandoff takes over a case offered to this team; its history stays.
func (s *Service) AcceptHandoff(ctx context.Context, a Actor, id string) (Case, error) {
	return s.write(ctx, a, id, KindAccept, "", wire.CVDData{Team: s.Self()}, func(c Case) error {
		if c.Handoff == nil || c.Handoff.To != s.Self() {
			return problem.Conflict("case %s is not offered to %s", c.ID, s.Self())
		}
		return nil
	})
}
