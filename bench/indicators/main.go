// Command indicators measures shared indicators at a national team's scale:
//
//   - search: a node's SQLite database holding -n objects (10,000,000 by default:
//     addresses, networks — mostly /24 to /30 —, domains, URLs and hashes) is generated once into -db, then
//     indicator.Service.Search — the code the API, console and CLI call — is timed for
//     an exact value, an address inside a shared network, and a host under a shared
//     domain: latency percentiles, and the process's CPU per query (which load on the
//     machine does not inflate as it does the percentiles). The first queries after
//     opening (SQLite's page cache empty; the operating system's file cache as the
//     generation or an earlier run left it) are reported apart from the rest (warm).
//
//   - import: -import lines of CSV imported on a fresh node with two peers — checked
//     whole, then written in transactions of indicator.ImportBatch lines — and then
//     queued for both peers in bulk chunks by the indicator Sender, with the wall time of
//     each and the process's peak resident memory.
//
//     go run ./bench/indicators -db /var/tmp/ind10m.db          # generate (once) and search
//     go run ./bench/indicators -phases import -import 1000000
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"csirtlink/bench/machine"
	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/indicator"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/team"
)

func main() {
	phases := flag.String("phases", "search", "phases to run: search, import")
	dbPath := flag.String("db", filepath.Join(os.TempDir(), "csirtlink-indicators-bench.db"), "the search phase's database (generated when missing)")
	n := flag.Int("n", 10_000_000, "objects in a generated database")
	queries := flag.Int("queries", 20_000, "searches of each kind, warm")
	cold := flag.Int("cold", 200, "searches of each kind first after opening, reported apart")
	lines := flag.Int("import", 1_000_000, "lines of the import phase's file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	fmt.Println(machine.Describe())
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "indicators:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "indicators:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	for _, p := range strings.Split(*phases, ",") {
		var err error
		switch p {
		case "search":
			err = search(*dbPath, *n, *queries, *cold)
		case "import":
			err = importPhase(*lines)
		default:
			err = fmt.Errorf("unknown phase %q", p)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "indicators:", err)
			os.Exit(1)
		}
	}
}

// node makes an indicator service on db, for team "cn" with the given peers. Nothing
// is started: enqueued envelopes stay in the outbox.
func node(db *sqlstore.DB, peers ...string) (*indicator.Service, error) {
	key, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	self := team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: key.Public(), URL: "http://127.0.0.1:1"}
	var ps []team.Peer
	for i, p := range peers {
		pk, _ := identity.Generate()
		ps = append(ps, team.Peer{Team: team.Team{ID: p, Name: p, Timezone: "UTC", PublicKey: pk.Public(),
			URL: fmt.Sprintf("http://127.0.0.1:%d", 2+i)}})
	}
	dir, err := team.NewDirectory(self, ps)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fed := federation.New(dir, key, db, clock.Real{}, log, federation.Options{})
	if err := fed.Init(context.Background()); err != nil {
		return nil, err
	}
	return indicator.New(db, fed, clock.Real{}, log), nil
}

// sample is what the generator keeps to query: values held, networks and domains.
type sample struct {
	exact   []string
	inCIDR  []string // addresses inside a held network (not held themselves)
	subHost []string // hosts under a held domain (not held themselves)
}

func search(path string, n, queries, cold int) error {
	ctx := context.Background()
	samplePath := path + ".sample"
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := generate(ctx, path, samplePath, n); err != nil {
			os.Remove(path)
			return err
		}
	}
	s, err := readSample(samplePath)
	if err != nil {
		return err
	}
	st, _ := os.Stat(path)
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	var held int64
	if err := rawCount(path, &held); err != nil {
		return err
	}
	fmt.Printf("database: %s, %d objects, %.1f GiB\n", path, held, float64(st.Size())/(1<<30))
	svc, err := node(db)
	if err != nil {
		return err
	}
	kinds := []struct {
		name string
		qs   []string
		want string
	}{{"exact value", s.exact, indicator.MatchExact}, {"address in a shared network", s.inCIDR, indicator.MatchCIDR},
		{"host under a shared domain", s.subHost, indicator.MatchDomain}}
	run := func(label string, count int, offset int) error {
		for _, k := range kinds {
			lat := make([]time.Duration, 0, count)
			cpu0 := cpuTime()
			for i := range count {
				q := k.qs[(offset+i)%len(k.qs)]
				t0 := time.Now()
				hits, err := svc.Search(ctx, q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					return fmt.Errorf("search %q: %w", q, err)
				}
				if !slices.ContainsFunc(hits, func(h indicator.Hit) bool { return h.Match == k.want }) {
					return fmt.Errorf("search %q: no %s hit in %+v", q, k.want, hits)
				}
			}
			cpu := (cpuTime() - cpu0) / time.Duration(count)
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
			fmt.Printf("%-5s %-28s n=%-6d p50 %-9s p99 %-9s max %-9s CPU/query %s\n", label, k.name, count, pct(.50).Round(time.Microsecond),
				pct(.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), cpu.Round(time.Microsecond))
		}
		return nil
	}
	if err := run("cold", cold, 0); err != nil {
		return err
	}
	return run("warm", queries, cold)
}

// cpuTime is the CPU the process has used (user and system, every thread, the
// garbage collector's included). Under load a latency percentile mostly measures the
// other processes; the CPU a query costs does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rawCount(path string, n *int64) error {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	return raw.QueryRow(`SELECT MAX(rowid) FROM indicators`).Scan(n)
}

// generate writes n objects into a migrated database: 60 % IPv4 addresses, 10 %
// networks (/8 to /30), 15 % domains, 10 % URLs, 5 % SHA-256 hashes, from 3 authors.
// The indexes are built after the rows (the same definitions as the migration's), as
// a bulk load would; ids are sequential, which only makes the load faster.
func generate(ctx context.Context, path, samplePath string, n int) error {
	fmt.Printf("generating %d objects into %s …\n", n, path)
	t0 := time.Now()
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{`PRAGMA journal_mode=OFF`, `PRAGMA synchronous=OFF`, `PRAGMA cache_size=-1000000`,
		`DROP INDEX indicators_value_cover`, `DROP INDEX indicators_modified`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var s sample
	authors := []string{"cn", "jp", "kr"}
	now := time.Now().UTC()
	doc := fmt.Sprintf(`{"valid_from":%q,"created_at":%q}`, now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	const batch = 500
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO indicators (id, author, version, state, type, value, category, tlp, confidence,
		valid_until, modified_at, received_at, doc) VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,1,'active',?,?,?,?,50,NULL,?,?,?),", batch), ","))
	if err != nil {
		return err
	}
	args := make([]any, 0, batch*9)
	for i := range n {
		typ, val, cat := value(r, i, &s)
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i>>16, i&0xffff, 0, 0, i)
		at := now.Add(-time.Duration(r.IntN(90*24*3600)) * time.Second).UnixMicro()
		args = append(args, id, authors[i%3], typ, val, cat, []string{"GREEN", "AMBER", "CLEAR"}[i%3], at, at, doc)
		if len(args) == batch*9 {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
			args = args[:0]
		}
		if (i+1)%1_000_000 == 0 {
			fmt.Printf("  %d rows, %s\n", i+1, time.Since(t0).Round(time.Second))
		}
	}
	if len(args) > 0 {
		return errors.New("generate: n must be a multiple of 500")
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	fmt.Printf("  rows written, %s; building the indexes …\n", time.Since(t0).Round(time.Second))
	for _, q := range []string{`CREATE INDEX indicators_value_cover ON indicators (value, state, modified_at, id, type, author, tlp, category, confidence, valid_until)`,
		`CREATE INDEX indicators_modified ON indicators (modified_at)`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	fmt.Printf("  done in %s\n", time.Since(t0).Round(time.Second))
	return writeSample(samplePath, s)
}

// value makes the i-th object's value, keeping some of each kind to query.
func value(r *rand.Rand, i int, s *sample) (typ, val, cat string) {
	keep := i%997 == 0 && len(s.exact) < 20_000
	switch k := i % 20; {
	case k < 12:
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		val = a.String()
		if keep {
			s.exact = append(s.exact, val)
		}
		return "ipv4", val, "malicious-code/c2-server"
	case k < 14:
		// Shared networks are mostly small: 70 % /24 to /30, 25 % /16 to /23, 5 % /8 to /15.
		bits := 24 + r.IntN(7)
		switch x := r.IntN(100); {
		case x < 5:
			bits = 8 + r.IntN(8)
		case x < 30:
			bits = 16 + r.IntN(8)
		}
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		p, _ := a.Prefix(bits)
		if i%89 == 0 && len(s.inCIDR) < 20_000 {
			// An address inside, by the host part only: the network's own address
			// would be an exact hit too.
			b := p.Addr().As4()
			host := uint32(1 + r.IntN(max(1, 1<<(32-bits)-2)))
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
			s.inCIDR = append(s.inCIDR, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String())
		}
		return "cidr", p.String(), "malicious-code/c2-server"
	case k < 17:
		val = fmt.Sprintf("%s%d.%s", word(r), i, []string{"example", "test", "invalid"}[i%3])
		if i%131 == 0 && len(s.subHost) < 20_000 {
			s.subHost = append(s.subHost, "www."+word(r)+"."+val)
		}
		if keep {
			s.exact = append(s.exact, val)
		}
		return "domain", val, "fraud/phishing"
	case k < 19:
		val = fmt.Sprintf("https://%s%d.example/%s/login.php", word(r), i, word(r))
		if keep {
			s.exact = append(s.exact, val)
		}
		return "url", val, "fraud/phishing"
	default:
		var b [32]byte
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		val = fmt.Sprintf("%x", b)
		return "sha256", val, "malicious-code/malware-distribution"
	}
}

var words = strings.Fields("secure login update cdn mail bank card verify account cloud pay shop support portal gate")

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

func writeSample(path string, s sample) error {
	var b strings.Builder
	for _, l := range [][]string{s.exact, s.inCIDR, s.subHost} {
		b.WriteString(strings.Join(l, " ") + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func readSample(path string) (sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sample{}, err
	}
	l := strings.Split(string(b), "\n")
	if len(l) < 3 {
		return sample{}, fmt.Errorf("%s: not a sample file", path)
	}
	return sample{exact: strings.Fields(l[0]), inCIDR: strings.Fields(l[1]), subHost: strings.Fields(l[2])}, nil
}

// importPhase imports a generated CSV on a fresh node with two peers, queues it for
// both in bulk chunks, and reports the times and the peak resident memory.
func importPhase(lines int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "csirtlink-import-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "indicators.csv")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "value,type,category,tlp,confidence,tags")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range lines {
		if i%2 == 0 {
			fmt.Fprintf(f, "%d.%d.%d.%d,ipv4,malicious-code/c2-server,GREEN,%d,c2;bench\n", 1+r.IntN(222), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(101))
		} else {
			fmt.Fprintf(f, "https://%s%d.example/login,url,fraud/phishing,GREEN,%d,phishing\n", word(r), i, r.IntN(101))
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, _ := os.Stat(file)
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "node.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := node(db, "jp", "kr")
	if err != nil {
		return err
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	runtime.GC()
	t0 := time.Now()
	res, err := svc.Import(ctx, indicator.Actor{Name: "bench"}, in, indicator.ImportOptions{})
	took := time.Since(t0)
	if err != nil {
		return err
	}
	if !res.Imported {
		return fmt.Errorf("import refused: %+v", res.Errors)
	}
	t1 := time.Now()
	if err := svc.Sender().UpdateAll(ctx); err != nil {
		return err
	}
	for {
		us, err := db.Unsent(ctx, 1)
		if err != nil {
			return err
		}
		if len(us) == 0 {
			break
		}
		if err := svc.Sender().UpdateAll(ctx); err != nil {
			return err
		}
	}
	sendTook := time.Since(t1)
	var queued int
	for _, p := range []string{"jp", "kr"} {
		st, err := db.OutboxStats(ctx, p)
		if err != nil {
			return err
		}
		queued += st.Queued
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	dbSize := int64(0)
	if s, err := os.Stat(filepath.Join(dir, "node.db")); err == nil {
		dbSize = s.Size()
	}
	fmt.Printf("import: %d lines (%.0f MiB CSV), %d added, %d updated, %d unchanged, in %s (%.0f lines/s); queued for 2 peers in %s as %d bulk chunk envelopes; peak RSS %d MiB; database %.0f MiB\n",
		res.Lines, float64(st.Size())/(1<<20), res.Added, res.Updated, res.Unchanged, took.Round(time.Millisecond), float64(res.Lines)/took.Seconds(),
		sendTook.Round(time.Millisecond), queued, ru.Maxrss/1024, float64(dbSize)/(1<<20))
	return nil
}
