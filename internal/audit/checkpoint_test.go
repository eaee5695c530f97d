package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

type keyPair struct {
	key identity.Key
	pub ed25519.PublicKey
}

func newKey(t *testing.T) keyPair {
	t.Helper()
	k, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := identity.ParsePublic(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{k, pub}
}

func appendRecord(t *testing.T, db *sqlstore.DB, action string) {
	t.Helper()
	if err := audit.Append(t.Context(), db, when, "alice", action, "object", ""); err != nil {
		t.Fatal(err)
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	cps, err := audit.ReadCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(cps)
}

// TestCheckpointsShowDroppedNewestRecords: dropping the newest records leaves a valid
// chain, so Verify alone passes; the signed checkpoint shows what is missing.
func TestCheckpointsShowDroppedNewestRecords(t *testing.T) {
	db, path := openLog(t, "alice")
	appendRecord(t, db, "page.send")
	appendRecord(t, db, "page.ack")
	k := newKey(t)
	cps := filepath.Join(t.TempDir(), audit.CheckpointFile)
	clk := clock.NewFake(when)
	if err := audit.NewCheckpointer(db, k.key, "jp", cps, clk, slog.New(slog.DiscardHandler)).UpdateAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyAll(t.Context(), db, cps, "jp", k.pub)
	if err != nil || rep.Records != 5 || rep.Checkpoints != 1 || rep.Newest.Seq != 5 {
		t.Fatalf("VerifyAll = %+v, %v; want 5 records and a checkpoint at 5", rep, err)
	}
	if fi, err := os.Stat(cps); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint file: %v, %v; want mode 0600", fi, err)
	}

	tamper(t, path, `DELETE FROM audit WHERE seq = 5`)
	tamper(t, path, `DELETE FROM audit WHERE seq = 4`)
	if n, err := audit.Verify(t.Context(), db); n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v: the chain of what is left is valid, so the hash chain alone cannot tell", n, err)
	}
	_, err = audit.VerifyAll(t.Context(), db, cps, "jp", k.pub)
	if err == nil || !strings.Contains(err.Error(), "records 4 to 5 were dropped") {
		t.Fatalf("VerifyAll after dropping the newest records = %v", err)
	}
}

// TestCheckpointsShowARewrittenTail: records dropped and replaced by others, chained
// anew, reach the checkpoint's seq with another hash.
func TestCheckpointsShowARewrittenTail(t *testing.T) {
	db, path := openLog(t, "alice")
	k := newKey(t)
	cps := filepath.Join(t.TempDir(), audit.CheckpointFile)
	if err := audit.NewCheckpointer(db, k.key, "jp", cps, clock.NewFake(when), slog.New(slog.DiscardHandler)).UpdateAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	tamper(t, path, `DELETE FROM audit WHERE seq = 3`)
	appendRecord(t, db, "nothing.happened")
	if n, err := audit.Verify(t.Context(), db); n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v: the rewritten chain is valid by itself", n, err)
	}
	_, err := audit.VerifyAll(t.Context(), db, cps, "jp", k.pub)
	if err == nil || !strings.Contains(err.Error(), "record 3 is not the one") {
		t.Fatalf("VerifyAll after rewriting record 3 = %v", err)
	}
}

// TestCheckpointsMustBeSigned: a checkpoint made with another key, or edited, or of
// another team, is refused; so is a line that is not a checkpoint.
func TestCheckpointsMustBeSigned(t *testing.T) {
	db, _ := openLog(t, "alice")
	k := newKey(t)
	for name, c := range map[string]struct {
		edit func(cps string)
		want string
	}{
		"another key": {func(cps string) {
			write(t, cps, newKey(t).key, "jp", 3, lastHash(t, db))
		}, "checkpoint 1 (2026-03-01T00:00:00Z) is not signed by this node's key"},
		"edited": {func(cps string) {
			write(t, cps, k.key, "jp", 3, lastHash(t, db))
			b, _ := os.ReadFile(cps)
			os.WriteFile(cps, []byte(strings.Replace(string(b), `"seq":3`, `"seq":2`, 1)), 0o600)
		}, "not signed by this node's key"},
		"another team": {func(cps string) {
			write(t, cps, k.key, "kr", 3, lastHash(t, db))
		}, "is team kr's, not jp's"},
		"not a checkpoint": {func(cps string) {
			os.WriteFile(cps, []byte("{\"team\":\"jp\",\"seq\":1}\n"), 0o600)
		}, "line 1: hash: 64 lowercase hex digits"},
	} {
		t.Run(name, func(t *testing.T) {
			cps := filepath.Join(t.TempDir(), audit.CheckpointFile)
			c.edit(cps)
			_, err := audit.VerifyAll(t.Context(), db, cps, "jp", k.pub)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("VerifyAll = %v, want %q", err, c.want)
			}
		})
	}
}

func lastHash(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	r, err := db.LastAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r.Hash
}

// write appends a checkpoint made as the Checkpointer makes one, with the key, team,
// seq and hash given.
func write(t *testing.T, path string, key identity.Key, team string, seq int64, hash string) {
	t.Helper()
	st := fixedHead{store.AuditRecord{Seq: seq, Hash: hash}}
	if err := audit.NewCheckpointer(st, key, team, path, clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler)).UpdateAll(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// fixedHead is an audit log of which only the head is known.
type fixedHead struct{ head store.AuditRecord }

func (f fixedHead) LastAudit(context.Context) (store.AuditRecord, error) { return f.head, nil }
func (fixedHead) PutAudit(context.Context, store.AuditRecord) error      { return nil }
func (fixedHead) ListAudit(context.Context, int64, int) ([]store.AuditRecord, error) {
	return nil, nil
}

// TestCheckpointerWritesWhenTheLogGrew: at most one checkpoint per CheckpointEvery, and
// none while the head stays where the last one saw it, also across a restart.
func TestCheckpointerWritesWhenTheLogGrew(t *testing.T) {
	db, _ := openLog(t, "alice")
	k := newKey(t)
	cps := filepath.Join(t.TempDir(), audit.CheckpointFile)
	clk := clock.NewFake(when)
	log := slog.New(slog.DiscardHandler)
	ck := audit.NewCheckpointer(db, k.key, "jp", cps, clk, log)
	step := func(d time.Duration, want int) {
		t.Helper()
		clk.Advance(d)
		if err := ck.UpdateAll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := lines(t, cps); got != want {
			t.Fatalf("%d checkpoints, want %d", got, want)
		}
	}
	step(0, 1)
	appendRecord(t, db, "x")
	step(audit.CheckpointEvery-time.Second, 1)
	step(time.Second, 2)
	step(audit.CheckpointEvery, 2) // nothing new
	ck = audit.NewCheckpointer(db, k.key, "jp", cps, clk, log)
	step(0, 2) // restarted: it reads the last checkpoint and sees nothing new
	appendRecord(t, db, "y")
	step(audit.CheckpointEvery, 3)
	if rep, err := audit.VerifyAll(t.Context(), db, cps, "jp", k.pub); err != nil || rep.Checkpoints != 3 || rep.Newest.Seq != 5 {
		t.Fatalf("VerifyAll = %+v, %v", rep, err)
	}
}

// FuzzParseCheckpoint: the file is read back from disk, where anyone with access may
// have edited it; parsing never panics, and what it accepts survives a round trip.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(`{"team":"jp","seq":3,"hash":"` + strings.Repeat("ab", 32) + `","at":"2026-03-01T00:00:00Z","sig":"` + strings.Repeat("A", 86) + `=="}`))
	f.Add([]byte(`{"team":"jp","seq":-1}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := audit.ParseCheckpoint(line)
		if err != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := audit.ParseCheckpoint(b)
		if err != nil || again.Seq != c.Seq || again.Hash != c.Hash || again.Team != c.Team || !again.At.Equal(c.At) {
			t.Fatalf("%s → %s → %+v, %v", line, b, again, err)
		}
	})
}
