// Package store defines the records a node keeps and one interface per aggregate over them.
//
// Services take the narrowest interface they need; sqlstore implements them all, for
// SQLite and PostgreSQL, and storetest is the suite both must pass.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist; check it with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write collides with an existing record.
var ErrConflict = errors.New("conflict")

// Store is a node's database.
type Store interface {
	Tx
	// InTx runs fn in one transaction; fn's writes and any envelopes it enqueues commit
	// together or not at all.
	InTx(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is the set of aggregates, usable inside or outside a transaction.
//
// Several writers may run at once (PostgreSQL, several replicas). Inside InTx, reading
// the record a transaction is about to change locks it until the transaction ends:
// GetIncident, GetPage, GetDelivery, GetEscalation and GetNotification lock their row,
// LastAudit the end of the audit chain, LockLink the peer's inbound sequence. So a
// transaction that reads, decides and writes back sees no other writer's change in
// between. (On SQLite every transaction runs alone and the locks are nothing.)
type Tx interface {
	Users
	Incidents
	Links
	Outbox
	Inbox
	Audit
	Hotline
	Aggregates
	Owners
	FeedRuns
	FeedQueue
	Partners
	Indicators
	FeedDeliveries
	CVD
	// OnCommit runs f after the enclosing transaction commits (at once outside one).
	OnCommit(f func())
	// Within runs fn so that, if it fails, its writes and OnCommit hooks are undone and
	// the enclosing transaction goes on (a savepoint). Outside a transaction it only
	// runs fn.
	Within(ctx context.Context, fn func() error) error
}

// User is a person of this team.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	DisplayName  string    `json:"display_name"`
	Email        string    `json:"email,omitempty"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// DisabledAt is when an administrator disabled the person: they cannot sign in,
	// and their sessions and tokens are not live. Nil while enabled.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// LastSigninAt is the person's last completed console sign-in, nil for never.
	LastSigninAt *time.Time `json:"last_signin_at,omitempty"`
}

// Token is an API token; only the hash of its secret is stored.
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Hash       string     `json:"-"`
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Users stores people and their tokens.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	UserByName(ctx context.Context, name string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetUserDisabled disables a user at *at, or enables them when at is nil;
	// ErrNotFound if there is no such user.
	SetUserDisabled(ctx context.Context, userID string, at *time.Time) error
	// RecordSignin notes a completed console sign-in.
	RecordSignin(ctx context.Context, userID string, at time.Time) error
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns a live token (unrevoked, unexpired at now, of an enabled
	// user) and its user. It only reads: a lookup must not fail because the database
	// cannot be written.
	TokenByHash(ctx context.Context, hash string, now time.Time) (Token, User, error)
	// TouchToken records a use of the token at at, at most once a minute (a write on
	// every API call would serialise readers).
	TouchToken(ctx context.Context, id string, at time.Time) error
	// ListTokens lists a user's tokens, live or not, oldest first.
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	// RevokeToken ends a token at the given time; ErrNotFound if there is no such token.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// Incident is a shared case as this node holds it.
type Incident struct {
	ID           string        `json:"id"`
	Coordinator  string        `json:"coordinator"`
	Title        string        `json:"title"`
	Description  string        `json:"description"`
	Category     string        `json:"category"`
	Severity     string        `json:"severity"`
	TLP          string        `json:"tlp"`
	Status       string        `json:"status"`
	CreatedBy    string        `json:"created_by"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	LastPosition int64         `json:"-"`
	Participants []Participant `json:"participants"`
	Timeline     []Entry       `json:"timeline"`
}

// Participant is a team taking part in an incident, with its own status.
type Participant struct {
	Team           string     `json:"team"`
	Status         string     `json:"status"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Entry is one signed timeline entry. Position is 0 until the coordinator sequences it.
type Entry struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Position   int64     `json:"position,omitempty"`
	Team       string    `json:"team"`
	Author     string    `json:"author"`
	Kind       string    `json:"kind"`
	Body       string    `json:"body"`
	TLP        string    `json:"tlp"`
	Recipients []string  `json:"recipients,omitempty"`
	Data       string    `json:"data,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Signature  []byte    `json:"signature"`
}

// IncidentFilter narrows ListIncidents; empty fields match everything.
type IncidentFilter struct {
	Status, Severity, Category, TLP, Team string
	Limit                                 int
}

// Incidents stores incidents, participants and timelines.
type Incidents interface {
	// NextCounter increments and returns a named counter.
	NextCounter(ctx context.Context, name string) (int64, error)
	CreateIncident(ctx context.Context, in Incident) error
	// UpdateIncident writes the incident's own fields (not participants, not entries).
	UpdateIncident(ctx context.Context, in Incident) error
	// GetIncident returns the incident with participants, without the timeline.
	GetIncident(ctx context.Context, id string) (Incident, error)
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	UpsertParticipant(ctx context.Context, incidentID string, p Participant) error
	// PutEntry inserts an entry, or sets the position of an entry already held.
	PutEntry(ctx context.Context, e Entry) error
	GetEntry(ctx context.Context, id string) (Entry, error)
	// Timeline lists entries in timeline order: sequenced ones by position, then pending.
	Timeline(ctx context.Context, incidentID string) ([]Entry, error)
}

// Link is the state of the federation link with one peer.
type Link struct {
	Peer            string     `json:"peer"`
	NextSeq         uint64     `json:"next_seq"`
	LastInSeq       uint64     `json:"last_in_seq"`
	LastContactAt   *time.Time `json:"last_contact_at,omitempty"`
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	// LastSentAt is the last successful send: the peer took our envelopes or answered
	// our heartbeat. LastReceivedAt is the last time the peer reached us or answered
	// our pull.
	LastSentAt     *time.Time `json:"last_sent_at,omitempty"`
	LastReceivedAt *time.Time `json:"last_received_at,omitempty"`
	// LastError is the last failed send; only a later successful send clears it.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// LastPullError is the last failed pull; only a later successful pull clears it.
	LastPullError   string     `json:"last_pull_error,omitempty"`
	LastPullErrorAt *time.Time `json:"last_pull_error_at,omitempty"`
}

// LinkEvent says what one successful exchange with a peer showed; each set field
// stamps its time (and any of them stamps the last contact).
type LinkEvent struct {
	Sent      bool // our send succeeded: sets LastSentAt, clears LastError
	Delivered bool // the peer receipted envelopes: sets LastDeliveredAt
	Received  bool // the peer reached us, or answered our pull: sets LastReceivedAt
	Pulled    bool // our pull succeeded: clears LastPullError
}

// Links stores per-peer link state.
type Links interface {
	EnsureLink(ctx context.Context, peer string) error
	GetLink(ctx context.Context, peer string) (Link, error)
	// LockLink is GetLink for applying what the peer sent: inside InTx, the peer's
	// inbound sequence stays locked until the transaction ends, so that replicas applying
	// batches from the same peer take turns.
	LockLink(ctx context.Context, peer string) (Link, error)
	// TakeSeq returns the next outbound sequence number for peer and advances it.
	TakeSeq(ctx context.Context, peer string) (uint64, error)
	SetLastInSeq(ctx context.Context, peer string, seq uint64) error
	LinkContact(ctx context.Context, peer string, at time.Time, ev LinkEvent) error
	// LinkError records a failed send; LinkPullError a failed pull.
	LinkError(ctx context.Context, peer string, at time.Time, msg string) error
	LinkPullError(ctx context.Context, peer string, at time.Time, msg string) error
}

// OutboxItem is one envelope queued for a peer.
type OutboxItem struct {
	Peer        string
	Seq         uint64
	Type        string
	ObjectID    string
	Envelope    []byte
	CreatedAt   time.Time
	Attempts    int
	DeliveredAt *time.Time
	Receipt     []byte
}

// OutboxStats summarises what waits for a peer.
type OutboxStats struct {
	Queued       int
	OldestQueued *time.Time
	Delivered    int
}

// KindProgress is the state of one kind of envelope (its type) on one link.
type KindProgress struct {
	Type string
	// Queued wait for the peer's receipt; Sent of them were sent at least once
	// without one yet (an attempt failed); Acknowledged were receipted, ever.
	Queued, Sent, Acknowledged int
	// AcknowledgedSince were receipted at or after the time asked for.
	AcknowledgedSince int
}

// Outbox stores envelopes until the peer's receipt arrives.
type Outbox interface {
	// OutboxProgress counts a peer's envelopes by type, with those acknowledged since
	// a time, in type order.
	OutboxProgress(ctx context.Context, peer string, since time.Time) ([]KindProgress, error)
	Enqueue(ctx context.Context, it OutboxItem) error
	// Pending returns up to limit undelivered items for peer with seq > after, in order.
	Pending(ctx context.Context, peer string, after uint64, limit int) ([]OutboxItem, error)
	MarkDelivered(ctx context.Context, peer string, seq uint64, at time.Time, receipt []byte) error
	AddAttempt(ctx context.Context, peer string, upTo uint64) error
	OutboxStats(ctx context.Context, peer string) (OutboxStats, error)
	// Sent lists items for peer (delivered or not), for tests and evidence queries.
	Sent(ctx context.Context, peer string) ([]OutboxItem, error)
	// CompactOutbox empties the envelope of up to limit items delivered before a time,
	// keeping the row and its receipt, and returns how many it emptied.
	CompactOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}

// InboxItem is an envelope applied (or rejected) here, with the receipt we signed.
type InboxItem struct {
	Origin     string
	Seq        uint64
	Digest     []byte
	Type       string
	ObjectID   string
	Status     string
	ReceivedAt time.Time
	Envelope   []byte
	Receipt    []byte
}

// Refusal is federation traffic turned away before it was applied.
type Refusal struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Peer   string    `json:"peer"`
	Remote string    `json:"remote"`
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
}

// Inbox stores what peers sent us.
type Inbox interface {
	PutInbox(ctx context.Context, it InboxItem) error
	GetInbox(ctx context.Context, origin string, seq uint64) (InboxItem, error)
	CountInbox(ctx context.Context, origin string) (int, error)
	// CompactInbox empties the envelope copy of up to limit items received before a
	// time, keeping origin, seq, digest and receipt, and returns how many it emptied.
	CompactInbox(ctx context.Context, before time.Time, limit int) (int, error)
	AddRefusal(ctx context.Context, r Refusal) error
	Refusals(ctx context.Context, limit int) ([]Refusal, error)
	// PruneRefusals deletes refusals recorded before a time, and returns how many.
	PruneRefusals(ctx context.Context, before time.Time) (int, error)
}

// AuditRecord is one line of the hash-chained audit log.
type AuditRecord struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Object   string    `json:"object"`
	Detail   string    `json:"detail"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// Audit stores the audit log.
type Audit interface {
	// LastAudit returns the newest record, or ErrNotFound for an empty log.
	LastAudit(ctx context.Context) (AuditRecord, error)
	PutAudit(ctx context.Context, r AuditRecord) error
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditRecord, error)
}
