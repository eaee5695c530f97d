package indicator

import (
	"context"
	"errors"
	"slices"

	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// reject turns a validation problem into the envelope's rejection, naming the field.
func reject(what string, err error) error {
	if p, ok := problem.As(err); ok {
		return federation.Rejectf("%s: %s: %s", what, p.Field, p.Message)
	}
	return err
}

// held returns the copy of an indicator we hold, checking that a peer's message about it
// comes from the team that wrote it. An id is the author's for good: a version, or a
// tombstone, from another team is refused, so a partner that learnt an id cannot take
// it over at a team that has not seen it yet (docs/indicators.md, "Ids").
func held(ctx context.Context, tx store.Tx, id, author string) (store.Indicator, bool, error) {
	old, err := tx.GetIndicator(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return old, false, nil
	case err != nil:
		return old, false, err
	case old.Author != author:
		return old, true, federation.Rejectf("indicator %s is %s's, not %s's", id, old.Author, author)
	}
	return old, true, nil
}

// applyUpsert takes a version of an indicator from its author.
func (s *Service) applyUpsert(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	ind, err := decodeIndicator(env.Payload)
	if err != nil {
		return err
	}
	switch {
	case ind.ID != env.ObjectID:
		return federation.Rejectf("indicator %s: the envelope names %s", ind.ID, env.ObjectID)
	case ind.Author != env.Origin:
		return federation.Rejectf("indicator %s: written by %s, sent by %s: only the author sends its versions", ind.ID, ind.Author, env.Origin)
	case ind.ID == "":
		return federation.Rejectf("indicator: no id")
	case env.TLP != ind.TLP:
		return federation.Rejectf("indicator %s: the envelope says TLP:%s, the object TLP:%s", ind.ID, env.TLP, ind.TLP)
	}
	return s.applyVersion(ctx, tx, ind)
}

// applyVersion takes a version its author sent, alone or in a bulk chunk: checked as one
// written here is, held only if the TLP rule lets this node hold it, applied only when
// newer than the version held, never over a tombstone.
func (s *Service) applyVersion(ctx context.Context, tx store.Tx, ind store.Indicator) error {
	changed, err := s.putVersion(ctx, tx, ind)
	if changed {
		s.notify(tx, ind.ID)
	}
	return err
}

// putVersion is applyVersion without telling anyone: it reports whether it stored the
// version, so that a bulk chunk tells of all its changes at once.
func (s *Service) putVersion(ctx context.Context, tx store.Tx, ind store.Indicator) (bool, error) {
	if err := s.checkVersion(ind); err != nil {
		return false, err
	}
	old, ok, err := held(ctx, tx, ind.ID, ind.Author)
	if err != nil {
		return false, err
	}
	return s.storeVersion(ctx, tx, ind, old, ok)
}

// checkVersion checks a version as one written here is, and that the TLP rule lets this
// node hold it.
func (s *Service) checkVersion(ind store.Indicator) error {
	if err := validIndicator(ind, s.clock.Now()); err != nil {
		return reject("indicator "+ind.ID, err)
	}
	if !egress.MayHoldInCommunity(itemOf(ind), s.Self(), ind.Audience) {
		return federation.Rejectf("indicator %s: TLP:%s does not allow %s to hold it", ind.ID, ind.TLP, s.Self())
	}
	return nil
}

// storeVersion stores a checked version unless the copy held (old, if ok: the author's,
// as held checks) is revoked or as new.
func (s *Service) storeVersion(ctx context.Context, tx store.Tx, ind, old store.Indicator, ok bool) (bool, error) {
	switch {
	case ok && old.State == store.IndicatorRevoked:
		return false, nil // revoked for good: a late copy does not bring it back
	case ok && old.Version >= ind.Version:
		return false, nil // an older version, arriving late
	}
	ind.ReceivedAt = s.clock.Now().UTC()
	if err := tx.PutIndicator(ctx, ind); err != nil {
		return false, err
	}
	return true, nil
}

// applyTombstone takes an indicator's end from its author.
func (s *Service) applyTombstone(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	t, err := wire.DecodeIndicatorTombstone(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	switch {
	case t.ID != env.ObjectID || !uuid4.MatchString(t.ID):
		return federation.Rejectf("tombstone %q: the envelope names %s", t.ID, env.ObjectID)
	case t.Author != env.Origin:
		return federation.Rejectf("tombstone of %s: written by %s, sent by %s", t.ID, t.Author, env.Origin)
	case t.State != store.IndicatorRevoked && t.State != store.IndicatorWithdrawn:
		return federation.Rejectf("tombstone of %s: state %q", t.ID, t.State)
	case t.Version < 1:
		return federation.Rejectf("tombstone of %s: version %d", t.ID, t.Version)
	}
	if err := checkTime("at", t.At.UTC(), s.clock.Now()); err != nil {
		return reject("tombstone of "+t.ID, err)
	}
	old, ok, err := held(ctx, tx, t.ID, t.Author)
	switch {
	case err != nil:
		return err
	case ok && old.State == store.IndicatorRevoked:
		return nil
	case ok && old.Version > t.Version:
		return nil
	case ok && old.Version == t.Version && old.State != store.IndicatorActive:
		return nil
	}
	// Kept without its content, so that no copy of any older version can bring it back,
	// even one that reaches us after the tombstone (or without us ever holding it).
	at := t.At.UTC()
	stone := store.Indicator{ID: t.ID, Author: t.Author, Version: t.Version, State: t.State, Modified: at, RevokedAt: &at,
		ReceivedAt: s.clock.Now().UTC()}
	if ok {
		// The label and audience of the version we held are not content: with them an
		// export (a MISP feed) can tell whoever got the object from us that it ended.
		stone.TLP, stone.ShareWith, stone.Audience = old.TLP, old.ShareWith, old.Audience
	}
	if err := tx.PutIndicator(ctx, stone); err != nil {
		return err
	}
	s.notify(tx, t.ID)
	return nil
}

// sightingItem is what the TLP rule decides on for a sighting: its own label, written by
// the team that saw; its audience the indicator's author and holders.
func sightingParticipants(ind store.Indicator) []string {
	return sortedUnique(append(slices.Clone(ind.Audience), ind.Author))
}

// applySighting takes a sighting: at the author from the team that saw, or at a holder
// relayed by the author.
func (s *Service) applySighting(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	x, author, err := decodeSighting(env.Payload)
	if err != nil {
		return err
	}
	switch {
	case x.ID != env.ObjectID:
		return federation.Rejectf("sighting %s: the envelope names %s", x.ID, env.ObjectID)
	case env.TLP != x.TLP:
		return federation.Rejectf("sighting %s: the envelope says TLP:%s, the sighting TLP:%s", x.ID, env.TLP, x.TLP)
	case x.Team == s.Self():
		return federation.Rejectf("sighting %s: reported in our name", x.ID)
	case env.Origin != x.Team && env.Origin != author:
		return federation.Rejectf("sighting %s by %s: sent by %s, neither the team that saw nor the indicator's author", x.ID, x.Team, env.Origin)
	}
	if err := validSighting(x, author, s.clock.Now()); err != nil {
		return reject("sighting "+x.ID, err)
	}
	ind, ok, err := held(ctx, tx, x.IndicatorID, author)
	switch {
	case err != nil:
		return err
	case !ok:
		return federation.Rejectf("sighting %s: no indicator %s here", x.ID, x.IndicatorID)
	case ind.State == store.IndicatorRevoked:
		return nil // nothing more is learnt about a revoked object
	}
	if !egress.MayHoldInCommunity(sightingItem(x), s.Self(), sightingParticipants(ind)) {
		return federation.Rejectf("sighting %s: TLP:%s does not allow %s to hold it", x.ID, x.TLP, s.Self())
	}
	x.ReceivedAt = s.clock.Now().UTC()
	fresh, err := tx.PutSighting(ctx, x)
	if err != nil || !fresh {
		return err
	}
	s.notify(tx, ind.ID)
	if ind.Author == s.Self() {
		return s.relay(ctx, tx, ind, x)
	}
	return nil
}
