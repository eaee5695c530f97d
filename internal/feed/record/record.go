// Package record cuts a stream into records — CSV records, which may span lines
// inside quotes, or plain lines — many at a time into one string, and splits
// CSV records into fields without copying them.
package record

import (
	"bufio"
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

// chunkBytes bounds the bytes read into one chunk: with the record limit it
// bounds a reader's memory.
const chunkBytes = 1 << 20

// Reader reads records.
type Reader struct {
	br      *bufio.Reader
	quoted  bool
	max     int
	line    int64
	started bool
	done    bool
	chunk   []byte
	spans   []span
}

type span struct {
	start, end int
	line       int64
	err        error
}

// NewReader reads from br. With quoted, a newline inside double quotes
// continues the record (CSV); without, every line is a record. Records longer
// than maxBytes are returned with ErrTooLong, and reading resumes on the next
// line.
func NewReader(br *bufio.Reader, quoted bool, maxBytes int) *Reader {
	return &Reader{br: br, quoted: quoted, max: maxBytes}
}

// Line is the number of lines consumed so far.
func (r *Reader) Line() int64 { return r.line }

// Read fills dst with up to len(dst) records and returns how many. All their
// texts share one new string, so a chunk of records costs one allocation. It
// returns io.EOF with n == 0 at the end; blank lines are skipped.
func (r *Reader) Read(dst []Record) (int, error) {
	r.chunk, r.spans = r.chunk[:0], r.spans[:0]
	var err error
	for len(r.spans) < len(dst) && len(r.chunk) < chunkBytes && !r.done {
		if err = r.readRecord(); err != nil {
			break
		}
	}
	s := string(r.chunk)
	for i, sp := range r.spans {
		dst[i] = Record{Text: s[sp.start:sp.end], Line: sp.line, Err: sp.err}
	}
	if len(r.spans) > 0 {
		return len(r.spans), nil // a read error shows again on the next call
	}
	if err == nil && r.done {
		err = io.EOF
	}
	return 0, err
}

// readRecord appends one record (or a too-long marker) to the chunk.
func (r *Reader) readRecord() error {
	start := len(r.chunk)
	first := r.line + 1
	quotes := 0
	scanning := false // a quote was left open at a line end: follow the CSV grammar
	var st scanState
	tooLong := false
	for {
		frag, err := r.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			r.chunk = r.chunk[:start]
			return fmt.Errorf("read: %w", err)
		}
		eol := len(frag) > 0 && frag[len(frag)-1] == '\n'
		if eol || (errors.Is(err, io.EOF) && len(frag) > 0) {
			r.line++
		}
		if !r.started && len(frag) > 0 {
			frag = bytes.TrimPrefix(frag, []byte("\xEF\xBB\xBF"))
			r.started = true
		}
		if !tooLong {
			if len(r.chunk)-start+len(frag) > r.max+2 { // +2: the line ending is cut below
				tooLong = true
				r.chunk = r.chunk[:start]
			} else {
				r.chunk = append(r.chunk, frag...)
			}
		}
		if r.quoted && !tooLong {
			if scanning {
				st = st.scan(frag)
			} else {
				quotes += bytes.Count(frag, []byte{'"'})
			}
		}
		if errors.Is(err, io.EOF) {
			r.done = true
			break
		}
		if !eol {
			continue
		}
		// A record that grew too long ends at this newline whatever the
		// quotes: an unbalanced quote must not swallow the rest of the input.
		if tooLong || !r.quoted {
			break
		}
		if !scanning {
			// Fast path: an even number of quotes cannot leave a quoted field
			// open. Odd: follow the grammar from the record's start.
			if quotes%2 == 0 {
				break
			}
			scanning = true
			st = scanState(0).scan(r.chunk[start:])
		}
		// The record goes on only inside a well-formed quoted field; a
		// malformed one ends at its line, for Split to report, as
		// encoding/csv does.
		if st != inQuotes {
			break
		}
	}
	if tooLong {
		r.spans = append(r.spans, span{start: start, end: start, line: first, err: ErrTooLong})
		return nil
	}
	end := len(r.chunk)
	if end > start && r.chunk[end-1] == '\n' {
		end--
	}
	if end > start && r.chunk[end-1] == '\r' {
		end--
	}
	if end-start > r.max {
		r.chunk = r.chunk[:start]
		r.spans = append(r.spans, span{start: start, end: start, line: first, err: ErrTooLong})
		return nil
	}
	r.chunk = r.chunk[:end]
	if end == start {
		return nil // a blank line
	}
	r.spans = append(r.spans, span{start: start, end: end, line: first})
	return nil
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
				k := indexQuote(rec, j)
				if k < 0 {
					return dst, &FieldError{col, `missing closing " in quoted field`}
				}
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
		k := indexComma(rec, i)
		end := len(rec)
		if k >= 0 {
			end = k
		}
		f := rec[i:end]
		if indexQuote(f, 0) >= 0 {
			return dst, &FieldError{col, `bare " in unquoted field`}
		}
		dst = append(dst, f)
		if k < 0 {
			return dst, nil
		}
		i = k + 1
	}
}

func indexQuote(s string, from int) int {
	if k := strings.IndexByte(s[from:], '"'); k >= 0 {
		return from + k
	}
	return -1
}

func indexComma(s string, from int) int {
	if k := strings.IndexByte(s[from:], ','); k >= 0 {
		return from + k
	}
	return -1
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
