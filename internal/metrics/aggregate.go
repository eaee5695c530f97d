package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Joint figures: each node publishes its own figures for the published periods as
// "metrics.aggregate" envelopes — counts and percentiles per directed pair it is in,
// no case content — to the partners the configured TLP label allows (GREEN, by
// default: community peers). Each node keeps the last aggregate of every team,
// its own included, and assembles the joint report from those alone: so every node
// that holds the same aggregates shows the same joint report, each team's figures
// attributed to it.

// PublishEvery is how often a node looks at its figures and publishes those that
// changed.
const PublishEvery = time.Hour

// Limits on an aggregate, checked by the receiver and kept by the sender.
const (
	maxDirections = 128
	maxCount      = 10_000_000
	maxSeconds    = 10 * 366 * 24 * 3600 // ten years
	aggregateSkew = 5 * time.Minute
)

// Share labels (config metrics.share).
const (
	ShareGreen = "GREEN"
	ShareClear = "CLEAR"
	ShareNone  = "none"
)

// Store is what the publisher keeps aggregates in.
type Store interface {
	store.Store
	Source
}

// Publisher publishes this node's aggregates, takes partners', and assembles the joint
// report. It is also the engine module that publishes.
type Publisher struct {
	svc   *Service
	st    Store
	fed   *federation.Federation
	label tlp.Label // "" when not shared
	log   *slog.Logger

	mu   sync.Mutex
	last time.Time // the last publication's look

	// publishing lets one publication run at a time: two at the same instant could
	// otherwise keep one aggregate and send the other.
	publishing sync.Mutex
}

// NewPublisher makes the publisher and registers the handler of "metrics.aggregate".
// share is the config's metrics.share ("" is GREEN).
func NewPublisher(svc *Service, st Store, fed *federation.Federation, share string, log *slog.Logger) *Publisher {
	p := &Publisher{svc: svc, st: st, fed: fed, log: log.With("component", "metrics")}
	switch share {
	case "", ShareGreen:
		p.label = tlp.Green
	case ShareClear:
		p.label = tlp.Clear
	}
	fed.Handle(wire.TypeMetricsAggregate, p.apply)
	return p
}

// Name names the engine module.
func (*Publisher) Name() string { return "metrics-publisher" }

// UpdateAll publishes once every PublishEvery (and at the first cycle).
func (p *Publisher) UpdateAll(ctx context.Context) error {
	now := p.svc.clock.Now()
	p.mu.Lock()
	due := p.last.IsZero() || !now.Before(p.last.Add(PublishEvery))
	p.mu.Unlock()
	if !due {
		return nil
	}
	_, err := p.Publish(ctx)
	return err
}

// Publish computes this node's figures for every published period and, for each that
// changed since it was last published (or was never, and has something to tell),
// keeps it as our own and sends it to partners. It returns how many it published.
func (p *Publisher) Publish(ctx context.Context) (int, error) {
	p.publishing.Lock()
	defer p.publishing.Unlock()
	now := p.svc.clock.Now().UTC().Truncate(time.Microsecond)
	p.mu.Lock()
	p.last = now
	p.mu.Unlock()
	periods := Published(now)
	if len(periods) == 0 {
		return 0, nil
	}
	d, err := p.svc.read(ctx, periods[0].From, now.Add(time.Second))
	if err != nil {
		return 0, err
	}
	self := p.svc.dir.Self.ID
	n := 0
	for _, per := range periods {
		agg := ToWire(p.svc.build(d, per, ""), now)
		payload, err := wire.EncodeMetricsAggregate(agg)
		if err != nil {
			return n, err
		}
		if err := ValidateAggregate(agg, self, now); err != nil {
			return n, fmt.Errorf("our aggregate for %s: %w", per.Name, err)
		}
		kept, err := p.st.ListAggregates(ctx, per.Name)
		if err != nil {
			return n, err
		}
		var prev []byte
		for _, k := range kept {
			if k.Team == self {
				prev = k.Data
			}
		}
		if prev == nil && empty(agg) || prev != nil && sameFigures(prev, agg) {
			continue
		}
		err = p.st.InTx(ctx, func(tx store.Tx) error {
			kept, err := tx.PutAggregate(ctx, store.Aggregate{Team: self, Period: per.Name, At: now, Data: payload, ReceivedAt: now})
			if err != nil {
				return err
			}
			if !kept || p.label == "" {
				return nil
			}
			for _, peer := range p.svc.dir.Peers() {
				if !peer.IsActive() {
					continue
				}
				err := p.fed.Enqueue(ctx, tx, federation.Message{To: peer.ID, Type: wire.TypeMetricsAggregate,
					ObjectID: self + ":" + per.Name, Payload: payload, Item: tlp.Item{Label: p.label, Author: self}})
				if errors.Is(err, federation.ErrNotAllowed) {
					continue // not in the community
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// empty reports whether an aggregate has nothing to tell.
func empty(a wire.MetricsAggregate) bool {
	if a.Own.IncidentsCoordinated > 0 || a.Own.Feeds != nil && a.Own.Feeds.Runs > 0 || a.Own.CVD != nil && a.Own.CVD.Cases > 0 {
		return false
	}
	for _, d := range a.Directions {
		if d.Hotline.Pages > 0 || d.CommChecks.Checks > 0 || d.Incidents.CrossBorder > 0 {
			return false
		}
		if d.Sharing != nil && d.Sharing.Objects > 0 || d.Feeds != nil && d.Feeds.Events > 0 || d.CVD != nil && d.CVD.Cases > 0 {
			return false
		}
	}
	return true
}

// sameFigures reports whether a kept aggregate says what a new one says, whenever
// each was made.
func sameFigures(kept []byte, a wire.MetricsAggregate) bool {
	old, err := wire.DecodeMetricsAggregate(kept)
	if err != nil {
		return false
	}
	old.At, a.At = time.Time{}, time.Time{}
	x, err1 := wire.EncodeMetricsAggregate(old)
	y, err2 := wire.EncodeMetricsAggregate(a)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// ToWire is a report as a team publishes it: its counts and percentiles, without
// records, methods or anything else of the cases.
func ToWire(r Report, at time.Time) wire.MetricsAggregate {
	a := wire.MetricsAggregate{Version: wire.MetricsAggregateVersion, Team: r.Team, Period: r.Period.Name, At: at.UTC(),
		Own: wire.AggregateOwn{IncidentsCoordinated: r.Own.IncidentsCoordinated, CrossBorderCoordinated: r.Own.CrossBorderCoordinated,
			ByCategory: wc(r.Own.ByCategory), Feeds: ownFeedsToWire(r.Own.Feeds), CVD: ownCVDToWire(r.Own.CVD)},
		Directions: []wire.AggregatePairDir{}}
	for _, d := range r.Directions {
		a.Directions = append(a.Directions, wire.AggregatePairDir{From: d.From, To: d.To,
			Hotline: wire.AggregateHotline{Pages: d.Hotline.Pages, Delivered: wf(d.Hotline.Delivered), Notified: wf(d.Hotline.Notified),
				Acknowledged: wf(d.Hotline.Acknowledged), AckUnverified: d.Hotline.AckUnverified,
				AckWithin15m: d.Hotline.AckWithin15m.Within, AckWithin1h: d.Hotline.AckWithin1h.Within},
			CommChecks: wire.AggregateCommChecks{Checks: d.CommChecks.Checks, Answered: d.CommChecks.Answered, Acknowledged: wf(d.CommChecks.Acknowledged)},
			Incidents: wire.AggregateIncidents{CrossBorder: d.Incidents.CrossBorder, ByCategory: wc(d.Incidents.ByCategory), BySeverity: wc(d.Incidents.BySeverity),
				Acknowledged: wf(d.Incidents.Acknowledged), FirstEntry: wf(d.Incidents.FirstEntry), Done: wf(d.Incidents.Done),
				Mitigated: wf(d.Incidents.Mitigated), Closed: wf(d.Incidents.Closed)},
			Sharing: &wire.AggregateSharing{Objects: d.Sharing.Objects.N, Sightings: d.Sharing.Sightings.N, Takedowns: d.Sharing.Takedowns.N,
				TimeToTakedown: wf(d.Sharing.TimeToTakedown)},
			Feeds: &wire.AggregateFeeds{Events: d.Feeds.Events.N},
			CVD: &wire.AggregateCVD{Cases: d.CVD.Cases.N, VendorsReached: d.CVD.VendorsReached.N, Published: d.CVD.Published.N,
				TimeToPublication: wf(d.CVD.TimeToPublication)}})
	}
	return a
}

func wf(f Figure) wire.AggregateFigure {
	w := wire.AggregateFigure{N: f.N}
	if f.N > 0 {
		w.P50, w.P95, w.Max = *f.P50, *f.P95, *f.Max
	}
	return w
}

func wc(cs []Count) []wire.AggregateCount {
	out := make([]wire.AggregateCount, len(cs))
	for i, c := range cs {
		out[i] = wire.AggregateCount{Key: c.Key, N: c.N}
	}
	return out
}

// ValidateAggregate checks an aggregate made by team origin, at now: the publisher runs
// it on ours before sending, apply on each one a partner sends. A team reports only
// pairs it is in; every number is in range and agrees with the others.
func ValidateAggregate(a wire.MetricsAggregate, origin string, now time.Time) error {
	per, err := ParsePeriod(a.Period)
	switch {
	case a.Team != origin:
		return fmt.Errorf("aggregate of team %q sent by %s", a.Team, origin)
	case err != nil:
		return err
	case per.Kind == Week:
		return fmt.Errorf("period %s: weeks are not published", a.Period)
	case a.At.Year() < 2000 || a.At.After(now.Add(aggregateSkew)):
		return fmt.Errorf("aggregate dated %s", a.At.Format(time.RFC3339))
	case per.From.After(a.At):
		return fmt.Errorf("aggregate for %s made before the period began", a.Period)
	case len(a.Directions) > maxDirections:
		return fmt.Errorf("%d directions, more than %d", len(a.Directions), maxDirections)
	}
	if err := checkCount("own.incidents_coordinated", a.Own.IncidentsCoordinated); err != nil {
		return err
	}
	if err := checkCount("own.cross_border_coordinated", a.Own.CrossBorderCoordinated); err != nil {
		return err
	}
	if a.Own.CrossBorderCoordinated > a.Own.IncidentsCoordinated {
		return errors.New("own: more cross-border incidents than incidents")
	}
	if err := checkCounts("own.by_category", a.Own.ByCategory, a.Own.CrossBorderCoordinated, func(k string) bool { return taxonomy.Valid(k) == nil }); err != nil {
		return err
	}
	seen := map[[2]string]bool{}
	for i, d := range a.Directions {
		what := fmt.Sprintf("directions[%d]", i)
		k := [2]string{d.From, d.To}
		switch {
		case !envelope.ValidTeamID(d.From) || !envelope.ValidTeamID(d.To) || d.From == d.To:
			return fmt.Errorf("%s: %q → %q is not a pair of teams", what, d.From, d.To)
		case d.From != origin && d.To != origin:
			return fmt.Errorf("%s: %s → %s does not involve %s", what, d.From, d.To, origin)
		case seen[k]:
			return fmt.Errorf("%s: %s → %s twice", what, d.From, d.To)
		}
		seen[k] = true
		h := d.Hotline
		if err := checkCount(what+".hotline.pages", h.Pages); err != nil {
			return err
		}
		for _, f := range []struct {
			name string
			f    wire.AggregateFigure
		}{{"hotline.delivered", h.Delivered}, {"hotline.notified", h.Notified}, {"hotline.acknowledged", h.Acknowledged}} {
			if err := checkFigure(what+"."+f.name, f.f, h.Pages); err != nil {
				return err
			}
		}
		if h.AckUnverified < 0 || h.AckUnverified > h.Acknowledged.N || h.AckWithin15m < 0 || h.AckWithin15m > h.AckWithin1h || h.AckWithin1h > h.Acknowledged.N {
			return fmt.Errorf("%s.hotline: acknowledgement counts disagree", what)
		}
		c := d.CommChecks
		if err := checkCount(what+".commchecks.checks", c.Checks); err != nil {
			return err
		}
		if c.Answered < 0 || c.Answered > c.Checks {
			return fmt.Errorf("%s.commchecks: %d answered of %d", what, c.Answered, c.Checks)
		}
		if err := checkFigure(what+".commchecks.acknowledged", c.Acknowledged, c.Answered); err != nil {
			return err
		}
		in := d.Incidents
		if err := checkCount(what+".incidents.cross_border", in.CrossBorder); err != nil {
			return err
		}
		if err := checkCounts(what+".incidents.by_category", in.ByCategory, in.CrossBorder, func(k string) bool { return taxonomy.Valid(k) == nil }); err != nil {
			return err
		}
		if err := checkCounts(what+".incidents.by_severity", in.BySeverity, in.CrossBorder, func(k string) bool { return slices.Contains(incident.Severities, k) }); err != nil {
			return err
		}
		for _, f := range []struct {
			name string
			f    wire.AggregateFigure
		}{{"acknowledged", in.Acknowledged}, {"first_entry", in.FirstEntry}, {"done", in.Done}, {"mitigated", in.Mitigated}, {"closed", in.Closed}} {
			if err := checkFigure(what+".incidents."+f.name, f.f, in.CrossBorder); err != nil {
				return err
			}
		}
		if err := checkCollabDir(what, d); err != nil {
			return err
		}
	}
	return checkCollabOwn(a.Own)
}

func checkCount(what string, n int) error {
	if n < 0 || n > maxCount {
		return fmt.Errorf("%s: %d is out of range", what, n)
	}
	return nil
}

// checkFigure holds a figure to what nearest-rank percentiles of n ≤ most times can be.
func checkFigure(what string, f wire.AggregateFigure, most int) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 && v <= maxSeconds }
	switch {
	case f.N < 0 || f.N > most:
		return fmt.Errorf("%s: n %d of at most %d", what, f.N, most)
	case f.N == 0 && (f.P50 != 0 || f.P95 != 0 || f.Max != 0):
		return fmt.Errorf("%s: times without records", what)
	case !finite(f.P50) || !finite(f.P95) || !finite(f.Max):
		return fmt.Errorf("%s: times out of range", what)
	case f.P50 > f.P95 || f.P95 > f.Max:
		return fmt.Errorf("%s: p50 %.3f, p95 %.3f, max %.3f are not in order", what, f.P50, f.P95, f.Max)
	}
	return nil
}

func checkCounts(what string, cs []wire.AggregateCount, total int, valid func(string) bool) error {
	if len(cs) > 64 {
		return fmt.Errorf("%s: %d entries", what, len(cs))
	}
	sum := 0
	seen := map[string]bool{}
	for _, c := range cs {
		if !valid(c.Key) || seen[c.Key] || c.N < 1 || c.N > maxCount {
			return fmt.Errorf("%s: %q (%d) is not a known value counted once", what, c.Key, c.N)
		}
		seen[c.Key] = true
		sum += c.N
	}
	if sum != total {
		return fmt.Errorf("%s: counts add up to %d, not %d", what, sum, total)
	}
	return nil
}

// apply keeps a partner's aggregate, unless we hold a newer one of that team and period.
func (p *Publisher) apply(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	a, err := wire.DecodeMetricsAggregate(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	now := p.svc.clock.Now()
	if err := ValidateAggregate(a, env.Origin, now); err != nil {
		return federation.Rejectf("aggregate from %s: %v", env.Origin, err)
	}
	if env.ObjectID != a.Team+":"+a.Period {
		return federation.Rejectf("aggregate from %s: object %q is not %s:%s", env.Origin, env.ObjectID, a.Team, a.Period)
	}
	_, err = tx.PutAggregate(ctx, store.Aggregate{Team: a.Team, Period: a.Period, At: a.At.UTC(), Data: env.Payload, ReceivedAt: now.UTC()})
	return err
}

// JointTeam is one team's figures in the joint report, as that team published them.
type JointTeam struct {
	Team       string                  `json:"team"`
	At         time.Time               `json:"at"`
	Own        wire.AggregateOwn       `json:"own"`
	Directions []wire.AggregatePairDir `json:"directions"`
}

// Joint is the joint report of a period: every participating team's own figures,
// attributed to it, from the aggregates this node holds (its own as last published).
type Joint struct {
	Period  Period      `json:"period"`
	Method  string      `json:"method"`
	Teams   []JointTeam `json:"teams"`
	Missing []string    `json:"missing"`
}

// JointMethod is what the joint report says of itself.
const JointMethod = "Each team's figures are computed by that team's node from its own records and published to its partners " +
	"as counts and nearest-rank percentiles (metrics.aggregate envelopes, no case content); this report shows each as " +
	"published, attributed to its team. Two teams may report the same pair differently: each measures from its own records."

// Joint assembles the joint report of a period. Weeks are not published, so have none.
func (p *Publisher) Joint(ctx context.Context, per Period) (Joint, error) {
	j := Joint{Period: per, Method: JointMethod, Teams: []JointTeam{}, Missing: []string{}}
	kept, err := p.st.ListAggregates(ctx, per.Name)
	if err != nil {
		return j, err
	}
	have := map[string]bool{}
	for _, k := range kept {
		if !p.svc.dir.Known(k.Team) {
			continue // a revoked or removed peer's figures are not shown
		}
		a, err := wire.DecodeMetricsAggregate(k.Data)
		if err != nil {
			return j, fmt.Errorf("aggregate of %s for %s: %w", k.Team, per.Name, err)
		}
		have[k.Team] = true
		j.Teams = append(j.Teams, JointTeam{Team: a.Team, At: a.At.UTC(), Own: a.Own, Directions: a.Directions})
	}
	teams := []string{p.svc.dir.Self.ID}
	for _, peer := range p.svc.dir.Peers() {
		if peer.IsActive() {
			teams = append(teams, peer.ID)
		}
	}
	slices.Sort(teams)
	for _, t := range teams {
		if !have[t] {
			j.Missing = append(j.Missing, t)
		}
	}
	return j, nil
}
