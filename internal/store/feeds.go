package store

import (
	"context"
	"time"
)

// NetOwner is a network owner of our constituency: an organisation whose networks, AS
// numbers and domains feed events are routed to, and whose abuse contacts receive them.
type NetOwner struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Networks []string       `json:"networks"` // CIDR prefixes, IPv4 or IPv6
	ASNs     []uint32       `json:"asns"`
	Domains  []string       `json:"domains"`
	Contacts []OwnerContact `json:"contacts"`
	// CreatedAt and UpdatedAt are set by the store's caller.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OwnerContact is one abuse contact of a network owner, and how it wants its reports.
type OwnerContact struct {
	Email    string `json:"email"`
	PGPKey   string `json:"pgp_key,omitempty"`   // armored OpenPGP public key; reports are encrypted to it
	Language string `json:"language"`            // BCP 47: en, zh-Hans, ja, ko
	Format   string `json:"format"`              // csv or json: the attachment
	Schedule string `json:"schedule"`            // immediate, or daily (a digest)
	DigestAt string `json:"digest_at,omitempty"` // HH:MM in Timezone, for daily
	Timezone string `json:"timezone,omitempty"`  // IANA zone of DigestAt
	// BusinessDays holds a daily digest over weekends (Saturday, Sunday in Timezone).
	BusinessDays bool `json:"business_days,omitempty"`
}

// Owners stores the network owners.
type Owners interface {
	// CreateOwner inserts an owner; ErrConflict if its id is taken.
	CreateOwner(ctx context.Context, o NetOwner) error
	// UpdateOwner replaces an owner (keeping CreatedAt); ErrNotFound if there is none.
	UpdateOwner(ctx context.Context, o NetOwner) error
	GetOwner(ctx context.Context, id string) (NetOwner, error)
	// ListOwners lists every owner by id.
	ListOwners(ctx context.Context) ([]NetOwner, error)
	// DeleteOwner removes an owner; ErrNotFound if there is none.
	DeleteOwner(ctx context.Context, id string) error
}

// Feed run states.
const (
	RunRunning     = "running"
	RunDone        = "done"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// FeedRun is one ingestion of one feed file, with what it produced.
type FeedRun struct {
	ID         string     `json:"id"`
	Format     string     `json:"format"`
	Report     string     `json:"report,omitempty"`
	Feed       string     `json:"feed,omitempty"`
	FileName   string     `json:"file_name,omitempty"`
	TLP        string     `json:"tlp"`
	CreatedBy  string     `json:"created_by"`
	State      string     `json:"state"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`

	Events         int64 `json:"events"`
	RoutedOwners   int64 `json:"routed_owners"`
	RoutedPartners int64 `json:"routed_partners_total"`
	Unrouted       int64 `json:"unrouted"`
	Malformed      int64 `json:"malformed"`
	FeedCounts
	Failure string `json:"failure,omitempty"`
}

// FeedCounts are a run's counts per recipient and its malformed rows.
type FeedCounts struct {
	Owners   map[string]int64 `json:"owners"`
	Partners map[string]int64 `json:"routed_partners"`
	Errors   []FeedRowError   `json:"errors"`
	// Capped is true when more rows were malformed than Errors keeps.
	Capped bool `json:"capped"`
}

// FeedRowError is a malformed row: its line, the field at fault and why.
type FeedRowError struct {
	Line    int64  `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Kinds of feed chunk.
const (
	ChunkOwner    = "owner"
	ChunkPartner  = "partner"
	ChunkUnrouted = "unrouted"
)

// FeedChunk is some of a run's events for one recipient, compressed.
type FeedChunk struct {
	RunID  string
	Seq    int64
	Kind   string // ChunkOwner, ChunkPartner, ChunkUnrouted
	Target string // the owner's or partner's id, "" when unrouted
	Events int
	Data   []byte
}

// FeedRuns stores feed runs and their chunks of events.
type FeedRuns interface {
	// CreateFeedRun inserts a run (in state running).
	CreateFeedRun(ctx context.Context, r FeedRun) error
	// AddFeedChunk stores a chunk of a running run and stamps the run's updated_at;
	// ErrConflict if the run is no longer running.
	AddFeedChunk(ctx context.Context, c FeedChunk, at time.Time) error
	// FinishFeedRun writes a running run's state (done or failed), counts and finish
	// time; ErrConflict if it is no longer running, ErrNotFound if there is none.
	FinishFeedRun(ctx context.Context, r FeedRun) error
	GetFeedRun(ctx context.Context, id string) (FeedRun, error)
	// ListFeedRuns lists runs, newest first, at most limit (0: 100).
	ListFeedRuns(ctx context.Context, limit int) ([]FeedRun, error)
	// FeedChunks lists a run's chunks of one kind and target, in order.
	FeedChunks(ctx context.Context, runID, kind, target string) ([]FeedChunk, error)
	// InterruptFeedRuns marks running runs not updated since before as interrupted and
	// returns how many: the process writing them stopped.
	InterruptFeedRuns(ctx context.Context, before, at time.Time) (int, error)
}
