package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// AddParticipant invites another team into an incident we coordinate. The team gets the
// incident, then every earlier entry the TLP rule lets it see — AMBER+STRICT and RED
// entries only where their authors named it — and an invitation entry tells everyone.
func (s *Service) AddParticipant(ctx context.Context, a Actor, incidentID, teamID string) (store.Entry, error) {
	teamID = strings.ToLower(strings.TrimSpace(teamID))
	var e store.Entry
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := tx.GetIncident(ctx, incidentID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("incident %q not found", incidentID)
		}
		if err != nil {
			return err
		}
		switch {
		case in.Coordinator != s.dir.Self.ID:
			return problem.Forbidden("only the coordinator (%s) invites teams", in.Coordinator)
		case !s.dir.Active(teamID):
			return problem.Invalid("team", "%q is not a peer of this node", teamID)
		case slices.Contains(teamsOf(in), teamID):
			return problem.Conflict("%s already takes part in %s", teamID, in.ID)
		case len(in.Participants) >= maxParticipants:
			return problem.Conflict("%s has the maximum of %d participants", in.ID, maxParticipants)
		}
		now := s.now()
		p := store.Participant{Team: teamID, Status: Invited, UpdatedAt: now}
		in.Participants = append(in.Participants, p)
		if err := tx.UpsertParticipant(ctx, in.ID, p); err != nil {
			return err
		}
		// The new team's outbox is ordered: the incident first, then its history.
		if err := s.sendSnapshot(ctx, tx, in, []string{teamID}); err != nil {
			return err
		}
		past, err := tx.Timeline(ctx, in.ID)
		if err != nil {
			return err
		}
		for _, old := range past {
			if old.Position == 0 {
				continue
			}
			if err := s.send(ctx, tx, in, old, typeAppend, teamID); err != nil {
				return err
			}
		}
		data := wire.EncodeData(wire.InvitationData{Team: teamID})
		var recipients []string
		if in.TLP == string(tlp.Red) {
			recipients = teamsOf(in)
		}
		e = store.Entry{ID: identity.RandomID(16), IncidentID: in.ID, Team: s.dir.Self.ID, Author: a.Name, Kind: KindInvitation,
			TLP: in.TLP, Recipients: tlp.ResolveRecipients(tlp.Label(in.TLP), recipients, teamsOf(in)), Data: data, CreatedAt: now}
		if err := validEntry(e, in, s.dir.Self.ID, s.clock.Now()); err != nil {
			return err
		}
		e.Signature = s.key.Sign(entrySignedBytes(e))
		if e, err = s.sequence(ctx, tx, in, e); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, a.Name, "incident.invite", in.ID, fmt.Sprintf("invited %s", teamID))
	})
	return e, err
}
