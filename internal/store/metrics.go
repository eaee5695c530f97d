package store

import (
	"context"
	"time"
)

// Metrics: what the collaboration metrics (internal/metrics) and the operational
// metrics (internal/opmetrics) read, and the aggregates teams federate to one another.

// Aggregate is one team's collaboration figures for one period, as that team published
// them: the JSON of a wire.MetricsAggregate. This node keeps its own (the last it
// sent) and each partner's (the last received), so that every node assembles the same
// joint report from the same published figures.
type Aggregate struct {
	Team       string    `json:"team"`
	Period     string    `json:"period"`
	At         time.Time `json:"at"` // when the team computed it
	Data       []byte    `json:"data"`
	ReceivedAt time.Time `json:"received_at"`
}

// Aggregates stores published collaboration aggregates.
type Aggregates interface {
	// PutAggregate stores a team's aggregate for a period unless the one kept is as new
	// or newer (by At); it reports whether it stored it.
	PutAggregate(ctx context.Context, a Aggregate) (bool, error)
	// ListAggregates lists the aggregates kept for a period, by team.
	ListAggregates(ctx context.Context, period string) ([]Aggregate, error)
}

// DeliveryCount is how many page deliveries are in one state.
type DeliveryCount struct {
	// Direction is "out" for pages this team sent, "in" for pages it received.
	Direction string
	State     string
	Drill     bool
	N         int
}

// MetricsReader answers the metrics' questions in one query each, over date ranges
// that the paged lists of the API do not cover.
type MetricsReader interface {
	// PagesCreated lists pages created in [from, to), oldest first, with deliveries.
	PagesCreated(ctx context.Context, from, to time.Time) ([]Page, error)
	// IncidentsCreated lists incidents created in [from, to), oldest first, with
	// participants (no timeline).
	IncidentsCreated(ctx context.Context, from, to time.Time) ([]Incident, error)
	// CountDeliveries counts page deliveries by direction (self is this team), state
	// and drill.
	CountDeliveries(ctx context.Context, self string) ([]DeliveryCount, error)
}
