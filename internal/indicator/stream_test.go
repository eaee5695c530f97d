package indicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"csirtlink/internal/bulk"
	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// countingStore counts the indicator rows each committed transaction wrote, and can
// make one transaction fail after its function ran, as a crash before the commit would.
type countingStore struct {
	store.Store
	txs []int // rows written by each committed transaction that wrote any
	// crash, when set, is asked after each transaction's function: true fails it.
	crash func(puts int) bool
}

var errCrash = errors.New("crash before commit")

func (c *countingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	puts := 0
	err := c.Store.InTx(ctx, func(tx store.Tx) error {
		puts = 0
		if err := fn(countingTx{Tx: tx, puts: &puts}); err != nil {
			return err
		}
		if c.crash != nil && c.crash(puts) {
			return errCrash
		}
		return nil
	})
	if err == nil && puts > 0 {
		c.txs = append(c.txs, puts)
	}
	return err
}

type countingTx struct {
	store.Tx
	puts *int
}

func (t countingTx) PutIndicator(ctx context.Context, in store.Indicator) error {
	*t.puts++
	return t.Tx.PutIndicator(ctx, in)
}

// stores runs f on a fresh SQLite and a fresh PostgreSQL database.
func stores(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := sqlstore.OpenPostgres(t.Context(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f(t, db)
	})
}

// testNode is team cn's indicator service on st, with peers jp and kr; nothing runs:
// what it queues stays in the outbox.
func testNode(t *testing.T, st store.Store) *Service {
	t.Helper()
	key, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	self := team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: key.Public(), URL: "http://127.0.0.1:1"}
	var peers []team.Peer
	for i, p := range []string{"jp", "kr"} {
		pk, _ := identity.Generate()
		peers = append(peers, team.Peer{Team: team.Team{ID: p, Name: p, Timezone: "UTC", PublicKey: pk.Public(),
			URL: fmt.Sprintf("http://127.0.0.1:%d", 2+i)}})
	}
	dir, err := team.NewDirectory(self, peers)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fed := federation.New(dir, key, st, clock.Real{}, log, federation.Options{})
	if err := fed.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return New(st, fed, clock.Real{}, log)
}

// importFile is n lines of CSV: AMBER addresses for jp alone, and every tenth line
// repeating the address of the line 600 before it with another confidence (a new
// version of an object an earlier transaction wrote).
func importFile(n int) string {
	var b strings.Builder
	b.WriteString("value,type,category,tlp,share_with,confidence\n")
	for i := range n {
		v := i
		if i%10 == 9 && i >= 600 {
			v = i - 600
		}
		fmt.Fprintf(&b, "10.%d.%d.%d,ipv4,malicious-code/c2-server,AMBER,jp,%d\n", v>>16&255, v>>8&255, v&255, 50+i%7)
	}
	return b.String()
}

// repeats is how many lines of importFile(n) repeat an earlier value.
func repeats(n int) int {
	r := 0
	for i := 600; i < n; i++ {
		if i%10 == 9 {
			r++
		}
	}
	return r
}

// onlyReader hides a reader's Seek, as a request body does: the import spools it.
type onlyReader struct{ io.Reader }

// chunked decodes the bulk chunks queued for peer and returns the indicator versions in
// them ("id/version"), with how often each is there.
func chunked(t *testing.T, st store.Store, peer string) map[string]int {
	t.Helper()
	items, err := st.Pending(t.Context(), peer, 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, it := range items {
		if it.Type != wire.TypeBulkChunk {
			t.Fatalf("%s got a %s envelope, want only bulk chunks", peer, it.Type)
		}
		env, err := envelope.Unmarshal(it.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		c, err := wire.DecodeBulkChunk(env.Payload)
		if err != nil || c.Kind != wire.TypeIndicatorUpsert {
			t.Fatalf("chunk %+v: %v", c.Kind, err)
		}
		if err := bulk.Decode(c, func(_ int, obj []byte) error {
			w, err := wire.DecodeIndicator(obj)
			ids[fmt.Sprintf("%s/%d", w.ID, w.Version)]++
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func unsent(t *testing.T, st store.Store) int {
	t.Helper()
	us, err := st.Unsent(t.Context(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

// An import writes in transactions of at most ImportBatch rows — what it holds is a
// batch, whatever the file — and marks each version unsent; the Sender puts them in bulk
// chunks, only for the peer the rule allows, and takes the marks away.
func TestIndicatorImportStreamsInBoundedMemory(t *testing.T) {
	stores(t, func(t *testing.T, base store.Store) {
		ctx := t.Context()
		st := &countingStore{Store: base}
		s := testNode(t, st)
		const lines = 1_203
		res, err := s.Import(ctx, Actor{Name: "alice"}, onlyReader{strings.NewReader(importFile(lines))}, ImportOptions{})
		if err != nil || !res.Imported {
			t.Fatalf("%+v %v", res, err)
		}
		if r := repeats(lines); res.Lines != lines || res.Added != lines-r || res.Updated != r {
			t.Fatalf("result %+v, want %d added and %d updated", res, lines-r, r)
		}
		total := 0
		for i, n := range st.txs {
			if n > ImportBatch {
				t.Errorf("transaction %d wrote %d rows, more than %d", i, n, ImportBatch)
			}
			total += n
		}
		if want := (lines + ImportBatch - 1) / ImportBatch; len(st.txs) != want || total != lines {
			t.Fatalf("%d transactions wrote %d rows (%v), want %d writing %d", len(st.txs), total, st.txs, want, lines)
		}
		if n, want := unsent(t, base), lines-repeats(lines); n != want {
			t.Fatalf("%d unsent, want %d", n, want)
		}
		if err := s.Sender().UpdateAll(ctx); err != nil {
			t.Fatal(err)
		}
		if n := unsent(t, base); n != 0 {
			t.Fatalf("%d unsent after sending", n)
		}
		jp := chunked(t, base, "jp")
		if want := lines - repeats(lines); len(jp) != want {
			t.Fatalf("jp's chunks hold %d versions, want %d (the newest of each object)", len(jp), want)
		}
		for id, n := range jp {
			if n != 1 {
				t.Fatalf("%s is %d times in jp's chunks", id, n)
			}
		}
		if kr := chunked(t, base, "kr"); len(kr) != 0 {
			t.Fatalf("kr, not in the audience, got %d objects", len(kr))
		}
	})
}

// Every line is checked before any is written: an invalid last line, after more than
// two batches' worth of good ones, writes nothing and is named.
func TestIndicatorImportInvalidLastLineWritesNothing(t *testing.T) {
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &countingStore{Store: db}
	s := testNode(t, st)
	file := importFile(1_100) + "10.0.0.1,ipv4,malicious-code/c2-server,PURPLE,jp,50\n"
	res, err := s.Import(t.Context(), Actor{Name: "alice"}, strings.NewReader(file), ImportOptions{})
	if err != nil || res.Imported || res.Invalid != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 1_102 || res.Errors[0].Field != "tlp" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(st.txs) != 0 || unsent(t, db) != 0 {
		t.Fatalf("a refused import wrote: %v", st.txs)
	}
	if list, _ := db.ListIndicators(t.Context(), store.IndicatorFilter{}); len(list) != 0 {
		t.Fatalf("a refused import wrote %d indicators", len(list))
	}
}

// A crash in the middle of an import leaves the batches it committed, each with its
// unsent marks; a crash in the middle of sending leaves the marks and queues nothing.
// Sending again and importing the file again then leaves every object once in the store
// and once in the peer's chunks.
func TestIndicatorImportCrashResume(t *testing.T) {
	stores(t, func(t *testing.T, base store.Store) {
		ctx := t.Context()
		st := &countingStore{Store: base}
		s := testNode(t, st)
		const lines = 1_203
		file := importFile(lines)
		writes := 0
		st.crash = func(puts int) bool {
			if puts > 0 {
				writes++
			}
			return writes == 2 && puts > 0
		}
		if _, err := s.Import(ctx, Actor{Name: "alice"}, strings.NewReader(file), ImportOptions{}); !errors.Is(err, errCrash) {
			t.Fatalf("import: %v, want the crash", err)
		}
		if n := unsent(t, base); n != ImportBatch || len(st.txs) != 1 {
			t.Fatalf("after the crash: %d unsent, transactions %v; want the first batch", n, st.txs)
		}
		st.crash = func(int) bool { return true }
		if err := s.Sender().UpdateAll(ctx); !errors.Is(err, errCrash) {
			t.Fatalf("send: %v, want the crash", err)
		}
		if n, jp := unsent(t, base), chunked(t, base, "jp"); n != ImportBatch || len(jp) != 0 {
			t.Fatalf("a crashed send left %d unsent and queued %d objects", n, len(jp))
		}
		st.crash = nil
		if err := s.Sender().UpdateAll(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := s.Import(ctx, Actor{Name: "alice"}, strings.NewReader(file), ImportOptions{})
		if err != nil || !res.Imported || res.Unchanged != ImportBatch {
			t.Fatalf("import again: %+v %v", res, err)
		}
		if err := s.Sender().UpdateAll(ctx); err != nil {
			t.Fatal(err)
		}
		all, err := base.ListIndicators(ctx, store.IndicatorFilter{Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]bool{}
		for _, ind := range all {
			if values[ind.Value] {
				t.Fatalf("%s stored twice", ind.Value)
			}
			values[ind.Value] = true
		}
		// Each version at most once, the newest of every object surely: an object the
		// first batch wrote and the second run changed went as version 1 (sent after the
		// crash) and as version 2; one written twice before a send only as its newest.
		jp := chunked(t, base, "jp")
		for v, n := range jp {
			if n != 1 {
				t.Fatalf("%s is %d times in jp's chunks", v, n)
			}
		}
		for _, ind := range all {
			if jp[fmt.Sprintf("%s/%d", ind.ID, ind.Version)] != 1 {
				t.Fatalf("%s (%s) version %d is not in jp's chunks", ind.ID, ind.Value, ind.Version)
			}
		}
		if len(values) != lines-repeats(lines) || unsent(t, base) != 0 {
			t.Fatalf("%d objects stored, %d unsent", len(values), unsent(t, base))
		}
	})
}
