package incident

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Entry kinds.
const (
	KindComment       = "comment"
	KindObservable    = "observable"
	KindStatus        = "status"
	KindParticipation = "participation"
	KindInvitation    = "invitation"
)

// NewEntry is what a person adds to a timeline. Type is the observable type for kind
// observable ("" to detect it from Body).
type NewEntry struct {
	Kind       string   `json:"kind"`
	Body       string   `json:"body"`
	TLP        string   `json:"tlp"`
	Recipients []string `json:"recipients"`
	Type       string   `json:"type,omitempty"`
}

func entrySignedBytes(e store.Entry) []byte {
	return envelope.Canonical("csirtlink/entry/v1", []byte(e.ID), []byte(e.IncidentID), []byte(e.Team), []byte(e.Author),
		[]byte(e.Kind), []byte(e.Body), []byte(e.TLP), []byte(strings.Join(e.Recipients, ",")), []byte(e.Data),
		envelope.FormatTime(e.CreatedAt))
}

// now is the time stamped on entries: what the database keeps (microseconds), so that a
// stored entry still verifies when it is relayed later.
func (s *Service) now() time.Time { return s.clock.Now().Truncate(time.Microsecond) }

// sameEntry reports whether two copies of an entry id are the same signed entry.
func sameEntry(a, b store.Entry) bool {
	return a.Team == b.Team && bytes.Equal(a.Signature, b.Signature)
}

// AddEntry adds a comment or an observable to an incident's timeline.
func (s *Service) AddEntry(ctx context.Context, a Actor, incidentID string, n NewEntry) (store.Entry, error) {
	var data string
	switch n.Kind {
	case KindComment:
		if err := problem.CheckText("body", n.Body, maxBody, true); err != nil {
			return store.Entry{}, problem.Join(err, labelProblem(n.TLP, n.Recipients))
		}
	case KindObservable:
		o, err := observable.Parse(n.Type, n.Body)
		if err != nil {
			return store.Entry{}, problem.Join(problem.Invalid("body", "%v", err), labelProblem(n.TLP, n.Recipients))
		}
		n.Body, data = o.Value, wire.EncodeData(wire.ObservableData{Type: string(o.Type), Value: o.Value})
	case KindStatus, KindParticipation, KindInvitation:
		return store.Entry{}, problem.Invalid("kind", "use the status, participation or participants endpoint for %q", n.Kind)
	default:
		return store.Entry{}, problem.Invalid("kind", "must be comment or observable")
	}
	return s.write(ctx, a, incidentID, n.Kind, n.Body, n.TLP, n.Recipients, data, nil)
}

// labelProblem is what is wrong with an entry's label and recipients on their own (the
// incident's participants are checked when it is written): reported with a bad body, so
// that a form shows both at once.
func labelProblem(label string, recipients []string) error {
	if label == "" {
		return nil
	}
	l, err := tlp.Parse(label)
	if err != nil {
		return problem.Invalid("tlp", "%v", err)
	}
	if err := tlp.ValidateRecipients(l, recipients); err != nil {
		return problem.Invalid("recipients", "%v", err)
	}
	return nil
}

// SetStatus changes the incident's status; only the coordinating team may.
func (s *Service) SetStatus(ctx context.Context, a Actor, incidentID, status, note string) (store.Entry, error) {
	if transitions[status] == nil {
		return store.Entry{}, problem.Invalid("status", "must be one of open, in_progress, mitigated, closed")
	}
	if err := problem.CheckText("note", note, maxBody, false); err != nil {
		return store.Entry{}, err
	}
	data := wire.EncodeData(wire.StatusData{Status: status})
	return s.write(ctx, a, incidentID, KindStatus, note, "", nil, data, func(in store.Incident) error {
		if in.Coordinator != s.dir.Self.ID {
			return problem.Forbidden("only the coordinator (%s) changes the incident status", in.Coordinator)
		}
		if in.Status == status {
			return problem.Conflict("incident is already %s", status)
		}
		if !slices.Contains(transitions[in.Status], status) {
			return problem.Conflict("status cannot go from %s to %s", in.Status, status)
		}
		return nil
	})
}

// SetParticipation changes this team's own status in an incident.
func (s *Service) SetParticipation(ctx context.Context, a Actor, incidentID, status string) (store.Entry, error) {
	if !slices.Contains(participationStatuses[1:], status) {
		return store.Entry{}, problem.Invalid("status", "must be one of acknowledged, working, done")
	}
	data := wire.EncodeData(wire.StatusData{Status: status})
	return s.write(ctx, a, incidentID, KindParticipation, "", "", nil, data, func(in store.Incident) error {
		for _, p := range in.Participants {
			if p.Team == s.dir.Self.ID {
				if p.Status == status {
					return problem.Conflict("participation is already %s", status)
				}
				return nil
			}
		}
		return problem.Forbidden("%s is not a participant", s.dir.Self.ID)
	})
}

// write signs a new entry by this team and puts it on the timeline: sequenced at once
// when we coordinate, else sent to the coordinator to sequence.
func (s *Service) write(ctx context.Context, a Actor, incidentID, kind, body, label string, recipients []string, data string, allow func(store.Incident) error) (store.Entry, error) {
	var e store.Entry
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIncident(ctx, incidentID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("incident %q not found", incidentID)
		}
		if err != nil {
			return err
		}
		if allow != nil {
			if err := allow(in); err != nil {
				return err
			}
		}
		e, err = s.writeTx(ctx, tx, a, in, kind, body, label, recipients, data)
		return err
	})
	return e, err
}

// AcknowledgeInTx acknowledges this team's participation in an incident, inside tx,
// when we take part in it and have not acknowledged yet. The hotline calls it when one
// of our people acknowledges a page about the incident: answering the page answers the
// invitation too, so that the coordinator does not go on seeing us as merely invited.
// It reports whether it acknowledged; an incident we do not hold or take no part in,
// or one we already acknowledged (or work on), is left as it is.
func (s *Service) AcknowledgeInTx(ctx context.Context, tx store.Tx, a Actor, incidentID string) (bool, error) {
	in, err := tx.GetIncident(ctx, incidentID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("incident %s: %w", incidentID, err)
	}
	i := slices.IndexFunc(in.Participants, func(p store.Participant) bool { return p.Team == s.dir.Self.ID })
	if i < 0 || in.Participants[i].Status != Invited {
		return false, nil
	}
	data := wire.EncodeData(wire.StatusData{Status: Acknowledged})
	if _, err := s.writeTx(ctx, tx, a, in, KindParticipation, "", "", nil, data); err != nil {
		return false, fmt.Errorf("acknowledge incident %s: %w", incidentID, err)
	}
	return true, nil
}

// writeTx is write inside tx, for an incident already read and allowed.
func (s *Service) writeTx(ctx context.Context, tx store.Tx, a Actor, in store.Incident, kind, body, label string, recipients []string, data string) (store.Entry, error) {
	parts := teamsOf(in)
	if label == "" {
		// An entry that inherits the incident's label inherits its audience too: for a
		// RED incident, its participants are the named recipients.
		label = in.TLP
		if label == string(tlp.Red) && len(recipients) == 0 {
			recipients = parts
		}
	}
	l, err := tlp.Parse(label)
	if err != nil {
		return store.Entry{}, problem.Invalid("tlp", "%v", err)
	}
	if err := tlp.ValidateRecipients(l, recipients); err != nil {
		return store.Entry{}, problem.Invalid("recipients", "%v", err)
	}
	for _, r := range recipients {
		if !slices.Contains(parts, r) {
			return store.Entry{}, problem.Invalid("recipients", "%q is not a participant of %s", r, in.ID)
		}
	}
	resolved := tlp.ResolveRecipients(l, recipients, parts)
	if (l == tlp.AmberStrict || l == tlp.Red) && in.Coordinator != s.dir.Self.ID && !slices.Contains(resolved, in.Coordinator) {
		return store.Entry{}, problem.Invalid("recipients", "must include the coordinator %s, which orders the timeline", in.Coordinator)
	}
	e := store.Entry{ID: identity.RandomID(16), IncidentID: in.ID, Team: s.dir.Self.ID, Author: a.Name, Kind: kind, Body: body,
		TLP: string(l), Recipients: resolved, Data: data, CreatedAt: s.now()}
	if err := validEntry(e, in, s.dir.Self.ID, s.clock.Now()); err != nil {
		return store.Entry{}, err
	}
	e.Signature = s.key.Sign(entrySignedBytes(e))
	if err := audit.Append(ctx, tx, e.CreatedAt, a.Name, "entry."+kind, in.ID, e.ID); err != nil {
		return store.Entry{}, err
	}
	if in.Coordinator == s.dir.Self.ID {
		return s.sequence(ctx, tx, in, e)
	}
	if err := tx.PutEntry(ctx, e); err != nil {
		return store.Entry{}, err
	}
	if err := s.effects(ctx, tx, &in, e); err != nil {
		return store.Entry{}, err
	}
	s.notify(tx, in.ID)
	return e, s.send(ctx, tx, in, e, typeSubmit, in.Coordinator)
}

// sequence gives an entry the next position of our incident, applies it, and relays it
// to every participant its TLP allows.
func (s *Service) sequence(ctx context.Context, tx store.Tx, in store.Incident, e store.Entry) (store.Entry, error) {
	in.LastPosition++
	e.Position = in.LastPosition
	if err := s.effects(ctx, tx, &in, e); err != nil {
		return e, err
	}
	if err := tx.PutEntry(ctx, e); err != nil {
		return e, err
	}
	var others []string
	for _, t := range teamsOf(in) {
		if t != s.dir.Self.ID {
			others = append(others, t)
		}
	}
	if err := s.send(ctx, tx, in, e, typeAppend, others...); err != nil {
		return e, err
	}
	s.notify(tx, in.ID)
	return e, nil
}

// held looks for an entry with e's id: it reports whether that entry is already
// sequenced here, and refuses an id that a different entry already has.
func held(ctx context.Context, tx store.Tx, e store.Entry) (bool, error) {
	old, err := tx.GetEntry(ctx, e.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !sameEntry(old, e) {
		return false, federation.Rejectf("entry id %s reused by %s", e.ID, e.Team)
	}
	return old.Position > 0, nil
}

// send enqueues an entry for each of the teams; the TLP rule in Enqueue decides which
// it goes to.
func (s *Service) send(ctx context.Context, tx store.Tx, in store.Incident, e store.Entry, typ string, to ...string) error {
	payload, err := encodeEntry(e)
	if err != nil {
		return err
	}
	parts := teamsOf(in)
	for _, t := range to {
		err = s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: typ, ObjectID: in.ID, Payload: payload,
			Item: tlp.Item{Label: tlp.Label(e.TLP), Author: e.Team, Recipients: e.Recipients}, Participants: parts})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}

// effects applies what an entry changes in the incident and saves the incident. Each
// field has one writer: the status only from the coordinator, a participant's status
// only from that participant.
func (s *Service) effects(ctx context.Context, tx store.Tx, in *store.Incident, e store.Entry) error {
	if e.Position > in.LastPosition {
		in.LastPosition = e.Position
	}
	in.UpdatedAt = e.CreatedAt
	if now := s.clock.Now(); now.After(in.UpdatedAt) {
		in.UpdatedAt = now
	}
	switch e.Kind {
	case KindStatus:
		d, err := wire.DecodeData[wire.StatusData](e.Data)
		if err != nil || transitions[d.Status] == nil {
			return federation.Rejectf("status entry %s: bad data", e.ID)
		}
		if e.Team != in.Coordinator {
			return federation.Rejectf("status entry %s by %s, not the coordinator", e.ID, e.Team)
		}
		in.Status = d.Status
	case KindInvitation:
		d, err := wire.DecodeData[wire.InvitationData](e.Data)
		if err != nil || !envelope.ValidTeamID(d.Team) {
			return federation.Rejectf("invitation entry %s: bad data", e.ID)
		}
		if e.Team != in.Coordinator {
			return federation.Rejectf("invitation entry %s by %s, not the coordinator", e.ID, e.Team)
		}
		if !slices.Contains(teamsOf(*in), d.Team) {
			p := store.Participant{Team: d.Team, Status: Invited, UpdatedAt: e.CreatedAt}
			in.Participants = append(in.Participants, p)
			if err := tx.UpsertParticipant(ctx, in.ID, p); err != nil {
				return err
			}
		}
	case KindParticipation:
		d, err := wire.DecodeData[wire.StatusData](e.Data)
		if err != nil || !slices.Contains(participationStatuses, d.Status) {
			return federation.Rejectf("participation entry %s: bad data", e.ID)
		}
		for i := range in.Participants {
			p := &in.Participants[i]
			if p.Team != e.Team {
				continue
			}
			p.Status, p.UpdatedAt = d.Status, e.CreatedAt
			if p.AcknowledgedAt == nil && d.Status != Invited {
				at := e.CreatedAt
				p.AcknowledgedAt = &at
			}
			if err := tx.UpsertParticipant(ctx, in.ID, *p); err != nil {
				return err
			}
		}
	}
	return tx.UpdateIncident(ctx, *in)
}

// verifyEntry checks an entry that came from another node: its author's signature,
// then every rule an entry written here obeys (validEntry).
func (s *Service) verifyEntry(e store.Entry, in store.Incident) error {
	pub, ok := s.dir.Key(e.Team)
	if !ok {
		return refuse("entry "+e.ID, fmt.Errorf("by unknown team %q", e.Team))
	}
	if !identity.Verify(pub, entrySignedBytes(e), e.Signature) {
		// Also what an entry re-attributed to another team or person comes to: the
		// author's signature covers both.
		return refuse("entry "+e.ID, fmt.Errorf("bad signature by %s", e.Team))
	}
	if err := validEntry(e, in, s.dir.Self.ID, s.clock.Now()); err != nil {
		return refuse("entry "+e.ID, err)
	}
	return nil
}

// incidentFor loads the incident an envelope is about.
func (s *Service) incidentFor(ctx context.Context, tx store.Tx, id string) (store.Incident, error) {
	in, err := tx.GetIncident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, federation.Rejectf("incident %s unknown here", id)
	}
	return in, err
}

func (s *Service) auditPeer(ctx context.Context, tx store.Tx, peer, action, object, detail string) error {
	return audit.Append(ctx, tx, s.clock.Now(), "peer:"+peer, action, object, detail)
}
