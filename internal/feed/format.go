package feed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"csirtlink/internal/feed/record"
)

// Format is one input format: it recognises its input and parses it.
type Format interface {
	// Name is the format's name in the registry and in --format.
	Name() string
	// Detect scores how surely head (the input's first bytes, decompressed)
	// is in this format: 0 for not at all, up to 100.
	Detect(head []byte) int
	// NewParser starts parsing r with a normalised config. It reads the header,
	// if the format has one, and fails when the input cannot be this format.
	NewParser(r *bufio.Reader, cfg Config) (Parser, error)
}

// Parser yields a stream's events batch by batch, in constant memory.
type Parser interface {
	// Read replaces b's events with the next ones: at least one, or none with
	// io.EOF at the end. A malformed row is counted in Stats and skipped; an
	// error other than io.EOF (the input failed) ends the stream.
	Read(b *Batch) error
	// Stats counts what has been read so far. Call it from the goroutine
	// that reads; a RowParser's may also be called while rows are decoded.
	Stats() Stats
	// Header is the input's header row, for recipients of the raw rows; empty
	// for formats without one.
	Header() string
}

// RowParser is a Parser whose rows decode independently of one another. Its
// work splits in two: cutting rows from the stream, which is serial, and
// decoding them into events, which can run on every core at once.
type RowParser interface {
	Parser
	// ReadRows replaces r's rows with the next ones (at most cap(r.Records)):
	// at least one, or none with io.EOF at the end. It must not be called
	// concurrently with itself or Read.
	ReadRows(r *Rows) error
	// DecodeRows replaces b's events with those of r's rows, counting the
	// malformed ones in Stats. Calls on different batches may run
	// concurrently, with each other and with ReadRows.
	DecodeRows(r *Rows, b *Batch)
}

// Rows is a reusable buffer of undecoded rows.
type Rows struct {
	Records []record.Record
	// Scratch is the decoder's to reuse between batches (split fields).
	Scratch []string
}

// NewRows makes a buffer for up to size rows.
func NewRows(size int) *Rows {
	return &Rows{Records: make([]record.Record, 0, max(size, 1))}
}

// Batch is a reusable buffer of events.
type Batch struct {
	Events []Event
}

// ErrNoRoom is the error of reading into a batch that holds no events.
var ErrNoRoom = errors.New("feed: the batch has no room for events (use NewBatch)")

// NewBatch makes a batch that holds up to size events.
func NewBatch(size int) *Batch {
	return &Batch{Events: make([]Event, 0, max(size, 1))}
}

// Next makes room for one more event, cleared, and returns it; nil when the
// batch is full.
func (b *Batch) Next() *Event {
	n := len(b.Events)
	if n == cap(b.Events) {
		return nil
	}
	b.Events = b.Events[:n+1]
	ev := &b.Events[n]
	*ev = Event{}
	return ev
}

// Drop takes back the last event Next handed out, for a row that turned out
// malformed.
func (b *Batch) Drop() { b.Events = b.Events[:len(b.Events)-1] }

// Full reports whether the batch holds as many events as it can.
func (b *Batch) Full() bool { return len(b.Events) == cap(b.Events) }

// Registry holds the known formats by name. The core never names a format:
// adding one is adding it to the registry.
type Registry struct {
	formats []Format
}

// NewRegistry makes a registry of formats. Two formats with one name are a
// programming error, found by the first test that builds the registry.
func NewRegistry(formats ...Format) *Registry {
	r := &Registry{}
	for _, f := range formats {
		if _, dup := r.lookup(f.Name()); dup {
			panic(fmt.Sprintf("feed: format %q registered twice", f.Name()))
		}
		r.formats = append(r.formats, f)
	}
	return r
}

// Names lists the registered formats, sorted.
func (r *Registry) Names() []string {
	out := make([]string, len(r.formats))
	for i, f := range r.formats {
		out[i] = f.Name()
	}
	slices.Sort(out)
	return out
}

// Lookup finds a format by name.
func (r *Registry) Lookup(name string) (Format, error) {
	if f, ok := r.lookup(name); ok {
		return f, nil
	}
	return nil, fmt.Errorf("format: unknown format %q (known: %s)", name, strings.Join(r.Names(), ", "))
}

func (r *Registry) lookup(name string) (Format, bool) {
	for _, f := range r.formats {
		if f.Name() == name {
			return f, true
		}
	}
	return nil, false
}

// Detect picks the format that scores head highest. A tie at the top is an
// error: the caller must then say which format it is.
func (r *Registry) Detect(head []byte) (Format, error) {
	head = bytes.TrimPrefix(head, bom)
	var best Format
	bestScore, tie := 0, false
	for _, f := range r.formats {
		switch s := f.Detect(head); {
		case s > bestScore:
			best, bestScore, tie = f, s, false
		case s == bestScore && s > 0:
			tie = true
		}
	}
	switch {
	case best == nil:
		return nil, fmt.Errorf("format: not recognised; name it (one of %s)", strings.Join(r.Names(), ", "))
	case tie:
		return nil, fmt.Errorf("format: ambiguous; name it (one of %s)", strings.Join(r.Names(), ", "))
	}
	return best, nil
}

var bom = []byte("\xEF\xBB\xBF")

// ioBuffer is the read buffer in front of the input (and of the
// decompressor): large reads keep system calls and gzip's per-call overhead
// off the hot path.
const ioBuffer = 256 << 10

// detectBytes is how much of the input detection looks at.
const detectBytes = 8 << 10

// Open is the front door: it checks cfg, accepts gzip input (by its magic
// bytes), detects the format unless cfg names it, and starts its parser.
func (r *Registry) Open(in io.Reader, cfg Config) (Parser, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(in, ioBuffer)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, ioBuffer)
	}
	var f Format
	if cfg.Format != "" {
		if f, err = r.Lookup(cfg.Format); err != nil {
			return nil, err
		}
	} else {
		head, err := br.Peek(detectBytes)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read: %w", err)
		}
		if f, err = r.Detect(head); err != nil {
			return nil, err
		}
	}
	p, err := f.NewParser(br, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return p, nil
}

// All yields a parser's events one at a time, through one reused batch of
// size n. The event is valid until the next iteration step.
func All(p Parser, n int) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		b := NewBatch(n)
		for {
			err := p.Read(b)
			for i := range b.Events {
				if !yield(&b.Events[i], nil) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
		}
	}
}
