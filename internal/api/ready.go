package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/store"
)

// ProbeEvery is how often /readyz writes to the database at most: probes from load
// balancers, however many, cannot load it.
const ProbeEvery = 5 * time.Second

// probeTimeout bounds one write probe; a probe that waits longer says "not ready".
const probeTimeout = 10 * time.Second

// WriteReadiness makes the readiness check from probe (a tiny write, see
// sqlstore.ProbeWrite): it runs at most once per every by clk, and every caller in
// between, or waiting while it runs, gets the last result.
func WriteReadiness(probe func(ctx context.Context, now time.Time) error, clk clock.Clock, every time.Duration) func(context.Context) error {
	var mu sync.Mutex
	var last time.Time
	var lastErr error
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		now := clk.Now()
		if !last.IsZero() && now.Sub(last) < every && !now.Before(last) {
			return lastErr
		}
		// The probe outlives a caller that hangs up: the others wait for its answer.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
		defer cancel()
		last, lastErr = now, probe(pctx, now)
		return lastErr
	}
}

// notReady answers 507 when the node's disk is full, and 503 with the reason
// otherwise. The detail goes to the log, not to whoever asks.
func (a *API) notReady(w http.ResponseWriter, err error) {
	a.log.Error("not ready", "err", err)
	status, reason := http.StatusServiceUnavailable, "database cannot write"
	switch {
	case errors.Is(err, store.ErrStorageFull):
		status, reason = http.StatusInsufficientStorage, "disk full"
	case errors.Is(err, store.ErrStorageReadOnly):
		reason = "database is read-only"
	}
	writeJSON(w, status, map[string]string{"status": "unavailable", "reason": reason})
}
