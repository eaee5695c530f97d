package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// group is a share of a CPU profile.
type group struct {
	name string
	d    time.Duration
	pct  float64
}

// class names a share of the profile: a sample belongs to the first class (in order)
// any frame of its stack matches by prefix.
type class struct {
	name     string
	prefixes []string
}

// kinds sort samples by what kind of work they are: SQLite work under an HTTP handler
// counts as SQLite, a signature made while encoding counts as signing, and so on.
var kinds = []class{
	{"signing/verification (ed25519)", []string{"crypto/ed25519", "crypto/internal/fips140/ed25519", "crypto/internal/fips140/edwards25519"}},
	{"hashing (sha256)", []string{"crypto/sha256", "crypto/internal/fips140/sha256"}},
	{"SQLite (modernc, database/sql)", []string{"modernc.org/", "database/sql"}},
	{"JSON and base64", []string{"encoding/json", "encoding/base64"}},
	{"HTTP and net", []string{"net/http", "net.", "internal/poll", "bufio", "crypto/tls", "vendor/golang.org/x/net"}},
	{"GC and allocation", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.mallocgc", "runtime.gcAssist"}},
	{"scheduler and other runtime", []string{"runtime.", "internal/runtime"}},
}

// stages sort the same samples by which part of the pipeline did the work.
var stages = []class{
	{"peers: receive and apply (inbox handler)", []string{"csirtlink/internal/federation.(*Federation).handleInbox"}},
	{"cn: write (service call or API handler)", []string{"csirtlink/internal/incident.(*Service).AddEntry", "csirtlink/internal/api."}},
	{"cn: deliver (outbox, push, receipts)", []string{"csirtlink/internal/federation.(*Federation).runSender"}},
	{"bench's API client", []string{"csirtlink/internal/client."}},
	{"bench's watchers", []string{"main."}},
	{"other HTTP server/transport work", []string{"net/http", "internal/poll", "net."}},
	{"GC and runtime", []string{"runtime.", "internal/runtime"}},
}

const other = "other"

// profileSummary is a CPU profile added up two ways.
type profileSummary struct {
	kinds, stages []group
}

// groupProfile reads a CPU profile with `go tool pprof -traces` and adds up its samples
// by kind of work and by pipeline stage.
func groupProfile(path string) (profileSummary, error) {
	out, err := exec.Command("go", "tool", "pprof", "-traces", path).Output()
	if err != nil {
		return profileSummary{}, fmt.Errorf("go tool pprof -traces %s: %w", path, err)
	}
	byKind, byStage := map[string]time.Duration{}, map[string]time.Duration{}
	var value time.Duration
	var stack []string
	flush := func() {
		if value > 0 {
			byKind[classify(kinds, stack)] += value
			byStage[classify(stages, stack)] += value
		}
		value, stack = 0, stack[:0]
	}
	// Each sample is a block: "-----------+---…", then "  <value>   <leaf function>",
	// then one caller per line.
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		if !strings.HasPrefix(line, " ") {
			continue // the header: File, Type, Time, Duration
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(stack) == 0 && len(fields) >= 2 {
			if d, err := time.ParseDuration(fields[0]); err == nil {
				value = d
				stack = append(stack, fields[1])
				continue
			}
		}
		stack = append(stack, fields[0])
	}
	flush()
	if err := sc.Err(); err != nil {
		return profileSummary{}, err
	}
	return profileSummary{kinds: shares(kinds, byKind), stages: shares(stages, byStage)}, nil
}

func classify(cs []class, stack []string) string {
	for _, c := range cs {
		for _, f := range stack {
			for _, p := range c.prefixes {
				if strings.HasPrefix(f, p) {
					return c.name
				}
			}
		}
	}
	return other
}

func shares(cs []class, totals map[string]time.Duration) []group {
	var all time.Duration
	for _, d := range totals {
		all += d
	}
	var gs []group
	for _, c := range append(cs, class{name: other}) {
		if d := totals[c.name]; d > 0 {
			gs = append(gs, group{name: c.name, d: d, pct: 100 * float64(d) / float64(all)})
		}
	}
	return gs
}

func (p profileSummary) print() {
	for _, s := range []struct {
		title string
		gs    []group
	}{{"by kind of work", p.kinds}, {"by stage", p.stages}} {
		var all time.Duration
		for _, g := range s.gs {
			all += g.d
		}
		fmt.Printf("  CPU %s (%.2fs sampled):\n", s.title, all.Seconds())
		for _, g := range s.gs {
			fmt.Printf("    %-42s %7.2fs %5.1f%%\n", g.name, g.d.Seconds(), g.pct)
		}
	}
}
