package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"csirtlink/internal/config"
	"csirtlink/internal/natstest"
	"csirtlink/internal/routequeue"
)

// owner import, owner add, owner list and feed ingest on a node's database: the run's
// summary names each recipient with its count, and a bad import file names its line.
func TestOwnerAndFeedCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "jp")
	var out, errOut bytes.Buffer
	run := func(args ...string) (string, error) {
		t.Helper()
		out.Reset()
		errOut.Reset()
		err := Run(ctx, args, &out, &errOut)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		s, err := run(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return s
	}
	must("init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo", "--listen", "127.0.0.1:0", "--hotline-email", "hotline@jp.example")
	cfg := filepath.Join(dir, "csirtlink.json")
	tmp := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	bad := write("bad.csv", "id,name,networks,email\nisp,ISP,198.51.100.0/24,abuse@isp.example\nuni,Uni,203.0.113.0/24,cert@uni.example,extra\n")
	if _, err := run("owner", "import", "--config", cfg, bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a bad import: %v", err)
	}
	good := write("owners.csv", "id,name,networks,email,language,schedule\nisp,ISP,198.51.100.0/24 2001:db8::/32,abuse@isp.example,ja,immediate\n")
	if got := must("owner", "import", "--config", cfg, good); !strings.Contains(got, "1 owners created, 0 updated") {
		t.Errorf("import: %q", got)
	}
	must("owner", "add", "--config", cfg, "--id", "hosting", "--name", "Hosting", "--network", "198.51.100.128/25", "--email", "abuse@hosting.example")
	if _, err := run("owner", "add", "--config", cfg, "--id", "x", "--name", "X", "--network", "10.0.0.1/8", "--email", "a@b.example"); err == nil || !strings.Contains(err.Error(), "networks[0]") {
		t.Errorf("owner add with a bad network: %v", err)
	}
	if got := must("owner", "list", "--config", cfg); !strings.Contains(got, "hosting") || !strings.Contains(got, "abuse@isp.example (immediate)") {
		t.Errorf("list: %q", got)
	}

	report := write("2024-05-01-scan_telnet-asn.csv", `"timestamp","ip","protocol","port","asn","geo"`+"\n"+
		`"2024-05-01 00:00:01","198.51.100.1","tcp",23,64500,JP`+"\n"+
		`"2024-05-01 00:00:01","198.51.100.129","tcp",23,64500,JP`+"\n"+
		`"2024-05-01 00:00:01","2001:db8::1","tcp",23,64500,JP`+"\n"+
		`"2024-05-01 00:00:01","192.0.2.9","tcp",23,64500,JP`+"\n"+
		`"2024-05-01 00:00:01","x","tcp",23,64500,JP`+"\n")
	got := must("feed", "ingest", "--config", cfg, "--format", "shadowserver", report)
	for _, want := range []string{"done, 4 events: 3 to owners, 0 to partners, 1 unrouted, 1 malformed", "isp        owner  2", "hosting    owner  1", "line 6: "} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(errOut.String(), "4 events") || !strings.Contains(errOut.String(), "unrouted 1") {
		t.Errorf("progress line: %q", errOut.String())
	}

	// --aggregate folds repeats: three sightings of one host within the hour are one event.
	repeats := write("2024-05-02-scan_telnet-asn.csv", `"timestamp","ip","protocol","port","asn","geo"`+"\n"+
		`"2024-05-02 00:00:01","198.51.100.1","tcp",23,64500,JP`+"\n"+
		`"2024-05-02 00:20:01","198.51.100.1","tcp",23,64500,JP`+"\n"+
		`"2024-05-02 00:40:01","198.51.100.1","tcp",23,64500,JP`+"\n")
	got = must("feed", "ingest", "--config", cfg, "--format", "shadowserver", "--aggregate", "1h", "--quiet", repeats)
	for _, want := range []string{"done, 1 events: 1 to owners", "repeats within 1h0m0s aggregated: 2 events folded into others (3 read)"} {
		if !strings.Contains(got, want) {
			t.Errorf("aggregated summary lacks %q:\n%s", want, got)
		}
	}
	if _, err := run("feed", "ingest", "--config", cfg, "--format", "shadowserver", "--aggregate", "soon", repeats); err == nil || !strings.Contains(err.Error(), "aggregate") {
		t.Errorf("a bad window: %v", err)
	}
	if got := must("owner", "reports", "--config", cfg, "isp"); !strings.Contains(got, "REPORT") {
		t.Errorf("owner reports: %q", got)
	}
	if _, err := run("owner", "resend", "--config", cfg, "isp", "rep-none"); err == nil || !strings.Contains(err.Error(), "rep-none") {
		t.Errorf("resending a report that does not exist: %v", err)
	}
}

// With queue.nats_url, feed ingest queues the batches and waits while a feed worker
// (another process in production; here the same command in a goroutine) routes them:
// the same summary as routing in process.
func TestFeedWorkerRoutesAQueuedRun(t *testing.T) {
	ctx := context.Background()
	url, stream := natstest.URL(t), natstest.Stream()
	t.Cleanup(func() {
		if q, err := routequeue.Open(context.Background(), routequeue.Config{URL: url, Stream: stream}, "cleanup", slog.New(slog.DiscardHandler)); err == nil {
			q.DeleteStream(context.Background())
			q.Close()
		}
	})
	dir := filepath.Join(t.TempDir(), "jp")
	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo", "--listen", "127.0.0.1:0",
		"--hotline-email", "hotline@jp.example"}, &out, &errOut); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	cfgPath := filepath.Join(dir, "csirtlink.json")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queue = config.Queue{NATSURL: url, Stream: stream}
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, []string{"owner", "add", "--config", cfgPath, "--id", "isp", "--name", "ISP", "--network", "198.51.100.0/24",
		"--email", "abuse@isp.example"}, &out, &errOut); err != nil {
		t.Fatalf("owner add: %v\n%s", err, errOut.String())
	}
	wctx, stop := context.WithCancel(ctx)
	worked := make(chan error, 1)
	go func() {
		worked <- Run(wctx, []string{"feed", "worker", "--config", cfgPath, "--name", "w1"}, io.Discard, io.Discard)
	}()
	report := filepath.Join(t.TempDir(), "2024-05-01-scan_telnet-asn.csv")
	if err := os.WriteFile(report, []byte(`"timestamp","ip","protocol","port","asn","geo"`+"\n"+
		`"2024-05-01 00:00:01","198.51.100.1","tcp",23,64500,JP`+"\n"+
		`"2024-05-01 00:00:01","192.0.2.9","tcp",23,64500,JP`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Run(ctx, []string{"feed", "ingest", "--config", cfgPath, "--format", "shadowserver", "--quiet", report}, &out, &errOut); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut.String())
	}
	stop()
	if err := <-worked; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if got := out.String(); !strings.Contains(got, "done, 2 events: 1 to owners, 0 to partners, 1 unrouted, 0 malformed") {
		t.Fatalf("summary:\n%s", got)
	}
}
