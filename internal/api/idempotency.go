package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// IdempotencyHeader names the key a client sends with a POST so that sending it again
// (its answer was lost) gets the first answer instead of a second incident, entry,
// page or comm check.
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer given again from the stored first one.
const ReplayedHeader = "Idempotent-Replayed"

const (
	// IdempotencyTTL is how long a key's first answer is kept.
	IdempotencyTTL = 24 * time.Hour
	// abandonAfter is when a request whose transaction committed but whose answer was
	// never kept is taken for one whose node stopped, rather than one still running. The
	// HTTP server writes no answer after a minute anyway.
	abandonAfter = time.Minute
	maxKeyLen    = 255
)

// idempotency is the state of the Idempotency-Key middleware.
type idempotency struct {
	st    store.Idempotency
	clock clock.Clock
	mu    sync.Mutex
	// running holds the keys of requests this process runs now: those are in flight
	// however long they take, so nothing takes them over.
	running map[string]bool
}

// EnableIdempotency makes every POST honour an Idempotency-Key header, keeping records
// in st and reading time from clk.
func (a *API) EnableIdempotency(st store.Idempotency, clk clock.Clock) {
	a.idem = &idempotency{st: st, clock: clk, running: map[string]bool{}}
}

// idempotent wraps a handler: a POST with an Idempotency-Key runs once per user and
// key, and its answer is kept for IdempotencyTTL. The same key again gets that answer
// (with Idempotent-Replayed: true); with another method, path or body, 422; while the
// first still runs, 409 in_progress. An error answer from a request that changed
// nothing is not kept, so that the client may try again. The cost is one more commit
// per keyed request, for its answer.
//
// These errors are the JSON API's alone (the console sends no key), so they are made
// as literals rather than through problem's constructors and catalogs.
func (a *API) idempotent(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c caller) error {
		key, ok := r.Header[IdempotencyHeader]
		if a.idem == nil || r.Method != http.MethodPost || !ok {
			return h(w, r, c)
		}
		if len(key) != 1 || !validKey(key[0]) {
			return &problem.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: IdempotencyHeader,
				Message: fmt.Sprintf("once, 1 to %d visible ASCII characters (such as a UUID)", maxKeyLen)}
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
			}
			return &problem.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "unreadable body"}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return a.runOnce(w, r, c, key[0], body, h)
	}
}

func validKey(k string) bool {
	if k == "" || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash binds a key to one request: method, path and body, length-prefixed.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(r.Method), []byte(r.URL.RequestURI()), body} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// runOnce runs h for the first request with the key, and answers the others.
func (a *API) runOnce(w http.ResponseWriter, r *http.Request, c caller, key string, body []byte, h handlerFunc) error {
	s := a.idem
	local := c.user.ID + "\x00" + key
	s.mu.Lock()
	if s.running[local] {
		s.mu.Unlock()
		return inProgress()
	}
	s.running[local] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, local)
		s.mu.Unlock()
	}()

	// The record is written whatever the client does meanwhile: one that hung up will
	// send the request again.
	ctx := context.WithoutCancel(r.Context())
	now := s.clock.Now()
	rec := store.IdempotencyRecord{UserID: c.user.ID, Key: key, Method: r.Method, Path: r.URL.Path,
		RequestHash: requestHash(r, body), CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL)}
	if held, ok, err := s.st.LookupIdempotency(ctx, c.user.ID, key, now); err != nil {
		return err
	} else if ok {
		return answerHeld(w, held, rec, now)
	}

	// Nothing is written before the request's own transaction: that writes the record
	// (see store.IdempotencyMark). A request that commits nothing leaves no trace but
	// its answer, and only a successful one.
	mark := &store.IdempotencyMark{Record: rec}
	rw := &recorder{header: w.Header(), status: http.StatusOK}
	err := h(rw, r.WithContext(store.WithIdempotencyMark(r.Context(), mark)), c)
	if errors.Is(err, store.ErrKeyTaken) {
		// Another node on this database committed the same key first.
		held, ok, lerr := s.st.LookupIdempotency(ctx, c.user.ID, key, now)
		if lerr != nil {
			return lerr
		}
		if !ok {
			return inProgress()
		}
		return answerHeld(w, held, rec, now)
	}
	if err != nil {
		if _, ok := problem.As(err); !ok {
			a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "user", c.user.Name, "err", err)
		}
		// As with(): the error is the answer, whatever the handler began to write.
		rw.status, rw.wrote = http.StatusOK, false
		rw.body.Reset()
		writeError(rw, err)
	}
	// An error from a request that changed nothing is not kept: sent again, it runs again
	// (and a corrected one may take the same key). So failing requests store nothing.
	if mark.Applied() || (rw.status >= 200 && rw.status <= 299) {
		rec.Status, rec.Body = rw.status, rw.body.Bytes()
		rec.ContentType, rec.Location = w.Header().Get("Content-Type"), w.Header().Get("Location")
		if err := s.st.FinishIdempotency(ctx, rec); err != nil {
			a.log.Error("keep idempotent answer", "user", c.user.Name, "err", err)
		}
	}
	w.WriteHeader(rw.status)
	w.Write(rw.body.Bytes())
	return nil
}

// answerHeld answers a request whose key a record holds: the kept answer, or why there
// is none.
func answerHeld(w http.ResponseWriter, held, rec store.IdempotencyRecord, now time.Time) error {
	switch {
	case held.RequestHash != rec.RequestHash:
		return &problem.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: IdempotencyHeader,
			Message: fmt.Sprintf("already used for another request (%s %s, or another body); use a new key for a new request", held.Method, held.Path)}
	case held.State == store.IdemDone:
		replay(w, held)
		return nil
	case now.Sub(held.CreatedAt) < abandonAfter:
		return inProgress()
	}
	return &problem.Error{Status: http.StatusConflict, Code: "answer_lost",
		Message: "the request with this " + IdempotencyHeader + " was carried out, but the node stopped before keeping its answer; it was not carried out again: look for its result"}
}

func inProgress() error {
	return &problem.Error{Status: http.StatusConflict, Code: "in_progress",
		Message: "a request with this " + IdempotencyHeader + " is still being carried out; send it again shortly"}
}

func replay(w http.ResponseWriter, rec store.IdempotencyRecord) {
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	if rec.Location != "" {
		w.Header().Set("Location", rec.Location)
	}
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(rec.Status)
	w.Write(rec.Body)
}

// recorder keeps a handler's answer so that it can be stored before it is sent.
// Headers go straight to the real response.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// IdempotencyPruner is the engine module that deletes expired Idempotency-Key records,
// at most once an hour.
type IdempotencyPruner struct {
	st    store.Idempotency
	clock clock.Clock
	log   *slog.Logger
	last  time.Time
}

// NewIdempotencyPruner makes the module.
func NewIdempotencyPruner(st store.Idempotency, clk clock.Clock, log *slog.Logger) *IdempotencyPruner {
	return &IdempotencyPruner{st: st, clock: clk, log: log}
}

// Name names the module.
func (*IdempotencyPruner) Name() string { return "idempotency-pruner" }

// UpdateAll deletes the records that expired.
func (p *IdempotencyPruner) UpdateAll(ctx context.Context) error {
	now := p.clock.Now()
	if !p.last.IsZero() && now.Sub(p.last) < time.Hour {
		return nil
	}
	n, err := p.st.PruneIdempotency(ctx, now)
	if err != nil {
		return err
	}
	p.last = now
	if n > 0 {
		p.log.Info("pruned expired idempotency keys", "count", n)
	}
	return nil
}
