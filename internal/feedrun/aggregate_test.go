package feedrun_test

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/store"
)

// repeatsReport: 12 sightings of each of three hosts (two of the isp's, one unrouted)
// five minutes apart, 00:00 to 00:55, so a 1-hour window folds each host's sightings
// into one event; and one sighting on another port. It returns the report and its rows.
func repeatsReport() (string, int) {
	var b strings.Builder
	b.WriteString(`"timestamp","ip","protocol","port","asn","geo"` + "\n")
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for i := range 12 {
		for _, ip := range []string{"198.51.100.7", "198.51.100.8", "8.8.4.4"} {
			fmt.Fprintf(&b, `"%s","%s","tcp",23,64500,JP`+"\n", t0.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), ip)
			n++
		}
	}
	// The same host on another port is another finding.
	fmt.Fprintf(&b, `"%s","198.51.100.7","tcp",2323,64500,JP`+"\n", t0.Format("2006-01-02 15:04:05"))
	return b.String(), n + 1
}

// checkAggregated checks a done run of repeatsReport aggregated in a 1-hour window: each
// host's 12 sightings are one event of count 12 from 00:00 to 00:55, the other port's
// alone, and the counts add up to the rows read.
func checkAggregated(t *testing.T, svc *feedrun.Service, run store.FeedRun, rows int) {
	t.Helper()
	if run.State != store.RunDone || run.Events != 4 || run.Merged != int64(rows-4) || run.Aggregate != "1h0m0s" {
		t.Fatalf("run: %s, %d events, %d merged, window %q; want done, 4, %d, 1h0m0s", run.State, run.Events, run.Merged, run.Aggregate, rows-4)
	}
	if run.Owners["isp"] != 3 || run.Unrouted != 1 {
		t.Fatalf("owners %v, unrouted %d", run.Owners, run.Unrouted)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var total int64
	read := func(kind, target string) {
		err := svc.Events(t.Context(), run.ID, kind, target, func(r feedrun.Record) error {
			total += r.Repeats()
			switch {
			case r.Port == 2323:
				if r.Count != 0 || r.LastSeen != nil {
					t.Errorf("the lone event is aggregated: %+v", r)
				}
			case r.Count != 12 || !r.Time.Equal(t0) || r.LastSeen == nil || !r.LastSeen.Equal(t0.Add(55*time.Minute)):
				t.Errorf("%s: count %d, %v .. %v; want 12 from 00:00 to 00:55", r.IP, r.Count, r.Time, r.LastSeen)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read(store.ChunkOwner, "isp")
	read(store.ChunkUnrouted, "")
	if total != int64(rows) {
		t.Fatalf("the stored events stand for %d sightings, want %d", total, rows)
	}
}

func TestAggregatedRunInProcess(t *testing.T) {
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	if err := db.CreateOwner(t.Context(), store.NetOwner{ID: "isp", Name: "isp", Networks: []string{"198.51.100.0/24"},
		Contacts: []store.OwnerContact{{Email: "abuse@isp.example", Language: "en", Format: "csv", Schedule: "immediate"}}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	svc := feedrun.New(db, formats.Registry(), nil, clock.Real{}, discard())
	body, rows := repeatsReport()
	run, err := svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Aggregate: "1h"}, strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAggregated(t, svc, run, rows)

	// The node's default applies when the request does not say, and "off" turns it off.
	svc.Aggregate = time.Hour
	run, err = svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet"}, strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAggregated(t, svc, run, rows)
	run, err = svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Aggregate: "off"}, strings.NewReader(body), nil)
	if err != nil || run.Events != int64(rows) || run.Merged != 0 || run.Aggregate != "" {
		t.Fatalf("off: %d events, %d merged, %q, %v", run.Events, run.Merged, run.Aggregate, err)
	}
	for _, bad := range []string{"soon", "-1h", "200h"} {
		_, err := svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Aggregate: bad}, strings.NewReader(body), nil)
		if err == nil || !strings.Contains(err.Error(), "aggregate") {
			t.Errorf("aggregate %q: %v, want an error naming aggregate", bad, err)
		}
	}
}

// On the JetStream path the ingesting process aggregates before it queues: the workers
// store the counts, and the run's merged count survives the workers' last commit.
func TestAggregatedRunQueued(t *testing.T) {
	f := newFixture(t)
	f.worker(t, "w1")
	svc := feedrun.New(f.db, formats.Registry(), nil, clock.Real{}, f.log)
	svc.SetQueue(f.queue(t, "ingest"))
	body, rows := repeatsReport()
	run, err := svc.Ingest(t.Context(), "alice", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Aggregate: "1h"}, strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAggregated(t, svc, waitDone(t, svc, run.ID), rows)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
