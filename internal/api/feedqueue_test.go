package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/natstest"
	"csirtlink/internal/routequeue"
)

// With a routing queue, POST /api/v1/feeds/ingest answers 202 Accepted once the batches
// are queued, with the run still running and its Location; a worker then routes it and
// the run reads done.
func TestQueuedIngestAnswers202(t *testing.T) {
	cn, _ := startOne(t)
	url, stream := natstest.URL(t), natstest.Stream()
	log := slog.New(slog.DiscardHandler)
	q, err := routequeue.Open(context.Background(), routequeue.Config{URL: url, Stream: stream}, "api", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.DeleteStream(context.Background()); q.Close() })
	cn.App.Feeds.SetQueue(q)

	body := `"timestamp","ip","protocol","port","asn","geo"` + "\n" + `"2024-05-01 00:00:01","198.51.100.1","tcp",23,64500,JP` + "\n"
	req, _ := http.NewRequest("POST", cn.URL+"/api/v1/feeds/ingest?format=shadowserver&report=scan_telnet", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cn.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, "/api/v1/feeds/runs/run-") {
		t.Fatalf("queued ingest: %d, Location %q; want 202 and the run", resp.StatusCode, loc)
	}
	if st, run := sendRaw(t, cn, cn.Token, "GET", loc, "", nil); st != 200 || run["state"] != "running" {
		t.Fatalf("before any worker: %d %v", st, run)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w, err := routequeue.Open(ctx, routequeue.Config{URL: url, Stream: stream}, "w1", log)
	if err != nil {
		t.Fatal(err)
	}
	r := cn.App.Feeds.BatchRouter("w1")
	go func() {
		defer close(done)
		w.Work(ctx, func(ctx context.Context, b routequeue.Batch, last bool) error {
			return r.Route(ctx, b.RunID, b.Seq, b.Events, last)
		})
	}()
	t.Cleanup(func() { cancel(); <-done; w.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, run := sendRaw(t, cn, cn.Token, "GET", loc, "", nil)
		if st == 200 && run["state"] == "done" && run["events"] == float64(1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not routed: %d %v", st, run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
