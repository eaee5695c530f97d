// Package engine runs the node's timed work — escalations, notifications, fallbacks,
// drills — as modules in cycles, under a database lease so that of several replicas on
// one database only one does the work at a time (goalert's engine is the model).
//
// All state lives in the database; a module's UpdateAll looks at what is due now (by
// the injected clock) and does it, idempotently. A crash or restart therefore loses
// nothing: the next cycle finds the same work due.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"csirtlink/internal/clock"
)

// Module is one kind of timed work.
type Module interface {
	Name() string
	// UpdateAll does everything due now. It must be safe to run again after a crash at
	// any point.
	UpdateAll(ctx context.Context) error
}

// Leaser grants the engine lease.
type Leaser interface {
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Options tune the engine; zero values take the defaults.
type Options struct {
	Interval time.Duration // between cycles when nothing wakes it (default 200ms)
	LeaseTTL time.Duration // how long a replica holds the engine without renewing (default 15s)
	Stuck    time.Duration // a cycle longer than this is logged as stuck (default 10s)
	// Observe, if set, is told how long each module's run took and whether it failed
	// (the operational metrics' engine cycle times).
	Observe func(module string, took time.Duration, err error)
}

// Engine runs modules in cycles.
type Engine struct {
	leases  Leaser
	clock   clock.Clock
	log     *slog.Logger
	opts    Options
	modules []Module
	holder  string
	wake    chan struct{}
	// leaseUntil is when our lease runs out; only Run's goroutine touches it.
	leaseUntil time.Time
}

// New makes an engine; holder ids are random per process.
func New(l Leaser, clk clock.Clock, log *slog.Logger, opts Options, modules ...Module) *Engine {
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.Stuck <= 0 {
		opts.Stuck = 10 * time.Second
	}
	var b [8]byte
	rand.Read(b[:])
	return &Engine{leases: l, clock: clk, log: log.With("component", "engine"), opts: opts, modules: modules,
		holder: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1)}
}

// Wake asks for a cycle now (after a change that may have made work due).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run runs cycles until ctx ends, then gives up the lease so that another replica, or
// this node restarted, takes over at once. (After a crash the lease must expire first:
// up to LeaseTTL.)
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.opts.Interval)
	defer t.Stop()
	for {
		e.Cycle(ctx)
		select {
		case <-ctx.Done():
			if err := e.leases.ReleaseLease(context.WithoutCancel(ctx), "engine", e.holder); err != nil {
				e.log.Warn("release engine lease", "err", err)
			}
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

// Cycle runs every module once if this replica holds the lease. It reports whether it did.
func (e *Engine) Cycle(ctx context.Context) bool {
	// Renew the lease when half of it is used, not every cycle: a renewal is a write.
	if now := e.clock.Now(); now.After(e.leaseUntil.Add(-e.opts.LeaseTTL / 2)) {
		ok, err := e.leases.TryLease(ctx, "engine", e.holder, now, e.opts.LeaseTTL)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("engine lease", "err", err)
			}
			return false
		}
		if !ok {
			e.leaseUntil = time.Time{}
			return false
		}
		e.leaseUntil = now.Add(e.opts.LeaseTTL)
	}
	for _, m := range e.modules {
		start := time.Now()
		watchdog := time.AfterFunc(e.opts.Stuck, func() {
			e.log.Error("engine module stuck", "module", m.Name(), "after", e.opts.Stuck)
		})
		err := m.UpdateAll(ctx)
		watchdog.Stop()
		if e.opts.Observe != nil && ctx.Err() == nil {
			e.opts.Observe(m.Name(), time.Since(start), err)
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("engine module failed", "module", m.Name(), "err", err, "took", time.Since(start))
		}
	}
	return true
}
