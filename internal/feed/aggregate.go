package feed

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"csirtlink/internal/tlp"
)

// MaxAggregateWindow bounds an aggregation window: a week of a daily feed.
const MaxAggregateWindow = 7 * 24 * time.Hour

// DefaultAggregateGroups bounds the repeats held open at once (about 300 bytes each
// plus their text), so that aggregating keeps a run's memory flat: past it the
// oldest group is let go, and a later repeat of it starts a new one.
const DefaultAggregateGroups = 1 << 18

// aggKey is what makes two events repeats of one another: the same host, report
// type and port, and nothing that could route or label them differently (the
// feed's own AS number and domain, the class, the identifier, the TLP).
type aggKey struct {
	ip             netip.Addr
	port           uint16
	asn            uint32
	report         string
	classification string
	identifier     string
	domain         string
	tlp            tlp.Label
}

type aggGroup struct {
	ev   Event
	done bool // emitted: its place in the queue is stale
}

// Aggregator is a Parser that folds repeats of its input's events — the same source
// address, report type and port seen within Window of one another — into one event
// with a count (Event.Count) and its first and last time (Event.Time,
// Event.LastSeen). Events without an address pass through alone. It streams: a
// group is let go once the input's clock has passed its first time by the window,
// or when more than MaxGroups are open; the rest at the end.
type Aggregator struct {
	in        Parser
	window    time.Duration
	maxGroups int

	groups map[aggKey]*aggGroup
	queue  []*aggGroup // in the order the groups opened
	head   int
	open   int
	mark   time.Time // the latest event time read
	out    []Event
	batch  *Batch
	eof    error // the input's end (io.EOF) or failure, once read
	merged int64
}

// Aggregate wraps p. window must be positive and at most MaxAggregateWindow;
// maxGroups 0 means DefaultAggregateGroups.
func Aggregate(p Parser, window time.Duration, maxGroups int) (*Aggregator, error) {
	if window <= 0 || window > MaxAggregateWindow {
		return nil, fmt.Errorf("aggregate: window %s must be more than 0 and at most %s", window, MaxAggregateWindow)
	}
	if maxGroups <= 0 {
		maxGroups = DefaultAggregateGroups
	}
	return &Aggregator{in: p, window: window, maxGroups: maxGroups, groups: map[aggKey]*aggGroup{}, batch: NewBatch(DefaultBatchSize)}, nil
}

// Stats are the input's counts: every row read, before aggregation.
func (a *Aggregator) Stats() Stats { return a.in.Stats() }

// Header is the input's header.
func (a *Aggregator) Header() string { return a.in.Header() }

// Merged counts the events folded into an earlier one so far.
func (a *Aggregator) Merged() int64 { return a.merged }

// Format names the input's format, when it tells it.
func (a *Aggregator) Format() string {
	if n, ok := a.in.(interface{ Format() string }); ok {
		return n.Format()
	}
	return ""
}

// Read fills b with aggregated events.
func (a *Aggregator) Read(b *Batch) error {
	if cap(b.Events) == 0 {
		return ErrNoRoom
	}
	b.Events = b.Events[:0]
	for len(a.out) == 0 && a.eof == nil {
		err := a.in.Read(a.batch)
		for i := range a.batch.Events {
			a.add(&a.batch.Events[i])
		}
		a.expire()
		if err != nil {
			a.eof = err
			if errors.Is(err, io.EOF) {
				a.drain()
			}
		}
	}
	n := min(len(a.out), cap(b.Events))
	b.Events = append(b.Events, a.out[:n]...)
	a.out = a.out[n:]
	if len(a.out) == 0 {
		a.out = nil // let the emitted events' memory go
		if a.eof != nil {
			return a.eof
		}
	}
	return nil
}

func (a *Aggregator) add(ev *Event) {
	if ev.Time.After(a.mark) {
		a.mark = ev.Time
	}
	if !ev.IP.IsValid() {
		a.out = append(a.out, cloneEvent(ev))
		return
	}
	k := aggKey{ip: ev.IP, port: ev.Port, asn: ev.ASN, report: ev.Report, classification: ev.Classification,
		identifier: ev.Identifier, domain: ev.Domain, tlp: ev.TLP}
	if g := a.groups[k]; g != nil {
		first, last := g.ev.Time, g.ev.LastSeen
		if ev.Time.Before(first) {
			first = ev.Time
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
		if last.Sub(first) <= a.window {
			if ev.Time.Before(g.ev.Time) {
				// The earliest sighting's row is the one kept.
				count := g.ev.Count
				g.ev = cloneEvent(ev)
				g.ev.Count = count
			}
			g.ev.Time, g.ev.LastSeen = first, last
			g.ev.Count += ev.Repeats()
			a.merged++
			return
		}
		a.emit(g) // out of the window: the group closes, the event opens another
	}
	g := &aggGroup{ev: cloneEvent(ev)}
	g.ev.Count, g.ev.LastSeen = ev.Repeats(), ev.Time
	if !ev.LastSeen.IsZero() && ev.LastSeen.After(ev.Time) {
		g.ev.LastSeen = ev.LastSeen
	}
	a.groups[k] = g
	a.queue = append(a.queue, g)
	a.open++
	if a.open > a.maxGroups {
		a.emitOldest()
	}
}

// expire lets go the groups the input's clock has left behind. The queue is in the
// order the groups opened, which for a feed sorted by time is the order of their
// first sighting; an unsorted feed has its groups closed a little late or early,
// and a repeat after its group closed opens a new one: nothing is lost.
func (a *Aggregator) expire() {
	for a.head < len(a.queue) {
		g := a.queue[a.head]
		if !g.done {
			if !g.ev.Time.Add(a.window).Before(a.mark) {
				break
			}
			a.emit(g)
		}
		a.queue[a.head] = nil
		a.head++
	}
	a.compact()
}

func (a *Aggregator) emitOldest() {
	for a.head < len(a.queue) {
		g := a.queue[a.head]
		a.queue[a.head] = nil
		a.head++
		if !g.done {
			a.emit(g)
			return
		}
	}
}

func (a *Aggregator) emit(g *aggGroup) {
	g.done = true
	a.open--
	k := aggKey{ip: g.ev.IP, port: g.ev.Port, asn: g.ev.ASN, report: g.ev.Report, classification: g.ev.Classification,
		identifier: g.ev.Identifier, domain: g.ev.Domain, tlp: g.ev.TLP}
	if a.groups[k] == g {
		delete(a.groups, k)
	}
	ev := g.ev
	if ev.Count <= 1 {
		ev.Count, ev.LastSeen = 0, time.Time{} // a single event reads as one not aggregated
	}
	a.out = append(a.out, ev)
}

// compact drops the queue's emitted front once it is most of the queue.
func (a *Aggregator) compact() {
	if a.head > 1024 && a.head*2 > len(a.queue) {
		a.queue = append(a.queue[:0], a.queue[a.head:]...)
		a.head = 0
	}
}

func (a *Aggregator) drain() {
	for a.head < len(a.queue) {
		a.emitOldest()
	}
	a.queue, a.head = a.queue[:0], 0
}

// cloneEvent copies an event's text out of its batch's buffer, which is reused.
func cloneEvent(ev *Event) Event {
	c := *ev
	c.Country, c.Hostname, c.Domain, c.URL = strings.Clone(ev.Country), strings.Clone(ev.Hostname), strings.Clone(ev.Domain), strings.Clone(ev.URL)
	c.Protocol, c.Classification, c.Identifier = strings.Clone(ev.Protocol), strings.Clone(ev.Classification), strings.Clone(ev.Identifier)
	c.Report, c.Feed, c.Raw = strings.Clone(ev.Report), strings.Clone(ev.Feed), strings.Clone(ev.Raw)
	return c
}
