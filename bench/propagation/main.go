// Command propagation measures how fast timeline entries travel between federated
// csirtlink nodes: three real nodes (cn, jp, kr) from internal/testnet, each with its own
// SQLite file and HTTP server on loopback.
//
// It runs up to four phases; each of the last three on a fresh network:
//
//   - disk: an fsync probe on the disk the nodes use, as a baseline for commit latency;
//   - direct: N entries written at the coordinator (cn) through the incident service by a
//     few concurrent writers, timed until both participants hold all N;
//   - http: the same through the HTTP API (POST /api/v1/incidents/{id}/timeline);
//   - latency: a steady rate of entries written at cn, jp and kr in rotation, each timed
//     from the return of the write until it is sequenced at every other node.
//
// The throughput phases are CPU-profiled to bench/out/, and the profile is summarised by
// where the time goes (signatures, SQLite, JSON, HTTP, runtime). Every phase is bounded
// by its counts and by -timeout; the default run takes about a minute and a half.
//
//	go run ./bench/propagation
//	go run ./bench/propagation -phases latency -rate 300 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	phases    string
	n         int
	writers   int
	clients   int
	body      int
	httpIdle  int
	rate      float64
	duration  time.Duration
	timeout   time.Duration
	out       string
	profile   bool
	keep      bool
	dir       string
	inflight  int
	batchSize int
	diskDur   time.Duration
	postgres  string // a PostgreSQL database for pgNode's node, "" for SQLite everywhere
	pgNode    string
}

func main() {
	var o options
	flag.StringVar(&o.phases, "phases", "disk,direct,http,latency", "phases to run, comma-separated: disk, direct, http, latency")
	flag.IntVar(&o.n, "n", 5000, "entries per throughput phase")
	flag.IntVar(&o.writers, "writers", 4, "concurrent writers at cn in the direct phase")
	flag.IntVar(&o.clients, "clients", 4, "concurrent API clients in the http phase")
	flag.IntVar(&o.body, "body", 200, "bytes of comment body per entry")
	flag.IntVar(&o.httpIdle, "http-idle", 0, "if > 0, set the default HTTP transport's MaxIdleConnsPerHost (Go's default is 2)")
	flag.Float64Var(&o.rate, "rate", 100, "entries per second in the latency phase")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "length of the latency phase")
	flag.DurationVar(&o.diskDur, "disk-duration", 10*time.Second, "length of the disk phase (fsync probe at -rate per second)")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "longest wait for propagation in each phase")
	flag.StringVar(&o.out, "out", "bench/out", "directory for CPU profiles")
	flag.BoolVar(&o.profile, "profile", true, "CPU-profile the throughput phases")
	flag.BoolVar(&o.keep, "keep", false, "keep the nodes' directories")
	flag.StringVar(&o.dir, "dir", "", "where to make the run's directory for the nodes' files (default: the system's temporary directory)")
	flag.IntVar(&o.inflight, "inflight", 64, "most writes in flight in the latency phase; a tick finding this many is skipped and counted")
	flag.IntVar(&o.batchSize, "batch", 0, "federation batch_size (0: the default, 200)")
	flag.StringVar(&o.postgres, "postgres", "", "run one node on PostgreSQL: a `DSN` (each network gets a new schema there, dropped after)")
	flag.StringVar(&o.pgNode, "postgres-node", "cn", "the node -postgres puts on PostgreSQL (cn writes, jp and kr receive)")
	flag.Parse()
	if o.n <= 0 || o.writers <= 0 || o.clients <= 0 || o.rate <= 0 || o.duration <= 0 || o.diskDur <= 0 || o.timeout <= 0 || o.inflight <= 0 {
		fmt.Fprintln(os.Stderr, "propagation: counts, rates and durations must be positive")
		os.Exit(2)
	}
	err := run(o)
	for _, drop := range dropSchemas {
		if derr := drop(); derr != nil {
			fmt.Fprintln(os.Stderr, "propagation: drop schema:", derr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A hard bound on the whole run, whatever happens inside.
	ctx, cancel := context.WithTimeout(ctx, 3*o.timeout+o.duration+o.diskDur+time.Minute)
	defer cancel()

	// Always a new directory of our own (inside -dir if given), so that cleaning up
	// never removes anything else.
	base, err := os.MkdirTemp(o.dir, "csirtlink-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(base)
	}
	if o.profile {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	if o.httpIdle > 0 {
		setIdleConns(o.httpIdle)
	}
	fmt.Printf("csirtlink propagation benchmark — %s, GOMAXPROCS=%d, nodes in %s\n", runtime.Version(), runtime.GOMAXPROCS(0), base)

	var results []result
	var lat *latencyResult
	var dk *diskResult
	for _, p := range strings.Split(o.phases, ",") {
		p = strings.TrimSpace(p)
		dir := filepath.Join(base, p)
		switch p {
		case "direct", "http":
			r, err := throughput(ctx, o, p, dir)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			r.print()
			results = append(results, r)
		case "disk":
			r, err := disk(ctx, o, dir)
			if err != nil {
				return fmt.Errorf("disk: %w", err)
			}
			r.print()
			dk = &r
		case "latency":
			r, err := latency(ctx, o, dir)
			if err != nil {
				return fmt.Errorf("latency: %w", err)
			}
			r.print()
			lat = &r
		case "":
		default:
			return fmt.Errorf("unknown phase %q", p)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	summary(dk, results, lat)
	return nil
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func summary(dk *diskResult, rs []result, lat *latencyResult) {
	fmt.Println()
	fmt.Println("== summary ==")
	if dk != nil {
		fmt.Printf("disk: fsync of 4 KiB at %.0f/s: p50 %s, p99 %s, max %s (other processes: %s of the machine)\n\n", dk.rate,
			ms(dk.sync.p(50)), ms(dk.sync.p(99)), ms(dk.sync.p(100)), dk.sys.othersPct())
	}
	if len(rs) > 0 {
		fmt.Printf("%-8s %7s %8s %10s %13s %10s %10s %11s %10s %7s\n", "phase", "entries", "writers", "written/s", "propagated/s",
			"write p50", "write p99", "write max", "CPU/entry", "others")
		for _, r := range rs {
			fmt.Printf("%-8s %7d %8d %10.0f %13.0f %10s %10s %11s %10s %7s\n", r.phase, r.n, r.conc, r.writeRate(), r.propRate(),
				ms(r.writeLat.p(50)), ms(r.writeLat.p(99)), ms(r.writeLat.p(100)), us(r.cpu/time.Duration(max(r.n, 1))), r.sys.othersPct())
		}
		fmt.Println(`("others": CPU used by other processes, as a share of the whole machine, during the phase)`)
	}
	if lat != nil {
		fmt.Println()
		fmt.Printf("steady %.0f entries/s for %s (%d written; other processes used %s of the machine):\n", lat.rate, lat.duration,
			lat.written, lat.sys.othersPct())
		fmt.Printf("%-34s %6s %9s %9s %9s %9s\n", "path (write return → visible)", "n", "p50", "p90", "p99", "max")
		for _, row := range lat.rows() {
			fmt.Printf("%-34s %6d %9s %9s %9s %9s\n", row.name, len(row.d), ms(row.d.p(50)), ms(row.d.p(90)), ms(row.d.p(99)), ms(row.d.p(100)))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }

var ncpu = runtime.NumCPU()

// sysCPU is what the whole machine did over a phase, from /proc/stat, so that a run
// disturbed by other work on the machine shows it.
type sysCPU struct {
	busy, idle, iowait time.Duration // machine-wide, all CPUs
	others             time.Duration // busy time not ours
	ok                 bool
}

func (s sysCPU) String() string {
	if !s.ok {
		return "(/proc/stat unreadable)"
	}
	all := s.busy + s.idle + s.iowait
	return fmt.Sprintf("%.0f%% busy, of which other processes %.0f%%; %.0f%% iowait", 100*float64(s.busy)/float64(all),
		100*float64(s.others)/float64(all), 100*float64(s.iowait)/float64(all))
}

func (s sysCPU) othersPct() string {
	all := s.busy + s.idle + s.iowait
	if !s.ok || all <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(s.others)/float64(all))
}

// readSysCPU reads the machine's cumulative CPU times.
func readSysCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
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

// since is the difference from an earlier reading; ours is this process's CPU meanwhile.
func (s sysCPU) since(old sysCPU, ours time.Duration) sysCPU {
	if !s.ok || !old.ok {
		return sysCPU{}
	}
	d := sysCPU{busy: s.busy - old.busy, idle: s.idle - old.idle, iowait: s.iowait - old.iowait, ok: true}
	d.others = max(d.busy-ours, 0)
	return d
}
