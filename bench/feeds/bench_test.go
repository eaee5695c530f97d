package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"csirtlink/internal/enrich"
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feed/pipeline"
)

// The go test benchmarks time each stage on the same generated report as the
// program, 200,000 rows held in memory; ns/event and allocs/event are per row.
const benchRows = 200_000

var benchReport = func() func() []byte {
	var data []byte
	return func() []byte {
		if data == nil {
			data, _ = io.ReadAll(newGenerator(newWorld(10000, 1), benchRows, 0.2, 1))
		}
		return data
	}
}()

func benchEnricher(b *testing.B) *enrich.Enricher {
	asn, country := mmdbPaths()
	e, err := enrich.Open(asn, country)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// perEvent reports wall and CPU time per event. The machine is shared: the
// CPU time the process spent is steadier than the wall clock.
func perEvent(b *testing.B, events int64, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(events), "cpu-ns/event")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkParse: the Shadowserver parser alone, one goroutine.
func BenchmarkParse(b *testing.B) {
	data := benchReport()
	reg := formats.Registry()
	batch := feed.NewBatch(feed.DefaultBatchSize)
	var events int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		p, err := reg.Open(bytes.NewReader(data), feed.Config{Report: "scan_telnet"})
		if err != nil {
			b.Fatal(err)
		}
		for p.Read(batch) == nil {
			events += int64(len(batch.Events))
		}
	}
	perEvent(b, events, cpu0)
}

// parsed returns the report's events, parsed once.
func parsed(b *testing.B) []feed.Event {
	p, err := formats.Registry().Open(bytes.NewReader(benchReport()), feed.Config{Report: "scan_telnet"})
	if err != nil {
		b.Fatal(err)
	}
	var evs []feed.Event
	for ev, err := range feed.All(p, 1024) {
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, *ev)
	}
	return evs
}

// BenchmarkEnrich: MMDB and RIR look-ups for the rows without asn and geo
// (the others cost a comparison), one goroutine.
func BenchmarkEnrich(b *testing.B) {
	evs := parsed(b)
	asn, country := mmdbPaths()
	e, err := enrich.Open(asn, country)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	work := make([]feed.Event, len(evs))
	var events int64
	var cpu time.Duration // the copying below is not counted
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(work, evs)
		b.StartTimer()
		cpu0 := cpuTime()
		l := e.NewLookup()
		for i := range work {
			l.Enrich(&work[i])
		}
		cpu += cpuTime() - cpu0
		events += int64(len(work))
	}
	perEvent(b, events, cpuTime()-cpu)
}

// BenchmarkRoute: routing among 10,000 owners and 3 partners, one goroutine.
func BenchmarkRoute(b *testing.B) {
	evs := parsed(b)
	r, err := newWorld(10000, 1).router()
	if err != nil {
		b.Fatal(err)
	}
	x := r.Index()
	var events, routed int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for i := range evs {
			if x.Route(&evs[i]).Kind != 0 {
				routed++
			}
		}
		events += int64(len(evs))
	}
	perEvent(b, events, cpu0)
}

// BenchmarkPipeline: parse, enrich and route with every core.
func BenchmarkPipeline(b *testing.B) {
	data := benchReport()
	reg := formats.Registry()
	r, err := newWorld(10000, 1).router()
	if err != nil {
		b.Fatal(err)
	}
	e := benchEnricher(b)
	defer e.Close()
	var events int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		p, err := reg.Open(bytes.NewReader(data), feed.Config{Report: "scan_telnet"})
		if err != nil {
			b.Fatal(err)
		}
		res, err := pipeline.Run(context.Background(), p, e, r, pipeline.Options{})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
	}
	perEvent(b, events, cpu0)
}
