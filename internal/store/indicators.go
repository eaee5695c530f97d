package store

import (
	"context"
	"time"
)

// Indicator states.
const (
	IndicatorActive    = "active"
	IndicatorRevoked   = "revoked"   // the author's tombstone: final, kept forever
	IndicatorWithdrawn = "withdrawn" // the author narrowed the audience; a later version may bring it back
)

// Indicator is a shared object: an observable with context, written only by its author
// team. A tombstone (state revoked or withdrawn) keeps ID, Author, Version, State and
// RevokedAt, and nothing of the content.
type Indicator struct {
	ID         string `json:"id"`
	Author     string `json:"author"`
	Version    int64  `json:"version"`
	State      string `json:"state"`
	Type       string `json:"type"`
	Value      string `json:"value"`
	Category   string `json:"category"`
	Confidence int    `json:"confidence"`
	TLP        string `json:"tlp"`
	// ShareWith is the teams the author named: AMBER's partners, AMBER+STRICT's and
	// RED's recipients.
	ShareWith []string `json:"share_with,omitempty"`
	// Audience is every team the label lets hold the object besides a community:
	// ShareWith and the participants of its incidents, fixed when the author wrote it.
	Audience    []string   `json:"audience,omitempty"`
	Incidents   []string   `json:"incidents,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Description string     `json:"description,omitempty"`
	ValidFrom   time.Time  `json:"valid_from"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	Modified    time.Time  `json:"modified"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	ReceivedAt  time.Time  `json:"received_at"`
}

// Sighting kinds.
const (
	SightingSeen          = "seen"
	SightingFalsePositive = "false-positive"
	SightingTakenDown     = "taken-down"
	SightingBlocked       = "blocked"
)

// Sighting is one team's report about an indicator, owned by that team and never
// changed.
type Sighting struct {
	ID          string     `json:"id"`
	IndicatorID string     `json:"indicator_id"`
	Team        string     `json:"team"`
	Kind        string     `json:"kind"`
	Count       int64      `json:"count"`
	FirstSeen   *time.Time `json:"first_seen,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
	// Constituency says in whose constituency it was seen (a country, network or sector).
	Constituency string    `json:"constituency,omitempty"`
	Note         string    `json:"note,omitempty"`
	TLP          string    `json:"tlp"`
	Recipients   []string  `json:"recipients,omitempty"`
	ReportedBy   string    `json:"reported_by,omitempty"`
	At           time.Time `json:"at"`
	ReceivedAt   time.Time `json:"received_at"`
}

// IndicatorFilter narrows ListIndicators; empty fields match everything.
type IndicatorFilter struct {
	Type, Category, TLP, Author, Value string
	// Seen: "yes" only objects with a sighting, "no" only those without.
	Seen string
	// Expired: "yes" only those whose valid_until is before Now, "no" the others.
	Expired string
	Now     time.Time
	// Revoked includes tombstones.
	Revoked bool
	Limit   int
}

// Indicators stores shared objects, the teams each was sent to, and sightings.
type Indicators interface {
	// GetIndicator returns an object or its tombstone; inside InTx the row stays locked
	// until the transaction ends.
	GetIndicator(ctx context.Context, id string) (Indicator, error)
	// PutIndicator inserts or replaces an object by id.
	PutIndicator(ctx context.Context, in Indicator) error
	// ListIndicators lists objects newest modified first.
	ListIndicators(ctx context.Context, f IndicatorFilter) ([]Indicator, error)
	// IndicatorsAfter lists up to limit objects and tombstones in id order, those after
	// the id given: a cursor to read every one a page at a time.
	IndicatorsAfter(ctx context.Context, afterID string, limit int) ([]Indicator, error)
	// IndicatorsByValue returns the objects (not tombstones) holding any of the values.
	IndicatorsByValue(ctx context.Context, values []string, limit int) ([]Indicator, error)
	// GetIndicators returns the objects (or tombstones) with the ids it holds, in id
	// order, those missing left out; inside InTx the rows stay locked as GetIndicator's.
	GetIndicators(ctx context.Context, ids []string) ([]Indicator, error)
	// PutHolders records PutHolder's facts for many objects and teams at once.
	PutHolders(ctx context.Context, hs []Holder) error
	// PutHolder records that the object went to team at a version.
	PutHolder(ctx context.Context, indicatorID, team string, version int64, at time.Time) error
	// Holders lists the teams the object went to.
	Holders(ctx context.Context, indicatorID string) ([]string, error)
	// PutSighting stores a sighting; it reports false when one with its id is held.
	PutSighting(ctx context.Context, s Sighting) (bool, error)
	// Sightings lists an object's sightings, oldest first.
	Sightings(ctx context.Context, indicatorID string) ([]Sighting, error)
	// SightingsOf lists the sightings of several objects, oldest first.
	SightingsOf(ctx context.Context, indicatorIDs []string) ([]Sighting, error)
	// ObservableEntries returns incidents' observable entries holding any of the values.
	ObservableEntries(ctx context.Context, values []string, limit int) ([]Entry, error)
	// MatchIndicators returns the live objects holding any of the values, those holding
	// values[0] first, then newest change first, with only the columns a hit shows: read
	// from the covering index alone.
	MatchIndicators(ctx context.Context, values []string, limit int) ([]IndicatorMatch, error)
	// PutUnsent records that a version written here waits to be queued for partners
	// (a later version of the same object replaces it).
	PutUnsent(ctx context.Context, indicatorID string, version int64, at time.Time) error
	// Unsent lists the objects waiting to be queued, oldest first.
	Unsent(ctx context.Context, limit int) ([]Unsent, error)
	// DeleteUnsent forgets that the objects wait: they are queued.
	DeleteUnsent(ctx context.Context, indicatorIDs []string) error
	// FeedServed lists the objects a MISP feed has carried.
	FeedServed(ctx context.Context, feed string) ([]string, error)
	// PutFeedServed records that a MISP feed carried the objects (again is no change).
	PutFeedServed(ctx context.Context, feed string, indicatorIDs []string, at time.Time) error
}

// IndicatorMatch is what a search shows of a live object that matched a value.
type IndicatorMatch struct {
	ID, Author, Type, Value, Category, TLP string
	Confidence                             int
	ValidUntil                             *time.Time
	Modified                               time.Time
	// Sighted says whether the node holds sightings of the object.
	Sighted bool
}

// Holder is one team an object went to, at a version.
type Holder struct {
	IndicatorID, Team string
	Version           int64
	At                time.Time
}

// Unsent is an object version written here and not yet queued for partners.
type Unsent struct {
	IndicatorID string
	Version     int64
	QueuedAt    time.Time
}
