package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"csirtlink/bench/internal/cpuprof"
	"csirtlink/internal/client"
	"csirtlink/internal/testnet"
)

// result is one throughput phase.
type result struct {
	phase      string
	n, conc    int
	writeDur   time.Duration            // first write to last write's return
	propDur    map[string]time.Duration // first write until the peer held all n
	atWriteEnd map[string]int64         // entries a peer held when the last write returned
	commits    map[string]int           // distinct states the peer was seen in: about its batches
	writeLat   durations
	cpu        time.Duration
	profile    string
	groups     cpuprof.Summary
	sys        sysCPU
	complete   bool
	failed     int    // writes that returned an error
	firstErr   string // the first of them
	// cnCommits and cnWrites are the commits cn's store made through its commit queue
	// during the writes, and the transactions they held (group commit; SQLite only).
	cnCommits, cnWrites int64
}

func (r result) writeRate() float64 { return float64(r.n-r.failed) / r.writeDur.Seconds() }

func (r result) slowest() time.Duration {
	var d time.Duration
	for _, v := range r.propDur {
		d = max(d, v)
	}
	return d
}

func (r result) propRate() float64 {
	if !r.complete {
		return 0
	}
	return float64(r.n-r.failed) / r.slowest().Seconds()
}

func (r result) print() {
	fmt.Printf("\n== throughput, %s: %d entries at cn, %d concurrent ==\n", r.phase, r.n, r.conc)
	fmt.Printf("written at cn:   %8.3fs  %6.0f entries/s  (write call p50 %s, p90 %s, p99 %s, max %s)\n", r.writeDur.Seconds(), r.writeRate(),
		ms(r.writeLat.p(50)), ms(r.writeLat.p(90)), ms(r.writeLat.p(99)), ms(r.writeLat.p(100)))
	if r.cnCommits > 0 {
		fmt.Printf("cn's commits:    %d for %d transactions while writing (group commit: %.1f each)\n", r.cnCommits, r.cnWrites,
			float64(r.cnWrites)/float64(r.cnCommits))
	}
	if r.failed > 0 {
		fmt.Printf("FAILED WRITES:   %d of %d; first: %s\n", r.failed, r.n, r.firstErr)
	}
	for _, t := range []string{"jp", "kr"} {
		d, ok := r.propDur[t]
		if !ok {
			fmt.Printf("held by %s:      incomplete after the timeout\n", t)
			continue
		}
		good := r.n - r.failed
		fmt.Printf("held by %s:      %8.3fs  %6.0f entries/s  (%d of %d there when writing ended; ~%d commits seen, ~%.0f entries each)\n",
			t, d.Seconds(), float64(good)/d.Seconds(), r.atWriteEnd[t], good, r.commits[t], float64(good)/float64(max(r.commits[t], 1)))
	}
	wall := r.slowest()
	fmt.Printf("process CPU:     %8.3fs  = %.0f%% of %d cores over %.3fs; %s per entry\n", r.cpu.Seconds(),
		100*r.cpu.Seconds()/(float64(ncpu)*wall.Seconds()), ncpu, wall.Seconds(), us(r.cpu/time.Duration(r.n)))
	fmt.Printf("machine:         %s\n", r.sys)
	if r.profile != "" {
		fmt.Printf("CPU profile:     %s\n", r.profile)
		r.groups.Print()
	}
}

// watch follows how many positions of an incident a node holds, waking on every commit
// through OnChange (with a slow tick as a safety net), until ctx ends.
type watch struct {
	mu  sync.Mutex
	obs []observation // each change of the count, in order
}

type observation struct {
	held int64
	at   time.Time
}

func startWatch(ctx context.Context, nd *testnet.Node, id string) *watch {
	w := &watch{}
	kick := make(chan struct{}, 1)
	nd.App.Incidents.OnChange(func(string) {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			case <-t.C:
			}
			in, err := nd.App.Store.GetIncident(ctx, id)
			if err != nil {
				continue
			}
			now := time.Now()
			w.mu.Lock()
			if len(w.obs) == 0 || in.LastPosition != w.obs[len(w.obs)-1].held {
				w.obs = append(w.obs, observation{in.LastPosition, now})
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// held is the last count seen.
func (w *watch) held() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.obs) == 0 {
		return 0
	}
	return w.obs[len(w.obs)-1].held
}

// reached is when the count first reached target, and how many increases above base
// it took to get there (about the number of commits, each applying one batch).
func (w *watch) reached(base, target int64) (time.Time, int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	steps := 0
	for _, o := range w.obs {
		if o.held > base {
			steps++
		}
		if o.held >= target {
			return o.at, steps, true
		}
	}
	return time.Time{}, steps, false
}

// throughput writes o.n entries at cn as fast as it can, directly or over HTTP, and
// times their arrival at jp and kr.
func throughput(ctx context.Context, o options, phase, dir string) (result, error) {
	n, id, err := startNet(ctx, o, dir)
	if err != nil {
		return result{}, err
	}
	defer n.Close()
	cn := n.Node("cn")
	in, err := cn.App.Store.GetIncident(ctx, id)
	if err != nil {
		return result{}, err
	}
	base := in.LastPosition

	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watches := map[string]*watch{}
	for _, t := range []string{"jp", "kr"} {
		watches[t] = startWatch(wctx, n.Node(t), id)
	}

	conc := o.writers
	write := func(_ int, i int) error {
		_, err := cn.App.Incidents.AddEntry(ctx, actor, id, newEntry(i, o.body))
		return err
	}
	if phase == "http" {
		conc = o.clients
		clients := make([]*client.Client, conc)
		for i := range clients {
			clients[i] = client.New(cn.URL, cn.Token)
		}
		write = func(w int, i int) error {
			_, err := clients[w].AddEntry(ctx, id, newEntry(i, o.body))
			return err
		}
	}

	r := result{phase: phase, n: o.n, conc: conc, propDur: map[string]time.Duration{}, atWriteEnd: map[string]int64{}, commits: map[string]int{}}
	var prof *os.File
	if o.profile {
		r.profile = filepath.Join(o.out, "throughput-"+phase+".cpu.pprof")
		if prof, err = os.Create(r.profile); err != nil {
			return r, err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			prof.Close()
			return r, err
		}
	}
	stopProfile := func() {
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			prof = nil
		}
	}
	defer stopProfile()

	cs := cn.App.Store
	commits0, writes0 := cs.CommitStats()
	cpu0, sys0 := cpuTime(), readSysCPU()
	start := time.Now()
	var next atomic.Int64
	lats := make([]durations, conc)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > o.n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := write(w, i); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("write %d: %v", i, err))
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	r.writeDur = time.Since(start)
	c, w := cs.CommitStats()
	r.cnCommits, r.cnWrites = c-commits0, w-writes0
	r.failed = int(failed.Load())
	if e, ok := firstErr.Load().(string); ok {
		r.firstErr = e
	}
	written := int64(o.n - r.failed)
	target := base + written
	for _, l := range lats {
		r.writeLat = append(r.writeLat, l...)
	}
	for t, w := range watches {
		r.atWriteEnd[t] = w.held() - base
	}

	deadline := time.Now().Add(o.timeout)
	r.complete = true
	for _, t := range []string{"jp", "kr"} {
		for watches[t].held() < target && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		at, commits, ok := watches[t].reached(base, target)
		if !ok {
			r.complete = false
			continue
		}
		r.propDur[t], r.commits[t] = at.Sub(start), commits
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	r.cpu = cpuTime() - cpu0
	r.sys = readSysCPU().since(sys0, r.cpu)
	stopProfile()
	if r.profile != "" {
		if r.groups, err = groupProfile(r.profile); err != nil {
			fmt.Fprintln(os.Stderr, "propagation: summarising the profile:", err)
		}
	}
	return r, nil
}
