package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"csirtlink/internal/testnet"
)

var teams = []string{"cn", "jp", "kr"}

// pending is an entry written but not yet seen sequenced everywhere.
type pending struct {
	origin   string
	returned time.Time
	waiting  map[string]bool // nodes that have not shown it with a position yet
	seen     map[string]time.Duration
}

// latencyResult is the steady-rate phase.
type latencyResult struct {
	rate      float64
	duration  time.Duration
	written   int
	skipped   int
	unseen    int
	failed    int
	writeCall map[string]durations // write call duration, by origin class
	allOther  map[string]durations // return → sequenced at every other node, by origin class
	hop       map[string]durations // return → sequenced at one node, by "from→to"
	cpu       time.Duration
	wall      time.Duration
	sys       sysCPU
}

type row struct {
	name string
	d    durations
}

func (r latencyResult) rows() []row {
	return []row{
		{"written at coordinator → both peers", r.allOther["coordinator"]},
		{"  cn→jp (1 hop)", r.hop["cn→jp"]},
		{"  cn→kr (1 hop)", r.hop["cn→kr"]},
		{"written at participant → both others", r.allOther["participant"]},
		{"  participant→cn (1 hop)", append(append(durations{}, r.hop["jp→cn"]...), r.hop["kr→cn"]...)},
		{"  participant→other one (2 hops)", append(append(durations{}, r.hop["jp→kr"]...), r.hop["kr→jp"]...)},
		{"  back at its author, positioned", append(append(durations{}, r.hop["jp→jp"]...), r.hop["kr→kr"]...)},
		{"all entries → every other node", append(append(durations{}, r.allOther["coordinator"]...), r.allOther["participant"]...)},
	}
}

func (r latencyResult) print() {
	fmt.Printf("\n== latency: %.0f entries/s for %s, written at cn, jp, kr in turn ==\n", r.rate, r.duration)
	fmt.Printf("written %d, ticks skipped (too many in flight) %d, write errors %d, never seen everywhere %d\n", r.written, r.skipped, r.failed, r.unseen)
	for _, c := range []string{"coordinator", "participant"} {
		d := r.writeCall[c]
		fmt.Printf("write call at %-11s p50 %s  p99 %s  max %s\n", c+":", ms(d.p(50)), ms(d.p(99)), ms(d.p(100)))
	}
	fmt.Printf("%-38s %6s %9s %9s %9s %9s %9s\n", "write return → sequenced at", "n", "mean", "p50", "p90", "p99", "max")
	for _, rw := range r.rows() {
		fmt.Printf("%-38s %6d %9s %9s %9s %9s %9s\n", rw.name, len(rw.d), ms(rw.d.mean()), ms(rw.d.p(50)), ms(rw.d.p(90)), ms(rw.d.p(99)), ms(rw.d.p(100)))
	}
	fmt.Printf("process CPU %.2fs over %.1fs (%.0f%% of %d cores); machine: %s\n", r.cpu.Seconds(), r.wall.Seconds(),
		100*r.cpu.Seconds()/(float64(ncpu)*r.wall.Seconds()), ncpu, r.sys)
}

// tracker holds the entries in flight and wakes a checker per node on every commit there.
type tracker struct {
	mu      sync.Mutex
	entries map[string]*pending
	kicks   map[string]chan struct{}
	res     *latencyResult
}

func (t *tracker) kick(team string) {
	select {
	case t.kicks[team] <- struct{}{}:
	default:
	}
}

func (t *tracker) add(id, origin string, returned time.Time) {
	p := &pending{origin: origin, returned: returned, waiting: map[string]bool{}, seen: map[string]time.Duration{}}
	for _, o := range teams {
		// The author's own copy counts too when it waits for the coordinator's position.
		if o != origin || origin != "cn" {
			p.waiting[o] = true
		}
	}
	t.mu.Lock()
	t.entries[id] = p
	t.mu.Unlock()
	// A commit may have come before we knew the id: look once now.
	for o := range p.waiting {
		t.kick(o)
	}
}

// check looks at one node for the entries still waiting for it.
func (t *tracker) check(ctx context.Context, nd *testnet.Node) {
	t.mu.Lock()
	var ids []string
	for id, p := range t.entries {
		if p.waiting[nd.Team] {
			ids = append(ids, id)
		}
	}
	t.mu.Unlock()
	for _, id := range ids {
		e, err := nd.App.Store.GetEntry(ctx, id)
		if err != nil || e.Position <= 0 {
			continue
		}
		now := time.Now()
		t.mu.Lock()
		p := t.entries[id]
		d := max(now.Sub(p.returned), 0)
		delete(p.waiting, nd.Team)
		p.seen[nd.Team] = d
		if len(p.waiting) == 0 {
			t.done(id, p)
		}
		t.mu.Unlock()
	}
}

// done files a fully seen entry's latencies; t.mu is held.
func (t *tracker) done(id string, p *pending) {
	class := "participant"
	if p.origin == "cn" {
		class = "coordinator"
	}
	var worst time.Duration
	for to, d := range p.seen {
		t.res.hop[p.origin+"→"+to] = append(t.res.hop[p.origin+"→"+to], d)
		if to != p.origin {
			worst = max(worst, d)
		}
	}
	t.res.allOther[class] = append(t.res.allOther[class], worst)
	delete(t.entries, id)
}

func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// latency writes entries at a steady rate at cn, jp and kr in turn and times how long
// each takes to be sequenced at every other node.
func latency(ctx context.Context, o options, dir string) (latencyResult, error) {
	res := latencyResult{rate: o.rate, duration: o.duration, writeCall: map[string]durations{},
		allOther: map[string]durations{}, hop: map[string]durations{}}
	n, id, err := startNet(ctx, o, dir)
	if err != nil {
		return res, err
	}
	defer n.Close()

	tr := &tracker{entries: map[string]*pending{}, kicks: map[string]chan struct{}{}, res: &res}
	cctx, cancelCheckers := context.WithCancel(ctx)
	defer cancelCheckers()
	var checkers sync.WaitGroup
	for _, tm := range teams {
		tr.kicks[tm] = make(chan struct{}, 1)
	}
	for _, tm := range teams {
		nd := n.Node(tm)
		nd.App.Incidents.OnChange(func(string) { tr.kick(tm) })
		checkers.Add(1)
		go func() {
			defer checkers.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-cctx.Done():
					return
				case <-tr.kicks[tm]:
				case <-tick.C:
				}
				tr.check(cctx, nd)
			}
		}()
	}

	total := int(o.rate * o.duration.Seconds())
	interval := time.Duration(float64(time.Second) / o.rate)
	sem := make(chan struct{}, o.inflight)
	var wmu sync.Mutex
	var writes sync.WaitGroup
	cpu0, sys0 := cpuTime(), readSysCPU()
	start := time.Now()
	// Writes are scheduled open-loop at start+i*interval, so a slow write does not slow
	// the rate down (nor hide its own latency).
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			res.skipped++
			continue
		}
		origin := teams[i%len(teams)]
		nd := n.Node(origin)
		writes.Add(1)
		go func() {
			defer writes.Done()
			defer func() { <-sem }()
			t := time.Now()
			e, err := nd.App.Incidents.AddEntry(ctx, actor, id, newEntry(i, o.body))
			returned := time.Now()
			class := "participant"
			if origin == "cn" {
				class = "coordinator"
			}
			wmu.Lock()
			defer wmu.Unlock()
			if err != nil {
				res.failed++
				return
			}
			res.written++
			res.writeCall[class] = append(res.writeCall[class], returned.Sub(t))
			tr.add(e.ID, origin, returned)
		}()
	}
	writes.Wait()
	deadline := time.Now().Add(min(o.timeout, 10*time.Second))
	for tr.outstanding() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	res.wall = time.Since(start)
	res.cpu = cpuTime() - cpu0
	res.sys = readSysCPU().since(sys0, res.cpu)
	cancelCheckers()
	checkers.Wait()
	res.unseen = tr.outstanding()
	return res, nil
}
