// Package feedrun runs a bulk feed file through the pipeline (parse → enrich → route)
// on behalf of the node, and keeps what it produced: the run's counts, and its events
// per network owner, per partner and unrouted, compressed, for the owners' reports, the
// partners' bulk reports and the analyst's unrouted list.
//
// A run is written as it goes: chunks of events commit while the input streams, and the
// run stays in state running until its counts commit with state done in one last
// statement. Nothing reads a run's chunks before it is done, so a process killed in the
// middle leaves a run that is never reported (marked interrupted once it has been
// silent for StaleAfter) and the file is ingested again. Writing as it goes keeps
// memory flat for any file size; writing all at the end would hold the whole file.
package feedrun

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/enrich"
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/pipeline"
	"csirtlink/internal/identity"
	"csirtlink/internal/owner"
	"csirtlink/internal/problem"
	"csirtlink/internal/route"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// StaleAfter is how long a running run may go without writing a chunk before another
// run marks it interrupted.
const StaleAfter = time.Hour

// Chunk sizes: a chunk is written when it holds ChunkEvents events, or when a worker's
// buffers together pass bufferBytes (so 10,000 owners with a few events each do not
// hold a file's worth of memory).
const (
	ChunkEvents = 4096
	bufferBytes = 8 << 20
)

// PartnerSource gives the partners' constituencies to route to. It is the seam for the
// partner directory: until the node has one, no partner is known and events outside our
// owners are unrouted.
type PartnerSource func(ctx context.Context) ([]route.Partner, error)

// Service ingests feeds.
type Service struct {
	st       store.Store
	clock    clock.Clock
	log      *slog.Logger
	reg      *feed.Registry
	enricher *enrich.Enricher
	partners PartnerSource
	finished []FinishHook
	assigned []AssignHook
	queue    Handoff // nil: route in this process
	// Workers for the pipeline; 0 means every core.
	Workers int
	// Aggregate is the window of repeats folded into one event when a request
	// does not say (feeds.aggregate); 0: not aggregated.
	Aggregate time.Duration
}

// New makes the service. The enricher may be nil (the feed's own ASN and country only).
func New(st store.Store, reg *feed.Registry, e *enrich.Enricher, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{st: st, clock: clk, log: log.With("component", "feedrun"), reg: reg, enricher: e}
}

// FinishHook is told, inside the transaction that marks it done, of each run that
// finished — ours or one received from a partner — so what the run must deliver is
// recorded together with the run: a crash after the commit loses none of it.
type FinishHook func(ctx context.Context, tx store.Tx, run store.FeedRun) error

// OnFinish adds a hook for finished runs.
func (s *Service) OnFinish(h FinishHook) { s.finished = append(s.finished, h) }

// Finish writes a run's outcome inside tx and, when it is done, tells the hooks.
func (s *Service) Finish(ctx context.Context, tx store.Tx, run store.FeedRun) error {
	if err := tx.FinishFeedRun(ctx, run); err != nil {
		return err
	}
	if run.State != store.RunDone {
		return nil
	}
	for _, h := range s.finished {
		if err := h(ctx, tx, run); err != nil {
			return fmt.Errorf("feedrun: run %s: %w", run.ID, err)
		}
	}
	return nil
}

// SetPartners sets where the partners' constituencies come from.
func (s *Service) SetPartners(p PartnerSource) { s.partners = p }

// Request is what an ingestion knows besides the bytes.
type Request struct {
	Format         string // shadowserver, intelmq, csv; "" detects it
	Report         string // the report type, e.g. scan_telnet
	Map            string // csv's column mapping
	Feed           string
	TLP            string // default AMBER
	FileName       string
	Classification string
	// Aggregate folds repeats (same source address, report type and port within
	// this window, "1h") into one event with a count and first and last seen; "0"
	// or "off" turns it off, "" takes the node's default (feeds.aggregate).
	Aggregate string
}

// aggregateWindow reads Request.Aggregate.
func (s *Service) aggregateWindow(v string) (time.Duration, error) {
	switch v = strings.TrimSpace(v); v {
	case "":
		return s.Aggregate, nil
	case "0", "off":
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > feed.MaxAggregateWindow {
		return 0, problem.Invalid("aggregate", "%q must be a duration such as 1h, from 1s to %s, or off", v, feed.MaxAggregateWindow)
	}
	return d, nil
}

// Record is one stored event, as a JSON line of a chunk; the raw row is kept for the
// recipient.
type Record struct {
	Time           time.Time `json:"time"`
	IP             string    `json:"ip,omitempty"`
	Port           uint16    `json:"port,omitempty"`
	ASN            uint32    `json:"asn,omitempty"`
	Country        string    `json:"country,omitempty"`
	Hostname       string    `json:"hostname,omitempty"`
	Domain         string    `json:"domain,omitempty"`
	URL            string    `json:"url,omitempty"`
	Protocol       string    `json:"protocol,omitempty"`
	Classification string    `json:"classification"`
	Identifier     string    `json:"identifier,omitempty"`
	Report         string    `json:"report,omitempty"`
	Feed           string    `json:"feed,omitempty"`
	TLP            string    `json:"tlp"`
	Match          string    `json:"match,omitempty"` // what routed it: network, asn, domain, country
	Line           int64     `json:"line"`
	Raw            string    `json:"raw"`
	// Count and LastSeen are set on an aggregated event: it stands for Count
	// sightings from Time (the first) to LastSeen.
	Count    int64      `json:"count,omitempty"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

// Repeats is how many sightings a record stands for: at least one.
func (r Record) Repeats() int64 { return max(r.Count, 1) }

// Index builds the routing index from the stored owners and the partners.
func (s *Service) Index(ctx context.Context) (*route.Index, error) { return s.IndexFrom(ctx, s.st) }

// IndexFrom builds the routing index from the owners q holds (a transaction's view).
func (s *Service) IndexFrom(ctx context.Context, q store.Owners) (*route.Index, error) {
	owners, err := q.ListOwners(ctx)
	if err != nil {
		return nil, err
	}
	var partners []route.Partner
	if s.partners != nil {
		if partners, err = s.partners(ctx); err != nil {
			return nil, fmt.Errorf("feedrun: partners: %w", err)
		}
	}
	x, err := route.Build(owner.Routes(owners), partners)
	if err != nil {
		return nil, fmt.Errorf("feedrun: routing index: %w", err)
	}
	return x, nil
}

// Ingest reads body to its end through the pipeline and returns the finished run. A
// request the node cannot read (an unknown format, a bad mapping) is a problem.Invalid
// before any run is made; a failing input makes a run in state failed, with its counts.
// prog, if given, is updated as the run goes.
func (s *Service) Ingest(ctx context.Context, actor string, req Request, body io.Reader, prog *pipeline.Progress) (store.FeedRun, error) {
	label := tlp.Amber
	if req.TLP != "" {
		l, err := tlp.Parse(strings.TrimPrefix(strings.ToUpper(req.TLP), "TLP:"))
		if err != nil {
			return store.FeedRun{}, problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
		}
		label = l
	}
	cfg := feed.Config{Format: req.Format, Feed: req.Feed, TLP: label, Report: req.Report, FileName: req.FileName, Map: req.Map,
		Classification: req.Classification, Observed: s.clock.Now().UTC()}
	window, err := s.aggregateWindow(req.Aggregate)
	if err != nil {
		return store.FeedRun{}, err
	}
	if req.Format != "" {
		if _, err := s.reg.Lookup(req.Format); err != nil {
			return store.FeedRun{}, problem.Invalid("format", "must be one of %s", strings.Join(s.reg.Names(), ", "))
		}
	}
	p, err := s.reg.Open(body, cfg)
	if err != nil {
		return store.FeedRun{}, problem.Invalid(fieldOf(err), "%v", err)
	}
	var agg *feed.Aggregator
	if window > 0 {
		if agg, err = feed.Aggregate(p, window, 0); err != nil {
			return store.FeedRun{}, problem.Invalid("aggregate", "%v", err)
		}
		p = agg
	}
	x, err := s.Index(ctx)
	if err != nil {
		return store.FeedRun{}, err
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.st.InterruptFeedRuns(ctx, now.Add(-StaleAfter), now); err != nil {
		return store.FeedRun{}, err
	}
	format := req.Format
	if format == "" {
		format = "detected"
		if n, ok := p.(interface{ Format() string }); ok && n.Format() != "" {
			format = n.Format()
		}
	}
	run := store.FeedRun{ID: "run-" + identity.RandomID(10), Format: format, Report: req.Report, Feed: req.Feed, FileName: req.FileName,
		TLP: string(label), CreatedBy: actor, State: store.RunRunning, StartedAt: now, UpdatedAt: now}
	if agg != nil {
		run.Aggregate = window.String()
	}
	if err := s.st.CreateFeedRun(ctx, run); err != nil {
		return run, err
	}
	if s.queue != nil {
		return s.ingestQueued(ctx, actor, run, p, agg, prog)
	}
	workers := s.Workers
	if workers <= 0 {
		workers = pipelineWorkers()
	}
	sk := newSink(s.st, s.clock, run.ID, workers)
	res, runErr := pipeline.Run(ctx, p, s.enricher, route.NewRouter(x), pipeline.Options{Workers: workers, Sink: sk.add, Progress: prog})
	if runErr == nil {
		runErr = sk.flushAll(ctx)
	}
	end := s.clock.Now().UTC().Truncate(time.Microsecond)
	run.State, run.UpdatedAt, run.FinishedAt = store.RunDone, end, &end
	run.Events, run.RoutedOwners, run.RoutedPartners, run.Unrouted, run.Malformed = res.Events, res.RoutedOwners, res.RoutedPartners, res.Unrouted, res.Parse.Malformed
	run.FeedCounts = store.FeedCounts{Owners: res.Owners, Partners: res.Partners, Errors: []store.FeedRowError{}, Aggregate: run.Aggregate}
	if agg != nil {
		run.Merged = agg.Merged()
	}
	for _, e := range res.Parse.Errors {
		run.Errors = append(run.Errors, store.FeedRowError{Line: e.Line, Field: e.Field, Message: e.Msg})
	}
	run.Capped = res.Parse.Malformed > int64(len(run.Errors))
	if runErr != nil {
		run.State, run.Failure = store.RunFailed, runErr.Error()
	}
	return s.finish(ctx, actor, run, runErr)
}

// finish writes a run's outcome and its audit record, and turns a failure the client
// caused into a problem.
func (s *Service) finish(ctx context.Context, actor string, run store.FeedRun, runErr error) (store.FeedRun, error) {
	// The run's outcome is written even when the request's context ended: a client
	// that went away must not leave the run running until it goes stale.
	wctx := context.WithoutCancel(ctx)
	err := s.st.InTx(wctx, func(tx store.Tx) error {
		if err := s.Finish(wctx, tx, run); err != nil {
			return err
		}
		return auditRun(wctx, tx, actor, run)
	})
	if err != nil {
		return run, err
	}
	if runErr != nil {
		s.log.Warn("feed run failed", "run", run.ID, "err", runErr)
		// An upload over the node's limit failed the run: the client is told so,
		// with the run's id in the message to look at what was read.
		var tooBig *http.MaxBytesError
		if errors.As(runErr, &tooBig) {
			return run, &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
				Message: fmt.Sprintf("the file is larger than %d bytes; run %s read only part of it and will not be reported", tooBig.Limit, run.ID)}
		}
	}
	return run, nil
}

func auditRun(ctx context.Context, tx store.Tx, actor string, run store.FeedRun) error {
	return audit.Append(ctx, tx, *run.FinishedAt, actor, "feed.ingest", run.ID,
		fmt.Sprintf("%s %s: %s, %d events, %d to owners, %d to partners, %d unrouted, %d malformed", run.Format, run.Report, run.State,
			run.Events, run.RoutedOwners, run.RoutedPartners, run.Unrouted, run.Malformed))
}

// fieldOf finds the field an error from the front door names ("map: key …" → map).
func fieldOf(err error) string {
	msg := err.Error()
	for _, f := range []string{"map", "format", "report", "tlp", "feed", "classification"} {
		if strings.HasPrefix(msg, f+":") || strings.Contains(msg, " "+f+":") {
			return f
		}
	}
	return "format"
}

// Get returns one run.
func (s *Service) Get(ctx context.Context, id string) (store.FeedRun, error) {
	r, err := s.st.GetFeedRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, problem.NotFound("feed run %q not found", id)
	}
	return r, err
}

// List lists runs, newest first.
func (s *Service) List(ctx context.Context, limit int) ([]store.FeedRun, error) {
	return s.st.ListFeedRuns(ctx, limit)
}

// Events reads back a done run's events for one recipient (kind owner, partner or
// unrouted; target the owner's or partner's id). A run not done has none to give.
func (s *Service) Events(ctx context.Context, runID, kind, target string, fn func(Record) error) error {
	return s.EventsIn(ctx, runID, kind, target, 0, math.MaxInt64, func(_ int64, r Record) error { return fn(r) })
}

// EventsIn reads back a done run's events for one recipient from its chunks numbered
// from to to (inclusive), telling fn each event's chunk: what an owner report records
// and a resend reads again.
func (s *Service) EventsIn(ctx context.Context, runID, kind, target string, from, to int64, fn func(seq int64, r Record) error) error {
	r, err := s.Get(ctx, runID)
	if err != nil {
		return err
	}
	if r.State != store.RunDone {
		return problem.Conflict("feed run %s is %s; only a finished run has events to read", runID, r.State)
	}
	chunks, err := s.st.FeedChunks(ctx, runID, kind, target)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if c.Seq < from || c.Seq > to {
			continue
		}
		if err := DecodeChunk(c.Data, func(r Record) error { return fn(c.Seq, r) }); err != nil {
			return fmt.Errorf("feedrun: run %s chunk %d: %w", runID, c.Seq, err)
		}
	}
	return nil
}

// DecodeChunk calls fn for each event of a stored chunk.
func DecodeChunk(data []byte, fn func(Record) error) error {
	zr := flate.NewReader(bytes.NewReader(data))
	defer zr.Close()
	dec := json.NewDecoder(zr)
	for {
		var r Record
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// StoreRouted writes routed events into a running run's chunks inside tx, numbering
// its chunks from after seqBase: the parts of a report received from a partner.
func (s *Service) StoreRouted(ctx context.Context, tx store.Tx, runID string, seqBase int64, evs []feed.Event, ds []route.Decision) error {
	sk := newSink(tx, s.clock, runID, 1)
	sk.seq.Store(seqBase)
	if err := sk.add(0, evs, ds); err != nil {
		return err
	}
	return sk.flushAll(ctx)
}

// sink turns routed batches into chunks: one set of buffers per pipeline worker, so
// workers never share one.
type sink struct {
	st      store.FeedRuns
	clock   clock.Clock
	runID   string
	seq     atomic.Int64
	workers []*buffers
}

type target struct{ kind, id string }

type buffers struct {
	m     map[target]*chunkBuf
	bytes int
}

type chunkBuf struct {
	b bytes.Buffer
	n int
}

func newSink(st store.FeedRuns, clk clock.Clock, runID string, workers int) *sink {
	s := &sink{st: st, clock: clk, runID: runID, workers: make([]*buffers, workers)}
	for i := range s.workers {
		s.workers[i] = &buffers{m: map[target]*chunkBuf{}}
	}
	return s
}

// add is the pipeline's Sink: called from worker w with its batch, which it must not keep.
func (s *sink) add(w int, evs []feed.Event, ds []route.Decision) error {
	bs := s.workers[w]
	ctx := context.Background()
	for i := range evs {
		d := ds[i]
		t := target{kind: store.ChunkUnrouted}
		switch d.Kind {
		case route.ToOwner:
			t = target{kind: store.ChunkOwner, id: d.ID}
		case route.ToPartner:
			t = target{kind: store.ChunkPartner, id: d.ID}
		}
		cb := bs.m[t]
		if cb == nil {
			cb = &chunkBuf{}
			bs.m[t] = cb
		}
		before := cb.b.Len()
		if err := appendRecord(&cb.b, &evs[i], d); err != nil {
			return err
		}
		cb.n++
		bs.bytes += cb.b.Len() - before
		if cb.n >= ChunkEvents {
			if err := s.flush(ctx, bs, t, cb); err != nil {
				return err
			}
		}
	}
	if bs.bytes > bufferBytes {
		return s.flushWorker(ctx, bs)
	}
	return nil
}

func (s *sink) flushWorker(ctx context.Context, bs *buffers) error {
	for t, cb := range bs.m {
		if err := s.flush(ctx, bs, t, cb); err != nil {
			return err
		}
	}
	return nil
}

// flushAll writes what every worker still holds; call it once the pipeline has ended.
func (s *sink) flushAll(ctx context.Context) error {
	for _, bs := range s.workers {
		if err := s.flushWorker(ctx, bs); err != nil {
			return err
		}
	}
	return nil
}

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

func (s *sink) flush(ctx context.Context, bs *buffers, t target, cb *chunkBuf) error {
	if cb.n == 0 {
		return nil
	}
	data, err := deflate(cb.b.Bytes())
	if err != nil {
		return err
	}
	c := store.FeedChunk{RunID: s.runID, Seq: s.seq.Add(1), Kind: t.kind, Target: t.id, Events: cb.n, Data: data}
	if err := s.st.AddFeedChunk(ctx, c, s.clock.Now()); err != nil {
		return err
	}
	bs.bytes -= cb.b.Len()
	delete(bs.m, t)
	return nil
}

func deflate(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := flaters.Get().(*flate.Writer)
	defer flaters.Put(zw)
	zw.Reset(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("feedrun: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("feedrun: compress: %w", err)
	}
	return out.Bytes(), nil
}

func appendRecord(b *bytes.Buffer, ev *feed.Event, d route.Decision) error {
	r := Record{Time: ev.Time, Port: ev.Port, ASN: ev.ASN, Country: ev.Country, Hostname: ev.Hostname, Domain: ev.Domain, URL: ev.URL,
		Protocol: ev.Protocol, Classification: ev.Classification, Identifier: ev.Identifier, Report: ev.Report, Feed: ev.Feed,
		TLP: string(ev.TLP), Line: ev.Line, Raw: ev.Raw}
	if ev.IP.IsValid() {
		r.IP = ev.IP.String()
	}
	if d.Kind != route.Unrouted {
		r.Match = d.By.String()
	}
	if ev.Count > 1 {
		last := ev.LastSeen
		r.Count, r.LastSeen = ev.Count, &last
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		return fmt.Errorf("feedrun: encode event of line %d: %w", ev.Line, err)
	}
	return nil
}

func pipelineWorkers() int { return runtime.GOMAXPROCS(0) }
