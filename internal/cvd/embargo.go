package cvd

import (
	"context"
	"slices"
	"time"

	"csirtlink/internal/egress"
	"csirtlink/internal/problem"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// agreedByAll reports whether every participating coordinator agreed to the proposed
// instant.
func agreedByAll(c Case) bool {
	if c.Embargo.PublishAt == nil {
		return false
	}
	for _, p := range c.Participants {
		if !slices.Contains(c.Embargo.Agreed, p) {
			return false
		}
	}
	return true
}

// Hold is the case's embargo as the egress decision takes it: the instant once every
// participant agreed (none before: the case is held for as long), lifted by an
// emergency publication.
func Hold(c Case) *egress.Embargo {
	e := &egress.Embargo{Lifted: c.Embargo.Emergency != nil}
	if agreedByAll(c) {
		e.Until = *c.Embargo.PublishAt
	}
	return e
}

// State is the case's embargo state now: public when the egress decision lets its
// advisory be published; embargoed once every participant agreed to an instant; draft
// before.
func (s *Service) State(c Case) string {
	if s.Decide(c, egress.Destination{Kind: egress.Publication}).Full() || c.Embargo.Emergency != nil {
		return Public
	}
	if agreedByAll(c) {
		return Embargoed
	}
	return Draft
}

// Decide asks the one egress decision whether the case's advisory may go to a way out
// other than federation: publication, an authenticated export, mail. Before the instant
// it refuses, whatever the advisory's label.
func (s *Service) Decide(c Case, to egress.Destination) egress.Decision {
	return egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(c.AdvisoryTLP), Author: c.Owner},
		Context: egress.NewContext(s.dir, c.Participants), To: to, Embargo: Hold(c), Now: s.clock.Now()})
}

// ProposeEmbargo proposes the publication instant (owner only); earlier agreements
// lapse.
func (s *Service) ProposeEmbargo(ctx context.Context, a Actor, id string, at time.Time) (Case, error) {
	if at.IsZero() {
		return Case{}, problem.Invalid("publish_at", "required")
	}
	at = at.UTC().Truncate(time.Microsecond)
	if !at.After(s.clock.Now()) {
		return Case{}, problem.Invalid("publish_at", "is in the past")
	}
	return s.write(ctx, a, id, KindPropose, "", wire.CVDData{PublishAt: &at}, func(c Case) error {
		if c.Owner != s.Self() {
			return problem.Forbidden("only the owner (%s) does this", c.Owner)
		}
		if st := s.State(c); st == Public {
			return problem.Conflict("case %s is already public", c.ID)
		}
		return nil
	})
}

// AgreeEmbargo records this team's agreement to the proposed instant.
func (s *Service) AgreeEmbargo(ctx context.Context, a Actor, id string) (Case, error) {
	var at time.Time
	return s.write(ctx, a, id, KindAgree, "", wire.CVDData{PublishAt: &at}, func(c Case) error {
		if c.Embargo.PublishAt == nil {
			return problem.Conflict("case %s has no proposed publication instant", c.ID)
		}
		at = *c.Embargo.PublishAt
		return nil
	})
}

// ObjectEmbargo records this team's objection to the proposed instant, with its reason.
func (s *Service) ObjectEmbargo(ctx context.Context, a Actor, id, reason string) (Case, error) {
	if err := problem.CheckText("reason", reason, maxBody, true); err != nil {
		return Case{}, err
	}
	var at time.Time
	return s.write(ctx, a, id, KindObject, reason, wire.CVDData{PublishAt: &at}, func(c Case) error {
		if c.Embargo.PublishAt == nil {
			return problem.Conflict("case %s has no proposed publication instant", c.ID)
		}
		at = *c.Embargo.PublishAt
		return nil
	})
}

// Emergency publishes the case at once, before the instant: who and why are recorded
// and sent to every participant in the one entry.
func (s *Service) Emergency(ctx context.Context, a Actor, id, reason string) (Case, error) {
	if err := problem.CheckText("reason", reason, maxBody, true); err != nil {
		return Case{}, err
	}
	return s.write(ctx, a, id, KindEmergency, reason, wire.CVDData{}, func(c Case) error {
		if c.Embargo.Emergency != nil {
			return problem.Conflict("case %s is already public", c.ID)
		}
		return nil
	})
}

// Publishable lists the cases whose advisory the egress decision lets go to to now.
func (s *Service) Publishable(ctx context.Context, to egress.Destination) ([]Case, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, c := range all {
		if s.Decide(c, to).Full() {
			out = append(out, c)
		}
	}
	return out, nil
}
