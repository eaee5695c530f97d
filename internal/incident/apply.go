package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
)

// applyUpsert takes the coordinator's snapshot of an incident's own fields.
func (s *Service) applyUpsert(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	in, err := decodeIncident(env)
	if err != nil {
		return err
	}
	switch {
	case in.ID != env.ObjectID:
		return refuse("incident "+env.ObjectID, fmt.Errorf("the payload is about %q", in.ID))
	case in.Coordinator != env.Origin:
		return refuse("incident "+in.ID, fmt.Errorf("coordinated by %q, sent by %s", in.Coordinator, env.Origin))
	}
	if err := validIncident(in, s.dir.Self.ID, s.clock.Now()); err != nil {
		return refuse("incident "+in.ID, err)
	}
	// One writer per field: a participant's status is written only by its own signed
	// participation entries (which the coordinator relays). From the snapshot we take
	// only the coordinator's own status; everyone else starts invited.
	for i := range in.Participants {
		if p := &in.Participants[i]; p.Team != in.Coordinator {
			p.Status, p.AcknowledgedAt = Invited, nil
		}
	}
	old, err := tx.GetIncident(ctx, in.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		in.LastPosition = 0
		if err := tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		s.notify(tx, in.ID)
		return s.auditPeer(ctx, tx, env.Origin, "incident.receive", in.ID, in.Title)
	case err != nil:
		return err
	case old.Coordinator != env.Origin:
		return federation.Rejectf("incident %s is coordinated by %s", in.ID, old.Coordinator)
	}
	in.LastPosition = old.LastPosition
	if err := tx.UpdateIncident(ctx, in); err != nil {
		return err
	}
	for _, p := range in.Participants {
		// Teams we already know keep the status their own entries gave them.
		if slices.ContainsFunc(old.Participants, func(q store.Participant) bool { return q.Team == p.Team }) {
			continue
		}
		if err := tx.UpsertParticipant(ctx, in.ID, p); err != nil {
			return err
		}
	}
	s.notify(tx, in.ID)
	return s.auditPeer(ctx, tx, env.Origin, "incident.update", in.ID, in.Title)
}

// applySubmit sequences a participant's entry on an incident we coordinate.
func (s *Service) applySubmit(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	e, err := decodeEntry(env)
	if err != nil {
		return err
	}
	in, err := s.incidentFor(ctx, tx, e.IncidentID)
	if err != nil {
		return err
	}
	switch {
	case in.Coordinator != s.dir.Self.ID:
		return federation.Rejectf("incident %s is coordinated by %s", in.ID, in.Coordinator)
	case e.Team != env.Origin:
		return federation.Rejectf("entry %s by %s submitted by %s", e.ID, e.Team, env.Origin)
	case e.Kind == KindStatus:
		return federation.Rejectf("entry %s: only the coordinator sets the status", e.ID)
	}
	if err := s.verifyEntry(e, in); err != nil {
		return err
	}
	e.Position = 0
	if done, err := held(ctx, tx, e); done || err != nil {
		return err
	}
	if _, err := s.sequence(ctx, tx, in, e); err != nil {
		return err
	}
	return s.auditPeer(ctx, tx, env.Origin, "entry."+e.Kind, in.ID, e.ID)
}

// applyAppend takes a sequenced entry from the coordinator.
func (s *Service) applyAppend(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	e, err := decodeEntry(env)
	if err != nil {
		return err
	}
	in, err := s.incidentFor(ctx, tx, e.IncidentID)
	if err != nil {
		return err
	}
	if in.Coordinator != env.Origin {
		return federation.Rejectf("incident %s is coordinated by %s, not %s", in.ID, in.Coordinator, env.Origin)
	}
	if e.Position <= 0 {
		return federation.Rejectf("entry %s has no position", e.ID)
	}
	if err := s.verifyEntry(e, in); err != nil {
		return err
	}
	if done, err := held(ctx, tx, e); done || err != nil {
		return err
	}
	if err := s.effects(ctx, tx, &in, e); err != nil {
		return err
	}
	if err := tx.PutEntry(ctx, e); err != nil {
		return err
	}
	s.notify(tx, in.ID)
	if e.Team == s.dir.Self.ID {
		return nil
	}
	return s.auditPeer(ctx, tx, env.Origin, "entry."+e.Kind, in.ID, e.ID)
}
