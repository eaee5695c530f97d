// Package shadowserver reads Shadowserver's CSV reports: a header row of the
// documented column names, then one row per event, times in UTC. The report
// type is not in the file; Shadowserver puts it in the file name
// ("2024-05-01-scan_telnet-asn-region.csv").
package shadowserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"csirtlink/internal/feed"
	"csirtlink/internal/feed/record"
)

// Format is the Shadowserver CSV format.
type Format struct{}

// Name implements feed.Format.
func (Format) Name() string { return "shadowserver" }

// Detect recognises the header: a "timestamp" column and an address column,
// as every Shadowserver report has.
func (Format) Detect(head []byte) int {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	fields, err := record.Split(strings.TrimSuffix(string(line), "\r"), nil)
	if err != nil || len(fields) < 2 {
		return 0
	}
	if fields[0] != "timestamp" {
		return 0
	}
	if slices.Contains(fields, "ip") || slices.Contains(fields, "src_ip") {
		return 90
	}
	return 40
}

// columns are the indexes of the columns we read; -1 when absent.
type columns struct {
	time, ip, port, asn, geo, hostname, protocol, infection, url, host int
}

// bind finds the columns. Reports about one host name it "ip"; event reports
// (sinkholes, honeypots) name the host concerned "src_ip" and the sensor
// "dst_ip", which is Shadowserver's and no business of the recipient.
func (c *columns) bind(header []string, urlColumns bool) {
	find := func(names ...string) int {
		for _, n := range names {
			if i := slices.Index(header, n); i >= 0 {
				return i
			}
		}
		return -1
	}
	c.time = find("timestamp")
	c.ip = find("ip", "src_ip")
	c.port = find("port", "src_port")
	c.asn = find("asn", "src_asn")
	c.geo = find("geo", "src_geo")
	c.hostname = find("hostname", "src_hostname")
	c.protocol = find("protocol")
	c.infection = find("infection")
	c.url, c.host = -1, -1
	if urlColumns {
		c.url = find("url")
		c.host = find("http_host")
	}
}

// parser is immutable once made, except for the reader and its scratch
// (used by Read and ReadRows, one goroutine at a time) and the stats (under
// mu), so DecodeRows can run on every core.
type parser struct {
	cfg    feed.Config
	rr     *record.Reader
	recs   []record.Record
	fields []string
	mu     sync.Mutex
	header string
	names  []string
	cols   columns
	report string
	rep    report
	known  bool
	stats  feed.Stats
}

// NewParser implements feed.Format: it reads and checks the header.
func (Format) NewParser(br *bufio.Reader, cfg feed.Config) (feed.Parser, error) {
	p := &parser{cfg: cfg, rr: record.NewReader(br, true, cfg.MaxRecordBytes)}
	p.report = cfg.Report
	if p.report == "" {
		p.report = ReportFromFileName(cfg.FileName)
	}
	p.rep, p.known = lookupReport(p.report)
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
	names, err := record.Split(p.header, nil)
	if err != nil {
		return nil, fmt.Errorf("header (line %d): %w", head[0].Line, err)
	}
	for i, n := range names {
		if slices.Index(names, n) != i {
			return nil, fmt.Errorf("header: column %q appears twice", feed.Clip(n))
		}
	}
	p.names = names
	p.cols.bind(names, p.rep.urlColumns)
	if p.cols.time < 0 {
		return nil, errors.New(`header: no "timestamp" column; not a Shadowserver report`)
	}
	p.recs = make([]record.Record, cfg.BatchSize)
	return p, nil
}

func (p *parser) Header() string { return p.header }

func (p *parser) Stats() feed.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats.Clone()
}

func (p *parser) merge(st *feed.Stats) {
	p.mu.Lock()
	p.stats.Add(st, p.cfg.MaxErrors)
	p.mu.Unlock()
}

// Read implements feed.Parser.
func (p *parser) Read(b *feed.Batch) error {
	b.Events = b.Events[:0]
	if cap(b.Events) == 0 {
		return feed.ErrNoRoom
	}
	var st feed.Stats
	defer p.merge(&st)
	for len(b.Events) == 0 {
		n, err := p.rr.Read(p.recs[:min(len(p.recs), cap(b.Events))])
		if err != nil {
			return err
		}
		p.fields = p.rows(p.recs[:n], b, &st, p.fields)
	}
	return nil
}

// ReadRows implements feed.RowParser: it only cuts the rows.
func (p *parser) ReadRows(r *feed.Rows) error {
	if cap(r.Records) == 0 {
		return feed.ErrNoRoom
	}
	n, err := p.rr.Read(r.Records[:cap(r.Records)])
	r.Records = r.Records[:n]
	return err
}

// DecodeRows implements feed.RowParser.
func (p *parser) DecodeRows(r *feed.Rows, b *feed.Batch) {
	if cap(b.Events) < len(r.Records) {
		b.Events = make([]feed.Event, 0, len(r.Records))
	}
	b.Events = b.Events[:0]
	var st feed.Stats
	r.Scratch = p.rows(r.Records, b, &st, r.Scratch)
	p.merge(&st)
}

// rows decodes records into b, counting in st; fields is scratch, returned
// for reuse.
func (p *parser) rows(recs []record.Record, b *feed.Batch, st *feed.Stats, fields []string) []string {
	maxErr := p.cfg.MaxErrors
	for _, rec := range recs {
		if rec.Err != nil {
			st.Fail(maxErr, rec.Line, "", rec.Err.Error())
			continue
		}
		var err error
		if fields, err = record.Split(rec.Text, fields); err != nil {
			st.Fail(maxErr, rec.Line, "", err.Error())
			continue
		}
		if len(fields) != len(p.names) {
			st.Fail(maxErr, rec.Line, "", fmt.Sprintf("%d fields, the header has %d", len(fields), len(p.names)))
			continue
		}
		ev := b.Next()
		if field, msg := p.decode(ev, fields, rec); field != "" {
			b.Drop()
			st.Fail(maxErr, rec.Line, field, msg)
			continue
		}
		st.Rows++
		st.Events++
		if !p.known {
			st.UnknownReport++
		}
	}
	return fields
}

// decode fills ev from the row's fields; on failure it names the column.
func (p *parser) decode(ev *feed.Event, f []string, rec record.Record) (field, msg string) {
	c := &p.cols
	var err error
	if ev.Time, err = feed.ParseTime(f[c.time]); err != nil {
		return "timestamp", err.Error()
	}
	if c.ip >= 0 {
		if ev.IP, err = feed.ParseIP(f[c.ip]); err != nil {
			return p.names[c.ip], err.Error()
		}
	}
	if c.port >= 0 {
		if ev.Port, err = feed.ParsePort(f[c.port]); err != nil {
			return p.names[c.port], err.Error()
		}
	}
	if c.asn >= 0 {
		if ev.ASN, err = feed.ParseASN(f[c.asn]); err != nil {
			return p.names[c.asn], err.Error()
		}
		if ev.ASN != 0 {
			ev.ASNFrom = feed.OriginFeed
		}
	}
	if c.geo >= 0 {
		if ev.Country, err = feed.ParseCountry(f[c.geo]); err != nil {
			return p.names[c.geo], err.Error()
		}
		if ev.Country != "" {
			ev.CountryFrom = feed.OriginFeed
		}
	}
	if c.hostname >= 0 {
		ev.Hostname = f[c.hostname]
	}
	if c.protocol >= 0 {
		ev.Protocol = f[c.protocol]
	}
	if c.url >= 0 {
		ev.URL = f[c.url]
	}
	if c.host >= 0 {
		ev.Domain = f[c.host]
	}
	if ev.Domain == "" && ev.URL != "" {
		ev.Domain = feed.HostOfURL(ev.URL)
	}
	ev.Classification = p.rep.class
	ev.Identifier = p.rep.identifier
	if c.infection >= 0 && f[c.infection] != "" && (ev.Identifier == "" || !p.known) {
		ev.Identifier = f[c.infection]
	}
	ev.Report = p.report
	ev.Feed = p.cfg.Feed
	if ev.Feed == "" {
		ev.Feed = "shadowserver"
	}
	ev.TLP = p.cfg.TLP
	ev.Line = rec.Line
	ev.Raw = rec.Text
	return "", ""
}
