// Command bulk measures federation in bulk chunks (issue 8; issue 11's "1,000,000
// objects propagated to two peers"): real nodes from internal/testnet in one process,
// each with its own SQLite file and HTTP server on loopback. Every phase runs on a
// fresh network:
//
//   - link: -n objects queued at cn for one peer, jp, as bulk chunks, timed until jp
//     holds them all. Objects are routed feed events (-kind feed: a Shadowserver-style
//     report ingested at cn whose events all fall in jp's constituency; the clock starts
//     when the ingest returns, when the engine module feed-partner-reports starts
//     building jp's chunks) or shared indicators (-kind indicator: written into cn's
//     database with their unsent marks while cn is stopped, as an import leaves them;
//     the clock starts when cn opens again, and its module indicator-bulk-send builds
//     the chunks from the marks).
//   - catchup: the same objects queued at cn while jp is stopped (its HTTP server
//     closed, cn's sender backing off); after -down, jp opens again: the time until it
//     serves, until the first chunk is applied there, and until it holds all -n.
//   - two-peers: -n shared indicators queued at cn for jp and kr, timed until both hold
//     them all.
//
// Each phase prints its CPU per object (getrusage: the whole process, every node), the
// process's resident memory sampled every second (peak, and at each quarter of the
// phase: flat or growing), the load average, and with -cpuprofile a CPU profile of the
// timed part summarised by kind of work and by stage. The last lines are one summary
// line per phase.
//
//	go run ./bench/bulk -phases link -kind indicator -n 200000
//	go run ./bench/bulk -phases link,catchup -kind feed -n 1000000 -cpuprofile bench/out/bulk.pprof
//	go run ./bench/bulk -phases two-peers -n 200000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"csirtlink/bench/internal/cpuprof"
	"csirtlink/bench/machine"
	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

type options struct {
	phases  string
	kind    string
	n       int
	down    time.Duration
	timeout time.Duration
	profile string
	dir     string
	keep    bool
}

func main() {
	var o options
	flag.StringVar(&o.phases, "phases", "link,catchup,two-peers", "phases to run, comma-separated: link, catchup, two-peers")
	flag.StringVar(&o.kind, "kind", "indicator", "objects of the link and catchup phases: feed (routed feed events) or indicator (shared indicators); two-peers always sends indicators")
	flag.IntVar(&o.n, "n", 200_000, "objects per phase")
	flag.DurationVar(&o.down, "down", 5*time.Second, "catchup: how long jp stays down after cn has queued everything")
	flag.DurationVar(&o.timeout, "timeout", 110*time.Second, "longest wait for the peers to hold everything, per phase")
	flag.StringVar(&o.profile, "cpuprofile", "", "CPU-profile each phase's timed part to this `file` (the phase's name is added before the extension)")
	flag.StringVar(&o.dir, "dir", "", "where to make the run's directory for the nodes' files (default: the system's temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the nodes' directories")
	flag.Parse()
	if o.n <= 0 || o.timeout <= 0 || o.down < 0 || (o.kind != "feed" && o.kind != "indicator") {
		fmt.Fprintln(os.Stderr, "bulk: -n and -timeout must be positive, -kind feed or indicator")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bulk:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	base, err := os.MkdirTemp(o.dir, "csirtlink-bulk-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(base)
	}
	fmt.Println(machine.Describe())
	fmt.Printf("GOMAXPROCS=%d, nodes in %s\n", runtime.GOMAXPROCS(0), base)
	var done []result
	for _, p := range strings.Split(o.phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		kind := o.kind
		if p == "two-peers" {
			kind = "indicator"
		}
		r, err := phase(ctx, o, p, kind, filepath.Join(base, p))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		r.print()
		done = append(done, r)
	}
	fmt.Println("\n== summary ==")
	for _, r := range done {
		fmt.Println(r.line())
	}
	return nil
}

// result is one phase.
type result struct {
	phase, kind string
	n           int
	peers       []string
	prep        time.Duration            // writing or ingesting the objects at cn
	chunks      int                      // chunk envelopes cn queued
	open        time.Duration            // catchup: jp's reopening until it served
	push        time.Duration            // catchup: from jp serving to cn's first push to it
	first       time.Duration            // catchup: from jp serving to the first batch of chunks applied
	held        map[string]time.Duration // from the start of the clock until the peer held all n
	cpu         time.Duration
	rss         rssTrace
	load0, load string
	profile     string
	groups      cpuprof.Summary
}

func (r result) slowest() time.Duration {
	var d time.Duration
	for _, v := range r.held {
		d = max(d, v)
	}
	return d
}

func (r result) rate() float64 { return float64(r.n) / r.slowest().Seconds() }

func (r result) print() {
	fmt.Printf("\n== %s, %s: %d objects at cn for %s ==\n", r.phase, r.kind, r.n, strings.Join(r.peers, " and "))
	fmt.Printf("written at cn:  %8.3fs (not timed: %s)\n", r.prep.Seconds(), map[string]string{"feed": "the report's ingest and routing",
		"indicator": "versions and unsent marks written into cn's database"}[r.kind])
	if r.phase == "catchup" {
		fmt.Printf("jp reopened:    %8.3fs until it served again; after that, cn's first push began in %.3fs, the first batch of chunks was applied in %.3fs\n",
			r.open.Seconds(), r.push.Seconds(), r.first.Seconds())
	}
	for _, p := range r.peers {
		fmt.Printf("held by %s:     %8.3fs  %8.0f objects/s\n", p, r.held[p].Seconds(), float64(r.n)/r.held[p].Seconds())
	}
	fmt.Printf("chunk envelopes: %d per peer (%.0f objects each)\n", r.chunks, float64(r.n)/float64(max(r.chunks, 1)))
	fmt.Printf("process CPU:    %8.3fs = %.0f%% of %d cores; %.1fµs per object\n", r.cpu.Seconds(),
		100*r.cpu.Seconds()/(float64(runtime.NumCPU())*r.slowest().Seconds()), runtime.NumCPU(), float64(r.cpu.Microseconds())/float64(r.n))
	fmt.Printf("RSS:            %s\n", r.rss)
	fmt.Printf("load average:   %s at the start, %s at the end\n", r.load0, r.load)
	if r.profile != "" {
		fmt.Printf("CPU profile:    %s\n", r.profile)
		r.groups.Print()
	}
}

func (r result) line() string {
	s := fmt.Sprintf("%-9s %-9s n=%d to %s: all held in %.2fs = %.0f objects/s", r.phase, r.kind, r.n, strings.Join(r.peers, "+"),
		r.slowest().Seconds(), r.rate())
	if r.phase == "catchup" {
		s += fmt.Sprintf(" after jp served again (first push %.0f ms, first batch applied %.0f ms)", 1000*r.push.Seconds(), 1000*r.first.Seconds())
	}
	return s + fmt.Sprintf("; %.1fµs CPU/object; RSS peak %d MiB, %s; load %s", float64(r.cpu.Microseconds())/float64(r.n), r.rss.peak()>>20,
		r.rss.shape(), r.load)
}

// phase builds a network, queues the objects and times them.
func phase(ctx context.Context, o options, name, kind, dir string) (result, error) {
	peers := []string{"jp"}
	teams := testnet.Default[:2]
	if name == "two-peers" {
		peers, teams = []string{"jp", "kr"}, testnet.Default
	} else if name != "link" && name != "catchup" {
		return result{}, fmt.Errorf("unknown phase %q", name)
	}
	n, err := testnet.Start(ctx, testnet.Options{Dir: dir, Teams: teams})
	if err != nil {
		return result{}, err
	}
	defer n.Close()
	r := result{phase: name, kind: kind, n: o.n, peers: peers, held: map[string]time.Duration{}, load0: loadavg()}
	w := &waiter{net: n, kind: kind, n: o.n, peers: peers}
	if err := w.before(ctx); err != nil {
		return r, err
	}
	if name == "catchup" {
		if err := n.Stop("jp"); err != nil {
			return r, err
		}
	}
	// The clock starts when cn may send: for indicators when cn opens again over the
	// marks written while it was stopped, for feed events when the ingest returns.
	var start time.Time
	var stopProfile func()
	var cpu0 time.Duration
	var rss *rssSampler
	begin := func() error {
		runtime.GC()
		rss = sampleRSS(ctx)
		cpu0 = cpuTime()
		if stopProfile, r.profile, err = startProfile(o.profile, name); err != nil {
			return err
		}
		start = time.Now()
		return nil
	}
	t0 := time.Now()
	switch {
	case kind == "feed" && name == "catchup":
		err = ingestFeed(ctx, n, o.n)
		r.prep = time.Since(t0)
	case kind == "feed":
		err = ingestFeed(ctx, n, o.n)
		r.prep = time.Since(t0)
		if err == nil {
			err = begin()
		}
	default:
		if err = n.Stop("cn"); err == nil {
			err = writeIndicators(ctx, n.Node("cn").ConfigPath, o.n)
			r.prep = time.Since(t0)
		}
		if err == nil && name != "catchup" {
			err = begin()
		}
		if err == nil {
			err = n.Restart(ctx, "cn")
		}
	}
	if err != nil {
		return r, err
	}
	defer func() {
		if stopProfile != nil {
			stopProfile()
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if name == "catchup" {
		// Everything is queued for jp before it returns, and cn's sender is in its
		// back-off, as after a real outage.
		if err := w.queued(wctx); err != nil {
			return r, err
		}
		select {
		case <-time.After(o.down):
		case <-ctx.Done():
			return r, ctx.Err()
		}
		if err := begin(); err != nil {
			return r, err
		}
		if err := n.Restart(ctx, "jp"); err != nil {
			return r, err
		}
		served := time.Now()
		r.open = served.Sub(start)
		at, err := w.sending(wctx, served)
		if err != nil {
			return r, err
		}
		r.push = at.Sub(served)
		if at, err = w.firstApplied(wctx); err != nil {
			return r, err
		}
		r.first = at.Sub(served)
	}
	for _, p := range peers {
		at, err := w.allHeld(wctx, p)
		if err != nil {
			return r, fmt.Errorf("%s: %w", p, err)
		}
		r.held[p] = at.Sub(start)
		if name == "catchup" {
			r.held[p] -= r.open // counted from jp's return
		}
	}
	r.cpu = cpuTime() - cpu0
	r.rss = rss.stop()
	stopProfile()
	stopProfile = nil
	if r.profile != "" {
		if r.groups, err = cpuprof.Read(r.profile, cpuprof.Kinds, stages); err != nil {
			fmt.Fprintln(os.Stderr, "bulk: summarising the profile:", err)
		}
	}
	r.load = loadavg()
	if r.chunks, err = w.chunks(ctx); err != nil {
		return r, err
	}
	return r, w.verify(ctx)
}

// stages sort the profile's samples by which part of the pipeline did the work.
var stages = []cpuprof.Class{
	{Name: "cn: build indicator chunks (indicator-bulk-send)", Prefixes: []string{"csirtlink/internal/indicator.(*Service).sendUnsent"}},
	{Name: "cn: build feed chunks (feed-partner-reports)", Prefixes: []string{"csirtlink/internal/feedshare.(*Service).send"}},
	{Name: "peer: apply indicator chunks", Prefixes: []string{"csirtlink/internal/indicator.(*Service).applyChunk"}},
	{Name: "peer: apply feed chunks", Prefixes: []string{"csirtlink/internal/feedshare.(*Service).apply"}},
	{Name: "peer: receive (inbox: verify, record, receipt)", Prefixes: []string{"csirtlink/internal/federation.(*Federation).handleInbox"}},
	{Name: "cn: deliver (outbox, push, receipts)", Prefixes: []string{"csirtlink/internal/federation.(*Federation).runSender"}},
	{Name: "bench's watchers", Prefixes: []string{"main."}},
	{Name: "other HTTP server/transport work", Prefixes: []string{"net/http", "internal/poll", "net."}},
	{Name: "GC and runtime", Prefixes: []string{"runtime.", "internal/runtime"}},
}

// startProfile starts a CPU profile into path with the phase's name before its extension.
func startProfile(path, phase string) (stop func(), file string, err error) {
	if path == "" {
		return func() {}, "", nil
	}
	ext := filepath.Ext(path)
	file = strings.TrimSuffix(path, ext) + "-" + phase + ext
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, "", err
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, "", err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, "", err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, file, nil
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// databasePath is a node's SQLite file.
func databasePath(configPath string) (string, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return "", err
	}
	if cfg.Database.Driver != "" && cfg.Database.Driver != "sqlite" {
		return "", errors.New("the node is not on SQLite")
	}
	return cfg.DatabasePath(), nil
}
