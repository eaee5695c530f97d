// Package routequeue carries a feed run's parsed batches to routing workers on other
// machines through a JetStream work-queue stream: the ingesting process publishes each
// batch under its batch id (run and sequence number), and any number of workers consume
// them with explicit acknowledgement. A worker acknowledges a batch only after its
// routed result is committed; one that dies first leaves the batch to be redelivered
// after AckWait, and the store's record of routed batch ids makes a second routing of
// it change nothing.
package routequeue

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"csirtlink/internal/feed"
	"csirtlink/internal/tlp"
)

// Limits on a batch message. MaxMessageBytes is NATS's default max_payload: the
// publisher splits a batch that would encode larger. The decoder refuses a body that
// inflates past MaxBodyBytes or holds more than MaxEvents events, whoever sent it.
const (
	MaxMessageBytes = 1 << 20
	MaxBodyBytes    = 32 << 20
	MaxEvents       = 1 << 16
	maxRunID        = 64
)

// ErrTooLarge is the error of a batch that encodes past MaxBodyBytes: split it.
var ErrTooLarge = errors.New("routequeue: batch too large")

// magic starts every message: a version to refuse what a newer node would send.
// Version 2 adds each event's aggregation (count, last seen); a version 1 message,
// from a node not yet upgraded, still decodes.
var (
	magic   = []byte("CLRQ2")
	magicV1 = []byte("CLRQ1")
)

// Batch is one decoded message: a run's events numbered seq.
type Batch struct {
	RunID  string
	Seq    int64
	Events []feed.Event
}

// ID is the batch id: the run and the batch's sequence number.
func (b Batch) ID() string { return fmt.Sprintf("%s.%d", b.RunID, b.Seq) }

var labels = []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red}

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// Encode encodes a batch compactly: a binary body of varints and length-prefixed
// strings, DEFLATE-compressed (a feed's rows repeat their report, feed and
// classification, and compress to a fraction).
func Encode(runID string, seq int64, evs []feed.Event) ([]byte, error) {
	if runID == "" || len(runID) > maxRunID {
		return nil, fmt.Errorf("routequeue: run id: must be 1 to %d bytes", maxRunID)
	}
	if seq < 1 || len(evs) == 0 || len(evs) > MaxEvents {
		return nil, fmt.Errorf("routequeue: batch %s.%d: seq must be positive and events 1 to %d", runID, seq, MaxEvents)
	}
	body := make([]byte, 0, 256*len(evs))
	body = appendString(body, runID)
	body = binary.AppendUvarint(body, uint64(seq))
	body = binary.AppendUvarint(body, uint64(len(evs)))
	for i := range evs {
		var err error
		if body, err = appendEvent(body, &evs[i]); err != nil {
			return nil, fmt.Errorf("routequeue: batch %s.%d event of line %d: %w", runID, seq, evs[i].Line, err)
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %s.%d encodes to %d bytes, over %d", ErrTooLarge, runID, seq, len(body), MaxBodyBytes)
	}
	var out bytes.Buffer
	out.Grow(len(body)/4 + len(magic) + 64)
	out.Write(magic)
	zw := flaters.Get().(*flate.Writer)
	defer flaters.Put(zw)
	zw.Reset(&out)
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("routequeue: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("routequeue: compress: %w", err)
	}
	return out.Bytes(), nil
}

func appendEvent(b []byte, ev *feed.Event) ([]byte, error) {
	if ev.Time.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, ev.Time.Unix())
		b = binary.AppendUvarint(b, uint64(ev.Time.Nanosecond()))
	}
	switch {
	case !ev.IP.IsValid():
		b = append(b, 0)
	case ev.IP.Is4():
		a := ev.IP.As4()
		b = append(append(b, 4), a[:]...)
	default:
		a := ev.IP.As16()
		b = append(append(b, 16), a[:]...)
	}
	b = binary.AppendUvarint(b, uint64(ev.Port))
	b = binary.AppendUvarint(b, uint64(ev.ASN))
	l := -1
	for i, x := range labels {
		if x == ev.TLP {
			l = i
		}
	}
	if l < 0 {
		return nil, fmt.Errorf("tlp: %q is not a label", ev.TLP)
	}
	b = append(b, byte(ev.ASNFrom), byte(ev.CountryFrom), byte(l))
	b = binary.AppendUvarint(b, uint64(max(ev.Line, 0)))
	for _, s := range [...]string{ev.Country, ev.Hostname, ev.Domain, ev.URL, ev.Protocol, ev.Classification, ev.Identifier, ev.Report, ev.Feed, ev.Raw} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(max(ev.Count, 0)))
	if ev.LastSeen.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, ev.LastSeen.Unix())
		b = binary.AppendUvarint(b, uint64(ev.LastSeen.Nanosecond()))
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Decode reads a message. It never panics on bad input: each error names what is wrong.
// The events' text fields are cut from one string, so a batch costs one allocation for
// its text.
func Decode(msg []byte) (Batch, error) {
	var v1 bool
	switch {
	case bytes.HasPrefix(msg, magic):
	case bytes.HasPrefix(msg, magicV1):
		v1 = true
	default:
		return Batch{}, errors.New("routequeue: not a batch message (magic)")
	}
	zr := flate.NewReader(bytes.NewReader(msg[len(magic):]))
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, MaxBodyBytes+1))
	if err != nil {
		return Batch{}, fmt.Errorf("routequeue: body: %w", err)
	}
	if len(raw) > MaxBodyBytes {
		return Batch{}, fmt.Errorf("routequeue: body: inflates past %d bytes", MaxBodyBytes)
	}
	d := decoder{s: string(raw), v1: v1}
	var b Batch
	b.RunID = d.str("run id")
	if d.err == nil && (b.RunID == "" || len(b.RunID) > maxRunID) {
		d.fail("run id", "must be 1 to %d bytes", maxRunID)
	}
	seq := d.uvarint("seq", 1<<62)
	if d.err == nil && seq == 0 {
		d.fail("seq", "must be positive")
	}
	b.Seq = int64(seq)
	n := d.uvarint("events", MaxEvents)
	if d.err == nil && n == 0 {
		d.fail("events", "must be at least one")
	}
	if d.err != nil {
		return Batch{}, d.err
	}
	b.Events = make([]feed.Event, n)
	for i := range b.Events {
		d.event(&b.Events[i])
		if d.err != nil {
			return Batch{}, fmt.Errorf("routequeue: event %d: %w", i, d.err)
		}
	}
	if d.off != len(d.s) {
		return Batch{}, fmt.Errorf("routequeue: %d bytes after the last event", len(d.s)-d.off)
	}
	return b, nil
}

type decoder struct {
	s   string
	off int
	err error
	v1  bool // a version 1 message: no aggregation fields
}

func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint(field string, limit uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint([]byte(d.s[d.off:min(len(d.s), d.off+binary.MaxVarintLen64)]))
	if n <= 0 {
		d.fail(field, "truncated or overlong number")
		return 0
	}
	d.off += n
	if v > limit {
		d.fail(field, "%d is over %d", v, limit)
		return 0
	}
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint([]byte(d.s[d.off:min(len(d.s), d.off+binary.MaxVarintLen64)]))
	if n <= 0 {
		d.fail(field, "truncated or overlong number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes(field string, n int) string {
	if d.err != nil {
		return ""
	}
	if n > len(d.s)-d.off {
		d.fail(field, "truncated")
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) byte(field string, limit byte) byte {
	s := d.bytes(field, 1)
	if d.err != nil {
		return 0
	}
	if s[0] > limit {
		d.fail(field, "%d is over %d", s[0], limit)
		return 0
	}
	return s[0]
}

func (d *decoder) str(field string) string {
	n := d.uvarint(field, uint64(len(d.s)))
	return d.bytes(field, int(n))
}

// maxUnix keeps a time within what time.Time and the store's microseconds hold.
const maxUnix = 1 << 40

func (d *decoder) event(ev *feed.Event) {
	if d.byte("time", 1) == 1 {
		sec := d.varint("time")
		ns := d.uvarint("time", 999_999_999)
		if sec > maxUnix || sec < -maxUnix {
			d.fail("time", "out of range")
		}
		ev.Time = time.Unix(sec, int64(ns)).UTC()
	}
	switch n := d.byte("ip", 16); n {
	case 0:
	case 4, 16:
		a, ok := netip.AddrFromSlice([]byte(d.bytes("ip", int(n))))
		switch {
		case !ok:
			d.fail("ip", "truncated")
		case a.Is4In6():
			d.fail("ip", "IPv4 must not be sent as IPv4-in-IPv6")
		}
		ev.IP = a
	default:
		d.fail("ip", "length %d is not 0, 4 or 16", n)
	}
	ev.Port = uint16(d.uvarint("port", 65535))
	ev.ASN = uint32(d.uvarint("asn", 1<<32-1))
	ev.ASNFrom = feed.Origin(d.byte("asn origin", byte(feed.OriginRIR)))
	ev.CountryFrom = feed.Origin(d.byte("country origin", byte(feed.OriginRIR)))
	ev.TLP = labels[d.byte("tlp", byte(len(labels)-1))]
	ev.Line = int64(d.uvarint("line", 1<<62))
	for _, f := range [...]struct {
		name string
		p    *string
	}{{"country", &ev.Country}, {"hostname", &ev.Hostname}, {"domain", &ev.Domain}, {"url", &ev.URL}, {"protocol", &ev.Protocol},
		{"classification", &ev.Classification}, {"identifier", &ev.Identifier}, {"report", &ev.Report}, {"feed", &ev.Feed}, {"raw", &ev.Raw}} {
		*f.p = d.str(f.name)
	}
	if d.err == nil && ev.Country != "" && (len(ev.Country) != 2 || strings.ToUpper(ev.Country) != ev.Country) {
		d.fail("country", "%q is not an upper-case ISO 3166 alpha-2 code", ev.Country)
	}
	if d.v1 {
		return
	}
	ev.Count = int64(d.uvarint("count", 1<<62))
	if d.byte("last seen", 1) == 1 {
		sec := d.varint("last seen")
		ns := d.uvarint("last seen", 999_999_999)
		if sec > maxUnix || sec < -maxUnix {
			d.fail("last seen", "out of range")
		}
		ev.LastSeen = time.Unix(sec, int64(ns)).UTC()
		if d.err == nil && ev.LastSeen.Before(ev.Time) {
			d.fail("last seen", "before the event's time")
		}
	}
}
