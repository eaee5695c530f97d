// Command taxii measures the TAXII 2.1 server over HTTP on loopback: a node's SQLite
// database holding -n objects in the shared-indicators collection (mapped indicators,
// four in five of them GREEN, the rest AMBER+STRICT, which the GREEN consumer never
// sees) is generated once into -db; then
//
//   - page: -pages requests for a 1,000-object page (limit=1000) at random cursors,
//     as a GREEN consumer with a bearer token; p50, p99 and max latency, client side;
//
//   - stream: the whole collection read through paging by the TAXII client (limit
//     1000, following next), in objects per second.
//
//     go run ./bench/taxii -db /var/tmp/taxii1m.db -n 1000000
//     go run ./bench/taxii -postgres 'postgres://postgres@127.0.0.1:5432/taxiibench?sslmode=disable' -n 1000000
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"csirtlink/bench/machine"
	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/stix"
	"csirtlink/internal/taxii"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

func main() {
	path := flag.String("db", "", "the SQLite `file` (generated when missing)")
	pg := flag.String("postgres", "", "a PostgreSQL `dsn` to run on instead of -db: a database of its own for the bench (filled when its collection is empty)")
	n := flag.Int("n", 100000, "objects in the collection")
	pages := flag.Int("pages", 200, "random pages to time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured part (both sides: the server runs in this process) to `file`")
	flag.Parse()
	if (*path == "") == (*pg == "") {
		fmt.Fprintln(os.Stderr, "one of -db and -postgres is required")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Started before generation is checked: -cpuprofile is meant for runs over a
		// database generated already.
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	err := run(context.Background(), *path, *pg, *n, *pages)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path, pg string, n, pages int) error {
	fmt.Println(machine.Describe())
	var db *sqlstore.DB
	var err error
	if pg != "" {
		if db, err = openPostgres(ctx, pg, n); err != nil {
			return err
		}
	} else {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := generate(ctx, path, n); err != nil {
				return err
			}
		}
		if db, err = sqlstore.OpenSQLite(ctx, path); err != nil {
			return err
		}
	}
	defer db.Close()
	k, _ := identity.Generate()
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: k.Public()}, nil)
	if err != nil {
		return err
	}
	srv, err := taxii.NewServer(ctx, db, dir, clock.Real{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	cred, err := taxii.NewConsumers(db, dir, clock.Real{}).Create(ctx, taxii.ConsumerInput{Name: name, Ceiling: "GREEN"})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cols, err := db.TAXIICollections(ctx)
	if err != nil {
		return err
	}
	var last int64
	for _, c := range cols {
		if c.ID == taxii.IndicatorsCollection {
			last = c.LastSeq
		}
	}
	fmt.Printf("collection: %d objects\n", last)
	hc := &http.Client{}
	r := rand.New(rand.NewPCG(3, 4))
	var lat []time.Duration
	var got int
	for range pages {
		seq := r.Int64N(max(last-1250, 1))
		u := ts.URL + "/taxii2/api/collections/" + taxii.IndicatorsCollection + "/objects/?limit=1000&next=" +
			taxii.Cursor{Collection: taxii.IndicatorsCollection, Seq: seq}.Encode()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Authorization", "Bearer "+cred.Token)
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("page: %d %v", resp.StatusCode, err)
		}
		lat = append(lat, time.Since(t0))
		got += strings.Count(string(b), `"type":"indicator"`)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("page (limit=1000, random cursor, %d requests, %.0f objects a page on average): p50 %v p99 %v max %v\n",
		len(lat), float64(got)/float64(len(lat)), q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))

	// The server's side alone: follow next, reading only more and next of each page.
	t0, c0 := time.Now(), cpuTime()
	streamed, next := 0, ""
	for {
		u := ts.URL + "/taxii2/api/collections/" + taxii.IndicatorsCollection + "/objects/?limit=1000"
		if next != "" {
			u += "&next=" + next
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Authorization", "Bearer "+cred.Token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		streamed += bytes.Count(b, []byte(`"type":"indicator"`))
		more, nx, err := moreNext(b)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		next = nx
	}
	el, cpu := time.Since(t0), cpuTime()-c0
	fmt.Printf("stream, server side (following next, objects not decoded): %d objects in %v: %.0f objects/s; %v CPU (both sides): %.0f objects per CPU-second\n", streamed, el.Round(time.Millisecond),
		float64(streamed)/el.Seconds(), cpu.Round(time.Millisecond), float64(streamed)/cpu.Seconds())

	c := &taxii.Client{HTTP: hc, Secret: cred.Token, PageSize: 1000}
	t0, c0 = time.Now(), cpuTime()
	res, err := c.Pull(ctx, ts.URL+"/taxii2/api/", taxii.IndicatorsCollection, "", func(taxii.Page) error { return nil })
	if err != nil {
		return err
	}
	el, cpu = time.Since(t0), cpuTime()-c0
	fmt.Printf("stream through taxii.Client (each object decoded, repeats tracked): %d objects (GREEN of %d) in %d pages in %v: %.0f objects/s; %v CPU: %.0f objects per CPU-second\n", res.Objects, last, res.Pages, el.Round(time.Millisecond),
		float64(res.Objects)/el.Seconds(), cpu.Round(time.Millisecond), float64(res.Objects)/cpu.Seconds())
	return nil
}

// cpuTime is the CPU time this process (server and client alike) has used: on a
// shared machine the rate in wall time measures the other sessions too, the CPU
// seconds an object costs much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// moreNext reads more and next of an envelope token by token, stopping at the objects:
// the harness shares the machine with the server it measures, and decoding every page
// whole would count against the server.
func moreNext(b []byte) (more bool, next string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return false, "", err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false, "", err
		}
		switch k {
		case "more":
			err = dec.Decode(&more)
		case "next":
			err = dec.Decode(&next)
		default:
			return more, next, nil
		}
		if err != nil {
			return false, "", err
		}
	}
	return more, next, nil
}

// openPostgres opens the node's store on PostgreSQL, filling the collection with n
// objects (as generate does) when it is empty.
func openPostgres(ctx context.Context, dsn string, n int) (*sqlstore.DB, error) {
	db, err := sqlstore.OpenPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	k, _ := identity.Generate()
	dir, _ := team.NewDirectory(team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: k.Public()}, nil)
	if _, err := taxii.NewServer(ctx, db, dir, clock.Real{}, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	cols, err := db.TAXIICollections(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		if c.ID == taxii.IndicatorsCollection && c.LastSeq > 0 {
			return db, nil
		}
	}
	fmt.Printf("generating %d objects into PostgreSQL …\n", n)
	t0 := time.Now()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	const batch = 500
	start := time.Now().Add(-time.Duration(n) * time.Microsecond).UTC()
	for i := 1; i <= n; i += batch {
		var q strings.Builder
		q.WriteString(`INSERT INTO taxii_objects (collection, seq, stix_id, version, spec_version, type, tlp, date_added, latest, source, raw) VALUES `)
		var args []any
		for j := i; j < i+batch && j <= n; j++ {
			if j > i {
				q.WriteByte(',')
			}
			a := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,'2.1','indicator',$%d,$%d,1,'local',$%d)", a+1, a+2, a+3, a+4, a+5, a+6, a+7)
			id, m, label, obj := object(start, j)
			args = append(args, taxii.IndicatorsCollection, j, id, m.UnixMicro(), string(label), m.UnixMicro(), obj)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE taxii_collections SET last_seq = $1, last_added = $2 WHERE id = $3`, n, start.Add(time.Duration(n)*time.Microsecond).UnixMicro(), taxii.IndicatorsCollection); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := raw.ExecContext(ctx, `ANALYZE taxii_objects`); err != nil {
		return nil, err
	}
	fmt.Printf("generated in %v\n", time.Since(t0).Round(time.Millisecond))
	return db, nil
}

// object is the i-th generated indicator: its id, modified time, label and JSON.
func object(start time.Time, i int) (string, time.Time, tlp.Label, string) {
	label := tlp.Green
	if i%5 == 0 {
		label = tlp.AmberStrict
	}
	m := start.Add(time.Duration(i) * time.Microsecond)
	id := fmt.Sprintf("indicator--%08x-%04x-4000-8000-%012x", i, i%65536, i)
	ts := m.Format(stix.TimestampLayout)
	obj := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created_by_ref":"identity--5b7b4c1e-2f0e-5d6a-8b3c-9a1d2e3f4a5b","created":%q,"modified":%q,"name":"198.51.%d.%d","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.%d.%d']","pattern_type":"stix","valid_from":%q,"external_references":[{"source_name":"csirtlink","external_id":"%d"}],"object_marking_refs":[%q]}`,
		id, ts, ts, i/256%256, i%256, i/256%256, i%256, ts, i, stix.MarkingID(label))
	return id, m, label, obj
}

// generate writes n mapped indicators straight into the table, as a bulk load would
// (sequence numbers and date_added increasing, as AddTAXIIObjects hands them out).
func generate(ctx context.Context, path string, n int) error {
	fmt.Printf("generating %d objects into %s …\n", n, path)
	t0 := time.Now()
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	k, _ := identity.Generate()
	dir, _ := team.NewDirectory(team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: k.Public()}, nil)
	if _, err := taxii.NewServer(ctx, db, dir, clock.Real{}, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{`PRAGMA journal_mode=OFF`, `PRAGMA synchronous=OFF`, `PRAGMA cache_size=-1000000`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO taxii_objects (collection, seq, stix_id, version, spec_version, type, tlp, date_added, latest, source, raw)
		VALUES (?, ?, ?, ?, '2.1', 'indicator', ?, ?, 1, 'local', ?)`)
	if err != nil {
		return err
	}
	start := time.Now().Add(-time.Duration(n) * time.Microsecond).UTC()
	for i := 1; i <= n; i++ {
		id, m, label, obj := object(start, i)
		if _, err := stmt.ExecContext(ctx, taxii.IndicatorsCollection, i, id, m.UnixMicro(), string(label), m.UnixMicro(), obj); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE taxii_collections SET last_seq = ?, last_added = ? WHERE id = ?`, n, start.Add(time.Duration(n)*time.Microsecond).UnixMicro(), taxii.IndicatorsCollection); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	fmt.Printf("generated in %v\n", time.Since(t0).Round(time.Millisecond))
	return nil
}
