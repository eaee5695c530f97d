package federation

import (
	"context"
	"fmt"
	"time"
)

// RefusalRetention is how long refused traffic stays listed for operators.
const RefusalRetention = 30 * 24 * time.Hour

// compactBatch is how many rows one compaction statement empties, so that a first run
// over years of history never holds the database's write lock for long.
const compactBatch = 500

// Housekeeping is the engine module that keeps federation records bounded:
//   - refusals, which anyone reaching the port can cause, are kept for
//     RefusalRetention (their rate is capped per reason as they are recorded);
//   - envelope copies are kept for Options.Retention: after it, a delivered outbox
//     envelope is emptied while its row and the peer's signed receipt (which names
//     the envelope's digest) stay as evidence, and an inbox envelope is emptied while
//     origin, seq, digest and our receipt stay, which is all that exactly-once and
//     replay detection read. Envelopes not yet delivered are never touched.
type Housekeeping struct {
	f    *Federation
	last time.Time
}

// Housekeeping returns the federation's engine module.
func (f *Federation) Housekeeping() *Housekeeping { return &Housekeeping{f: f} }

// Name names the module.
func (*Housekeeping) Name() string { return "federation-housekeeping" }

// UpdateAll logs the summary of refusals the last minute did not log, and at most once
// an hour prunes old refusals and compacts old envelopes.
func (h *Housekeeping) UpdateAll(ctx context.Context) error {
	h.f.flushRefusalSummary()
	now := h.f.clock.Now()
	if now.Sub(h.last) < time.Hour {
		return nil
	}
	n, err := h.f.st.PruneRefusals(ctx, now.Add(-RefusalRetention))
	if err != nil {
		return err
	}
	if n > 0 {
		h.f.log.Info("pruned old refusals", "count", n)
	}
	before := now.Add(-h.f.opts.Retention)
	for _, c := range []struct {
		what    string
		compact func(context.Context, time.Time, int) (int, error)
	}{{"outbox", h.f.st.CompactOutbox}, {"inbox", h.f.st.CompactInbox}} {
		total := 0
		for {
			n, err := c.compact(ctx, before, compactBatch)
			if err != nil {
				return fmt.Errorf("federation: compact %s: %w", c.what, err)
			}
			total += n
			if n < compactBatch {
				break
			}
		}
		if total > 0 {
			h.f.log.Info("compacted envelopes past retention", "table", c.what, "count", total, "retention", h.f.opts.Retention.String())
		}
	}
	h.last = now
	return nil
}
