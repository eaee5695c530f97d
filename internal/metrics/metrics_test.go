package metrics

import (
	"strings"
	"testing"
	"time"

	"csirtlink/internal/wire"
)

func TestParsePeriod(t *testing.T) {
	for s, want := range map[string][2]string{
		"2026":     {"2026-01-01", "2027-01-01"},
		"2026Q3":   {"2026-07-01", "2026-10-01"},
		"2026-12":  {"2026-12-01", "2027-01-01"},
		"2026-W01": {"2025-12-29", "2026-01-05"}, // ISO: the week with the year's first Thursday
		"2026-W53": {"2026-12-28", "2027-01-04"},
		"2021-W01": {"2021-01-04", "2021-01-11"},
	} {
		p, err := ParsePeriod(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got := [2]string{p.From.Format("2006-01-02"), p.To.Format("2006-01-02")}; got != want {
			t.Errorf("%s: %v, want %v", s, got, want)
		}
	}
	for _, bad := range []string{"", "26", "1999", "2200", "2026Q0", "2026Q5", "2026-00", "2026-13", "2026-W00", "2025-W53",
		"2026-W54", "2026-1", " 2026", "2026\n", "２０２６", strings.Repeat("2", 40)} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	// Hand-computed: for 1..10, p50 is the 5th, p95 the ceil(9.5) = 10th.
	vs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if percentile(vs, 50) != 5 || percentile(vs, 95) != 10 {
		t.Errorf("p50 %v p95 %v", percentile(vs, 50), percentile(vs, 95))
	}
	// For 20 values p95 is the 19th, not the max.
	vs = nil
	for i := 1; i <= 20; i++ {
		vs = append(vs, float64(i*10))
	}
	if percentile(vs, 95) != 190 || percentile(vs, 50) != 100 {
		t.Errorf("20 values: p50 %v p95 %v", percentile(vs, 50), percentile(vs, 95))
	}
	if percentile([]float64{7}, 50) != 7 || percentile([]float64{7}, 95) != 7 {
		t.Error("one value")
	}
}

// goodAggregate is a valid aggregate of jp for 2026Q3.
func goodAggregate() wire.MetricsAggregate {
	return wire.MetricsAggregate{Version: 1, Team: "jp", Period: "2026Q3", At: time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC),
		Own: wire.AggregateOwn{IncidentsCoordinated: 3, CrossBorderCoordinated: 2,
			ByCategory: []wire.AggregateCount{{Key: "fraud/phishing", N: 2}}},
		Directions: []wire.AggregatePairDir{{From: "jp", To: "kr",
			Hotline: wire.AggregateHotline{Pages: 3, Acknowledged: wire.AggregateFigure{N: 2, P50: 60, P95: 600, Max: 600}, AckWithin15m: 2, AckWithin1h: 2},
			Incidents: wire.AggregateIncidents{CrossBorder: 1, ByCategory: []wire.AggregateCount{{Key: "fraud/phishing", N: 1}},
				BySeverity: []wire.AggregateCount{{Key: "high", N: 1}}, Acknowledged: wire.AggregateFigure{N: 1, P50: 10, P95: 10, Max: 10}}}}}
}

func TestValidateAggregate(t *testing.T) {
	now := time.Date(2026, 10, 2, 1, 0, 0, 0, time.UTC)
	if err := ValidateAggregate(goodAggregate(), "jp", now); err != nil {
		t.Fatalf("a good aggregate: %v", err)
	}
	bad := map[string]func(a *wire.MetricsAggregate){
		"another team's":             func(a *wire.MetricsAggregate) { a.Team = "kr" },
		"a week":                     func(a *wire.MetricsAggregate) { a.Period = "2026-W40" },
		"a bad period":               func(a *wire.MetricsAggregate) { a.Period = "Q3" },
		"dated in the future":        func(a *wire.MetricsAggregate) { a.At = now.Add(time.Hour) },
		"made before its period":     func(a *wire.MetricsAggregate) { a.Period = "2026-11" },
		"a pair without the sender":  func(a *wire.MetricsAggregate) { a.Directions[0].From = "cn" },
		"a pair of one team":         func(a *wire.MetricsAggregate) { a.Directions[0].To = "jp" },
		"a bad team id":              func(a *wire.MetricsAggregate) { a.Directions[0].To = "K R" },
		"a pair twice":               func(a *wire.MetricsAggregate) { a.Directions = append(a.Directions, a.Directions[0]) },
		"more answers than pages":    func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.Acknowledged.N = 4 },
		"percentiles out of order":   func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.Acknowledged.P50 = 700 },
		"a negative time":            func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.Acknowledged.P50 = -1 },
		"times without records":      func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.Delivered.Max = 5 },
		"a time of a century":        func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.Acknowledged.Max = 3e9 },
		"more within 15m than 1h":    func(a *wire.MetricsAggregate) { a.Directions[0].Hotline.AckWithin1h = 1 },
		"an unknown category":        func(a *wire.MetricsAggregate) { a.Directions[0].Incidents.ByCategory[0].Key = "free text here" },
		"categories not adding up":   func(a *wire.MetricsAggregate) { a.Directions[0].Incidents.ByCategory[0].N = 2 },
		"an unknown severity":        func(a *wire.MetricsAggregate) { a.Directions[0].Incidents.BySeverity[0].Key = "urgent" },
		"own categories not adding":  func(a *wire.MetricsAggregate) { a.Own.ByCategory[0].N = 1 },
		"more cross-border than all": func(a *wire.MetricsAggregate) { a.Own.CrossBorderCoordinated = 4 },
		"a negative count":           func(a *wire.MetricsAggregate) { a.Directions[0].CommChecks.Checks = -1 },
		"answered more than checked": func(a *wire.MetricsAggregate) { a.Directions[0].CommChecks.Answered = 1 },
	}
	for name, f := range bad {
		a := goodAggregate()
		a.Directions[0].Incidents.ByCategory = append([]wire.AggregateCount{}, a.Directions[0].Incidents.ByCategory...)
		f(&a)
		if err := ValidateAggregate(a, "jp", now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026", "2026Q3", "2026-12", "2026-W07", "2026-W53", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if p.Name != s || !p.From.Before(p.To) || p.To.Sub(p.From) > 367*24*time.Hour {
			t.Fatalf("%q: %+v", s, p)
		}
		again, err := ParsePeriod(p.Name)
		if err != nil || again != p {
			t.Fatalf("%q does not parse to itself: %+v %v", s, again, err)
		}
	})
}

// What a peer may send: any payload the decoder takes is validated without a panic,
// and a valid one stays valid through encoding.
func FuzzValidateAggregate(f *testing.F) {
	b, _ := wire.EncodeMetricsAggregate(goodAggregate())
	f.Add(b)
	f.Add([]byte(`{"v":1,"team":"jp","period":"2026","at":"2026-10-02T00:00:00Z","own":{"incidents_coordinated":0,"cross_border_coordinated":0,"by_category":[]},"directions":[]}`))
	now := time.Date(2026, 10, 2, 1, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := wire.DecodeMetricsAggregate(b)
		if err != nil {
			return
		}
		if ValidateAggregate(a, "jp", now) != nil {
			return
		}
		again, err := wire.EncodeMetricsAggregate(a)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := wire.DecodeMetricsAggregate(again)
		if err != nil || ValidateAggregate(a2, "jp", now) != nil {
			t.Fatalf("valid %q became invalid: %v", b, err)
		}
	})
}
