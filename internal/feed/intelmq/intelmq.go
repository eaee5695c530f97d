// Package intelmq reads IntelMQ events as JSON lines, one event per line, with
// IntelMQ's harmonized field names ("source.ip", "classification.taxonomy"…),
// as its file output writes them — flat dotted keys, or nested objects when
// its hierarchical_output is on.
package intelmq

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"csirtlink/internal/feed"
	"csirtlink/internal/feed/record"
	"csirtlink/internal/tlp"
)

// Format is IntelMQ's JSON lines.
type Format struct{}

// Name implements feed.Format.
func (Format) Name() string { return "intelmq" }

// Detect recognises a first line that is a JSON object with harmonized keys.
func (Format) Detect(head []byte) int {
	line, _, _ := bytes.Cut(bytes.TrimLeft(head, " \t\r\n"), []byte("\n"))
	if len(line) == 0 || line[0] != '{' {
		return 0
	}
	for _, k := range []string{`"source.`, `"classification.`, `"time.source"`, `"feed.name"`, `"source":`, `"classification":`} {
		if bytes.Contains(line, []byte(k)) {
			return 90
		}
	}
	return 20
}

// NewParser implements feed.Format.
func (Format) NewParser(br *bufio.Reader, cfg feed.Config) (feed.Parser, error) {
	return &parser{cfg: cfg, rr: record.NewReader(br, false, cfg.MaxRecordBytes), recs: make([]record.Record, cfg.BatchSize)}, nil
}

type parser struct {
	cfg   feed.Config
	rr    *record.Reader
	recs  []record.Record
	stats feed.Stats
	class feed.Classifier
	flat  map[string]json.RawMessage
}

func (p *parser) Header() string    { return "" }
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
	ev := b.Next()
	if field, msg := p.decode(ev, rec); msg != "" {
		b.Drop()
		p.stats.Fail(p.cfg.MaxErrors, rec.Line, field, msg)
		return
	}
	p.stats.Rows++
	p.stats.Events++
}

// maxDepth bounds the nesting of hierarchical output we flatten.
const maxDepth = 8

// decode fills ev from one JSON line; on failure it names the field.
func (p *parser) decode(ev *feed.Event, rec record.Record) (field, msg string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rec.Text), &top); err != nil {
		return "", "not a JSON object: " + err.Error()
	}
	clear(p.flat)
	if p.flat == nil {
		p.flat = make(map[string]json.RawMessage)
	}
	if err := flatten(p.flat, "", top, 0); err != nil {
		return "", err.Error()
	}
	get := func(key string) (string, bool, error) { return scalar(p.flat[key]) }

	var err error
	ts, ok, err := get("time.source")
	if err != nil {
		return "time.source", err.Error()
	}
	if !ok {
		if ts, ok, err = get("time.observation"); err != nil {
			return "time.observation", err.Error()
		}
	}
	switch {
	case ok:
		if ev.Time, err = feed.ParseTime(ts); err != nil {
			return "time.source", err.Error()
		}
	case !p.cfg.Observed.IsZero():
		ev.Time = p.cfg.Observed
	default:
		return "time.source", "required (or time.observation)"
	}
	if s, ok, err := get("source.ip"); err != nil {
		return "source.ip", err.Error()
	} else if ok {
		if ev.IP, err = feed.ParseIP(s); err != nil {
			return "source.ip", err.Error()
		}
	}
	if s, _, err := get("source.port"); err != nil {
		return "source.port", err.Error()
	} else if ev.Port, err = feed.ParsePort(s); err != nil {
		return "source.port", err.Error()
	}
	if s, _, err := get("source.asn"); err != nil {
		return "source.asn", err.Error()
	} else if ev.ASN, err = feed.ParseASN(s); err != nil {
		return "source.asn", err.Error()
	}
	if ev.ASN != 0 {
		ev.ASNFrom = feed.OriginFeed
	}
	if s, _, err := get("source.geolocation.cc"); err != nil {
		return "source.geolocation.cc", err.Error()
	} else if ev.Country, err = feed.ParseCountry(s); err != nil {
		return "source.geolocation.cc", err.Error()
	}
	if ev.Country != "" {
		ev.CountryFrom = feed.OriginFeed
	}
	text := []struct {
		key string
		dst *string
	}{
		{"source.reverse_dns", &ev.Hostname},
		{"source.fqdn", &ev.Domain},
		{"source.url", &ev.URL},
		{"protocol.transport", &ev.Protocol},
		{"classification.identifier", &ev.Identifier},
		{"feed.name", &ev.Feed},
	}
	for _, t := range text {
		s, _, err := get(t.key)
		if err != nil {
			return t.key, err.Error()
		}
		*t.dst = s
	}
	if ev.Domain == "" && ev.URL != "" {
		ev.Domain = feed.HostOfURL(ev.URL)
	}
	if ev.Feed == "" {
		ev.Feed = p.cfg.Feed
	}
	tax, _, err1 := get("classification.taxonomy")
	typ, _, err2 := get("classification.type")
	if err := errors.Join(err1, err2); err != nil {
		return "classification", err.Error()
	}
	ev.Classification = p.classify(tax, typ)
	ev.TLP = p.cfg.TLP
	if s, ok, err := get("tlp"); err != nil {
		return "tlp", err.Error()
	} else if ok {
		l, err := parseTLP(s)
		if err != nil {
			return "tlp", err.Error()
		}
		ev.TLP = tlp.Stricter(ev.TLP, l)
	}
	ev.Report = p.cfg.Report
	ev.Line = rec.Line
	ev.Raw = rec.Text
	return "", ""
}

// classify joins IntelMQ's taxonomy and type into an RSIT category. IntelMQ 3
// uses RSIT's names; older pipelines' types ("botnet drone"…) are not RSIT
// and are kept as unclassified rather than refused.
func (p *parser) classify(tax, typ string) string {
	if tax == "" && typ == "" && p.cfg.Classification != "" {
		return p.cfg.Classification
	}
	if c := tax + "/" + typ; p.class.Valid(c) {
		return c
	}
	p.stats.Unclassified++
	if p.cfg.Classification != "" {
		return p.cfg.Classification
	}
	return feed.Unclassified
}

// parseTLP reads a TLP label, taking TLP 1.0's WHITE as CLEAR.
func parseTLP(s string) (tlp.Label, error) {
	if strings.EqualFold(strings.TrimPrefix(strings.ToUpper(s), "TLP:"), "WHITE") {
		return tlp.Clear, nil
	}
	return tlp.Parse(s)
}

// flatten turns hierarchical output ({"source": {"ip": …}}) into dotted keys.
func flatten(dst map[string]json.RawMessage, prefix string, obj map[string]json.RawMessage, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	for k, v := range obj {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if t := bytes.TrimLeft(v, " \t\r\n"); len(t) > 0 && t[0] == '{' && key != "extra" && !strings.HasPrefix(key, "extra.") {
			var sub map[string]json.RawMessage
			if err := json.Unmarshal(t, &sub); err != nil {
				return fmt.Errorf("%s: %v", key, err)
			}
			if err := flatten(dst, key, sub, depth+1); err != nil {
				return err
			}
			continue
		}
		if _, dup := dst[key]; dup {
			return fmt.Errorf("%s: given twice", key)
		}
		dst[key] = v
	}
	return nil
}

// scalar reads a JSON string or number as text; null and absent are "".
func scalar(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", false, nil
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
			return "", false, fmt.Errorf("%s is not a whole number", feed.Clip(string(v)))
		}
		return string(v), true, nil
	}
	return "", false, fmt.Errorf("want a string or a number, got %s", feed.Clip(string(v)))
}
