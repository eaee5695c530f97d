// Package pipeline runs a feed through parse → enrich → route on every core:
// one goroutine reads batches, N workers enrich and route them, and a fixed
// set of batches circulates between them, so memory stays flat whatever the
// size of the input. When the parser can split its work (feed.RowParser), the
// reading goroutine only cuts rows and the workers decode them too.
package pipeline

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"csirtlink/internal/enrich"
	"csirtlink/internal/feed"
	"csirtlink/internal/route"
)

// Options tune a run. The zero value uses every core.
type Options struct {
	// Workers enriching and routing; 0 means GOMAXPROCS.
	Workers int
	// BatchSize is the events per batch; 0 means the parser's default.
	BatchSize int
	// Sink, if set, sees every batch after routing, with one decision per
	// event, before the batch is reused: it must not keep either slice. It
	// is called from the workers concurrently. An error stops the run.
	Sink func(worker int, events []feed.Event, decisions []route.Decision) error
	// Progress, if set, is updated after every batch, for a progress bar.
	Progress *Progress
}

// Progress is a run's running count, safe to read while it runs.
type Progress struct {
	Events    atomic.Int64
	Owners    atomic.Int64 // events routed to our owners
	Partners  atomic.Int64 // events routed to partners
	Unrouted  atomic.Int64
	Malformed atomic.Int64
}

// Result is what a run did.
type Result struct {
	Events         int64
	RoutedOwners   int64
	RoutedPartners int64
	Unrouted       int64
	Owners         map[string]int64 // events per owner id
	Partners       map[string]int64 // events per partner id
	ByMatch        map[string]int64 // routed events by what matched: network, asn, domain, country

	// Enrichment: events whose ASN or country came from reference data.
	ASNFromMMDB, CountryFromMMDB, CountryFromRIR int64
	EnrichErrors                                 int64

	Parse feed.Stats // the parser's counts, malformed rows with their lines
}

// job is a batch in flight with its decisions (and its undecoded rows when
// the workers decode).
type job struct {
	rows      *feed.Rows
	batch     *feed.Batch
	decisions []route.Decision
}

// Run reads p to its end. The enricher may be nil. It returns the counts even
// when it fails, with the error of the input or the sink.
func Run(ctx context.Context, p feed.Parser, e *enrich.Enricher, r *route.Router, opt Options) (Result, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := opt.BatchSize
	if size <= 0 {
		size = feed.DefaultBatchSize
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Two batches per worker keep the workers fed while the parser fills the
	// next; more would only hold more memory.
	inFlight := 2*workers + 1
	rp, split := p.(feed.RowParser)
	free := make(chan *job, inFlight)
	for range inFlight {
		j := &job{batch: feed.NewBatch(size), decisions: make([]route.Decision, size)}
		if split {
			j.rows = feed.NewRows(size)
		}
		free <- j
	}
	work := make(chan *job, inFlight)

	var readErr error
	go func() {
		defer close(work)
		for {
			var j *job
			select {
			case j = <-free:
			case <-ctx.Done():
				return
			}
			var err error
			var some bool
			if split {
				err = rp.ReadRows(j.rows)
				some = len(j.rows.Records) > 0
			} else {
				err = p.Read(j.batch)
				some = len(j.batch.Events) > 0
				if opt.Progress != nil {
					storeMax(&opt.Progress.Malformed, p.Stats().Malformed)
				}
			}
			if some {
				work <- j
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()

	counts := make([]*tally, workers)
	var wg sync.WaitGroup
	for w := range workers {
		t := newTally()
		counts[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lookup *enrich.Lookup
			if e != nil {
				lookup = e.NewLookup()
			}
			for j := range work {
				if ctx.Err() != nil {
					free <- j
					continue // drain, so the parser is never left blocked
				}
				if split {
					rp.DecodeRows(j.rows, j.batch)
					if opt.Progress != nil {
						storeMax(&opt.Progress.Malformed, p.Stats().Malformed)
					}
				}
				x := r.Index() // one index for the whole batch
				t.use(x)
				evs := j.batch.Events
				if len(j.decisions) < len(evs) {
					j.decisions = make([]route.Decision, len(evs))
				}
				ds := j.decisions[:len(evs)]
				for i := range evs {
					ev := &evs[i]
					if lookup != nil {
						lookup.Enrich(ev)
					}
					d := x.Route(ev)
					ds[i] = d
					t.count(ev, d)
				}
				if opt.Progress != nil {
					t.publish(opt.Progress)
				}
				if opt.Sink != nil {
					if err := opt.Sink(w, evs, ds); err != nil {
						cancel(err)
					}
				}
				free <- j
			}
			if lookup != nil {
				t.enrichErrors = lookup.Errors
			}
		}()
	}
	wg.Wait()

	res := Result{Owners: map[string]int64{}, Partners: map[string]int64{}, ByMatch: map[string]int64{}, Parse: p.Stats()}
	for _, t := range counts {
		t.flush()
		t.addTo(&res)
	}
	if readErr != nil {
		return res, readErr
	}
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// storeMax raises v to n: workers read the parser's count at different
// moments, and a progress bar must not go backwards.
func storeMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// tally is one worker's counts. Per-owner counts are kept by index position
// (no map on the hot path) and turned into ids when the index changes or the
// run ends.
type tally struct {
	x                         *route.Index
	own, par                  []int64
	owners, partners          map[string]int64
	byMatch                   [5]int64
	events, unrouted          int64
	ownTotal, parTotal        int64
	asnMMDB, ccMMDB, ccRIR    int64
	enrichErrors              int64
	pubEvents, pubOwn, pubPar int64
	pubUnrouted               int64
}

func newTally() *tally {
	return &tally{owners: map[string]int64{}, partners: map[string]int64{}}
}

func (t *tally) use(x *route.Index) {
	if t.x == x {
		return
	}
	t.flush()
	t.x = x
	t.own = make([]int64, len(x.Owners()))
	t.par = make([]int64, len(x.Partners()))
}

func (t *tally) flush() {
	if t.x == nil {
		return
	}
	for i, n := range t.own {
		if n != 0 {
			t.owners[t.x.Owners()[i].ID] += n
		}
	}
	for i, n := range t.par {
		if n != 0 {
			t.partners[t.x.Partners()[i].ID] += n
		}
	}
	clear(t.own)
	clear(t.par)
}

func (t *tally) count(ev *feed.Event, d route.Decision) {
	t.events++
	switch d.Kind {
	case route.ToOwner:
		t.own[d.Index]++
		t.ownTotal++
	case route.ToPartner:
		t.par[d.Index]++
		t.parTotal++
	default:
		t.unrouted++
	}
	t.byMatch[d.By]++
	if ev.ASNFrom == feed.OriginMMDB {
		t.asnMMDB++
	}
	switch ev.CountryFrom {
	case feed.OriginMMDB:
		t.ccMMDB++
	case feed.OriginRIR:
		t.ccRIR++
	}
}

// publish adds what changed since the last batch to the shared progress.
func (t *tally) publish(p *Progress) {
	p.Events.Add(t.events - t.pubEvents)
	p.Owners.Add(t.ownTotal - t.pubOwn)
	p.Partners.Add(t.parTotal - t.pubPar)
	p.Unrouted.Add(t.unrouted - t.pubUnrouted)
	t.pubEvents, t.pubOwn, t.pubPar, t.pubUnrouted = t.events, t.ownTotal, t.parTotal, t.unrouted
}

func (t *tally) addTo(r *Result) {
	r.Events += t.events
	r.RoutedOwners += t.ownTotal
	r.RoutedPartners += t.parTotal
	r.Unrouted += t.unrouted
	for id, n := range t.owners {
		r.Owners[id] += n
	}
	for id, n := range t.partners {
		r.Partners[id] += n
	}
	for m, n := range t.byMatch {
		if m != int(route.ByNothing) && n != 0 {
			r.ByMatch[route.Match(m).String()] += n
		}
	}
	r.ASNFromMMDB += t.asnMMDB
	r.CountryFromMMDB += t.ccMMDB
	r.CountryFromRIR += t.ccRIR
	r.EnrichErrors += t.enrichErrors
}
