package feed

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// sliceParser yields fixed events, a few per read, from a buffer it overwrites, as
// real parsers reuse their batch's text.
type sliceParser struct {
	evs  []Event
	off  int
	per  int
	text []byte
}

func (s *sliceParser) Read(b *Batch) error {
	b.Events = b.Events[:0]
	for s.off < len(s.evs) && len(b.Events) < s.per {
		ev := s.evs[s.off]
		// The raw row is cut from a reused buffer: an aggregator that kept it
		// without copying would read the next batch's text.
		s.text = append(s.text[:0], ev.Raw...)
		ev.Raw = string(s.text) // a copy here; the overwrite below checks clones anyway
		b.Events = append(b.Events, ev)
		s.off++
	}
	if s.off == len(s.evs) {
		return io.EOF
	}
	return nil
}
func (s *sliceParser) Stats() Stats   { return Stats{Events: int64(s.off)} }
func (s *sliceParser) Header() string { return "" }

func readAll(t *testing.T, p Parser) []Event {
	t.Helper()
	var out []Event
	b := NewBatch(3)
	for {
		err := p.Read(b)
		out = append(out, b.Events...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAggregateFoldsRepeatsWithinTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("192.0.2.7")
	ip6 := netip.MustParseAddr("2001:db8::7")
	ev := func(a netip.Addr, port uint16, report string, min int, raw string) Event {
		return Event{Time: t0.Add(time.Duration(min) * time.Minute), IP: a, Port: port, Report: report, Classification: "vulnerable/vulnerable-system", Raw: raw}
	}
	in := []Event{
		ev(ip, 23, "scan_telnet", 10, "second"),
		ev(ip, 23, "scan_telnet", 5, "first"), // earlier: its row is the one kept
		ev(ip, 2323, "scan_telnet", 6, "other port"),
		ev(ip6, 23, "scan_telnet", 7, "v6"),
		ev(ip, 23, "scan_telnet", 50, "third"),
		ev(ip, 23, "scan_ssh", 51, "other report"),
		{Time: t0, Domain: "example.jp", Report: "compromised_website", Raw: "no address"},
		ev(ip, 23, "scan_telnet", 5+61, "new window"), // 61 minutes after the first: a new group
		ev(ip6, 23, "scan_telnet", 200, "v6 later"),
	}
	a, err := Aggregate(&sliceParser{evs: in, per: 2}, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := readAll(t, a)
	byRaw := map[string]Event{}
	var total int64
	for _, e := range out {
		byRaw[e.Raw] = e
		total += e.Repeats()
	}
	if total != int64(len(in)) || len(out) != 7 || a.Merged() != 2 {
		t.Fatalf("%d events standing for %d (merged %d), want 7 for %d (merged 2): %+v", len(out), total, a.Merged(), len(in), out)
	}
	g := byRaw["first"]
	if g.Count != 3 || !g.Time.Equal(t0.Add(5*time.Minute)) || !g.LastSeen.Equal(t0.Add(50*time.Minute)) {
		t.Errorf("group: count %d, %v .. %v; want 3, 00:05 .. 00:50", g.Count, g.Time, g.LastSeen)
	}
	for _, raw := range []string{"other port", "v6", "other report", "no address", "new window", "v6 later"} {
		e, ok := byRaw[raw]
		if !ok || e.Count != 0 || !e.LastSeen.IsZero() {
			t.Errorf("%q: %+v (present %v); want a single event", raw, e, ok)
		}
	}
	if _, err := Aggregate(&sliceParser{}, 0, 0); err == nil {
		t.Error("a window of 0 was accepted")
	}
	if _, err := Aggregate(&sliceParser{}, 8*24*time.Hour, 0); err == nil {
		t.Error("a window over a week was accepted")
	}
}

// Whatever the order of the input and however few groups may stay open, every event is
// accounted for once, and no group spans more than the window.
func TestAggregateLosesNothing(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for _, maxGroups := range []int{1, 3, 1000} {
		var in []Event
		for range 5000 {
			in = append(in, Event{Time: t0.Add(time.Duration(r.IntN(600)) * time.Minute),
				IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(20))}), Port: uint16(r.IntN(3)), Report: "scan_telnet", Raw: "x"})
		}
		a, err := Aggregate(&sliceParser{evs: in, per: 7}, 30*time.Minute, maxGroups)
		if err != nil {
			t.Fatal(err)
		}
		out := readAll(t, a)
		var total int64
		for _, e := range out {
			total += e.Repeats()
			if e.Count > 1 && e.LastSeen.Sub(e.Time) > 30*time.Minute {
				t.Fatalf("group spans %v", e.LastSeen.Sub(e.Time))
			}
		}
		if total != int64(len(in)) || total != int64(len(out))+a.Merged() {
			t.Fatalf("maxGroups %d: %d events stand for %d, merged %d; input %d", maxGroups, len(out), total, a.Merged(), len(in))
		}
		if maxGroups == 1000 && len(out) >= len(in) {
			t.Errorf("nothing was aggregated: %d of %d", len(out), len(in))
		}
	}
}
