package opmetrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"csirtlink/internal/store"
)

// Sharing, feed and case counts, read from the database at scrape time like the
// federation figures, so that they survive restarts.
var (
	descFeedEvents = prometheus.NewDesc("csirtlink_feed_events_total",
		"Feed events routed by finished runs, by source (own feeds, or partners' reports) and where they went (owner, partner, unrouted); rate() is the feed throughput.",
		[]string{"source", "routed"}, nil)
	descSharedObjects = prometheus.NewDesc("csirtlink_shared_objects",
		"Shared objects held, by direction (out: this team's, in: partners') and state.", []string{"direction", "state"}, nil)
	descSightings = prometheus.NewDesc("csirtlink_sightings_total",
		"Sightings and feedback held, by direction (out: this team reported them, in: partners did) and kind.", []string{"direction", "kind"}, nil)
	descCVDCases = prometheus.NewDesc("csirtlink_cvd_cases",
		"Vulnerability cases held, by this team's role (owner, participant).", []string{"role"}, nil)
)

var collabDescs = []*prometheus.Desc{descFeedEvents, descSharedObjects, descSightings, descCVDCases}

// Every series an alert may look at shows from the first scrape, at 0.
var (
	objectStates  = []string{store.IndicatorActive, store.IndicatorRevoked, store.IndicatorWithdrawn}
	sightingKinds = []string{store.SightingSeen, store.SightingFalsePositive, store.SightingTakenDown, store.SightingBlocked}
)

// readCollab adds the sharing, feed and case counts to a scrape.
func (c *dbCollector) readCollab(ctx context.Context, add func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string)) error {
	counts, err := c.st.CountCollab(ctx, c.self)
	if err != nil {
		return err
	}
	type key struct{ kind, group, sub string }
	by := map[key]int64{}
	for _, cc := range counts {
		by[key{cc.Kind, cc.Group, cc.Sub}] += cc.N
	}
	for _, src := range []string{"own", "partner"} {
		for _, r := range []string{"owner", "partner", "unrouted"} {
			add(descFeedEvents, prometheus.CounterValue, float64(by[key{"feed_events", src, r}]), src, r)
		}
	}
	for _, dir := range []string{"in", "out"} {
		for _, s := range objectStates {
			add(descSharedObjects, prometheus.GaugeValue, float64(by[key{"objects", dir, s}]), dir, s)
		}
		for _, k := range sightingKinds {
			add(descSightings, prometheus.CounterValue, float64(by[key{"sightings", dir, k}]), dir, k)
		}
	}
	for _, role := range []string{"owner", "participant"} {
		add(descCVDCases, prometheus.GaugeValue, float64(by[key{"cvd_cases", role, ""}]), role)
	}
	return nil
}
