package store

import (
	"context"
	"time"
)

// FeedBatch is one batch of a queued run, routed by a worker: its counts, recorded in
// the same transaction as its chunks, so a batch delivered twice is routed once.
type FeedBatch struct {
	RunID          string           `json:"run_id"`
	Seq            int64            `json:"seq"`
	Events         int64            `json:"events"`
	RoutedOwners   int64            `json:"routed_owners"`
	RoutedPartners int64            `json:"routed_partners"`
	Unrouted       int64            `json:"unrouted"`
	Owners         map[string]int64 `json:"owners,omitempty"`
	Partners       map[string]int64 `json:"partners,omitempty"`
	RoutedBy       string           `json:"routed_by"`
	RoutedAt       time.Time        `json:"routed_at"`
}

// FeedSeal is what the ingesting process knows once it has queued a run's last batch:
// how many batches there are and what the parser found malformed.
type FeedSeal struct {
	RunID     string
	Batches   int64
	Malformed int64
	Errors    []FeedRowError
	Capped    bool
	SealedAt  time.Time
}

// FeedQueue stores what routing workers did with a queued run's batches.
type FeedQueue interface {
	// RecordFeedBatch records a routed batch; false (and no change) when that batch of
	// that run is already recorded.
	RecordFeedBatch(ctx context.Context, b FeedBatch) (bool, error)
	// FeedBatches lists a run's recorded batches by seq.
	FeedBatches(ctx context.Context, runID string) ([]FeedBatch, error)
	// CountFeedBatches counts a run's recorded batches.
	CountFeedBatches(ctx context.Context, runID string) (int64, error)
	// SealFeedRun records a running run's seal and stamps its updated_at, which inside a
	// transaction locks the run until the end; ErrConflict if the run is not running.
	SealFeedRun(ctx context.Context, s FeedSeal) error
	// GetFeedSeal returns a run's seal; ErrNotFound before it is sealed.
	GetFeedSeal(ctx context.Context, runID string) (FeedSeal, error)
	// AddFeedChunks stores chunks of a running run, as AddFeedChunk does one, with fewer
	// statements; ErrConflict if the run is not running.
	AddFeedChunks(ctx context.Context, cs []FeedChunk, at time.Time) error
	// TouchFeedRun stamps a running run's updated_at (inside a transaction this locks
	// it until the end); ErrConflict if it is not running.
	TouchFeedRun(ctx context.Context, runID string, at time.Time) error
}
