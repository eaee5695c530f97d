package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/indicator"
	"csirtlink/internal/problem"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// Sink takes what a pull brings that we understand: indicators with a pattern of
// supported observables become shared objects of ours, with where they came from.
type Sink interface {
	Indicator(ctx context.Context, d stix.IndicatorData, provenance string) (bool, error)
}

// Puller pulls the configured sources on their schedule: an engine module.
type Puller struct {
	st    store.TAXII
	sink  Sink
	clock clock.Clock
	log   *slog.Logger
	HTTP  *http.Client
}

// NewPuller makes the puller.
func NewPuller(st store.TAXII, sink Sink, clk clock.Clock, log *slog.Logger) *Puller {
	return &Puller{st: st, sink: sink, clock: clk, log: log.With("component", "taxii-pull"), HTTP: &http.Client{Timeout: time.Minute}}
}

// Name names the module.
func (p *Puller) Name() string { return "taxii-pull" }

// UpdateAll pulls every source that is due.
func (p *Puller) UpdateAll(ctx context.Context) error {
	srcs, err := p.st.TAXIISources(ctx)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	for _, s := range srcs {
		if s.LastPullAt != nil && now.Sub(*s.LastPullAt) < s.Interval {
			continue
		}
		if _, err := p.PullSource(ctx, s.ID); err != nil {
			p.log.Warn("taxii pull", "source", s.ID, "err", err)
		}
	}
	return nil
}

// SourceCollection is the local collection a source's objects are kept in, as they
// came (not served: only the shared indicators and the inbox are).
func SourceCollection(id string) string { return "source:" + id }

// PullResult of a source adds what was imported.
type SourceResult struct {
	PullResult
	Imported int // indicators that became shared objects
	Kept     int // objects kept as they came
}

// PullSource pulls one source now, from where its last pull stopped. Its record keeps
// the resume point after every page, and the pull's counts and error.
func (p *Puller) PullSource(ctx context.Context, id string) (SourceResult, error) {
	src, err := p.st.TAXIISource(ctx, id)
	if err != nil {
		return SourceResult{}, err
	}
	now := p.clock.Now()
	src.LastPullAt = &now
	if err := p.st.EnsureTAXIICollection(ctx, store.TAXIICollection{ID: SourceCollection(id), Title: "Pulled from " + src.URL,
		Description: "collection " + src.Collection}); err != nil {
		return SourceResult{}, err
	}
	c := &Client{HTTP: p.HTTP, User: src.Username, Secret: src.Secret}
	var res SourceResult
	res.PullResult, err = c.Pull(ctx, src.URL, src.Collection, src.NextAdded, func(pg Page) error {
		n, k, err := p.take(ctx, src, pg.Objects)
		res.Imported += n
		res.Kept += k
		if err != nil {
			return err
		}
		if pg.AddedLast != "" && later(pg.AddedLast, src.NextAdded) {
			src.NextAdded = pg.AddedLast
			return p.st.PutTAXIISource(ctx, src)
		}
		return nil
	})
	src.LastCount = int64(res.Objects)
	src.Total += int64(res.Objects)
	src.LastError = ""
	if err != nil {
		src.LastError = err.Error()
	} else if res.Stopped != "" {
		src.LastError = res.Stopped
	}
	if err == nil {
		src.LastOKAt = &now
	}
	if perr := p.st.PutTAXIISource(ctx, src); perr != nil && err == nil {
		err = perr
	}
	return res, err
}

// take keeps a page's objects as they came, with their provenance, and hands the
// indicators we understand to the sink.
func (p *Puller) take(ctx context.Context, src store.TAXIISource, objs []json.RawMessage) (imported, kept int, err error) {
	var add []store.TAXIIObject
	def := tlp.Label(src.TLP)
	for _, raw := range objs {
		e := readEntry(raw)
		if e.Err != nil {
			continue
		}
		add = append(add, store.TAXIIObject{ID: e.ID, Version: e.Version, SpecVersion: e.SpecVersion, Type: e.Type,
			TLP: string(e.Label(def)), Source: "source:" + src.ID, Raw: raw})
		if e.Type != "indicator" {
			continue
		}
		d, err := stix.ReadIndicator(raw)
		if err != nil {
			continue // kept as it came
		}
		if _, ok := stix.StrictestMarking(e.Markings); !ok {
			d.Label = def
		}
		ok, err := p.sink.Indicator(ctx, d, fmt.Sprintf("taxii:%s %s", src.ID, e.ID))
		if err != nil {
			return imported, kept, err
		}
		if ok {
			imported++
		}
	}
	added, err := p.st.AddTAXIIObjects(ctx, SourceCollection(src.ID), add, p.clock.Now())
	return imported, len(added), err
}

var sourceID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// SourceInput is what an admin sets of a source.
type SourceInput struct {
	ID, URL, Collection, Username, Secret, TLP string
	Interval                                   time.Duration
}

// SaveSource adds or changes a source; a changed URL or collection starts again from
// the beginning.
func SaveSource(ctx context.Context, st store.TAXII, in SourceInput, now time.Time) (store.TAXIISource, error) {
	if !sourceID.MatchString(in.ID) {
		return store.TAXIISource{}, problem.Invalid("id", "use 1-64 of a-z, 0-9, '.', '_', '-'")
	}
	if _, err := objectsURL(in.URL, in.Collection); err != nil {
		field := "url"
		if strings.Contains(err.Error(), "collection") {
			field = "collection"
		}
		return store.TAXIISource{}, problem.Invalid(field, "%v", err)
	}
	l, err := tlp.Parse(in.TLP)
	if err != nil {
		return store.TAXIISource{}, problem.Invalid("tlp", "%v", err)
	}
	if in.Interval < time.Minute {
		return store.TAXIISource{}, problem.Invalid("interval", "at least one minute")
	}
	s, err := st.TAXIISource(ctx, in.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s = store.TAXIISource{ID: in.ID, CreatedAt: now}
	case err != nil:
		return s, err
	}
	if s.URL != in.URL || s.Collection != in.Collection {
		s.NextAdded = ""
	}
	s.URL, s.Collection, s.Username, s.TLP, s.Interval = in.URL, in.Collection, in.Username, string(l), in.Interval
	if in.Secret != "" {
		s.Secret = in.Secret
	}
	return s, st.PutTAXIISource(ctx, s)
}

// IndicatorSink makes pulled indicators shared objects of this node through the
// indicator service (so the TLP rule decides who they go to), tagged with where they
// came from. A value we already share is not shared again.
type IndicatorSink struct {
	Svc   *indicator.Service
	St    store.Indicators
	Actor indicator.Actor
}

// Indicator shares d unless we hold its value already; it reports whether it did.
func (s IndicatorSink) Indicator(ctx context.Context, d stix.IndicatorData, provenance string) (bool, error) {
	if !d.Label.Valid() {
		return false, nil
	}
	made := false
	for _, o := range d.Observables {
		held, err := s.St.IndicatorsByValue(ctx, []string{o.Value}, 10)
		if err != nil {
			return made, err
		}
		if slices.ContainsFunc(held, func(ind store.Indicator) bool { return ind.Author == s.Svc.Self() }) {
			continue
		}
		from := d.ValidFrom
		in := indicator.Input{Type: string(o.Type), Value: o.Value, Category: "other/undetermined", TLP: string(d.Label),
			Tags: []string{"taxii"}, Description: strings.TrimSpace(d.Description + "\n(" + provenance + ")"), ValidUntil: d.ValidUntil}
		if !from.IsZero() {
			in.ValidFrom = &from
		}
		if _, err := s.Svc.Create(ctx, s.Actor, in); err != nil {
			var pe *problem.Error
			if errors.As(err, &pe) {
				continue // not an indicator we may share (an expired one, say): kept as it came
			}
			return made, err
		}
		made = true
	}
	return made, nil
}
