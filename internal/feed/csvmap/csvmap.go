// Package csvmap reads generic CSV files whose columns a mapping names, such
// as a partner's export or a sensor's log: "ip=src,time=ts,port=dport".
package csvmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"csirtlink/internal/feed"
	"csirtlink/internal/feed/record"
)

// Format is generic CSV with a column mapping.
type Format struct{}

// Name implements feed.Format.
func (Format) Name() string { return "csv" }

// Detect never claims input: any CSV could be meant, and only the caller's
// mapping says how to read it.
func (Format) Detect([]byte) int { return 0 }

// binding maps event fields to column indexes; -1 when not mapped.
type binding struct {
	time, ip, port, asn, country, hostname, domain, url, protocol, class, ident int
}

type parser struct {
	cfg    feed.Config
	rr     *record.Reader
	recs   []record.Record
	fields []string
	header string
	names  []string
	b      binding
	stats  feed.Stats
	class  feed.Classifier
}

// NewParser implements feed.Format: it checks the mapping against the header.
func (Format) NewParser(br *bufio.Reader, cfg feed.Config) (feed.Parser, error) {
	spec, err := ParseSpec(cfg.Map)
	if err != nil {
		return nil, err
	}
	p := &parser{cfg: cfg, rr: record.NewReader(br, true, cfg.MaxRecordBytes), recs: make([]record.Record, cfg.BatchSize)}
	var head [1]record.Record
	n, err := p.rr.Read(head[:])
	switch {
	case errors.Is(err, io.EOF):
		return nil, errors.New("empty input: no header row")
	case err != nil:
		return nil, err
	case n == 1 && head[0].Err != nil:
		return nil, fmt.Errorf("header (line %d): %w", head[0].Line, head[0].Err)
	}
	p.header = strings.Clone(head[0].Text)
	if p.names, err = record.Split(p.header, nil); err != nil {
		return nil, fmt.Errorf("header (line %d): %w", head[0].Line, err)
	}
	col := func(key string) (int, error) {
		name := spec.Column(key)
		if name == "" {
			return -1, nil
		}
		i := slices.IndexFunc(p.names, func(n string) bool { return strings.EqualFold(strings.TrimSpace(n), name) })
		if i < 0 {
			return -1, &MappingError{Key: key, Msg: fmt.Sprintf("column %q is not in the header (columns: %s)", name, clip(strings.Join(p.names, ", ")))}
		}
		return i, nil
	}
	var errs []error
	for _, m := range []struct {
		key string
		dst *int
	}{
		{"time", &p.b.time}, {"ip", &p.b.ip}, {"port", &p.b.port}, {"asn", &p.b.asn}, {"country", &p.b.country},
		{"hostname", &p.b.hostname}, {"domain", &p.b.domain}, {"url", &p.b.url}, {"protocol", &p.b.protocol},
		{"classification", &p.b.class}, {"identifier", &p.b.ident},
	} {
		i, err := col(m.key)
		errs = append(errs, err)
		*m.dst = i
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if p.b.time < 0 && cfg.Observed.IsZero() {
		return nil, &MappingError{Key: "time", Msg: "required: no time column mapped and no observation time given"}
	}
	return p, nil
}

func (p *parser) Header() string    { return p.header }
func (p *parser) Stats() feed.Stats { return p.stats.Clone() }

// Read implements feed.Parser.
func (p *parser) Read(b *feed.Batch) error {
	b.Events = b.Events[:0]
	if cap(b.Events) == 0 {
		return feed.ErrNoRoom
	}
	for len(b.Events) == 0 {
		n, err := p.rr.Read(p.recs[:min(len(p.recs), cap(b.Events))])
		if err != nil {
			return err
		}
		for _, rec := range p.recs[:n] {
			p.row(b, rec)
		}
	}
	return nil
}

func (p *parser) row(b *feed.Batch, rec record.Record) {
	if rec.Err != nil {
		p.stats.Fail(p.cfg.MaxErrors, rec.Line, "", rec.Err.Error())
		return
	}
	var err error
	if p.fields, err = record.Split(rec.Text, p.fields); err != nil {
		p.stats.Fail(p.cfg.MaxErrors, rec.Line, "", err.Error())
		return
	}
	if len(p.fields) != len(p.names) {
		p.stats.Fail(p.cfg.MaxErrors, rec.Line, "", fmt.Sprintf("%d fields, the header has %d", len(p.fields), len(p.names)))
		return
	}
	ev := b.Next()
	if field, msg := p.decode(ev, rec); msg != "" {
		b.Drop()
		p.stats.Fail(p.cfg.MaxErrors, rec.Line, field, msg)
		return
	}
	p.stats.Rows++
	p.stats.Events++
}

// decode fills ev; on failure it names the mapped column.
func (p *parser) decode(ev *feed.Event, rec record.Record) (field, msg string) {
	f, b := p.fields, &p.b
	get := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(f[i])
	}
	var err error
	if b.time >= 0 {
		if ev.Time, err = feed.ParseTime(get(b.time)); err != nil {
			return p.names[b.time], err.Error()
		}
	} else {
		ev.Time = p.cfg.Observed
	}
	if s := get(b.ip); s != "" {
		if ev.IP, err = feed.ParseIP(s); err != nil {
			return p.names[b.ip], err.Error()
		}
	}
	if ev.Port, err = feed.ParsePort(get(b.port)); err != nil {
		return p.names[b.port], err.Error()
	}
	if ev.ASN, err = feed.ParseASN(get(b.asn)); err != nil {
		return p.names[b.asn], err.Error()
	}
	if ev.ASN != 0 {
		ev.ASNFrom = feed.OriginFeed
	}
	if ev.Country, err = feed.ParseCountry(get(b.country)); err != nil {
		return p.names[b.country], err.Error()
	}
	if ev.Country != "" {
		ev.CountryFrom = feed.OriginFeed
	}
	ev.Hostname = get(b.hostname)
	ev.Domain = get(b.domain)
	ev.URL = get(b.url)
	ev.Protocol = get(b.protocol)
	ev.Identifier = get(b.ident)
	if ev.Domain == "" && ev.URL != "" {
		ev.Domain = feed.HostOfURL(ev.URL)
	}
	if !ev.IP.IsValid() && ev.Domain == "" {
		return p.names[max(b.ip, b.domain, b.url)], "no address: the row names no IP, domain or URL"
	}
	switch c := get(b.class); {
	case c != "" && p.class.Valid(c):
		ev.Classification = c
	case c != "":
		return p.names[b.class], fmt.Sprintf("%q is not an RSIT class/type", feed.Clip(c))
	case p.cfg.Classification != "":
		ev.Classification = p.cfg.Classification
	default:
		ev.Classification = feed.Unclassified
		p.stats.Unclassified++
	}
	ev.Report = p.cfg.Report
	ev.Feed = p.cfg.Feed
	ev.TLP = p.cfg.TLP
	ev.Line = rec.Line
	ev.Raw = rec.Text
	return "", ""
}
