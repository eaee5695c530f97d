package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// testNode is one federation endpoint with a real SQLite file and real HTTP on
// loopback, without the incident and hotline services: what it applies is a "note"
// that bumps a counter, so a test sees exactly how often each envelope took effect.
type testNode struct {
	id   string
	url  string
	key  identity.Key
	st   *sqlstore.DB
	f    *Federation
	logs *logRecorder

	down      atomic.Bool   // answer every federation request with 503
	downInbox atomic.Bool   // answer pushes (not fetches) with 503
	hang      chan struct{} // when non-nil, hold every request until it is closed
	mu        sync.Mutex
	// loseAnswers is how many answers carrying receipts to lose after they are
	// made (the node has committed; the sender never hears of it); lost keeps their
	// receipts.
	loseAnswers int
	lost        []*envelope.Receipt
	// rewrite, when set, changes every answer to a push before it is sent.
	rewrite func(*envelope.Receipts)
}

const noteType = "test.note"

// startTestNet starts nodes named ids, each a push peer of every other, on one clock.
func startTestNet(t *testing.T, clk clock.Clock, opts Options, ids ...string) map[string]*testNode {
	t.Helper()
	return startTestNetPulling(t, clk, opts, nil, ids...)
}

// startTestNetPulling is startTestNet where pulls[[2]string{a, b}] makes a also pull
// from b.
func startTestNetPulling(t *testing.T, clk clock.Clock, opts Options, pulls map[[2]string]bool, ids ...string) map[string]*testNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	nodes := map[string]*testNode{}
	lns := map[string]net.Listener{}
	for _, id := range ids {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id] = ln
		nodes[id] = &testNode{id: id, url: "http://" + ln.Addr().String(), key: k, logs: &logRecorder{}}
	}
	var servers []*http.Server
	for _, id := range ids {
		nd := nodes[id]
		self := team.Team{ID: id, Name: id + " CSIRT", Timezone: "UTC", URL: nd.url, PublicKey: nd.key.Public()}
		var peers []team.Peer
		for _, o := range ids {
			if o != id {
				peers = append(peers, team.Peer{Team: team.Team{ID: o, Name: o + " CSIRT", Timezone: "UTC", URL: nodes[o].url,
					PublicKey: nodes[o].key.Public()}, Delivery: team.Push, PullFrom: pulls[[2]string{id, o}]})
			}
		}
		dir, err := team.NewDirectory(self, peers)
		if err != nil {
			t.Fatal(err)
		}
		nd.st, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), id+".db"))
		if err != nil {
			t.Fatal(err)
		}
		nd.f = New(dir, nd.key, nd.st, clk, slog.New(nd.logs), opts)
		nd.f.Handle(noteType, func(ctx context.Context, tx store.Tx, e *envelope.Envelope) error {
			_, err := tx.NextCounter(ctx, "notes/"+e.Origin+"/"+string(e.Payload))
			if err == nil && string(e.Payload) == "poison" {
				// Rejected after a write of its own, which the rejection must undo.
				return Rejectf("poison note")
			}
			return err
		})
		if err := nd.f.Init(ctx); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		nd.f.Register(mux)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nd.mu.Lock()
			hang := nd.hang
			nd.mu.Unlock()
			if hang != nil {
				<-hang
			}
			if nd.down.Load() || nd.downInbox.Load() && r.URL.Path == InboxPath {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			var rs envelope.Receipts
			json.Unmarshal(rec.Body.Bytes(), &rs)
			nd.mu.Lock()
			lose := nd.loseAnswers > 0 && r.URL.Path == InboxPath && rec.Code == http.StatusOK && len(rs.All()) > 0
			if lose {
				nd.loseAnswers--
				nd.lost = append(nd.lost, rs.All()...)
			}
			rewrite := nd.rewrite
			nd.mu.Unlock()
			if rewrite != nil && r.URL.Path == InboxPath && rec.Code == http.StatusOK {
				rewrite(&rs)
				b, _ := json.Marshal(rs)
				rec.Body.Reset()
				rec.Body.Write(b)
			}
			if lose {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})}
		servers = append(servers, srv)
		go srv.Serve(lns[id])
	}
	for _, id := range ids {
		nodes[id].f.Start(ctx)
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.setHang(false)
		}
		cancel()
		for _, srv := range servers {
			srv.Close()
		}
		for _, nd := range nodes {
			nd.f.Wait()
			nd.st.Close()
		}
	})
	return nodes
}

// setHang makes the node hold every request (a peer that accepts connections but
// never answers) or stop doing so.
func (nd *testNode) setHang(on bool) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	switch {
	case on && nd.hang == nil:
		nd.hang = make(chan struct{})
	case !on && nd.hang != nil:
		close(nd.hang)
		nd.hang = nil
	}
}

// queue commits a note for peer to the outbox, as Enqueue does, and returns its
// envelope.
func (nd *testNode) queue(t *testing.T, to, note string) *envelope.Envelope {
	t.Helper()
	return queueMany(t, nd, to, note)[0]
}

// queueMany commits notes for peer to the outbox in one transaction, as Enqueue does.
func queueMany(t *testing.T, nd *testNode, to string, notes ...string) []*envelope.Envelope {
	t.Helper()
	var envs []*envelope.Envelope
	err := nd.st.InTx(context.Background(), func(tx store.Tx) error {
		envs = nil
		for _, note := range notes {
			seq, err := tx.TakeSeq(context.Background(), to)
			if err != nil {
				return err
			}
			now := nd.f.clock.Now()
			env := &envelope.Envelope{Origin: nd.id, Destination: to, Seq: seq, Type: noteType, ObjectID: "note", Time: now,
				TLP: "CLEAR", Payload: []byte(note)}
			if err := tx.Enqueue(context.Background(), store.OutboxItem{Peer: to, Seq: seq, Type: noteType, ObjectID: "note",
				Envelope: env.Marshal(), CreatedAt: now}); err != nil {
				return err
			}
			envs = append(envs, env)
		}
		tx.OnCommit(func() { nd.f.kick(to) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

// applied is how many times a note from origin took effect here.
func (nd *testNode) applied(t *testing.T, origin, note string) int64 {
	t.Helper()
	var n int64
	// NextCounter is the only counter access the store offers; read it inside a
	// transaction that is rolled back.
	errRollback := errors.New("rollback")
	err := nd.st.InTx(context.Background(), func(tx store.Tx) error {
		v, err := tx.NextCounter(context.Background(), "notes/"+origin+"/"+note)
		n = v - 1
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	return n
}

// delivered reports whether peer's receipt for seq is stored here.
func (nd *testNode) delivered(peer string, seq uint64) error {
	sent, err := nd.st.Sent(context.Background(), peer)
	if err != nil {
		return err
	}
	for _, it := range sent {
		if it.Seq == seq {
			if it.DeliveredAt == nil {
				return fmt.Errorf("%s→%s seq %d not delivered", nd.id, peer, seq)
			}
			return nil
		}
	}
	return fmt.Errorf("%s→%s seq %d not queued", nd.id, peer, seq)
}

// link returns what an operator sees of the link with peer.
func (nd *testNode) link(t *testing.T, peer string) LinkState {
	t.Helper()
	links, err := nd.f.Links(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Peer == peer {
			return l
		}
	}
	t.Fatalf("%s has no link with %s", nd.id, peer)
	return LinkState{}
}

// eventually polls cond every 5 ms until it holds, or fails the test after 10 s. The
// deadline only ends a broken test; no test depends on how fast a condition comes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count is how many records have the message msg.
func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Message == msg {
			n++
		}
	}
	return n
}

// last returns the newest record with the message msg.
func (l *logRecorder) last(msg string) (slog.Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].Message == msg {
			return l.records[i], true
		}
	}
	return slog.Record{}, false
}
