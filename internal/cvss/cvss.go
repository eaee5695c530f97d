// Package cvss parses and checks CVSS vectors from outside (a person, a peer's case)
// and scores CVSS 3.1 base vectors, so that a case's scores are computed here rather
// than trusted.
//
// CVSS 4.0 vectors are parsed and checked (every base metric once, in the
// specification's order, with its allowed values) and scored from the specification's
// table of macro-vectors (v4.go).
package cvss

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// MaxVector bounds a vector string; the longest valid 4.0 vector with every optional
// metric is under 300 bytes.
const MaxVector = 512

// metric is one metric of a version: its key and allowed values.
type metric struct {
	key    string
	values string // one letter per allowed value
	base   bool   // required in a base vector
}

var v31 = []metric{
	{"AV", "NALP", true}, {"AC", "LH", true}, {"PR", "NLH", true}, {"UI", "NR", true},
	{"S", "UC", true}, {"C", "HLN", true}, {"I", "HLN", true}, {"A", "HLN", true},
	{"E", "XUPFH", false}, {"RL", "XOTWU", false}, {"RC", "XURC", false},
	{"CR", "XLMH", false}, {"IR", "XLMH", false}, {"AR", "XLMH", false},
	{"MAV", "XNALP", false}, {"MAC", "XLH", false}, {"MPR", "XNLH", false}, {"MUI", "XNR", false},
	{"MS", "XUC", false}, {"MC", "XNLH", false}, {"MI", "XNLH", false}, {"MA", "XNLH", false},
}

var v40 = []metric{
	{"AV", "NALP", true}, {"AC", "LH", true}, {"AT", "NP", true}, {"PR", "NLH", true}, {"UI", "NPA", true},
	{"VC", "HLN", true}, {"VI", "HLN", true}, {"VA", "HLN", true}, {"SC", "HLN", true}, {"SI", "HLN", true}, {"SA", "HLN", true},
	{"E", "XAPU", false},
	{"CR", "XHML", false}, {"IR", "XHML", false}, {"AR", "XHML", false},
	{"MAV", "XNALP", false}, {"MAC", "XLH", false}, {"MAT", "XNP", false}, {"MPR", "XNLH", false}, {"MUI", "XNPA", false},
	{"MVC", "XHLN", false}, {"MVI", "XHLN", false}, {"MVA", "XHLN", false},
	{"MSC", "XHLN", false}, {"MSI", "XSHLN", false}, {"MSA", "XSHLN", false},
	{"S", "XNP", false}, {"AU", "XNY", false}, {"R", "XAUI", false}, {"V", "XDC", false},
	{"RE", "XLMH", false}, {"U", "XClearGreenAmberRed", false},
}

// Vector is a parsed vector: its version ("3.1" or "4.0") and metric values by key.
type Vector struct {
	Version string
	Metrics map[string]string
}

// Parse reads a CVSS 3.1 ("CVSS:3.1/…") or 4.0 ("CVSS:4.0/…") vector. Metrics must
// appear in the specification's order, each at most once, with every base metric.
func Parse(s string) (Vector, error) {
	if len(s) > MaxVector {
		return Vector{}, fmt.Errorf("longer than %d bytes", MaxVector)
	}
	prefix, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Vector{}, errors.New(`not a vector: want "CVSS:3.1/…" or "CVSS:4.0/…"`)
	}
	var ms []metric
	v := Vector{Metrics: map[string]string{}}
	switch prefix {
	case "CVSS:3.1":
		ms, v.Version = v31, "3.1"
	case "CVSS:4.0":
		ms, v.Version = v40, "4.0"
	default:
		return Vector{}, fmt.Errorf("version %q: want CVSS:3.1 or CVSS:4.0", prefix)
	}
	next := 0
	for _, part := range strings.Split(rest, "/") {
		key, val, ok := strings.Cut(part, ":")
		if !ok || key == "" || val == "" {
			return Vector{}, fmt.Errorf("metric %q: want KEY:VALUE", part)
		}
		i := next
		for i < len(ms) && ms[i].key != key {
			i++
		}
		if i == len(ms) {
			if _, seen := v.Metrics[key]; seen {
				return Vector{}, fmt.Errorf("metric %s: given twice", key)
			}
			return Vector{}, fmt.Errorf("metric %s: unknown in CVSS %s, or out of order", key, v.Version)
		}
		for _, m := range ms[next:i] {
			if m.base {
				return Vector{}, fmt.Errorf("metric %s: missing (base metrics are required, in order)", m.key)
			}
		}
		if !allowed(ms[i], val) {
			return Vector{}, fmt.Errorf("metric %s: value %q not allowed", key, val)
		}
		v.Metrics[key] = val
		next = i + 1
	}
	for _, m := range ms[next:] {
		if m.base {
			return Vector{}, fmt.Errorf("metric %s: missing (base metrics are required, in order)", m.key)
		}
	}
	return v, nil
}

func allowed(m metric, val string) bool {
	if m.key == "U" { // 4.0 provider urgency has words, not letters
		return val == "X" || val == "Clear" || val == "Green" || val == "Amber" || val == "Red"
	}
	return len(val) == 1 && strings.Contains(m.values, val)
}

// BaseScore is the CVSS 3.1 base score (specification section 7.1), and its severity
// word as CSAF and NVD write it (NONE, LOW, MEDIUM, HIGH, CRITICAL). Only 3.1 vectors
// are scored.
func (v Vector) BaseScore() (float64, string, error) {
	if v.Version != "3.1" {
		return 0, "", fmt.Errorf("CVSS %s vectors are not scored here", v.Version)
	}
	m := v.Metrics
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
	ac := map[string]float64{"L": 0.77, "H": 0.44}[m["AC"]]
	ui := map[string]float64{"N": 0.85, "R": 0.62}[m["UI"]]
	changed := m["S"] == "C"
	pr := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}[m["PR"]]
	if changed {
		pr = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}[m["PR"]]
	}
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	iss := 1 - (1-cia[m["C"]])*(1-cia[m["I"]])*(1-cia[m["A"]])
	impact := 6.42 * iss
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	exploitability := 8.22 * av * ac * pr * ui
	var score float64
	switch {
	case impact <= 0:
		score = 0
	case changed:
		score = roundup(math.Min(1.08*(impact+exploitability), 10))
	default:
		score = roundup(math.Min(impact+exploitability, 10))
	}
	return score, Severity(score), nil
}

// roundup is the specification's Roundup (Appendix A): the smallest number with one
// decimal that is equal to or higher than its input, computed on integers so that
// floating-point error cannot push 4.0 to 4.1.
func roundup(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// Score is the vector's score by its version: the 3.1 base score or the 4.0 score.
func (v Vector) Score() (float64, string, error) {
	if v.Version == "4.0" {
		return v.Score40()
	}
	return v.BaseScore()
}

// Severity is the qualitative rating of a score (specification section 5).
func Severity(score float64) string {
	switch {
	case score == 0:
		return "NONE"
	case score < 4:
		return "LOW"
	case score < 7:
		return "MEDIUM"
	case score < 9:
		return "HIGH"
	}
	return "CRITICAL"
}
