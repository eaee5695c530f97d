// Command hotline measures the hotline end to end on three real nodes (internal/testnet:
// SQLite files, HTTP on loopback) with a real SMTP server on loopback as the mail relay:
//
//   - burst: N pages sent from cn to jp as fast as the service takes them; timed until
//     every one has reached a person at jp (notified: the e-mail went out);
//
//   - steady: pages at a steady rate; per page the time from send to notified;
//
//   - timers: 10,000 open pages at jp whose escalation steps fall due spread over a
//     window; how late the engine fires each step.
//
//     go run ./bench/hotline
//     go run ./bench/hotline -phases timers -open 10000 -window 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/config"
	"csirtlink/internal/hotline"
	"csirtlink/internal/oncall"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"

	"github.com/emersion/go-smtp"
)

func main() {
	phases := flag.String("phases", "burst,steady,timers", "phases to run: burst, steady, timers")
	n := flag.Int("n", 300, "pages in the burst phase")
	rate := flag.Float64("rate", 10, "pages per second in the steady phase")
	duration := flag.Duration("duration", 20*time.Second, "length of the steady phase")
	open := flag.Int("open", 10000, "open pages in the timers phase")
	window := flag.Duration("window", 30*time.Second, "the timers phase's steps fall due over this window")
	timeout := flag.Duration("timeout", 90*time.Second, "longest wait in each phase")
	flag.StringVar(&pgDSN, "postgres", "", "run jp, the receiving node, on PostgreSQL: a `DSN` (each phase gets a new schema there, dropped after)")
	flag.Parse()
	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	for _, p := range strings.Split(*phases, ",") {
		var err error
		switch p {
		case "burst":
			err = burst(*n, *timeout)
		case "steady":
			err = steady(*rate, *duration, *timeout)
		case "timers":
			err = timers(*open, *window, *timeout)
		default:
			err = fmt.Errorf("unknown phase %q", p)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hotline:", err)
			os.Exit(1)
		}
	}
}

// relay is an SMTP server on loopback that counts what it receives.
type relay struct {
	addr  string
	count atomic.Int64
	srv   *smtp.Server
}

func startRelay() (*relay, error) {
	r := &relay{}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }))
	r.srv.Domain = "localhost"
	r.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	go r.srv.Serve(ln)
	return r, nil
}

type session struct{ r *relay }

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.r.count.Add(1)
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// network starts three nodes whose hotline mail goes to a relay, and gives jp one duty
// officer reached by e-mail under a one-level default policy.
func network(dir string, r *relay, dbs map[string]config.Database) (*testnet.Net, error) {
	ctx := context.Background()
	// The default rate limit (20 a channel in 10 minutes) would throttle a burst to one
	// person: raise it for the benchmark, above every phase's count per 10 minutes.
	n, err := testnet.Start(ctx, testnet.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler),
		SMTP:    &config.SMTP{Addr: r.addr, From: "bench <bench@csirtlink.test>", TLS: "none"},
		Hotline: config.Hotline{RateLimit: 1000}, Databases: dbs})
	if err != nil {
		return nil, err
	}
	jp := n.Node("jp").App
	a := hotline.Actor{Name: "admin"}
	if _, err := jp.Auth.CreateUser(ctx, "duty1", "", "", auth.DutyOfficer); err != nil {
		n.Close()
		return nil, err
	}
	if _, err := jp.Hotline.AddContact(ctx, a, "duty1", hotline.NewContact{Channel: hotline.ChannelEmail, Address: "duty1@jp.csirtlink.test"}); err != nil {
		n.Close()
		return nil, err
	}
	err = jp.Hotline.PutPolicy(ctx, a, oncall.Policy{ID: "bench", Name: "bench", Levels: []oncall.Level{
		{DelayMinutes: 60, Targets: []oncall.Target{{Type: oncall.TargetUser, ID: "duty1"}}}}}, true)
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// pgDSN is -postgres: where jp's database goes, "" for SQLite.
var pgDSN string

// rig is one phase's network: three nodes in a temporary directory and the relay.
type rig struct {
	net   *testnet.Net
	relay *relay
	dir   string
	drop  func() error // drops jp's PostgreSQL schema
}

func newRig() (*rig, error) {
	dir, err := os.MkdirTemp("", "csirtlink-bench-hotline-")
	if err != nil {
		return nil, err
	}
	rg := &rig{dir: dir}
	if rg.relay, err = startRelay(); err != nil {
		rg.close()
		return nil, err
	}
	var dbs map[string]config.Database
	if pgDSN != "" {
		dsn, drop, err := pgtest.NewSchema(context.Background(), pgDSN, "bench_")
		if err != nil {
			rg.close()
			return nil, fmt.Errorf("-postgres: %w", err)
		}
		rg.drop = drop
		dbs = map[string]config.Database{"jp": {Driver: config.Postgres, DSN: dsn}}
	}
	if rg.net, err = network(dir, rg.relay, dbs); err != nil {
		rg.close()
		return nil, err
	}
	return rg, nil
}

func (rg *rig) close() {
	if rg.net != nil {
		rg.net.Close()
	}
	if rg.relay != nil {
		rg.relay.srv.Close()
	}
	if rg.drop != nil {
		if err := rg.drop(); err != nil {
			fmt.Fprintln(os.Stderr, "hotline: drop schema:", err)
		}
	}
	os.RemoveAll(rg.dir)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

func report(name string, lat []time.Duration) {
	slices.Sort(lat)
	fmt.Printf("  %s (%d): p50 %s  p90 %s  p99 %s  max %s\n", name, len(lat),
		percentile(lat, 50).Round(time.Millisecond), percentile(lat, 90).Round(time.Millisecond),
		percentile(lat, 99).Round(time.Millisecond), percentile(lat, 100).Round(time.Millisecond))
}

// notifiedLatencies waits until every page is notified at jp and returns send→notified.
func notifiedLatencies(ctx context.Context, st store.Hotline, ids []string, timeout time.Duration) ([]time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var lat []time.Duration
	for _, id := range ids {
		for {
			d, err := st.GetDelivery(ctx, id, "jp")
			if err == nil && d.NotifiedAt != nil {
				lat = append(lat, d.NotifiedAt.Sub(d.SentAt))
				break
			}
			if time.Now().After(deadline) {
				return lat, fmt.Errorf("page %s not notified within %s", id, timeout)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return lat, nil
}

func burst(n int, timeout time.Duration) error {
	rg, err := newRig()
	if err != nil {
		return err
	}
	defer rg.close()
	net, r := rg.net, rg.relay
	ctx := context.Background()
	cn, jp := net.Node("cn").App.Hotline, net.Node("jp").App.Store
	start := time.Now()
	ids := make([]string, 0, n)
	for i := range n {
		p, err := cn.Send(ctx, hotline.Actor{Name: "bench"}, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: fmt.Sprintf("burst %d", i)})
		if err != nil {
			return err
		}
		ids = append(ids, p.ID)
	}
	sent := time.Since(start)
	lat, err := notifiedLatencies(ctx, jp, ids, timeout)
	if err != nil {
		return err
	}
	total := time.Since(start)
	fmt.Printf("burst: %d pages cn→jp\n  sent in %s (%.0f pages/s); all notified by e-mail in %s (%.0f pages/s end to end); relay got %d mails\n",
		n, sent.Round(time.Millisecond), float64(n)/sent.Seconds(), total.Round(time.Millisecond), float64(n)/total.Seconds(), r.count.Load())
	report("send→notified", lat)
	return nil
}

func steady(rate float64, duration, timeout time.Duration) error {
	rg, err := newRig()
	if err != nil {
		return err
	}
	defer rg.close()
	net := rg.net
	ctx := context.Background()
	cn, jp := net.Node("cn").App.Hotline, net.Node("jp").App.Store
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var ids []string
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		<-tick.C
		p, err := cn.Send(ctx, hotline.Actor{Name: "bench"}, hotline.NewPage{To: []string{"jp"}, Severity: "high", Summary: "steady"})
		if err != nil {
			return err
		}
		ids = append(ids, p.ID)
	}
	lat, err := notifiedLatencies(ctx, jp, ids, timeout)
	if err != nil {
		return err
	}
	fmt.Printf("steady: %.0f pages/s cn→jp for %s\n", rate, duration)
	report("send→notified", lat)
	return nil
}

// timers seeds open pages at jp whose next escalation step falls due at times spread over
// the window, and measures how late each step fires (when its notifications are created).
func timers(open int, window, timeout time.Duration) error {
	rg, err := newRig()
	if err != nil {
		return err
	}
	defer rg.close()
	net := rg.net
	ctx := context.Background()
	jp := net.Node("jp").App
	// Console-only targets: this phase measures the timers, not the mail relay.
	plan, err := oncall.Snapshot(oncall.Policy{ID: "t", Name: "t", Levels: []oncall.Level{{DelayMinutes: 60,
		Targets: []oncall.Target{{Type: oncall.TargetUser, ID: "admin"}}}}}, nil, nil)
	if err != nil {
		return err
	}
	start := time.Now().Add(5 * time.Second) // seeding happens first
	due := map[string]time.Time{}
	for b := 0; b < open; b += 500 {
		err := jp.Store.InTx(ctx, func(tx store.Tx) error {
			for i := b; i < min(b+500, open); i++ {
				id := fmt.Sprintf("cn-2026-p%06d", i)
				at := start.Add(time.Duration(float64(window) * float64(i) / float64(open)))
				due[id] = at
				if err := tx.CreatePage(ctx, store.Page{ID: id, From: "cn", Severity: "low", Summary: "timer", TLP: "AMBER",
					CreatedBy: "bench", CreatedAt: time.Now(), Deliveries: []store.Delivery{{Team: "jp", State: hotline.Delivered, SentAt: time.Now()}}}); err != nil {
					return err
				}
				if err := tx.PutEscalation(ctx, store.Escalation{PageID: id, Policy: string(plan), NextAt: &at, StartedAt: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	seeded := time.Now()
	if seeded.After(start) {
		fmt.Printf("timers: seeding took until %s after the first step was due\n", seeded.Sub(start).Round(time.Millisecond))
	}
	deadline := start.Add(window + timeout)
	var late []time.Duration
	for id, at := range due {
		for {
			ns, err := jp.Store.PageNotifications(ctx, id)
			if err != nil {
				return err
			}
			if len(ns) > 0 {
				late = append(late, ns[0].CreatedAt.Sub(at))
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("step of %s never fired", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Printf("timers: %d open pages at jp, steps due over %s (%.0f/s)\n", open, window, float64(open)/window.Seconds())
	report("lateness of due steps", late)
	return nil
}
