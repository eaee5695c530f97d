package indicator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// SightingInput is what a person reports about an indicator.
type SightingInput struct {
	Kind         string     `json:"kind"`
	Count        int64      `json:"count,omitempty"`
	FirstSeen    *time.Time `json:"first_seen,omitempty"`
	LastSeen     *time.Time `json:"last_seen,omitempty"`
	Constituency string     `json:"constituency,omitempty"`
	Note         string     `json:"note,omitempty"`
	// TLP is the sighting's own label; AMBER+STRICT to the author when none is given.
	TLP        string   `json:"tlp,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
}

func sightingItem(x store.Sighting) tlp.Item {
	return tlp.Item{Label: tlp.Label(x.TLP), Author: x.Team, Recipients: x.Recipients}
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// Report records a sighting or feedback of this team about an indicator it holds, and
// sends it to the author: on its own channel and clock, never changing the indicator.
func (s *Service) Report(ctx context.Context, a Actor, id string, in SightingInput) (store.Sighting, error) {
	var x store.Sighting
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		x, err = s.report(ctx, tx, a, id, in, s.clock.Now().UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, x.At, a.Name, "sighting."+x.Kind, id, fmt.Sprintf("%s count %d TLP:%s", x.ID, x.Count, x.TLP))
	})
	return x, err
}

func (s *Service) report(ctx context.Context, tx store.Tx, a Actor, id string, in SightingInput, now time.Time) (store.Sighting, error) {
	ind, err := tx.GetIndicator(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Sighting{}, problem.NotFound("indicator %q not found", id)
	case err != nil:
		return store.Sighting{}, err
	case ind.State != store.IndicatorActive:
		return store.Sighting{}, problem.Conflict("indicator %s is revoked", id)
	}
	x := store.Sighting{ID: NewID(), IndicatorID: id, Team: s.Self(), Kind: strings.ToLower(strings.TrimSpace(in.Kind)),
		Count: in.Count, FirstSeen: truncPtr(in.FirstSeen), LastSeen: truncPtr(in.LastSeen),
		Constituency: strings.TrimSpace(in.Constituency), Note: in.Note, ReportedBy: a.Name, At: now, ReceivedAt: now}
	if x.Kind == store.SightingSeen && x.Count == 0 {
		x.Count = 1
	}
	label := tlp.AmberStrict
	if in.TLP != "" {
		if label, err = tlp.Parse(in.TLP); err != nil {
			return x, problem.Invalid("tlp", "%v", err)
		}
	}
	x.TLP = string(label)
	for _, r := range in.Recipients {
		x.Recipients = append(x.Recipients, strings.ToLower(strings.TrimSpace(r)))
	}
	if (label == tlp.AmberStrict || label == tlp.Red) && ind.Author != s.Self() {
		x.Recipients = append(x.Recipients, ind.Author)
	}
	if label == tlp.AmberStrict && len(x.Recipients) == 0 {
		x.Recipients = []string{s.Self()} // the author's own note, for its own team
	}
	x.Recipients = sortedUnique(x.Recipients)
	if err := validSighting(x, ind.Author, now); err != nil {
		return x, err
	}
	if _, err := tx.PutSighting(ctx, x); err != nil {
		return x, err
	}
	s.notify(tx, id)
	if ind.Author == s.Self() {
		return x, s.relay(ctx, tx, ind, x)
	}
	payload, err := wire.EncodeSighting(sightingToWire(x, ind.Author))
	if err != nil {
		return x, err
	}
	err = s.fed.Enqueue(ctx, tx, federation.Message{To: ind.Author, Type: wire.TypeSightingReport, ObjectID: x.ID,
		Item: sightingItem(x), Participants: sightingParticipants(ind), Payload: payload})
	if errors.Is(err, federation.ErrNotAllowed) {
		// The author is no longer an active peer: the sighting stays ours.
		return x, nil
	}
	return x, err
}

// relay passes a sighting on, from the indicator's author, to the other teams that hold
// the indicator, as far as the sighting's own label allows.
func (s *Service) relay(ctx context.Context, tx store.Tx, ind store.Indicator, x store.Sighting) error {
	holders, err := tx.Holders(ctx, ind.ID)
	if err != nil || len(holders) == 0 {
		return err
	}
	payload, err := wire.EncodeSighting(sightingToWire(x, ind.Author))
	if err != nil {
		return err
	}
	for _, h := range holders {
		if h == x.Team {
			continue
		}
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: h, Type: wire.TypeSightingReport, ObjectID: x.ID,
			Item: sightingItem(x), Participants: sightingParticipants(ind), Payload: payload})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}
