package store

import (
	"context"
	"time"
)

// Holding is one team an object went to, and when it last went (a newer version moves
// the time).
type Holding struct {
	IndicatorID string
	Team        string
	SentAt      time.Time
}

// CollabReader answers the sharing, feed and vulnerability-coordination questions of
// the collaboration metrics (internal/metrics), each over a range of creation times.
type CollabReader interface {
	// IndicatorsCreated lists the shared objects, ours and partners', whose author
	// created them in [from, to) (tombstones keep no creation time and are not listed),
	// oldest first.
	IndicatorsCreated(ctx context.Context, from, to time.Time) ([]Indicator, error)
	// HoldingsOf lists the teams each of the objects went to, by object and team.
	HoldingsOf(ctx context.Context, indicatorIDs []string) ([]Holding, error)
	// FeedRunsStarted lists feed runs, ours and received, started in [from, to),
	// oldest first, with their counts.
	FeedRunsStarted(ctx context.Context, from, to time.Time) ([]FeedRun, error)
	// CVDCasesCreated lists vulnerability cases created in [from, to), oldest first.
	CVDCasesCreated(ctx context.Context, from, to time.Time) ([]CVDCase, error)
}

// CollabCount is one count of the operational metrics over sharing, feeds and cases:
// what is counted (Kind), in which group (Group, Sub) and how many.
type CollabCount struct {
	Kind  string // "feed_events", "objects", "sightings", "cvd_cases"
	Group string // feed_events: "own"/"partner" runs; objects, sightings: "out"/"in"; cvd_cases: "owner"/"participant"
	Sub   string // feed_events: "owner"/"partner"/"unrouted"; objects: state; sightings: kind; cvd_cases: ""
	N     int64
}

// CollabCounter counts, for Prometheus, what the node holds of sharing, feeds and
// cases.
type CollabCounter interface {
	// CountCollab counts feed events routed by finished runs, shared objects by author
	// (self is this team) and state, sightings by reporter and kind, and cases by owner.
	CountCollab(ctx context.Context, self string) ([]CollabCount, error)
}
