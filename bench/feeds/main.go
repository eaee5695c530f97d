// Command feeds measures the bulk feed pipeline's core — parse, enrich, route —
// on a generated Shadowserver-style report (scan_telnet columns), routing
// among 10,000 network owners and 3 partners:
//
//   - throughput: the report written to a file, then read back through the
//     front door and pipeline.Run several times; events/s, cores used,
//     allocations per event; and the parser alone, for the serial ceiling;
//
//   - rss: a 50M-row report streamed from the generator (it never exists
//     whole; the generator runs in its own goroutine and shares the cores),
//     with the process's resident memory sampled as it goes.
//
// What is measured is the core pipeline only: no store, no delivery, no
// federation yet.
//
//	go run ./bench/feeds
//	go run ./bench/feeds -phases throughput -rows 5000000 -runs 5
//	go run ./bench/feeds -phases rss -stream-rows 50000000
package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"csirtlink/bench/machine"
	"csirtlink/internal/enrich"
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feed/pipeline"
	"csirtlink/internal/route"

	"github.com/oschwald/maxminddb-golang/v2"
)

func main() {
	phases := flag.String("phases", "throughput,rss", "phases to run: throughput, rss")
	rows := flag.Int64("rows", 5_000_000, "rows in the throughput phase's file")
	runs := flag.Int("runs", 3, "runs of the throughput phase")
	streamRows := flag.Int64("stream-rows", 50_000_000, "rows streamed in the rss phase")
	interval := flag.Duration("interval", 5*time.Second, "how often the rss phase samples memory")
	owners := flag.Int("owners", 10_000, "network owners")
	bare := flag.Float64("bare", 0.2, "share of rows without asn and geo, for enrichment to fill")
	workers := flag.Int("workers", 0, "pipeline workers (0: GOMAXPROCS)")
	dir := flag.String("dir", "", "where the report file goes (default: a temporary directory, removed after)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the throughput runs to this file")
	flag.Parse()

	fmt.Println(machine.Describe())
	r, e, err := setUp(*owners)
	if err != nil {
		fail(err)
	}
	defer e.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("live heap after set-up (index, RIR data, world): %s; GOGC %s\n", mib(int64(ms.HeapAlloc)), cmp.Or(os.Getenv("GOGC"), "100 (default)"))
	for _, p := range strings.Split(*phases, ",") {
		switch p {
		case "throughput":
			err = throughput(r, e, *owners, *rows, *runs, *bare, *workers, *dir, *cpuprofile)
		case "rss":
			err = rss(r, e, *owners, *streamRows, *bare, *workers, *interval)
		default:
			err = fmt.Errorf("unknown phase %q", p)
		}
		if err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "feeds:", err)
	os.Exit(1)
}

// setUp builds the routing index and the enricher: the MaxMind test
// databases (the real GeoLite2 files are not available here) and a generated
// RIR file of realistic size.
func setUp(owners int) (*route.Router, *enrich.Enricher, error) {
	t0 := time.Now()
	r, err := newWorld(owners, 1).router()
	if err != nil {
		return nil, nil, err
	}
	x := r.Index()
	fmt.Printf("routing index: %d owners, %d partners, %d conflicts reported, built in %v\n",
		len(x.Owners()), len(x.Partners()), len(x.Conflicts()), time.Since(t0).Round(time.Millisecond))
	asn, country := mmdbPaths()
	if asn == "" {
		return nil, nil, fmt.Errorf("MaxMind test databases not found; run from the repository root")
	}
	t0 = time.Now()
	rir := rirData(1)
	p, a := rir.Size()
	fmt.Printf("RIR data: %d prefixes, %d AS ranges, built in %v\n", p, a, time.Since(t0).Round(time.Millisecond))
	asnDB, err := maxminddb.Open(asn)
	if err != nil {
		return nil, nil, err
	}
	countryDB, err := maxminddb.Open(country)
	if err != nil {
		return nil, nil, err
	}
	e, err := enrich.New(enrich.Sources{ASN: asnDB, Country: countryDB, RIR: rir})
	return r, e, err
}

// stats is one measured run.
type stats struct {
	events    int64
	wall, cpu time.Duration
	mallocs   uint64
	gcs       uint32
	others    string
	result    pipeline.Result
}

func (s stats) rate() float64 { return float64(s.events) / s.wall.Seconds() }

func (s stats) String() string {
	return fmt.Sprintf("%10d events in %7.3fs: %9.0f events/s, %.2f cores, %4.0f ns CPU/event, %.4f allocs/event, %3d GCs, others %s",
		s.events, s.wall.Seconds(), s.rate(), s.cpu.Seconds()/s.wall.Seconds(), float64(s.cpu.Nanoseconds())/float64(s.events),
		float64(s.mallocs)/float64(s.events), s.gcs, s.others)
}

// measure runs f and takes its wall and CPU time, allocations and the share
// of the machine other processes used meanwhile.
func measure(f func() (int64, error)) (stats, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	sys0, cpu0, t0 := readSysCPU(), cpuTime(), time.Now()
	n, err := f()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	sys := readSysCPU().since(sys0, cpu)
	runtime.ReadMemStats(&m1)
	return stats{events: n, wall: wall, cpu: cpu, mallocs: m1.Mallocs - m0.Mallocs, gcs: m1.NumGC - m0.NumGC, others: sys.othersPct()}, err
}

func throughput(r *route.Router, e *enrich.Enricher, owners int, rows int64, runs int, bare float64, workers int, dir, cpuprofile string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "feeds-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	path := filepath.Join(dir, "2024-05-01-scan_telnet-asn-region.csv")
	t0 := time.Now()
	size, err := writeReport(path, newGenerator(newWorld(owners, 1), rows, bare, 7))
	if err != nil {
		return err
	}
	fmt.Printf("\n== throughput: %s, %d rows, %.1f MB (%.0f bytes/row), written in %v\n",
		filepath.Base(path), rows, float64(size)/1e6, float64(size)/float64(rows), time.Since(t0).Round(time.Millisecond))
	reg := formats.Registry()
	cfg := feed.Config{FileName: filepath.Base(path)}

	// The parser alone, one goroutine: the pipeline's serial part.
	s, err := measure(func() (int64, error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		p, err := reg.Open(f, cfg)
		if err != nil {
			return 0, err
		}
		var n int64
		b := feed.NewBatch(feed.DefaultBatchSize)
		for {
			err := p.Read(b)
			n += int64(len(b.Events))
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	})
	if err != nil {
		return err
	}
	fmt.Printf("parse only       %v\n", s)

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	var all []stats
	for i := range runs {
		var res pipeline.Result
		s, err := measure(func() (int64, error) {
			f, err := os.Open(path)
			if err != nil {
				return 0, err
			}
			defer f.Close()
			p, err := reg.Open(f, cfg)
			if err != nil {
				return 0, err
			}
			res, err = pipeline.Run(context.Background(), p, e, r, pipeline.Options{Workers: workers})
			return res.Events, err
		})
		if err != nil {
			return err
		}
		s.result = res
		all = append(all, s)
		fmt.Printf("pipeline run %d   %v\n", i+1, s)
	}
	res := all[0].result
	fmt.Printf("routed: %d to owners (%d owners reached), %d to partners %v, %d unrouted; by %v; malformed %d\n",
		res.RoutedOwners, len(res.Owners), res.RoutedPartners, res.Partners, res.Unrouted, res.ByMatch, res.Parse.Malformed)
	fmt.Printf("enriched: ASN from MMDB %d, country from MMDB %d, from RIR %d\n", res.ASNFromMMDB, res.CountryFromMMDB, res.CountryFromRIR)
	rates := make([]float64, len(all))
	for i, s := range all {
		rates[i] = s.rate()
	}
	slices.Sort(rates)
	fmt.Printf("pipeline events/s over %d runs: best %.0f, median %.0f (GOMAXPROCS %d)\n", runs, rates[len(rates)-1], rates[len(rates)/2], runtime.GOMAXPROCS(0))
	return nil
}

func writeReport(path string, g io.Reader) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n, err := io.Copy(w, g)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func rss(r *route.Router, e *enrich.Enricher, owners int, rows int64, bare float64, workers int, interval time.Duration) error {
	fmt.Printf("\n== rss: %d rows streamed from the generator (about %.1f GB of CSV), memory sampled every %v\n",
		rows, float64(rows)*float64(avgRow)/1e9, interval)
	runtime.GC()
	fmt.Printf("before the run: RSS %s\n", mib(readStatus("VmRSS")))
	var prog pipeline.Progress
	done := make(chan struct{})
	var samples []int64
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := readStatus("VmRSS")
				samples = append(samples, v)
				fmt.Printf("  %6.0fs  %11d events  RSS %s\n", time.Since(start).Seconds(), prog.Events.Load(), mib(v))
			}
		}
	}()
	s, err := measure(func() (int64, error) {
		// The generator writes from its own goroutine, as a file or a socket
		// would be read by the kernel: the parser's goroutine only parses.
		pr, pw := io.Pipe()
		go func() {
			_, err := io.CopyBuffer(pw, newGenerator(newWorld(owners, 1), rows, bare, 11), make([]byte, 1<<20))
			pw.CloseWithError(err)
		}()
		defer pr.Close()
		p, err := formats.Registry().Open(pr, feed.Config{Report: "scan_telnet"})
		if err != nil {
			return 0, err
		}
		res, err := pipeline.Run(context.Background(), p, e, r, pipeline.Options{Workers: workers, Progress: &prog})
		return res.Events, err
	})
	close(done)
	if err != nil {
		return err
	}
	fmt.Printf("streamed          %v\n", s)
	if len(samples) > 0 {
		fmt.Printf("RSS samples: min %s, max %s over %d samples; peak (VmHWM) %s\n",
			mib(slices.Min(samples)), mib(slices.Max(samples)), len(samples), mib(readStatus("VmHWM")))
	}
	return nil
}

// avgRow is about how long a generated row is, for the size estimate.
const avgRow = 170

// readStatus reads a memory figure from /proc/self/status, in bytes.
func readStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// machine describes the machine: the figures mean little without it.

// mmdbPaths finds the MaxMind test databases from the repository root or
// from this directory (go test runs here).
func mmdbPaths() (asn, country string) {
	for _, dir := range []string{"internal/enrich/testdata/mmdb", "../../internal/enrich/testdata/mmdb"} {
		if _, err := os.Stat(filepath.Join(dir, "GeoLite2-ASN-Test.mmdb")); err == nil {
			return filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"), filepath.Join(dir, "GeoLite2-Country-Test.mmdb")
		}
	}
	return "", ""
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sysCPU is what the whole machine did over a phase, from /proc/stat, so a
// run disturbed by other work on the machine shows it (as bench/propagation).
type sysCPU struct {
	busy, idle, iowait, others time.Duration
	ok                         bool
}

func (s sysCPU) othersPct() string {
	all := s.busy + s.idle + s.iowait
	if !s.ok || all <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(s.others)/float64(all))
}

func readSysCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return sysCPU{}
	}
	var v [8]time.Duration
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return sysCPU{}
		}
		v[i] = time.Duration(n) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	// user nice system idle iowait irq softirq steal
	return sysCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6] + v[7], idle: v[3], iowait: v[4], ok: true}
}

func (s sysCPU) since(old sysCPU, ours time.Duration) sysCPU {
	if !s.ok || !old.ok {
		return sysCPU{}
	}
	d := sysCPU{busy: s.busy - old.busy, idle: s.idle - old.idle, iowait: s.iowait - old.iowait, ok: true}
	d.others = max(d.busy-ours, 0)
	return d
}
