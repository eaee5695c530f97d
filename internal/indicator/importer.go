package indicator

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Bulk import: a CSV file whose header names the columns (mapped to our fields when
// they are named otherwise), or a file of one value per line with the rest from
// defaults. The whole file is one transaction: either every line is imported, or —
// when any line is invalid — none is, and every invalid line is reported.

// Import formats.
const (
	FormatCSV   = "csv"
	FormatLines = "lines"
)

// Fields are the columns an import may have, by our names.
var Fields = []string{"type", "value", "category", "confidence", "tlp", "share_with", "incidents", "tags", "description",
	"valid_from", "valid_until"}

// ImportOptions say how to read a file.
type ImportOptions struct {
	Format string // csv or lines; "" reads csv when the first line names a value column
	// Map renames the file's columns to our fields (Fields); a column mapped to "-" is
	// ignored. Columns neither ours nor mapped are refused, so nothing is dropped unseen.
	Map map[string]string
	// Defaults fill what a line leaves empty.
	Defaults Input
}

// Row is one line to import.
type Row struct {
	Line  int
	Input Input
}

// LineError is why one line cannot be imported.
type LineError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// maxLineErrors bounds the errors kept (all are counted).
const maxLineErrors = 1000

// maxLine bounds one line of an import file.
const maxLine = 64 << 10

// ParseImport reads an import file into rows, and the lines it cannot read. It never
// fails for what the file holds, only for reading it.
func ParseImport(r io.Reader, opt ImportOptions) ([]Row, []LineError, int, error) {
	br := bufio.NewReaderSize(r, maxLine)
	format := opt.Format
	if format == "" {
		head, _ := br.Peek(maxLine)
		first := string(head)
		if i := strings.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		format = FormatLines
		for _, c := range strings.Split(strings.ToLower(first), ",") {
			c = strings.Trim(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")), `"`)
			if c == "value" || opt.Map[c] == "value" {
				format = FormatCSV
			}
		}
	}
	switch format {
	case FormatCSV:
		return parseCSV(br, opt)
	case FormatLines:
		return parseLines(br, opt)
	}
	return nil, nil, 0, problem.Invalid("format", "must be one of %s", "csv, lines")
}

type errList struct {
	errs  []LineError
	count int
}

func (l *errList) add(line int, field, reason string) {
	l.count++
	if len(l.errs) < maxLineErrors {
		l.errs = append(l.errs, LineError{Line: line, Field: field, Reason: reason})
	}
}

func parseLines(br *bufio.Reader, opt ImportOptions) ([]Row, []LineError, int, error) {
	var rows []Row
	var bad errList
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		v := strings.TrimSpace(sc.Text())
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		in := opt.Defaults
		in.Value = v
		rows = append(rows, Row{Line: n, Input: in})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			bad.add(len(rows)+1, "", fmt.Sprintf("a line is longer than %d bytes", maxLine))
			return rows, bad.errs, bad.count, nil
		}
		return nil, nil, 0, fmt.Errorf("indicator import: %w", err)
	}
	return rows, bad.errs, bad.count, nil
}

func parseCSV(br *bufio.Reader, opt ImportOptions) ([]Row, []LineError, int, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var bad errList
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, 0, nil
	}
	if err != nil {
		bad.add(1, "", err.Error())
		return nil, bad.errs, bad.count, nil
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if m, ok := opt.Map[name]; ok {
			name = m
		}
		switch {
		case name == "-":
		case !isField(name):
			bad.add(1, "", fmt.Sprintf("column %q is not one of %s (map it to one, or to - to ignore it)", problem.Clip(h, 64), strings.Join(Fields, ", ")))
			continue
		case seen[name]:
			bad.add(1, "", fmt.Sprintf("column %q twice", name))
			continue
		}
		seen[name], cols[i] = true, name
	}
	if !seen["value"] {
		bad.add(1, "", "no value column")
	}
	if bad.count > 0 {
		return nil, bad.errs, bad.count, nil
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad.add(pe.StartLine, "", pe.Err.Error())
			continue
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("indicator import: %w", err)
		}
		if len(rec) != len(cols) {
			bad.add(line, "", fmt.Sprintf("%d columns, the header has %d", len(rec), len(cols)))
			continue
		}
		in := opt.Defaults
		ok := true
		for i, v := range rec {
			if cols[i] == "" || cols[i] == "-" {
				continue
			}
			if err := setField(&in, cols[i], strings.TrimSpace(v)); err != nil {
				bad.add(line, cols[i], err.Error())
				ok = false
			}
		}
		if ok {
			rows = append(rows, Row{Line: line, Input: in})
		}
	}
	return rows, bad.errs, bad.count, nil
}

func isField(name string) bool {
	for _, f := range Fields {
		if f == name {
			return true
		}
	}
	return false
}

// list splits a cell holding several values: "jp;kr" or "jp|kr".
func list(v string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// ParseTime reads an import's or a flag's time: RFC 3339, or a date (midnight UTC).
func ParseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, errors.New("not a time (2026-05-01 or 2026-05-01T09:00:00Z)")
	}
	return t, nil
}

// setField sets one field of in from a cell; an empty cell keeps the default.
func setField(in *Input, field, v string) error {
	if v == "" {
		return nil
	}
	switch field {
	case "type":
		in.Type = v
	case "value":
		in.Value = v
	case "category":
		in.Category = v
	case "confidence":
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not a number")
		}
		in.Confidence = &n
	case "tlp":
		in.TLP = v
	case "share_with":
		in.ShareWith = list(v)
	case "incidents":
		in.Incidents = list(v)
	case "tags":
		in.Tags = list(v)
	case "description":
		in.Description = v
	case "valid_from", "valid_until":
		t, err := ParseTime(v)
		if err != nil {
			return err
		}
		if field == "valid_from" {
			in.ValidFrom = &t
		} else {
			in.ValidUntil = &t
		}
	}
	return nil
}

// ImportResult is what an import did, or would have done.
type ImportResult struct {
	// Imported is false when any line was invalid: then nothing was written.
	Imported  bool        `json:"imported"`
	Lines     int         `json:"lines"`
	Added     int         `json:"added"`
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Invalid   int         `json:"invalid"`
	Errors    []LineError `json:"errors,omitempty"`
}

var errInvalidLines = errors.New("invalid lines")

// Import reads a file and shares what it holds, all in one transaction. A value this
// team already shares (same type) gets a new version when the line says something new.
func (s *Service) Import(ctx context.Context, a Actor, r io.Reader, opt ImportOptions) (ImportResult, error) {
	rows, bad, nbad, err := ParseImport(r, opt)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Lines: len(rows) + nbad, Invalid: nbad, Errors: bad}
	if nbad > 0 {
		return res, nil
	}
	return s.ImportRows(ctx, a, rows, "indicator.import")
}

// ImportRows shares rows read from any source (a file, a MISP event), all in one
// transaction or, when any row is invalid, none; action names it in the audit log.
func (s *Service) ImportRows(ctx context.Context, a Actor, rows []Row, action string) (ImportResult, error) {
	res := ImportResult{Lines: len(rows)}
	var list errList
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		mine := map[string]store.Indicator{} // type/value → our indicator, as this import leaves it
		for _, row := range rows {
			if err := ctx.Err(); err != nil {
				return err
			}
			ind, err := s.build(ctx, tx, a, row.Input, now)
			if err != nil {
				if p, ok := problem.As(err); ok {
					list.add(row.Line, p.Field, p.Message)
					continue
				}
				return err
			}
			if list.count > 0 {
				continue // only checking now: nothing of this file is written
			}
			key := ind.Type + "\x00" + ind.Value
			old, ok := mine[key]
			if !ok {
				if old, ok, err = s.ownByValue(ctx, tx, ind); err != nil {
					return err
				}
			}
			switch {
			case !ok:
				if ind, err = s.create(ctx, tx, a, row.Input, now); err != nil {
					return err
				}
				res.Added++
			case sameContent(old, ind):
				res.Unchanged++
				continue
			default:
				if ind, err = s.update(ctx, tx, a, old, row.Input, now); err != nil {
					return err
				}
				res.Updated++
			}
			mine[key] = ind
		}
		if list.count > 0 {
			return errInvalidLines
		}
		return audit.Append(ctx, tx, now, a.Name, action, "",
			fmt.Sprintf("%d lines: %d added, %d updated, %d unchanged", res.Lines, res.Added, res.Updated, res.Unchanged))
	})
	if errors.Is(err, errInvalidLines) {
		return ImportResult{Lines: len(rows), Invalid: list.count, Errors: list.errs}, nil
	}
	if err != nil {
		return ImportResult{}, err
	}
	res.Imported = true
	return res, nil
}

// ownByValue finds this team's live indicator of the same type and value.
func (s *Service) ownByValue(ctx context.Context, tx store.Tx, ind store.Indicator) (store.Indicator, bool, error) {
	found, err := tx.IndicatorsByValue(ctx, []string{ind.Value}, 50)
	if err != nil {
		return store.Indicator{}, false, err
	}
	for _, f := range found {
		if f.Author == s.Self() && f.Type == ind.Type {
			return f, true, nil
		}
	}
	return store.Indicator{}, false, nil
}

// sameContent reports whether a new version would say nothing new.
func sameContent(old, ind store.Indicator) bool {
	eq := func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
	until := func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.UnixMicro()
	}
	return old.Category == ind.Category && old.Confidence == ind.Confidence && old.TLP == ind.TLP &&
		eq(old.ShareWith, ind.ShareWith) && eq(old.Audience, ind.Audience) && eq(old.Incidents, ind.Incidents) &&
		eq(old.Tags, ind.Tags) && old.Description == ind.Description && until(old.ValidUntil) == until(ind.ValidUntil)
}
