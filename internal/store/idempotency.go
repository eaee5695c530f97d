package store

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrStorageFull means the disk, or the database's own size limit, has no room for a
// write.
var ErrStorageFull = errors.New("disk full")

// ErrStorageReadOnly means the database cannot be written at all (the file's mode or
// attributes, a read-only mount).
var ErrStorageReadOnly = errors.New("database is read-only")

// The states of an idempotency record.
const (
	IdemClaimed = "claimed" // the request runs, or ran and stopped without effect
	IdemApplied = "applied" // a transaction of the request committed; it must not run again
	IdemDone    = "done"    // the answer is kept
)

// IdempotencyRecord is a POST made with an Idempotency-Key, and once done its answer.
type IdempotencyRecord struct {
	UserID      string
	Key         string
	Method      string
	Path        string
	RequestHash string
	State       string
	Status      int
	ContentType string
	Location    string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Idempotency stores Idempotency-Key records.
type Idempotency interface {
	// ClaimIdempotency stores r (state claimed) unless a record that has not expired by
	// now holds its user and key; it returns that record and false then. An expired
	// record is replaced.
	ClaimIdempotency(ctx context.Context, r IdempotencyRecord, now time.Time) (IdempotencyRecord, bool, error)
	// RetakeIdempotency claims again a record still claimed since createdAt (a request
	// that stopped without effect): it reports false if another took it first.
	RetakeIdempotency(ctx context.Context, r IdempotencyRecord, createdAt time.Time) (bool, error)
	// FinishIdempotency keeps the answer (state done).
	FinishIdempotency(ctx context.Context, r IdempotencyRecord) error
	// ReleaseIdempotency deletes a claim whose request had no effect, so that it may run
	// again; an applied record stays.
	ReleaseIdempotency(ctx context.Context, userID, key string) error
	// PruneIdempotency deletes records that expired before a time, and returns how many.
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)
}

// IdempotencyMark rides in the context of a request made with an Idempotency-Key: a
// transaction that commits with it in its context marks the record applied in the
// same transaction, so that a node stopped between that commit and keeping the answer
// never runs the request twice.
type IdempotencyMark struct {
	UserID, Key string
	applied     atomic.Bool
}

// Applied reports whether a transaction of the request committed.
func (m *IdempotencyMark) Applied() bool { return m.applied.Load() }

// SetApplied records that one did.
func (m *IdempotencyMark) SetApplied() { m.applied.Store(true) }

type markKey struct{}

// WithIdempotencyMark returns ctx carrying m.
func WithIdempotencyMark(ctx context.Context, m *IdempotencyMark) context.Context {
	return context.WithValue(ctx, markKey{}, m)
}

// IdempotencyMarkFrom returns the mark ctx carries, or nil.
func IdempotencyMarkFrom(ctx context.Context) *IdempotencyMark {
	m, _ := ctx.Value(markKey{}).(*IdempotencyMark)
	return m
}
