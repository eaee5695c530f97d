// Package record cuts a stream into records — CSV records, which may span lines
// inside quotes, or plain lines — many at a time into one string, and splits
// CSV records into fields without copying them.
package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Record is one record of the stream.
type Record struct {
	Text string // without its line ending
	Line int64  // the line it starts on, 1-based
	Err  error  // the record could not be read (too long); Text is empty
}

// ErrTooLong is the error of a record longer than the reader's limit.
var ErrTooLong = errors.New("row longer than the limit")

// bufBytes is the read buffer's size; the records of one Read come from it,
// so it also bounds a chunk.
const bufBytes = 1 << 20

// Reader reads records. It reads the input in large blocks into its own
// buffer and cuts records there: one copy from the input, one into the
// chunk's string.
type Reader struct {
	src      io.Reader
	quoted   bool
	max      int
	line     int64
	buf      []byte
	pos, end int   // the unread data is buf[pos:end]
	eof      bool  // the input is exhausted (or failed: err)
	err      error // the input's error, returned once the records before it are out
	started  bool  // the byte order mark was looked for
	spans    []span
}

type span struct {
	start, end int
	line       int64
}

// NewReader reads from src. With quoted, a newline inside double quotes
// continues the record (CSV); without, every line is a record. Records longer
// than maxBytes are returned with ErrTooLong, and reading resumes after the
// line on which they passed the limit.
func NewReader(src io.Reader, quoted bool, maxBytes int) *Reader {
	return &Reader{src: src, quoted: quoted, max: maxBytes, buf: make([]byte, max(bufBytes, 2*(maxBytes+3)+4096))}
}

// Line is the number of lines consumed so far.
func (r *Reader) Line() int64 { return r.line }

// outcome is what next found at the read position.
type outcome uint8

const (
	got      outcome = iota // a record, appended to spans
	needMore                // the data ends inside a record
	tooLong                 // the record passes the limit
	empty                   // no data left at all
)

// Read fills dst with up to len(dst) records and returns how many. All their
// texts share one new string, so a chunk of records costs one allocation. It
// returns io.EOF (or the input's error) with n == 0 at the end; blank lines
// are skipped.
func (r *Reader) Read(dst []Record) (int, error) {
	r.spans = r.spans[:0]
	if len(dst) == 0 {
		return 0, nil
	}
	for {
		if !r.started && (r.end-r.pos >= 3 || r.eof) {
			if bytes.HasPrefix(r.buf[r.pos:r.end], []byte("\xEF\xBB\xBF")) {
				r.pos += 3
			}
			r.started = true
		}
		base := r.pos
		o := got
		for r.started && len(r.spans) < len(dst) {
			if o = r.next(); o != got {
				break
			}
		}
		if len(r.spans) > 0 {
			s := string(r.buf[base:r.pos])
			for i, sp := range r.spans {
				dst[i] = Record{Text: s[sp.start-base : sp.end-base], Line: sp.line}
			}
			return len(r.spans), nil
		}
		switch o {
		case tooLong:
			dst[0] = Record{Line: r.line + 1, Err: ErrTooLong}
			r.skip()
			return 1, nil
		case empty:
			if r.eof {
				if r.err != nil {
					return 0, r.err
				}
				return 0, io.EOF
			}
		}
		r.fill()
	}
}

// next takes one record from the buffer, skipping blank lines.
func (r *Reader) next() outcome {
	for {
		data := r.buf[r.pos:r.end]
		if len(data) == 0 {
			return empty
		}
		end, lines, o := r.recordEnd(data)
		if o != got {
			return o
		}
		first := r.line + 1
		r.line += lines
		r.pos += end
		text := data[:end]
		if len(text) > 0 && text[len(text)-1] == '\n' {
			text = text[:len(text)-1]
		}
		if len(text) > 0 && text[len(text)-1] == '\r' {
			text = text[:len(text)-1]
		}
		if len(text) == 0 {
			continue // a blank line
		}
		if len(text) > r.max {
			r.pos -= end // let skip count it as a too-long record
			r.line -= lines
			return tooLong
		}
		start := r.pos - end
		r.spans = append(r.spans, span{start: start, end: start + len(text), line: first})
		return got
	}
}

// recordEnd finds where the record at the start of data ends (after its
// newline) and how many lines it spans.
func (r *Reader) recordEnd(data []byte) (end int, lines int64, o outcome) {
	quotes := 0
	scanning := false // a quote was left open at a line end: follow the grammar
	var st scanState
	i := 0
	for {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			// A record's newline is at most at offset max+1 (max bytes and
			// a CR); past that, it is too long whatever follows.
			if len(data) > r.max+1 {
				return 0, 0, tooLong
			}
			if r.eof {
				return len(data), lines + 1, got // the last line, unterminated
			}
			return 0, 0, needMore
		}
		line := data[i : i+nl+1]
		lines++
		i += nl + 1
		if !r.quoted {
			return i, lines, got
		}
		if scanning {
			st = st.scan(line)
		} else if quotes += bytes.Count(line, []byte{'"'}); quotes%2 == 1 {
			// Fast path above: an even number of quotes cannot leave a
			// quoted field open. Odd: follow the grammar from the start.
			scanning = true
			st = scanState(0).scan(data[:i])
		}
		// The record goes on only inside a well-formed quoted field; a
		// malformed one ends at its line, for Split to report, as
		// encoding/csv does.
		if !scanning || st != inQuotes {
			return i, lines, got
		}
		if i > r.max+1 {
			return 0, 0, tooLong
		}
	}
}

// skip discards a too-long record: up to the first newline past its first
// max+1 bytes (where no record can end), whatever the quotes, so that an
// unbalanced quote cannot swallow the rest of the input.
func (r *Reader) skip() {
	drop := r.max + 1
	for {
		data := r.buf[r.pos:r.end]
		if drop > 0 {
			n := min(drop, len(data))
			r.line += int64(bytes.Count(data[:n], []byte{'\n'}))
			r.pos += n
			drop -= n
			data = data[n:]
		}
		if drop == 0 {
			if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
				r.pos += nl + 1
				r.line++
				return
			}
			r.pos = r.end
		}
		if r.eof {
			r.line++ // the unterminated last line
			return
		}
		r.fill()
	}
}

// fill moves the unread data to the front and reads more after it.
func (r *Reader) fill() {
	if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
	for tries := 0; tries < 100 && r.end < len(r.buf); tries++ {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.eof = true
			if !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("read: %w", err)
			}
			return
		}
		if n > 0 {
			return
		}
	}
	if r.end < len(r.buf) {
		r.eof, r.err = true, fmt.Errorf("read: %w", io.ErrNoProgress)
	}
}

// scanState is where a CSV scan stands.
type scanState uint8

const (
	fieldStart scanState = iota
	unquoted
	inQuotes
	quoteInQuotes // a quote inside a quoted field: closing, or the first of ""
	broken        // malformed: the record ends at its line
)

// scan runs the RFC 4180 grammar over b.
func (st scanState) scan(b []byte) scanState {
	for _, c := range b {
		switch st {
		case fieldStart:
			switch c {
			case '"':
				st = inQuotes
			case ',', '\r', '\n':
			default:
				st = unquoted
			}
		case unquoted:
			switch c {
			case ',', '\r', '\n':
				st = fieldStart
			case '"':
				return broken
			}
		case inQuotes:
			if c == '"' {
				st = quoteInQuotes
			}
		case quoteInQuotes:
			switch c {
			case '"':
				st = inQuotes
			case ',', '\r', '\n':
				st = fieldStart
			default:
				return broken
			}
		case broken:
			return broken
		}
	}
	return st
}

// FieldError is a malformed CSV field.
type FieldError struct {
	Column int // 0-based
	Msg    string
}

func (e *FieldError) Error() string { return fmt.Sprintf("column %d: %s", e.Column+1, e.Msg) }

// Split appends the fields of the CSV record rec (RFC 4180, comma-separated)
// to dst[:0]. Fields are substrings of rec; only a quoted field holding an
// escaped quote ("") is copied.
func Split(rec string, dst []string) ([]string, error) {
	dst = dst[:0]
	i := 0
	for {
		col := len(dst)
		if i < len(rec) && rec[i] == '"' {
			j := i + 1
			escaped := false
			for {
				k := strings.IndexByte(rec[j:], '"')
				if k < 0 {
					return dst, &FieldError{col, `missing closing " in quoted field`}
				}
				k += j
				if k+1 < len(rec) && rec[k+1] == '"' {
					escaped = true
					j = k + 2
					continue
				}
				f := rec[i+1 : k]
				if escaped {
					f = unescape(f)
				}
				dst = append(dst, f)
				i = k + 1
				break
			}
			if i == len(rec) {
				return dst, nil
			}
			if rec[i] != ',' {
				return dst, &FieldError{col, `extraneous character after closing " of quoted field`}
			}
			i++
			continue
		}
		end := len(rec)
		if k := strings.IndexByte(rec[i:], ','); k >= 0 {
			end = i + k
		}
		f := rec[i:end]
		if strings.IndexByte(f, '"') >= 0 {
			return dst, &FieldError{col, `bare " in unquoted field`}
		}
		dst = append(dst, f)
		if end == len(rec) {
			return dst, nil
		}
		i = end + 1
	}
}

func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		if s[i] == '"' {
			i++ // the second of a pair
		}
	}
	return string(b)
}
