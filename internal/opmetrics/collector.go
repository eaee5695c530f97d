package opmetrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
)

var (
	descQueue = prometheus.NewDesc("csirtlink_federation_queue_depth",
		"Envelopes queued for a peer and not yet receipted.", []string{"peer"}, nil)
	descLag = prometheus.NewDesc("csirtlink_federation_link_lag_seconds",
		"Age of the oldest envelope queued for a peer (0 when none waits).", []string{"peer"}, nil)
	descDelivered = prometheus.NewDesc("csirtlink_federation_envelopes_delivered_total",
		"Envelopes a peer has receipted (from the outbox: survives restarts; rate() is the delivery rate).", []string{"peer"}, nil)
	descReceived = prometheus.NewDesc("csirtlink_federation_envelopes_received_total",
		"Envelopes received from a peer and receipted by this node.", []string{"peer"}, nil)
	descHealth = prometheus.NewDesc("csirtlink_federation_link_health",
		"A peer link's health: 1 for its current state, 0 for the others.", []string{"peer", "health"}, nil)
	descInFlight = prometheus.NewDesc("csirtlink_federation_in_flight_seconds",
		"How long the push or pull now under way with a peer has waited for an answer (0: none).", []string{"peer"}, nil)
	descLastSent = prometheus.NewDesc("csirtlink_federation_last_sent_timestamp_seconds",
		"When a send to the peer last succeeded (Unix time; absent: never).", []string{"peer"}, nil)
	descLastReceived = prometheus.NewDesc("csirtlink_federation_last_received_timestamp_seconds",
		"When the peer last reached us or answered our pull (Unix time; absent: never).", []string{"peer"}, nil)
	descDeliveries = prometheus.NewDesc("csirtlink_hotline_pages",
		"Page deliveries by direction (out: pages this team sent, one per team paged; in: pages received), state and drill.",
		[]string{"direction", "state", "drill"}, nil)
	descLateness = prometheus.NewDesc("csirtlink_hotline_escalation_lateness_seconds",
		"How far behind its time the earliest due escalation step is (0: none overdue).", nil, nil)
	descUp = prometheus.NewDesc("csirtlink_metrics_db_up",
		"1 if this scrape read the database in time, else 0 (and the database-derived series are missing).", nil, nil)
	descCollect = prometheus.NewDesc("csirtlink_metrics_db_collect_seconds",
		"How long this scrape's database reads took.", nil, nil)
)

var healths = []string{federation.HealthOK, federation.HealthError, federation.HealthStalled, federation.HealthLagging,
	federation.HealthQuiet, federation.HealthUnknown, federation.HealthRevoked}

var pageStates = []string{"sent", "delivered", "notified", "acknowledged", "resolved"}

// dbCollector reads the database-derived figures when Prometheus scrapes.
type dbCollector struct {
	fed   *federation.Federation
	st    Store
	clock clock.Clock
	self  string
	log   *slog.Logger
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descLag, descDelivered, descReceived, descHealth, descInFlight,
		descLastSent, descLastReceived, descDeliveries, descLateness, descUp, descCollect} {
		ch <- d
	}
	for _, d := range collabDescs {
		ch <- d
	}
}

// Collect reads everything first, then emits: a scrape whose reads fail or time out
// says so in csirtlink_metrics_db_up rather than showing half a picture.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), CollectTimeout)
	defer cancel()
	ms, err := c.read(ctx)
	ch <- prometheus.MustNewConstMetric(descCollect, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		c.log.Error("metrics: read the database", "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, m := range ms {
		ch <- m
	}
}

func (c *dbCollector) read(ctx context.Context) ([]prometheus.Metric, error) {
	var out []prometheus.Metric
	add := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, t, v, labels...))
	}
	links, err := c.fed.Links(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		add(descQueue, prometheus.GaugeValue, float64(l.Queued), l.Peer)
		add(descLag, prometheus.GaugeValue, l.LagSeconds, l.Peer)
		add(descDelivered, prometheus.CounterValue, float64(l.Delivered), l.Peer)
		add(descInFlight, prometheus.GaugeValue, l.InFlightSeconds, l.Peer)
		for _, h := range healths {
			v := 0.0
			if h == l.Health {
				v = 1
			}
			add(descHealth, prometheus.GaugeValue, v, l.Peer, h)
		}
		if l.LastSentAt != nil {
			add(descLastSent, prometheus.GaugeValue, float64(l.LastSentAt.UnixMilli())/1e3, l.Peer)
		}
		if l.LastReceivedAt != nil {
			add(descLastReceived, prometheus.GaugeValue, float64(l.LastReceivedAt.UnixMilli())/1e3, l.Peer)
		}
		n, err := c.st.CountInbox(ctx, l.Peer)
		if err != nil {
			return nil, err
		}
		add(descReceived, prometheus.CounterValue, float64(n), l.Peer)
	}
	counts, err := c.st.CountDeliveries(ctx, c.self)
	if err != nil {
		return nil, err
	}
	// Every state shows, at 0 when no page is in it, so that alerts on a state work
	// from the first scrape.
	type key struct {
		dir, state string
		drill      bool
	}
	byKey := map[key]int{}
	for _, dc := range counts {
		byKey[key{dc.Direction, dc.State, dc.Drill}] += dc.N
	}
	for _, dir := range []string{"in", "out"} {
		for _, s := range pageStates {
			for _, drill := range []bool{false, true} {
				add(descDeliveries, prometheus.GaugeValue, float64(byKey[key{dir, s, drill}]), dir, s, boolLabel(drill))
			}
		}
	}
	late := 0.0
	next, err := c.st.NextEscalation(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		late = max(0, c.clock.Now().Sub(next).Seconds())
	}
	add(descLateness, prometheus.GaugeValue, late)
	if err := c.readCollab(ctx, add); err != nil {
		return nil, err
	}
	return out, nil
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
