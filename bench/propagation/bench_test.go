package main

// Micro-benchmarks of the pieces an entry's propagation is made of:
//
//	go test -run '^$' -bench . -benchtime 2s ./bench/propagation

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	_ "csirtlink/internal/sqlstore" // registers the modernc "sqlite" driver
)

// entryBytes is about what an entry's canonical signed encoding is.
var entryBytes = envelope.Canonical("csirtlink/entry/v1", []byte(strings.Repeat("e", 32)), []byte("cn-2026-0001"), []byte("cn"),
	[]byte("bench"), []byte("comment"), []byte(body(1, 200)), []byte("AMBER"), []byte("cn,jp,kr"), nil, []byte(time.Now().UTC().Format(time.RFC3339Nano)))

func BenchmarkSign(b *testing.B) {
	k, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		k.Sign(entryBytes)
	}
}

func BenchmarkVerify(b *testing.B) {
	k, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	pub, err := identity.ParsePublic(k.Public())
	if err != nil {
		b.Fatal(err)
	}
	sig := k.Sign(entryBytes)
	for b.Loop() {
		if !identity.Verify(pub, entryBytes, sig) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkEnvelope signs, encodes, decodes and verifies one envelope carrying an entry,
// as a sender and a receiver together do.
func BenchmarkEnvelope(b *testing.B) {
	k, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := identity.ParsePublic(k.Public())
	payload := []byte(fmt.Sprintf(`{"id":"%s","incident_id":"cn-2026-0001","position":7,"team":"cn","author":"bench","kind":"comment","body":%q,"tlp":"AMBER","recipients":["cn","jp","kr"],"created_at":"2026-11-22T10:00:00.123456Z","signature":"%s"}`,
		strings.Repeat("e", 32), body(1, 200), strings.Repeat("A", 86)))
	for b.Loop() {
		e := &envelope.Envelope{Origin: "cn", Destination: "jp", Seq: 7, Type: "entry.append", ObjectID: "cn-2026-0001",
			Time: time.Now(), TLP: "AMBER", Payload: payload}
		e.Sign(k)
		got, err := envelope.Unmarshal(e.Marshal())
		if err != nil {
			b.Fatal(err)
		}
		if err := got.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealedBatch is the whole envelope protocol for a batch of 200 entries, as a
// sender and a receiver together run it: the batch sealed, encoded, decoded and its seal
// verified (with each envelope's share), one range receipt signed, encoded, decoded,
// checked against every envelope and expanded into one receipt per envelope. ns/op is
// per batch; envelope-ns is per envelope.
func BenchmarkSealedBatch(b *testing.B) {
	k, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := identity.ParsePublic(k.Public())
	payload := []byte(fmt.Sprintf(`{"id":"%s","incident_id":"cn-2026-0001","position":7,"team":"cn","author":"bench","kind":"comment","body":%q,"tlp":"AMBER","recipients":["cn","jp","kr"],"created_at":"2026-11-22T10:00:00.123456Z","signature":"%s"}`,
		strings.Repeat("e", 32), body(1, 200), strings.Repeat("A", 86)))
	const n = 200
	envs := make([]*envelope.Envelope, n)
	byseq := map[uint64]*envelope.Envelope{}
	for i := range envs {
		envs[i] = &envelope.Envelope{Origin: "cn", Destination: "jp", Seq: uint64(i + 1), Type: "entry.append", ObjectID: "cn-2026-0001",
			Time: time.Now(), TLP: "AMBER", Payload: payload}
		byseq[envs[i].Seq] = envs[i]
	}
	for b.Loop() {
		body, _ := json.Marshal(envelope.Batch{Envelopes: envs, Seal: envelope.SealBatch(k, "cn", "jp", time.Now(), envs)})
		bt, err := envelope.DecodeBatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bt.Seal.Verify(pub, bt.Envelopes); err != nil {
			b.Fatal(err)
		}
		items := make([]envelope.RangeItem, n)
		for i, e := range bt.Envelopes {
			d := e.Digest()
			items[i] = envelope.RangeItem{Digest: d[:], Status: envelope.Applied}
		}
		answer, _ := json.Marshal(envelope.Receipts{Ranges: []*envelope.RangeReceipt{envelope.NewRangeReceipt(k, "cn", "jp", 1, items, time.Now())}})
		rs, err := envelope.DecodeReceipts(answer)
		if err != nil {
			b.Fatal(err)
		}
		if err := rs.Ranges[0].Verify(pub, byseq); err != nil {
			b.Fatal(err)
		}
		if len(rs.Ranges[0].Expand()) != n {
			b.Fatal("expand")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "envelope-ns")
}

// BenchmarkFsync is the cost of making 4 KiB durable on this machine's disk.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var off int64
	for b.Loop() {
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		off += int64(len(buf))
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

func openSQLite(b *testing.B, sync string) *sql.DB {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous("+sync+")")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "db.sqlite")+"?"+v.Encode())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE entries (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, position BIGINT, body TEXT NOT NULL, created_at BIGINT NOT NULL, signature BLOB NOT NULL)`,
		`CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
		`INSERT INTO counters VALUES ('pos', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkSQLiteCommit is one transaction that inserts an entry row and bumps a counter,
// committed with the node's pragmas, under synchronous FULL (the node's setting) and NORMAL.
func BenchmarkSQLiteCommit(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			db := openSQLite(b, sync)
			ctx := context.Background()
			sig := make([]byte, 64)
			i := 0
			for b.Loop() {
				i++
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`UPDATE counters SET value = value + 1 WHERE name = 'pos'`); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)`, fmt.Sprintf("%032d", i), "cn-2026-0001", i, body(i, 200), time.Now().UnixMicro(), sig); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSQLiteStatement is one INSERT inside an open transaction (no commit): "exec"
// parses and plans the SQL each time, as every sqlstore call does; "prepared" reuses a
// prepared statement.
func BenchmarkSQLiteStatement(b *testing.B) {
	const q = `INSERT INTO entries (id, incident_id, position, body, created_at, signature) VALUES (?, ?, ?, ?, ?, ?) ` +
		`ON CONFLICT (id) DO UPDATE SET position = excluded.position WHERE entries.position IS NULL`
	for _, mode := range []string{"exec", "prepared"} {
		b.Run(mode, func(b *testing.B) {
			db := openSQLite(b, "FULL")
			ctx := context.Background()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Rollback()
			var st *sql.Stmt
			if mode == "prepared" {
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			sig := make([]byte, 64)
			text := body(1, 200)
			i := 0
			for b.Loop() {
				i++
				args := []any{fmt.Sprintf("%032d", i), "cn-2026-0001", i, text, int64(i), sig}
				if st != nil {
					_, err = st.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, q, args...)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddEntry is one AddEntry at the coordinator, as the service does it: three
// signatures, about a dozen statements and one commit. jp and kr are stopped so that
// no delivery runs beside it (their envelopes just queue).
func BenchmarkAddEntry(b *testing.B) {
	ctx := context.Background()
	n, id, err := startNet(ctx, options{}, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	for _, t := range []string{"jp", "kr"} {
		if err := n.Stop(t); err != nil {
			b.Fatal(err)
		}
	}
	cn := n.Node("cn")
	i := 0
	for b.Loop() {
		i++
		if _, err := cn.App.Incidents.AddEntry(ctx, actor, id, newEntry(i, 200)); err != nil {
			b.Fatal(err)
		}
	}
}
