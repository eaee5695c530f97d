package incident

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// incidentID is the shape of ids from peers: they end up in URLs.
var incidentID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// incidentNumber is what follows "<coordinator>-" in an incident id: exactly the year
// and number, so a team "cn" cannot take ids that team "cn-x" will use.
var incidentNumber = regexp.MustCompile(`^[0-9]{4}-[0-9]{4,9}$`)

// applyUpsert takes the coordinator's snapshot of an incident's own fields.
func (s *Service) applyUpsert(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	var in store.Incident
	if err := json.Unmarshal(env.Payload, &in); err != nil {
		return federation.Rejectf("incident payload: %v", err)
	}
	switch {
	case in.ID != env.ObjectID:
		return federation.Rejectf("incident %s: envelope names %s", in.ID, env.ObjectID)
	case in.Coordinator != env.Origin:
		return federation.Rejectf("incident %s: sent by %s, coordinated by %s", in.ID, env.Origin, in.Coordinator)
	case !incidentID.MatchString(in.ID) || !strings.HasPrefix(in.ID, in.Coordinator+"-") || !incidentNumber.MatchString(strings.TrimPrefix(in.ID, in.Coordinator+"-")):
		// Ids are made by their coordinator and carry its team id, so one team cannot
		// claim an id another team will use.
		return federation.Rejectf("incident id %q is not one of %s's", in.ID, in.Coordinator)
	case transitions[in.Status] == nil:
		return federation.Rejectf("incident %s: unknown status %q", in.ID, in.Status)
	case taxonomy.Valid(in.Category) != nil:
		return federation.Rejectf("incident %s: unknown category %q", in.ID, in.Category)
	case !slices.Contains(Severities, in.Severity):
		return federation.Rejectf("incident %s: unknown severity %q", in.ID, in.Severity)
	case !tlp.Label(in.TLP).Valid():
		return federation.Rejectf("incident %s: unknown TLP %q", in.ID, in.TLP)
	case !slices.Contains(teamsOf(in), s.dir.Self.ID):
		return federation.Rejectf("incident %s: %s is not a participant", in.ID, s.dir.Self.ID)
	case problem.CheckText("title", in.Title, maxTitle, true) != nil || problem.CheckText("description", in.Description, maxDescription, false) != nil:
		return federation.Rejectf("incident %s: title or description malformed", in.ID)
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
