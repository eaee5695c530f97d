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

// ErrKeyTaken is a transaction refused because another request with its
// Idempotency-Key committed first.
var ErrKeyTaken = errors.New("idempotency key already used")

// The states of an idempotency record.
const (
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
	// LookupIdempotency returns the record of a user's key unless it has expired by now.
	LookupIdempotency(ctx context.Context, userID, key string, now time.Time) (IdempotencyRecord, bool, error)
	// FinishIdempotency keeps the answer (state done), replacing the applied record, or
	// an expired one.
	FinishIdempotency(ctx context.Context, r IdempotencyRecord) error
	// PruneIdempotency deletes records that expired before a time, and returns how many.
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)
}

// IdempotencyMark rides in the context of a request made with an Idempotency-Key. The
// first transaction that commits with it in its context writes Record, state applied,
// in the same transaction: the request's effect and the record that it happened commit
// together, so a node stopped before keeping the answer never runs it twice, and of two
// concurrent requests with one key only the first to commit does (the other's
// transaction fails with ErrKeyTaken).
type IdempotencyMark struct {
	Record  IdempotencyRecord
	applied atomic.Bool
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
