package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
)

// quiet keeps senders from heartbeating during a test (they still send one at start)
// and makes the first failure back off for an hour, so that only a wake can explain
// a prompt retry.
var quiet = Options{IdlePoll: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour, Timeout: 10 * time.Second}

// countingBody is a request body of n bytes that counts what the server reads.
type countingBody struct {
	left int64
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.left))
	clear(p[:n])
	b.left -= int64(n)
	b.read.Add(int64(n))
	return n, nil
}
func (b *countingBody) Close() error { return nil }

// signedRequest makes a federation request from one team to another, signed with k.
func signedRequest(k identity.Key, method, path, from, to string, at time.Time, body []byte) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	envelope.SignRequest(r, k, from, to, at, body)
	return r
}

// An anonymous client that names a real peer in from= (or any peer, or none) costs the
// node a signature check and nothing more: not one byte of its 16 MiB body is read.
func TestForgedRequestsCostNoMemory(t *testing.T) {
	nodes := startTestNet(t, clock.Real{}, quiet, "cn", "jp")
	jp := nodes["jp"]
	stranger, _ := identity.Generate()
	for name, sign := range map[string]func(*http.Request){
		"forged signature of a real peer": func(r *http.Request) {
			envelope.SignRequest(r, stranger, "cn", "jp", time.Now(), []byte(`{"envelopes":[]}`))
		},
		"unknown peer": func(r *http.Request) { envelope.SignRequest(r, stranger, "xx", "jp", time.Now(), nil) },
		"unsigned":     func(*http.Request) {},
		"misdirected": func(r *http.Request) {
			envelope.SignRequest(r, nodes["cn"].key, "cn", "kr", time.Now(), nil)
		},
	} {
		body := &countingBody{left: envelope.MaxBatchBytes}
		r := httptest.NewRequest("POST", InboxPath, nil)
		r.Body = body
		sign(r)
		w := httptest.NewRecorder()
		jp.f.handleInbox(w, r)
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 401 or 403", name, w.Code)
		}
		if n := body.read.Load(); n != 0 {
			t.Errorf("%s: the node read %d bytes of an unauthenticated body", name, n)
		}
	}
	// A real peer's body that does not match the hash it signed is refused too.
	body := []byte(`{"envelopes":[]}`)
	r := signedRequest(nodes["cn"].key, "POST", InboxPath, "cn", "jp", time.Now(), body)
	r.Body = io.NopCloser(strings.NewReader(`{"envelopes":[],"x":1}`))
	w := httptest.NewRecorder()
	jp.f.handleInbox(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "signed hash") {
		t.Errorf("body swapped under a valid signature: %d %s", w.Code, w.Body)
	}
}

// blockingBody is a body whose reads wait until it is released: a request that holds
// its slot while the handler reads it.
type blockingBody struct{ release chan struct{} }

func (b blockingBody) Read([]byte) (int, error) { <-b.release; return 0, io.EOF }
func (b blockingBody) Close() error             { return nil }

// One peer has at most MaxConcurrentPerPeer requests served at once; the next is told
// to come back (429) without its body being read, and other peers are not affected.
func TestConcurrentRequestsPerPeerAreCapped(t *testing.T) {
	nodes := startTestNet(t, clock.Real{}, quiet, "cn", "jp", "kr")
	jp, cn := nodes["jp"], nodes["cn"]
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range MaxConcurrentPerPeer {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// cn's own sender (a heartbeat) may hold a slot for a moment and turn one of
			// these away: that one tries again until it holds a slot.
			for {
				// The signed hash is of the empty body the blocking reader ends with.
				r := signedRequest(cn.key, "POST", InboxPath, "cn", "jp", time.Now(), nil)
				r.Body = blockingBody{release}
				w := httptest.NewRecorder()
				jp.f.handleInbox(w, r)
				if w.Code != http.StatusTooManyRequests {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	slots := jp.f.peers["cn"].slots
	eventually(t, "cn's requests hold every slot", func() error {
		if len(slots) != MaxConcurrentPerPeer {
			return fmt.Errorf("%d slots taken", len(slots))
		}
		return nil
	})
	body := &countingBody{left: 1 << 20}
	r := signedRequest(cn.key, "POST", InboxPath, "cn", "jp", time.Now(), nil)
	r.Body = body
	w := httptest.NewRecorder()
	jp.f.handleInbox(w, r)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("request over the cap: %d %q, want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if body.read.Load() != 0 {
		t.Errorf("the refused request's body was read (%d bytes)", body.read.Load())
	}
	// kr has its own slots.
	w = httptest.NewRecorder()
	empty := []byte(`{"envelopes":[]}`)
	jp.f.handleInbox(w, signedRequest(nodes["kr"].key, "POST", InboxPath, "kr", "jp", time.Now(), empty))
	if w.Code != http.StatusOK {
		t.Errorf("another peer while cn is at its cap: %d %s", w.Code, w.Body)
	}
	close(release)
	wg.Wait()
	// cn's own sender (a heartbeat) may hold a slot for a moment: wait for it to end.
	eventually(t, "every slot free after the requests ended", func() error {
		if len(slots) != 0 {
			return fmt.Errorf("%d slots still taken", len(slots))
		}
		return nil
	})
	w = httptest.NewRecorder()
	jp.f.handleInbox(w, signedRequest(cn.key, "POST", InboxPath, "cn", "jp", time.Now(), empty))
	if w.Code != http.StatusOK {
		t.Errorf("cn after its requests ended: %d %s", w.Code, w.Body)
	}
}

// A request is accepted once: the same signed request again (a captured GET /outbox,
// say) is refused, and so is one signed before the node started, whose nonce the
// node could not have remembered.
func TestReplayedRequestIsRefused(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	nodes := startTestNet(t, clk, quiet, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	path := OutboxPath + "?after=0&limit=10"
	first := signedRequest(jp.key, "GET", path, "jp", "cn", clk.Now(), nil)
	captured := first.Header.Get(envelope.AuthHeader)
	w := httptest.NewRecorder()
	cn.f.handleOutbox(w, first)
	if w.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", w.Code, w.Body)
	}
	clk.Advance(time.Minute) // well within the window
	again := httptest.NewRequest("GET", path, nil)
	again.Header.Set(envelope.AuthHeader, captured)
	w = httptest.NewRecorder()
	cn.f.handleOutbox(w, again)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Errorf("replayed request: %d %s, want 401 replayed", w.Code, w.Body)
	}
	// A fresh request at the same instant is not a replay: nonces, not times, tell
	// requests apart.
	for range 2 {
		w = httptest.NewRecorder()
		cn.f.handleOutbox(w, signedRequest(jp.key, "GET", path, "jp", "cn", clk.Now(), nil))
		if w.Code != http.StatusOK {
			t.Errorf("fresh request at the same time: %d %s", w.Code, w.Body)
		}
	}
	w = httptest.NewRecorder()
	cn.f.handleOutbox(w, signedRequest(jp.key, "GET", path, "jp", "cn", cn.f.started.Add(-time.Second), nil))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "before this node started") {
		t.Errorf("request signed before the start: %d %s", w.Code, w.Body)
	}
	refusals, err := cn.st.Refusals(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, r := range refusals {
		if r.Peer == "jp" {
			reasons[r.Reason]++
		}
	}
	if reasons["replayed request"] != 1 || reasons["signed before start"] != 1 {
		t.Errorf("refusals recorded: %v, want one replayed request and one signed before start", reasons)
	}
}

// The nonce cache forgets a nonce once its request has left the window, and never
// holds more than maxNoncesPerPeer of one peer.
func TestNonceCacheIsBounded(t *testing.T) {
	c := newNonceCache()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var n [envelope.NonceSize]byte
	if err := c.add("cn", n, now.Add(envelope.Window), now); err != nil {
		t.Fatal(err)
	}
	if err := c.add("cn", n, now.Add(envelope.Window), now.Add(time.Minute)); !errors.Is(err, errReplayed) {
		t.Fatalf("same nonce within the window: %v", err)
	}
	if err := c.add("jp", n, now.Add(envelope.Window), now); err != nil {
		t.Fatalf("same nonce from another peer: %v", err)
	}
	later := now.Add(envelope.Window + time.Minute)
	if err := c.add("cn", n, later.Add(envelope.Window), later); err != nil {
		t.Fatalf("the nonce after its window: %v", err)
	}
	if len(c.byPeer["jp"]) != 0 {
		t.Errorf("expired nonces not swept: %d left", len(c.byPeer["jp"]))
	}
	for i := range maxNoncesPerPeer {
		n = [envelope.NonceSize]byte{byte(i), byte(i >> 8), byte(i >> 16), 1}
		if err := c.add("kr", n, later.Add(envelope.Window), later); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	n[3] = 2
	if err := c.add("kr", n, later.Add(envelope.Window), later); !errors.Is(err, errTooManySeen) {
		t.Fatalf("nonce over the cap: %v", err)
	}
}

// Refusals are logged at most refusalsPerMinute a minute per reason, like they are
// stored; what was left out is summed up in one line.
func TestRefusalLoggingIsCapped(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	nodes := startTestNet(t, clk, quiet, "cn", "jp")
	jp := nodes["jp"]
	const msg = "refused federation traffic"
	const summary = "refused federation traffic not logged (over the cap of each reason per minute)"
	base := jp.logs.count(msg)
	for i := range 200 {
		jp.f.refuse(context.Background(), "xx", "192.0.2.1:4000", "unknown peer", fmt.Sprintf("attempt %d", i))
	}
	jp.f.refuse(context.Background(), "cn", "192.0.2.1:4000", "out of window", "late")
	if got := jp.logs.count(msg) - base; got != refusalsPerMinute+1 {
		t.Fatalf("%d refusals logged in a minute, want %d", got, refusalsPerMinute+1)
	}
	refusals, _ := jp.st.Refusals(context.Background(), 1000)
	if len(refusals) != refusalsPerMinute+1 {
		t.Fatalf("%d refusals stored, want %d", len(refusals), refusalsPerMinute+1)
	}
	if jp.logs.count(summary) != 0 {
		t.Fatal("summary before the minute was over")
	}
	// Housekeeping writes the summary once the minute is over, even if nothing else
	// is refused.
	clk.Advance(61 * time.Second)
	if err := jp.f.Housekeeping().UpdateAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, ok := jp.logs.last(summary)
	if !ok {
		t.Fatal("no summary of the refusals left out")
	}
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindGroup {
			for _, g := range a.Value.Group() {
				attrs[a.Key+"."+g.Key] = g.Value.String()
			}
		} else {
			attrs[a.Key] = a.Value.String()
		}
		return true
	})
	if attrs["suppressed"] != "140" || attrs["by_reason.unknown peer"] != "140" {
		t.Errorf("summary: %v", attrs)
	}
	if jp.logs.count(summary) != 1 {
		t.Errorf("%d summaries", jp.logs.count(summary))
	}
	// The next minute logs again.
	jp.f.refuse(context.Background(), "xx", "192.0.2.1:4000", "unknown peer", "again")
	if got := jp.logs.count(msg) - base; got != refusalsPerMinute+2 {
		t.Errorf("a refusal in the next minute not logged: %d", got)
	}
}

// A peer that comes back is sent to at once, not after retry_max (here an hour):
// when an operator asks, and when the peer itself talks to us.
func TestPeerThatComesBackIsSentToAtOnce(t *testing.T) {
	nodes := startTestNet(t, clock.Real{}, quiet, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	waitHeartbeats(t, cn, jp)
	down := func(what string) *envelope.Envelope {
		t.Helper()
		jp.down.Store(true)
		e := cn.queue(t, "jp", what)
		eventually(t, "cn's send to jp fails", func() error {
			if l := cn.link(t, "jp"); l.LastError == "" || !strings.Contains(l.LastError, "503") {
				return fmt.Errorf("last error %q", l.LastError)
			}
			return nil
		})
		// Attempts are counted after the failure is recorded; wait for it, so the
		// sender is surely in its hour-long back-off.
		eventually(t, "the failed attempt counted", func() error {
			sent, _ := cn.st.Sent(context.Background(), "jp")
			if sent[len(sent)-1].Attempts == 0 {
				return errors.New("not yet")
			}
			return nil
		})
		jp.down.Store(false)
		return e
	}

	// An operator's retry.
	e := down("first")
	if err := cn.f.Retry(context.Background(), "jp", "duty"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered after the operator's retry", func() error { return cn.delivered("jp", e.Seq) })
	if err := cn.f.Retry(context.Background(), "xx", "duty"); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("retry of an unknown peer: %v", err)
	}
	recs, _ := cn.st.ListAudit(context.Background(), 0, 10)
	if len(recs) != 1 || recs[0].Action != "peer.retry" || recs[0].Object != "jp" || recs[0].Actor != "duty" {
		t.Errorf("audit: %+v", recs)
	}

	// Traffic from the peer: jp sends cn something, which wakes cn's sender to jp.
	e = down("second")
	jp.queue(t, "cn", "hello")
	eventually(t, "jp's note reaches cn", func() error { return jp.delivered("cn", 1) })
	eventually(t, "delivered after jp's traffic", func() error { return cn.delivered("jp", e.Seq) })
	if l := cn.link(t, "jp"); l.LastError != "" || l.Health == HealthError {
		t.Errorf("after delivery: %+v", l)
	}
	if jp.applied(t, "cn", "first") != 1 || jp.applied(t, "cn", "second") != 1 {
		t.Errorf("notes applied %d and %d times", jp.applied(t, "cn", "first"), jp.applied(t, "cn", "second"))
	}
}

// The receiver commits but the sender never gets its answer: the sender resends, the
// receiver applies nothing again (a note is a counter: applying twice would show)
// and answers with its original receipts, which the sender stores as evidence.
func TestLostAnswerIsResentAndAppliedOnce(t *testing.T) {
	opts := quiet
	opts.RetryMin, opts.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	nodes := startTestNet(t, clock.Real{}, opts, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	jp.mu.Lock()
	jp.loseAnswers = 2
	jp.mu.Unlock()
	var last *envelope.Envelope
	for i := range 5 {
		last = cn.queue(t, "jp", fmt.Sprintf("note %d", i))
	}
	eventually(t, "cn holds a receipt for every note", func() error {
		for seq := uint64(1); seq <= last.Seq; seq++ {
			if err := cn.delivered("jp", seq); err != nil {
				return err
			}
		}
		return nil
	})
	jp.mu.Lock()
	lost := jp.lost
	jp.mu.Unlock()
	if len(lost) == 0 {
		t.Fatal("no answer was lost; the test proves nothing")
	}
	for i := range 5 {
		if n := jp.applied(t, "cn", fmt.Sprintf("note %d", i)); n != 1 {
			t.Errorf("note %d applied %d times", i, n)
		}
	}
	sent, _ := cn.st.Sent(context.Background(), "jp")
	for _, orig := range lost {
		var got envelope.Receipt
		json.Unmarshal(sent[orig.Seq-1].Receipt, &got)
		if !bytes.Equal(got.Signature, orig.Signature) || !got.ReceivedAt.Equal(orig.ReceivedAt) {
			t.Errorf("seq %d: cn keeps a receipt signed at %v, jp first signed it at %v", orig.Seq, got.ReceivedAt, orig.ReceivedAt)
		}
	}
}

// waitHeartbeats waits until the heartbeats of the start have gone both ways between
// a and b (each was answered, so each was processed): afterwards, only what the test
// does talks to either.
func waitHeartbeats(t *testing.T, a, b *testNode) {
	t.Helper()
	eventually(t, "heartbeats both ways", func() error {
		for _, l := range []LinkState{a.link(t, b.id), b.link(t, a.id)} {
			if l.LastSentAt == nil {
				return fmt.Errorf("%+v", l)
			}
		}
		return nil
	})
}

// A successful pull from a peer shows it is reachable: it wakes our sender to it.
func TestSuccessfulPullWakesTheSender(t *testing.T) {
	opts := quiet
	opts.PullInterval = 10 * time.Millisecond
	nodes := startTestNetPulling(t, clock.Real{}, opts, map[[2]string]bool{{"cn", "jp"}: true}, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	waitHeartbeats(t, cn, jp)
	jp.downInbox.Store(true)
	e := cn.queue(t, "jp", "pushed")
	eventually(t, "cn's push fails", func() error {
		if cn.link(t, "jp").LastError == "" {
			return errors.New("no error yet")
		}
		return nil
	})
	if cn.link(t, "jp").LastPullError != "" {
		t.Fatalf("cn's pulls fail too: %q", cn.link(t, "jp").LastPullError)
	}
	jp.downInbox.Store(false)
	eventually(t, "delivered after a pull", func() error { return cn.delivered("jp", e.Seq) })
}

// Link health tells the truth: a peer that sends us things while our sends to it fail
// is failing, not ok, and its error stays until a send succeeds; a peer that takes our
// request but never answers is shown as waiting, then stalled.
func TestLinkHealthTellsTheTruth(t *testing.T) {
	clk := clock.NewFake(time.Now())
	nodes := startTestNet(t, clk, quiet, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	eventually(t, "heartbeats both ways", func() error {
		if l := cn.link(t, "jp"); l.Health != HealthOK {
			return fmt.Errorf("cn's link to jp: %s %+v", l.Health, l)
		}
		return nil
	})

	jp.down.Store(true)
	cn.queue(t, "jp", "lost")
	eventually(t, "cn's send fails", func() error {
		if cn.link(t, "jp").LastError == "" {
			return errors.New("no error yet")
		}
		return nil
	})
	clk.Advance(time.Second)
	jp.queue(t, "cn", "from jp")
	eventually(t, "jp's note reaches cn", func() error { return jp.delivered("cn", 1) })
	l := cn.link(t, "jp")
	if l.LastError == "" || l.Health != HealthError {
		t.Errorf("traffic from jp cleared cn's send error: health %s, last error %q", l.Health, l.LastError)
	}
	if l.LastReceivedAt == nil || l.LastSentAt == nil || !l.LastReceivedAt.After(*l.LastSentAt) {
		t.Errorf("last received %v should be after last sent %v", l.LastReceivedAt, l.LastSentAt)
	}

	// jp accepts connections again but answers nothing.
	jp.down.Store(false)
	jp.setHang(true)
	if err := cn.f.Retry(context.Background(), "jp", "duty"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "cn's push waits for jp", func() error {
		if cn.link(t, "jp").InFlightSince == nil {
			return errors.New("nothing in flight")
		}
		return nil
	})
	clk.Advance(StallAfter + time.Second)
	l = cn.link(t, "jp")
	if l.Health != HealthStalled || l.InFlightSeconds < StallAfter.Seconds() {
		t.Errorf("a push waiting %v: health %s", StallAfter+time.Second, l.Health)
	}
	jp.setHang(false)
	eventually(t, "the push goes through", func() error {
		l := cn.link(t, "jp")
		if l.InFlightSince != nil || l.LastError != "" {
			return fmt.Errorf("in flight since %v, error %q", l.InFlightSince, l.LastError)
		}
		return nil
	})
	if l := cn.link(t, "jp"); l.Health != HealthOK {
		t.Errorf("after the push: %s", l.Health)
	}
	clk.Advance(RecentContact + time.Second)
	if l := cn.link(t, "jp"); l.Health != HealthQuiet {
		t.Errorf("no traffic for %v: %s", RecentContact+time.Second, l.Health)
	}

	// jp answers cn's pushes, but nothing jp sends reaches cn: that is not healthy.
	cn.down.Store(true)
	e := cn.queue(t, "jp", "one way")
	eventually(t, "cn's push", func() error { return cn.delivered("jp", e.Seq) })
	l = cn.link(t, "jp")
	if l.Health != HealthQuiet || l.LastSentAt == nil || !l.LastSentAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Errorf("answers to our pushes only: health %s, last sent %v, last received %v", l.Health, l.LastSentAt, l.LastReceivedAt)
	}
}

func TestHealthWords(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	ok := store.Link{LastSentAt: ago(time.Second), LastReceivedAt: ago(time.Second)}
	for _, c := range []struct {
		name string
		ls   LinkState
		l    store.Link
		want string
	}{
		{"both ways recently", LinkState{}, ok, HealthOK},
		{"revoked", LinkState{Revoked: true}, ok, HealthRevoked},
		{"never", LinkState{}, store.Link{}, HealthUnknown},
		{"send failing while the peer talks to us", LinkState{},
			store.Link{LastSentAt: ago(time.Hour), LastReceivedAt: ago(time.Second), LastError: "503", LastErrorAt: ago(time.Minute)}, HealthError},
		{"pull failing", LinkState{}, store.Link{LastSentAt: ago(time.Second), LastReceivedAt: ago(time.Second), LastPullError: "timeout"}, HealthError},
		{"waiting 20 s for an answer", LinkState{InFlightSince: ago(20 * time.Second)}, ok, HealthStalled},
		{"waiting 2 s", LinkState{InFlightSince: ago(2 * time.Second)}, ok, HealthOK},
		{"backlog over a minute", LinkState{Queued: 3, LagSeconds: 90}, ok, HealthLagging},
		{"nothing from the peer for 5 min", LinkState{}, store.Link{LastSentAt: ago(time.Second), LastReceivedAt: ago(5 * time.Minute)}, HealthQuiet},
		{"nothing sent for 5 min", LinkState{}, store.Link{LastSentAt: ago(5 * time.Minute), LastReceivedAt: ago(time.Second)}, HealthQuiet},
	} {
		if got := health(c.ls, c.l, now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// Past the retention, envelope copies go and evidence stays: a delivered outbox row
// keeps the peer's receipt, an inbox row keeps digest and receipt, so a replay of an
// old envelope still gets its original receipt and a different envelope under its
// number is still refused. Undelivered envelopes are kept however old.
func TestRetentionCompactsAndKeepsEvidence(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := quiet
	opts.Retention = 30 * 24 * time.Hour
	nodes := startTestNet(t, clk, opts, "cn", "jp", "kr")
	cn, jp, kr := nodes["cn"], nodes["jp"], nodes["kr"]
	ctx := context.Background()
	old := cn.queue(t, "jp", "old")
	eventually(t, "delivered", func() error { return cn.delivered("jp", old.Seq) })
	kr.down.Store(true)
	stuck := cn.queue(t, "kr", "stuck")
	eventually(t, "kr's delivery fails", func() error {
		if cn.link(t, "kr").LastError == "" {
			return errors.New("not yet")
		}
		return nil
	})

	clk.Advance(opts.Retention + time.Hour)
	fresh := cn.queue(t, "jp", "fresh")
	eventually(t, "fresh delivered", func() error { return cn.delivered("jp", fresh.Seq) })
	for _, nd := range []*testNode{cn, jp} {
		if err := nd.f.Housekeeping().UpdateAll(ctx); err != nil {
			t.Fatal(err)
		}
	}

	sent, _ := cn.st.Sent(ctx, "jp")
	if len(sent) != 2 || len(sent[0].Envelope) != 0 || len(sent[0].Receipt) == 0 || len(sent[1].Envelope) == 0 {
		t.Fatalf("cn's outbox for jp: old envelope %d bytes (want 0), receipt %d bytes; fresh envelope %d bytes",
			len(sent[0].Envelope), len(sent[0].Receipt), len(sent[1].Envelope))
	}
	var rc envelope.Receipt
	if err := json.Unmarshal(sent[0].Receipt, &rc); err != nil {
		t.Fatal(err)
	}
	jpPub, _ := cn.f.dir.Key("jp")
	if err := rc.Verify(jpPub, old); err != nil {
		t.Errorf("the kept receipt no longer proves what jp received: %v", err)
	}
	if sent, _ := cn.st.Sent(ctx, "kr"); len(sent) != 1 || !bytes.Equal(sent[0].Envelope, stuck.Marshal()) {
		t.Errorf("an undelivered envelope was compacted")
	}
	in, err := jp.st.GetInbox(ctx, "cn", old.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if d := old.Digest(); len(in.Envelope) != 0 || !bytes.Equal(in.Digest, d[:]) || len(in.Receipt) == 0 {
		t.Errorf("jp's inbox row: envelope %d bytes (want 0), digest kept %v, receipt %d bytes", len(in.Envelope), bytes.Equal(in.Digest, d[:]), len(in.Receipt))
	}
	if in, _ := jp.st.GetInbox(ctx, "cn", fresh.Seq); len(in.Envelope) == 0 {
		t.Errorf("a recent inbox envelope was compacted")
	}

	// Replay detection after compaction.
	push := func(e *envelope.Envelope) envelope.Receipts {
		body, _ := json.Marshal(envelope.Batch{Envelopes: []*envelope.Envelope{e}})
		w := httptest.NewRecorder()
		jp.f.handleInbox(w, signedRequest(cn.key, "POST", InboxPath, "cn", "jp", clk.Now(), body))
		var rs envelope.Receipts
		json.Unmarshal(w.Body.Bytes(), &rs)
		return rs
	}
	rs := push(old)
	if len(rs.Receipts) != 1 || !bytes.Equal(rs.Receipts[0].Signature, rc.Signature) {
		t.Errorf("replay of a compacted envelope: %+v, want the original receipt", rs)
	}
	forged := &envelope.Envelope{Origin: "cn", Destination: "jp", Seq: old.Seq, Type: noteType, ObjectID: "note", Time: clk.Now(),
		TLP: "CLEAR", Payload: []byte("rewritten")}
	forged.Sign(cn.key)
	if rs := push(forged); len(rs.Receipts) != 0 || !strings.Contains(rs.Error, "seq reused") {
		t.Errorf("another envelope under a compacted number: %+v", rs)
	}
	if jp.applied(t, "cn", "old") != 1 || jp.applied(t, "cn", "rewritten") != 0 {
		t.Errorf("applied: old %d, rewritten %d", jp.applied(t, "cn", "old"), jp.applied(t, "cn", "rewritten"))
	}
}
