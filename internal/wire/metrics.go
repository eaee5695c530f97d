package wire

import (
	"fmt"
	"time"
)

// TypeMetricsAggregate is a team's collaboration figures for one period.
const TypeMetricsAggregate = "metrics.aggregate"

// MetricsAggregateVersion is the version of the "metrics.aggregate" payload this node
// speaks. Version 2 adds the sharing, feed and vulnerability-coordination sections;
// a node still reads version 1 (which has none of them), so that the figures a
// partner published before it upgraded stay in the joint report.
const MetricsAggregateVersion = 2

// MetricsAggregate is the "metrics.aggregate" payload: one team's figures for one
// period — counts and percentiles per directed pair it is in, and its own totals. It
// carries no case content: no ids, titles, names or text, only team ids, RSIT
// categories, severities, counts and seconds.
type MetricsAggregate struct {
	Version    int                `json:"v"`
	Team       string             `json:"team"`
	Period     string             `json:"period"`
	At         time.Time          `json:"at"`
	Own        AggregateOwn       `json:"own"`
	Directions []AggregatePairDir `json:"directions"`
}

// AggregateOwn is the team's own totals for the period.
type AggregateOwn struct {
	IncidentsCoordinated   int `json:"incidents_coordinated"`
	CrossBorderCoordinated int `json:"cross_border_coordinated"`
	// ByCategory is the cross-border incidents the team coordinated, by RSIT category:
	// each incident once, at its coordinator.
	ByCategory []AggregateCount `json:"by_category"`
	// Feeds and CVD are absent in version 1.
	Feeds *AggregateOwnFeeds `json:"feeds,omitempty"`
	CVD   *AggregateOwnCVD   `json:"cvd,omitempty"`
}

// AggregateOwnFeeds is the feed events the team's node routed: totals only, never its
// network owners.
type AggregateOwnFeeds struct {
	Runs           int `json:"runs"`
	Events         int `json:"events"`
	RoutedOwners   int `json:"routed_owners"`
	RoutedPartners int `json:"routed_partners"`
	Unrouted       int `json:"unrouted"`
}

// AggregateOwnCVD is the vulnerability cases the team coordinated.
type AggregateOwnCVD struct {
	Cases             int             `json:"cases"`
	VendorsContacted  int             `json:"vendors_contacted"`
	VendorsReached    int             `json:"vendors_reached"`
	Published         int             `json:"published"`
	TimeToPublication AggregateFigure `json:"time_to_publication"`
}

// AggregateSharing is a direction's shared objects and the feedback on them.
type AggregateSharing struct {
	Objects        int             `json:"objects"`
	Sightings      int             `json:"sightings"`
	Takedowns      int             `json:"takedowns"`
	TimeToTakedown AggregateFigure `json:"time_to_takedown"`
}

// AggregateFeeds is a direction's routed feed events.
type AggregateFeeds struct {
	Events int `json:"events"`
}

// AggregateCVD is a direction's vulnerability cases.
type AggregateCVD struct {
	Cases             int             `json:"cases"`
	VendorsReached    int             `json:"vendors_reached"`
	Published         int             `json:"published"`
	TimeToPublication AggregateFigure `json:"time_to_publication"`
}

// AggregatePairDir is the figures of one directed pair (from asked, to answered).
type AggregatePairDir struct {
	From       string              `json:"from"`
	To         string              `json:"to"`
	Hotline    AggregateHotline    `json:"hotline"`
	CommChecks AggregateCommChecks `json:"commchecks"`
	Incidents  AggregateIncidents  `json:"incidents"`
	// Sharing, Feeds and CVD are absent in version 1.
	Sharing *AggregateSharing `json:"sharing,omitempty"`
	Feeds   *AggregateFeeds   `json:"feeds,omitempty"`
	CVD     *AggregateCVD     `json:"cvd,omitempty"`
}

// AggregateHotline is a direction's hotline figures.
type AggregateHotline struct {
	Pages         int             `json:"pages"`
	Delivered     AggregateFigure `json:"delivered"`
	Notified      AggregateFigure `json:"notified"`
	Acknowledged  AggregateFigure `json:"acknowledged"`
	AckUnverified int             `json:"acknowledged_unverified"`
	AckWithin15m  int             `json:"acknowledged_within_15m"`
	AckWithin1h   int             `json:"acknowledged_within_1h"`
}

// AggregateCommChecks is a direction's comm-check figures.
type AggregateCommChecks struct {
	Checks       int             `json:"checks"`
	Answered     int             `json:"answered"`
	Acknowledged AggregateFigure `json:"acknowledged"`
}

// AggregateIncidents is a direction's incident figures.
type AggregateIncidents struct {
	CrossBorder  int              `json:"cross_border"`
	ByCategory   []AggregateCount `json:"by_category"`
	BySeverity   []AggregateCount `json:"by_severity"`
	Acknowledged AggregateFigure  `json:"acknowledged"`
	FirstEntry   AggregateFigure  `json:"first_entry"`
	Done         AggregateFigure  `json:"done"`
	Mitigated    AggregateFigure  `json:"mitigated"`
	Closed       AggregateFigure  `json:"closed"`
}

// AggregateCount is how many incidents have one category or severity.
type AggregateCount struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// AggregateFigure is a count and nearest-rank percentiles in seconds (all 0 when n is 0).
type AggregateFigure struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_seconds"`
	P95 float64 `json:"p95_seconds"`
	Max float64 `json:"max_seconds"`
}

func (a *MetricsAggregate) version() int { return a.Version }

// EncodeMetricsAggregate encodes a "metrics.aggregate" payload at the current version.
func EncodeMetricsAggregate(a MetricsAggregate) ([]byte, error) {
	a.Version = MetricsAggregateVersion
	return encode(TypeMetricsAggregate, a)
}

// DecodeMetricsAggregate decodes a "metrics.aggregate" payload from a peer, of version 1
// or 2. A version 1 payload with the sections of version 2 is refused: no node that
// speaks version 1 writes them.
func DecodeMetricsAggregate(b []byte) (MetricsAggregate, error) {
	var a MetricsAggregate
	if err := decodeStrict(TypeMetricsAggregate, b, &a); err != nil {
		return a, err
	}
	switch a.Version {
	case 1:
		if a.Own.Feeds != nil || a.Own.CVD != nil {
			return a, fmt.Errorf("wire: %s: version 1 with the own sections of version 2", TypeMetricsAggregate)
		}
		for i, d := range a.Directions {
			if d.Sharing != nil || d.Feeds != nil || d.CVD != nil {
				return a, fmt.Errorf("wire: %s: version 1 with the sections of version 2 in directions[%d]", TypeMetricsAggregate, i)
			}
		}
	case MetricsAggregateVersion:
	default:
		return a, fmt.Errorf("wire: %s: version %d, this node speaks 1 and %d", TypeMetricsAggregate, a.Version, MetricsAggregateVersion)
	}
	return a, nil
}
