// Package cpuprof adds up a CPU profile by kind of work (signatures, SQLite, JSON, HTTP,
// runtime…) and by the stages of a benchmark's pipeline, so that every benchmark under
// bench/ says where its time goes in the same words.
package cpuprof

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Group is a share of a CPU profile.
type Group struct {
	Name string
	D    time.Duration
	Pct  float64
}

// Class names a share of the profile: a sample belongs to the first class (in order)
// any frame of its stack matches by prefix.
type Class struct {
	Name     string
	Prefixes []string
}

// Kinds sort samples by what kind of work they are: SQLite work under an HTTP handler
// counts as SQLite, a signature made while encoding counts as signing, and so on.
var Kinds = []Class{
	{"signing/verification (ed25519)", []string{"crypto/ed25519", "crypto/internal/fips140/ed25519", "crypto/internal/fips140/edwards25519"}},
	{"hashing (sha256)", []string{"crypto/sha256", "crypto/internal/fips140/sha256"}},
	{"compression (zstd)", []string{"github.com/klauspost/compress"}},
	{"SQLite (modernc, database/sql)", []string{"modernc.org/", "database/sql"}},
	{"JSON and base64", []string{"encoding/json", "encoding/base64"}},
	{"HTTP and net", []string{"net/http", "net.", "internal/poll", "bufio", "crypto/tls", "vendor/golang.org/x/net"}},
	{"GC and allocation", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.mallocgc", "runtime.gcAssist"}},
	{"scheduler and other runtime", []string{"runtime.", "internal/runtime"}},
}

const other = "other"

// Summary is a CPU profile added up two ways.
type Summary struct {
	Kinds, Stages []Group
}

// Read reads a CPU profile with `go tool pprof -traces` and adds up its samples by
// kinds and by stages.
func Read(path string, kinds, stages []Class) (Summary, error) {
	out, err := exec.Command("go", "tool", "pprof", "-traces", path).Output()
	if err != nil {
		return Summary{}, fmt.Errorf("go tool pprof -traces %s: %w", path, err)
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
		return Summary{}, err
	}
	return Summary{Kinds: shares(kinds, byKind), Stages: shares(stages, byStage)}, nil
}

func classify(cs []Class, stack []string) string {
	for _, c := range cs {
		for _, f := range stack {
			for _, p := range c.Prefixes {
				if strings.HasPrefix(f, p) {
					return c.Name
				}
			}
		}
	}
	return other
}

func shares(cs []Class, totals map[string]time.Duration) []Group {
	var all time.Duration
	for _, d := range totals {
		all += d
	}
	var gs []Group
	for _, c := range append(cs, Class{Name: other}) {
		if d := totals[c.Name]; d > 0 {
			gs = append(gs, Group{Name: c.Name, D: d, Pct: 100 * float64(d) / float64(all)})
		}
	}
	return gs
}

// Print writes both tables, indented.
func (p Summary) Print() {
	for _, s := range []struct {
		title string
		gs    []Group
	}{{"by kind of work", p.Kinds}, {"by stage", p.Stages}} {
		var all time.Duration
		for _, g := range s.gs {
			all += g.D
		}
		fmt.Printf("  CPU %s (%.2fs sampled):\n", s.title, all.Seconds())
		for _, g := range s.gs {
			fmt.Printf("    %-42s %7.2fs %5.1f%%\n", g.Name, g.D.Seconds(), g.Pct)
		}
	}
}
