package metrics

import (
	"math"
	"slices"
	"sort"
)

// PercentileMethod says how every percentile here is computed, in the words each
// figure carries.
const PercentileMethod = "nearest rank: the p-th percentile of n sorted values is the ceil(p/100 × n)-th; max is the largest; no interpolation, no means"

// Figure is one response time over a set of records: how many, the median, the 95th
// percentile and the slowest, in seconds (null when n is 0). Method says what was
// measured from what, Evidence what the times rest on, Records which records they
// came from; Excluded counts records left out, by why.
type Figure struct {
	N        int            `json:"n"`
	P50      *float64       `json:"p50_seconds"`
	P95      *float64       `json:"p95_seconds"`
	Max      *float64       `json:"max_seconds"`
	Method   string         `json:"method"`
	Evidence string         `json:"evidence"`
	Records  []string       `json:"records"`
	Excluded map[string]int `json:"excluded,omitempty"`
}

// Share is the part of a set of records that met a threshold.
type Share struct {
	N                int      `json:"n"`
	Within           int      `json:"within"`
	Share            *float64 `json:"share"`
	ThresholdSeconds int      `json:"threshold_seconds"`
	Method           string   `json:"method"`
}

// sample is one measured time, keyed by the record it came from (a page id and team,
// an incident id) so that pooling directions never counts one record twice.
type sample struct {
	key    string
	record string
	secs   float64
}

// acc gathers the samples of one figure.
type acc struct {
	samples  []sample
	excluded map[string]int
}

func (a *acc) add(key, record string, secs float64) {
	a.samples = append(a.samples, sample{key, record, max(secs, 0)})
}

func (a *acc) exclude(why string) {
	if a.excluded == nil {
		a.excluded = map[string]int{}
	}
	a.excluded[why]++
}

// merge pools accumulators, each record once.
func merge(as ...*acc) *acc {
	out := &acc{}
	seen := map[string]bool{}
	for _, a := range as {
		for _, s := range a.samples {
			if !seen[s.key] {
				seen[s.key] = true
				out.samples = append(out.samples, s)
			}
		}
		for k, v := range a.excluded {
			if out.excluded == nil {
				out.excluded = map[string]int{}
			}
			out.excluded[k] += v
		}
	}
	return out
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// round keeps milliseconds: times are stamped in microseconds, and no one reads more.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

func ptr(v float64) *float64 { return &v }

// figure makes the Figure of an accumulator.
func (a *acc) figure(method, evidence string) Figure {
	f := Figure{N: len(a.samples), Method: method + "; " + PercentileMethod, Evidence: evidence, Records: []string{}, Excluded: a.excluded}
	if f.N == 0 {
		return f
	}
	vs := make([]float64, len(a.samples))
	recs := map[string]bool{}
	for i, s := range a.samples {
		vs[i] = s.secs
		recs[s.record] = true
	}
	slices.Sort(vs)
	f.P50, f.P95, f.Max = ptr(round(percentile(vs, 50))), ptr(round(percentile(vs, 95))), ptr(round(vs[len(vs)-1]))
	for r := range recs {
		f.Records = append(f.Records, r)
	}
	sort.Strings(f.Records)
	return f
}

// share is the part of n records whose sample in a is at most threshold seconds.
func (a *acc) share(n, threshold int, method string) Share {
	sh := Share{N: n, ThresholdSeconds: threshold, Method: method}
	for _, s := range a.samples {
		if s.secs <= float64(threshold) {
			sh.Within++
		}
	}
	if n > 0 {
		sh.Share = ptr(math.Round(float64(sh.Within)/float64(n)*10000) / 10000)
	}
	return sh
}
