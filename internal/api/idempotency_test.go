package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

// idemNode is the API's middleware over a real database, with handlers that create a
// record per run (a user named after the request), so that a second run shows.
type idemNode struct {
	db      *sqlstore.DB
	clk     *clock.Fake
	srv     *httptest.Server
	alice   string // tokens
	bob     string
	runs    atomic.Int32
	started chan struct{}
	release chan struct{}
	free    func() // closes release, once
	auth    *auth.Service
}

func newIdemNode(t *testing.T) *idemNode {
	t.Helper()
	ctx := t.Context()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := newIdemNodeOn(t, db, clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)))
	for _, u := range []struct {
		name string
		tok  *string
	}{{"alice", &n.alice}, {"bob", &n.bob}} {
		if _, err := n.auth.CreateUser(ctx, u.name, "", "", auth.Handler); err != nil {
			t.Fatal(err)
		}
		if *u.tok, _, err = n.auth.IssueToken(ctx, u.name, "test", 0); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// newIdemNodeOn serves the handlers from an API instance of its own over db.
func newIdemNodeOn(t *testing.T, db *sqlstore.DB, clk *clock.Fake) *idemNode {
	t.Helper()
	n := &idemNode{db: db, clk: clk, started: make(chan struct{}), release: make(chan struct{})}
	a := &API{auth: auth.New(db, n.clk, nil), log: slog.New(slog.DiscardHandler)}
	n.auth = a.auth
	a.EnableIdempotency(db, n.clk)
	create := func(r *http.Request) (string, error) {
		var req struct {
			Name string `json:"name"`
		}
		if err := decode(r, &req); err != nil {
			return "", err
		}
		id := identity.RandomID(8)
		err := db.InTx(r.Context(), func(tx store.Tx) error {
			return tx.CreateUser(r.Context(), store.User{ID: id, Name: req.Name + "-" + id, Role: auth.Observer})
		})
		return id, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /things", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		n.runs.Add(1)
		id, err := create(r)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/things/"+id)
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "by": c.user.Name})
		return nil
	}))
	// A failing test must not leave a request waiting: the server's Close waits for it.
	var releaseOnce sync.Once
	n.free = func() { releaseOnce.Do(func() { close(n.release) }) }
	mux.Handle("POST /slow", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		// Only the first run waits: a second one, which must not happen, answers at once.
		if n.runs.Add(1) == 1 {
			close(n.started)
			<-n.release
		}
		id, err := create(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": id})
		return nil
	}))
	mux.Handle("POST /fail", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		n.runs.Add(1)
		return errors.New("storage went away")
	}))
	mux.Handle("POST /fail-after-commit", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		n.runs.Add(1)
		if _, err := create(r); err != nil {
			return err
		}
		return errors.New("failed after its transaction committed")
	}))
	// The node stops between the commit and the answer, as a SIGKILL would.
	mux.Handle("POST /die-after-commit", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		n.runs.Add(1)
		if _, err := create(r); err != nil {
			return err
		}
		panic(http.ErrAbortHandler)
	}))
	mux.Handle("POST /die-before-commit", a.with(auth.Write, func(w http.ResponseWriter, r *http.Request, c caller) error {
		if n.runs.Add(1) == 1 {
			panic(http.ErrAbortHandler)
		}
		id, err := create(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": id})
		return nil
	}))
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.srv.Close)
	t.Cleanup(n.free) // first: cleanups run last-registered first
	return n
}

type answer struct {
	status   int
	body     string
	replayed bool
	location string
	err      error // the connection failed: no answer
}

func (n *idemNode) post(t *testing.T, token, path string, keys []string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for _, k := range keys {
		req.Header.Add(IdempotencyHeader, k)
	}
	// A fresh connection each time: Go's transport itself sends a keyed POST again when
	// a reused connection breaks, which would hide what a lost answer does.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, body: string(b), replayed: resp.Header.Get(ReplayedHeader) == "true",
		location: resp.Header.Get("Location")}
}

func (n *idemNode) records(t *testing.T) int {
	t.Helper()
	us, err := n.db.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(us) - 2 // alice and bob
}

func errorOf(t *testing.T, a answer) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Field string }
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("%d %q: %v", a.status, a.body, err)
	}
	return e.Error.Code, e.Error.Field
}

func key(k string) []string { return []string{k} }

// TestIdempotencyKeyRunsARequestOnce: a POST sent again with its key gets the first
// answer, marked as replayed, and creates nothing more; without a key it runs again.
//
// Regression: a client whose answer was lost and that sent the request again made a
// duplicate (9 in the SIGKILL run).
func TestIdempotencyKeyRunsARequestOnce(t *testing.T) {
	n := newIdemNode(t)
	first := n.post(t, n.alice, "/things", key("k-1"), `{"name":"a"}`)
	if first.status != http.StatusCreated || first.replayed || first.location == "" {
		t.Fatalf("first = %+v", first)
	}
	again := n.post(t, n.alice, "/things", key("k-1"), `{"name":"a"}`)
	if again.status != first.status || again.body != first.body || !again.replayed || again.location != first.location {
		t.Fatalf("again = %+v, want the first answer %+v replayed", again, first)
	}
	if got := n.records(t); got != 1 || n.runs.Load() != 1 {
		t.Fatalf("%d records, %d runs after a replay; want 1, 1", got, n.runs.Load())
	}
	// Another person's key is theirs alone.
	if b := n.post(t, n.bob, "/things", key("k-1"), `{"name":"a"}`); b.status != http.StatusCreated || b.replayed {
		t.Fatalf("bob's request with alice's key = %+v", b)
	}
	// No key: each request runs.
	n.post(t, n.alice, "/things", nil, `{"name":"a"}`)
	n.post(t, n.alice, "/things", nil, `{"name":"a"}`)
	if got := n.records(t); got != 4 {
		t.Fatalf("%d records, want 4", got)
	}
}

// TestIdempotencyKeyRefusesAnotherRequest: a key names one request; reused for another
// body or path it is refused, naming the header, and nothing runs.
func TestIdempotencyKeyRefusesAnotherRequest(t *testing.T) {
	n := newIdemNode(t)
	n.post(t, n.alice, "/things", key("k-1"), `{"name":"a"}`)
	for _, c := range []struct{ path, body string }{
		{"/things", `{"name":"b"}`},
		{"/fail", `{"name":"a"}`},
	} {
		a := n.post(t, n.alice, c.path, key("k-1"), c.body)
		code, field := errorOf(t, a)
		if a.status != http.StatusUnprocessableEntity || field != IdempotencyHeader || code != "invalid" {
			t.Errorf("%s %s with a used key = %d %s", c.path, c.body, a.status, a.body)
		}
	}
	for name, keys := range map[string][]string{
		"empty": {""}, "space": {"a b"}, "not ASCII": {"ключ"}, "long": {strings.Repeat("k", maxKeyLen+1)}, "twice": {"k-2", "k-3"},
	} {
		a := n.post(t, n.alice, "/things", keys, `{"name":"a"}`)
		if _, field := errorOf(t, a); a.status != http.StatusUnprocessableEntity || field != IdempotencyHeader {
			t.Errorf("%s key: %d %s, want 422 naming %s", name, a.status, a.body, IdempotencyHeader)
		}
	}
	if a := n.post(t, n.alice, "/things", key(strings.Repeat("k", maxKeyLen)), `{"name":"a"}`); a.status != http.StatusCreated {
		t.Errorf("a key of %d characters: %d %s", maxKeyLen, a.status, a.body)
	}
	if got := n.records(t); got != 2 || n.runs.Load() != 2 {
		t.Fatalf("%d records, %d runs; want 2, 2", got, n.runs.Load())
	}
}

// TestIdempotencyKeyInFlight: the same request while the first still runs gets 409
// in_progress, and the first one's answer afterwards.
func TestIdempotencyKeyInFlight(t *testing.T) {
	n := newIdemNode(t)
	done := make(chan answer)
	go func() { done <- n.post(t, n.alice, "/slow", key("k-1"), `{"name":"a"}`) }()
	<-n.started
	// However long it runs, this process knows it is running: nothing takes it over.
	n.clk.Advance(2 * abandonAfter)
	dup := n.post(t, n.alice, "/slow", key("k-1"), `{"name":"a"}`)
	if code, _ := errorOf(t, dup); dup.status != http.StatusConflict || code != "in_progress" {
		t.Fatalf("duplicate in flight = %d %s, want 409 in_progress", dup.status, dup.body)
	}
	n.free()
	first := <-done
	if first.status != http.StatusCreated {
		t.Fatalf("first = %+v", first)
	}
	if again := n.post(t, n.alice, "/slow", key("k-1"), `{"name":"a"}`); again.body != first.body || !again.replayed {
		t.Fatalf("after the first finished: %+v", again)
	}
	if got := n.records(t); got != 1 || n.runs.Load() != 1 {
		t.Fatalf("%d records, %d runs; want 1, 1", got, n.runs.Load())
	}
}

// TestIdempotencyKeyAfterAFailure: a request that failed without changing anything may
// run again, corrected or not; one that failed after its transaction committed may not.
func TestIdempotencyKeyAfterAFailure(t *testing.T) {
	n := newIdemNode(t)
	for range 2 {
		if a := n.post(t, n.alice, "/fail", key("k-1"), `{}`); a.status != http.StatusInternalServerError || a.replayed {
			t.Fatalf("failing request = %+v", a)
		}
	}
	if n.runs.Load() != 2 {
		t.Fatalf("a request that failed without effect ran %d times for two tries, want 2", n.runs.Load())
	}
	first := n.post(t, n.alice, "/fail-after-commit", key("k-2"), `{"name":"a"}`)
	again := n.post(t, n.alice, "/fail-after-commit", key("k-2"), `{"name":"a"}`)
	if first.status != http.StatusInternalServerError || again.status != first.status || !again.replayed {
		t.Fatalf("failed after commit: %+v then %+v", first, again)
	}
	if got := n.records(t); got != 1 || n.runs.Load() != 3 {
		t.Fatalf("%d records, %d runs; want 1, 3", got, n.runs.Load())
	}
	// A refused request changed nothing: corrected, it runs under the same key.
	if a := n.post(t, n.alice, "/things", key("k-3"), `{"name": 7}`); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad body = %+v", a)
	}
	if a := n.post(t, n.alice, "/things", key("k-3"), `{"name":"a"}`); a.status != http.StatusCreated || a.replayed {
		t.Fatalf("the corrected request with the same key = %+v, want it run", a)
	}
}

// TestIdempotencyKeyWhenTheNodeStopsMidRequest: a node that stops (SIGKILL) after the
// request's transaction committed and before its answer was kept must never run it
// again (for a minute it may still be running; then its answer is lost); one that
// stopped before anything committed runs it when it is sent again.
func TestIdempotencyKeyWhenTheNodeStopsMidRequest(t *testing.T) {
	n := newIdemNode(t)
	if a := n.post(t, n.alice, "/die-after-commit", key("k-1"), `{"name":"a"}`); a.err == nil {
		t.Fatalf("the request was answered: %+v", a)
	}
	a := n.post(t, n.alice, "/die-after-commit", key("k-1"), `{"name":"a"}`)
	if code, _ := errorOf(t, a); a.status != http.StatusConflict || code != "in_progress" {
		t.Fatalf("at once = %d %s, want 409 in_progress", a.status, a.body)
	}
	n.clk.Advance(abandonAfter)
	a = n.post(t, n.alice, "/die-after-commit", key("k-1"), `{"name":"a"}`)
	if code, _ := errorOf(t, a); a.status != http.StatusConflict || code != "answer_lost" {
		t.Fatalf("after %s = %d %s, want 409 answer_lost", abandonAfter, a.status, a.body)
	}
	if got := n.records(t); got != 1 || n.runs.Load() != 1 {
		t.Fatalf("%d records, %d runs; want 1, 1", got, n.runs.Load())
	}

	n.runs.Store(0)
	if a := n.post(t, n.alice, "/die-before-commit", key("k-2"), `{"name":"b"}`); a.err == nil {
		t.Fatalf("the request was answered: %+v", a)
	}
	if a := n.post(t, n.alice, "/die-before-commit", key("k-2"), `{"name":"b"}`); a.status != http.StatusCreated || a.replayed {
		t.Fatalf("sent again = %+v, want it run: nothing of the first committed", a)
	}
	if got := n.records(t); got != 2 || n.runs.Load() != 2 {
		t.Fatalf("%d records, %d runs; want 2, 2", got, n.runs.Load())
	}
}

// TestIdempotencyKeyExpires: a first answer is kept for a day by the node's clock; then
// the key is free, and the engine module deletes the record.
func TestIdempotencyKeyExpires(t *testing.T) {
	n := newIdemNode(t)
	first := n.post(t, n.alice, "/things", key("k-1"), `{"name":"a"}`)
	n.clk.Advance(IdempotencyTTL - time.Second)
	if a := n.post(t, n.alice, "/things", key("k-1"), `{"name":"a"}`); a.body != first.body || !a.replayed {
		t.Fatalf("a second before expiry: %+v", a)
	}
	n.clk.Advance(time.Second)
	if a := n.post(t, n.alice, "/things", key("k-1"), `{"name":"other"}`); a.status != http.StatusCreated || a.replayed {
		t.Fatalf("after a day the key is free: %+v", a)
	}
	n.post(t, n.alice, "/things", key("k-2"), `{"name":"a"}`)

	p := NewIdempotencyPruner(n.db, n.clk, slog.New(slog.DiscardHandler))
	issued := n.clk.Now()
	n.clk.Advance(IdempotencyTTL + time.Second)
	if err := p.UpdateAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Asked as of when it was issued, a record still there would hold the key.
	if _, held, err := n.db.LookupIdempotency(t.Context(), aliceID(t, n), "k-2", issued); err != nil || held {
		t.Fatalf("the expired record of k-2 is still kept after the pruner ran (%v, %v)", held, err)
	}
}

func aliceID(t *testing.T, n *idemNode) string {
	t.Helper()
	u, err := n.db.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestIdempotencyKeyAcrossNodesOnOneDatabase: two API instances on one database (as
// replicas would be) do not know each other's requests in flight; the record written
// in the request's own transaction lets only the first to commit carry it out, and the
// other answers with its answer.
func TestIdempotencyKeyAcrossNodesOnOneDatabase(t *testing.T) {
	n := newIdemNode(t)
	other := newIdemNodeOn(t, n.db, n.clk)
	other.runs.Store(1) // its run of /slow does not wait
	done := make(chan answer)
	go func() { done <- n.post(t, n.alice, "/slow", key("k-1"), `{"name":"a"}`) }()
	<-n.started // n runs it, and waits before its transaction
	first := other.post(t, n.alice, "/slow", key("k-1"), `{"name":"a"}`)
	if first.status != http.StatusCreated {
		t.Fatalf("the other instance = %+v", first)
	}
	n.free()
	late := <-done
	if late.status != first.status || late.body != first.body || !late.replayed {
		t.Fatalf("the instance that committed second = %+v, want the first answer %+v replayed", late, first)
	}
	if got := n.records(t); got != 1 {
		t.Fatalf("%d records, want 1", got)
	}
}
