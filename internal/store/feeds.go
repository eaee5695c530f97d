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
	// Origin is the partner team a received report came from ("" for our own runs),
	// SourceRun the partner's run id.
	Origin    string `json:"origin,omitempty"`
	SourceRun string `json:"source_run,omitempty"`
}

// FeedCounts are a run's counts per recipient and its malformed rows.
type FeedCounts struct {
	Owners   map[string]int64 `json:"owners"`
	Partners map[string]int64 `json:"routed_partners"`
	Errors   []FeedRowError   `json:"errors"`
	// Capped is true when more rows were malformed than Errors keeps.
	Capped bool `json:"capped"`
	// Aggregate is the window repeats were folded in ("1h0m0s"; empty: not
	// aggregated), Merged how many events were folded into an earlier one: the
	// input held Events + Merged events.
	Aggregate string `json:"aggregate,omitempty"`
	Merged    int64  `json:"merged,omitempty"`
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
	// InterruptFeedRuns marks our own running runs (origin "") not updated since before
	// as interrupted and returns how many: the process writing them stopped. A report
	// being received from a partner is left running: its next part may come after an
	// outage of any length.
	InterruptFeedRuns(ctx context.Context, before, at time.Time) (int, error)
	// ListFeedRunsFrom lists the runs received from origin, newest first, at most limit
	// (0: 100).
	ListFeedRunsFrom(ctx context.Context, origin string, limit int) ([]FeedRun, error)
	// UpdateFeedRunCounts writes a running run's counts and updated_at (a received report
	// between its parts); ErrConflict if it is no longer running.
	UpdateFeedRunCounts(ctx context.Context, r FeedRun) error
	// DeleteFeedChunks deletes a done run's chunks of one kind and target (to rewrite
	// them, as an assignment of unrouted events does).
	DeleteFeedChunks(ctx context.Context, runID, kind, target string) error
	// SetFeedRunCounts writes a done run's counts (after an assignment).
	SetFeedRunCounts(ctx context.Context, r FeedRun) error
	// PutFeedChunk stores a chunk whatever its run's state: for a caller that checked
	// the run in the same transaction (an assignment rewrites a done run's chunks).
	PutFeedChunk(ctx context.Context, c FeedChunk) error
	// MaxFeedChunkSeq is the highest chunk number of a run (0 when none).
	MaxFeedChunkSeq(ctx context.Context, runID string) (int64, error)
	// FeedChunkSpan is the first and last number of a run's chunks of one kind and
	// target numbered from to to, and their events (first > last when there are none).
	// It reads no events: a report records its ranges with it.
	FeedChunkSpan(ctx context.Context, runID, kind, target string, from, to int64) (first, last, events int64, err error)
}

// Kinds of feed delivery.
const (
	DeliverPartner = "partner"
	DeliverOwner   = "owner"
)

// States of a feed delivery.
const (
	DeliveryPending  = "pending"
	DeliverySent     = "sent"
	DeliveryReported = "reported"
	DeliveryRefused  = "refused"
)

// FeedDelivery is what a finished run has to deliver to one recipient: a partner's bulk
// report, or one owner contact's events.
type FeedDelivery struct {
	RunID     string    `json:"run_id"`
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Contact   string    `json:"contact,omitempty"`
	State     string    `json:"state"`
	DueAt     time.Time `json:"due_at"`
	ReportID  string    `json:"report_id,omitempty"`
	Events    int64     `json:"events"`
	Refused   int64     `json:"refused"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// States of an owner report.
const (
	ReportPending = "pending"
	ReportSending = "sending"
	ReportSent    = "sent"
	ReportFailed  = "failed"
	ReportUnknown = "unknown"
)

// OwnerReport is one e-mail to one contact of a network owner, with its events of one or
// more runs.
type OwnerReport struct {
	ID        string     `json:"id"`
	OwnerID   string     `json:"owner_id"`
	Contact   string     `json:"contact"`
	Language  string     `json:"language"`
	Format    string     `json:"format"`
	Encrypted bool       `json:"encrypted"`
	Events    int64      `json:"events"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	NextAt    time.Time  `json:"next_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	// ResendOf is the report this one sends again ("" for a first report).
	ResendOf string `json:"resend_of,omitempty"`
}

// OwnerReportRun is what a report carried of one run: the owner's chunks numbered
// SeqFrom to SeqTo, holding Events events.
type OwnerReportRun struct {
	ReportID string `json:"report_id"`
	RunID    string `json:"run_id"`
	SeqFrom  int64  `json:"seq_from"`
	SeqTo    int64  `json:"seq_to"`
	Events   int64  `json:"events"`
}

// FeedDeliveries stores what runs deliver, and the reports sent to owners.
type FeedDeliveries interface {
	// AddFeedDelivery inserts a delivery; ErrConflict if it exists.
	AddFeedDelivery(ctx context.Context, d FeedDelivery) error
	// DueFeedDeliveries lists pending deliveries of a kind due at now, oldest first.
	DueFeedDeliveries(ctx context.Context, kind string, now time.Time, limit int) ([]FeedDelivery, error)
	// SetFeedDelivery writes a delivery's state, report, counts and detail if it is
	// still in state from; ErrConflict otherwise (another worker took it).
	SetFeedDelivery(ctx context.Context, d FeedDelivery, from string) error
	// FeedDeliveriesOf lists a run's deliveries.
	FeedDeliveriesOf(ctx context.Context, runID string) ([]FeedDelivery, error)
	// ReportDeliveries lists the deliveries an owner report carries.
	ReportDeliveries(ctx context.Context, reportID string) ([]FeedDelivery, error)

	CreateOwnerReport(ctx context.Context, r OwnerReport) error
	// UpdateOwnerReport writes a report's state if it is in state from; ErrConflict
	// otherwise.
	UpdateOwnerReport(ctx context.Context, r OwnerReport, from string) error
	GetOwnerReport(ctx context.Context, id string) (OwnerReport, error)
	// OwnerReports lists an owner's reports ("" for every owner), newest first.
	OwnerReports(ctx context.Context, ownerID string, limit int) ([]OwnerReport, error)
	// DueOwnerReports lists reports in state pending whose next_at has come.
	DueOwnerReports(ctx context.Context, now time.Time, limit int) ([]OwnerReport, error)
	// AbandonOwnerReports marks every report in state sending as unknown and returns
	// how many: the process that was sending them stopped.
	AbandonOwnerReports(ctx context.Context, at time.Time) (int, error)
	// AddOwnerReportRuns records what a report carried; ErrConflict if it is recorded.
	AddOwnerReportRuns(ctx context.Context, runs []OwnerReportRun) error
	// OwnerReportRuns lists what a report carried, by run id.
	OwnerReportRuns(ctx context.Context, reportID string) ([]OwnerReportRun, error)
}
