package indicator

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Bulk import: a CSV file whose header names the columns (mapped to our fields when
// they are named otherwise), or a file of one value per line with the rest from
// defaults. Every line is checked before any is written: either every line is imported,
// or — when any line is invalid — none is, and every invalid line is reported.

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

// scanImport reads an import file as a stream, calling fn with each row it can read, and
// returns the lines it cannot. It holds one line at a time (and at most maxLineErrors
// errors), whatever the size of the file.
func scanImport(r io.Reader, opt ImportOptions, fn func(Row) error) (errList, error) {
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
		return scanCSV(br, opt, fn)
	case FormatLines:
		return scanLines(br, opt, fn)
	}
	return errList{}, problem.Invalid("format", "must be one of %s", "csv, lines")
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

func scanLines(br *bufio.Reader, opt ImportOptions, fn func(Row) error) (errList, error) {
	var bad errList
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 1
	for ; sc.Scan(); n++ {
		v := strings.TrimSpace(sc.Text())
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		in := opt.Defaults
		in.Value = v
		if err := fn(Row{Line: n, Input: in}); err != nil {
			return bad, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			bad.add(n, "", fmt.Sprintf("a line is longer than %d bytes", maxLine))
			return bad, nil
		}
		return bad, fmt.Errorf("indicator import: %w", err)
	}
	return bad, nil
}

func scanCSV(br *bufio.Reader, opt ImportOptions, fn func(Row) error) (errList, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var bad errList
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return bad, nil
	}
	if err != nil {
		bad.add(1, "", err.Error())
		return bad, nil
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
		return bad, nil
	}
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
			return bad, fmt.Errorf("indicator import: %w", err)
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
			if err := fn(Row{Line: line, Input: in}); err != nil {
				return bad, err
			}
		}
	}
	return bad, nil
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

// ImportBatch is the most lines one import transaction writes: what an import holds in
// memory, and what a crash can leave of it, is a batch, whatever the file's size.
const ImportBatch = 500

// Import reads a file and shares what it holds. It reads the file twice, as a stream:
// first to check every line (any invalid line, and nothing is written), then to write it
// in transactions of at most ImportBatch lines. A value this team already shares (same
// type) gets a new version when the line says something new, so an import stopped half
// way (a crash, a cancelled request) is finished by running it again: what was written
// is found unchanged, nothing twice. Partners get the versions in bulk chunks from the
// Sender, which queues what each write recorded as unsent.
func (s *Service) Import(ctx context.Context, a Actor, r io.Reader, opt ImportOptions) (ImportResult, error) {
	src, done, err := rewindable(r)
	if err != nil {
		return ImportResult{}, err
	}
	defer done()
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	var invalid errList
	rows := 0
	bad, err := scanImport(src, opt, func(row Row) error {
		rows++
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := s.build(ctx, s.st, a, row.Input, now); err != nil {
			if p, ok := problem.As(err); ok {
				invalid.add(row.Line, p.Field, p.Message)
				return nil
			}
			return err
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Lines: rows + bad.count, Invalid: bad.count + invalid.count}
	if res.Invalid > 0 {
		res.Errors = append(bad.errs, invalid.errs...)
		slices.SortStableFunc(res.Errors, func(x, y LineError) int { return x.Line - y.Line })
		res.Errors = res.Errors[:min(len(res.Errors), maxLineErrors)]
		return res, nil
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return ImportResult{}, fmt.Errorf("indicator import: %w", err)
	}
	batch := make([]Row, 0, ImportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := s.importBatch(ctx, a, batch, now, "indicator.import")
		if err != nil {
			return err
		}
		res.Added, res.Updated, res.Unchanged = res.Added+n.Added, res.Updated+n.Updated, res.Unchanged+n.Unchanged
		batch = batch[:0]
		return nil
	}
	_, err = scanImport(src, opt, func(row Row) error {
		batch = append(batch, row)
		if len(batch) < ImportBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return ImportResult{}, err
	}
	res.Imported = true
	return res, nil
}

// ImportRows shares rows read from another source (a MISP event, already bounded in
// size): every row is checked first and, when any is invalid, nothing is written; then
// they are written in batches like a file's lines. action names them in the audit log.
func (s *Service) ImportRows(ctx context.Context, a Actor, rows []Row, action string) (ImportResult, error) {
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	var invalid errList
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return ImportResult{}, err
		}
		if _, err := s.build(ctx, s.st, a, row.Input, now); err != nil {
			if p, ok := problem.As(err); ok {
				invalid.add(row.Line, p.Field, p.Message)
				continue
			}
			return ImportResult{}, err
		}
	}
	res := ImportResult{Lines: len(rows), Invalid: invalid.count, Errors: invalid.errs}
	if invalid.count > 0 {
		return res, nil
	}
	for start := 0; start < len(rows); start += ImportBatch {
		n, err := s.importBatch(ctx, a, rows[start:min(len(rows), start+ImportBatch)], now, action)
		if err != nil {
			return ImportResult{}, err
		}
		res.Added, res.Updated, res.Unchanged = res.Added+n.Added, res.Updated+n.Updated, res.Unchanged+n.Unchanged
	}
	res.Imported = true
	return res, nil
}

// importBatch writes one batch of checked lines in one transaction, with an audit record
// of what it did and an unsent mark for each version it wrote.
func (s *Service) importBatch(ctx context.Context, a Actor, rows []Row, now time.Time, action string) (ImportResult, error) {
	var res ImportResult
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		res = ImportResult{} // InTx may run fn again (a deadlock victim on PostgreSQL)
		built := make([]store.Indicator, len(rows))
		for i, row := range rows {
			var err error
			if built[i], err = s.build(ctx, tx, a, row.Input, now); err != nil {
				// Valid a moment ago: something it names (an incident, a peer) changed since.
				return fmt.Errorf("indicator import: line %d: %w", row.Line, err)
			}
		}
		// Our live indicators of the batch's values, read once for the batch (a third of
		// an import's statements were this look-up, one per line), then kept as the batch
		// leaves them.
		mine, err := s.ownByValues(ctx, tx, built)
		if err != nil {
			return err
		}
		for i, ind := range built {
			row := rows[i]
			key := ind.Type + "\x00" + ind.Value
			old, ok := mine[key]
			switch {
			case !ok:
				ind.ID = NewID()
				res.Added++
			case sameContent(old, ind):
				res.Unchanged++
				continue
			default:
				ind = nextVersion(old, ind, row.Input)
				res.Updated++
			}
			if err := tx.PutIndicator(ctx, ind); err != nil {
				return err
			}
			if err := tx.PutUnsent(ctx, ind.ID, ind.Version, now); err != nil {
				return err
			}
			s.notify(tx, ind.ID)
			mine[key] = ind
		}
		tx.OnCommit(s.wakeSender)
		return audit.Append(ctx, tx, now, a.Name, action, "",
			fmt.Sprintf("lines %d to %d: %d added, %d updated, %d unchanged", rows[0].Line, rows[len(rows)-1].Line,
				res.Added, res.Updated, res.Unchanged))
	})
	return res, err
}

// rewindable returns r as something read twice: itself when it can seek, or else a
// temporary copy on disk (never in memory), removed by done.
func rewindable(r io.Reader) (io.ReadSeeker, func(), error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		if at, err := rs.Seek(0, io.SeekCurrent); err == nil && at == 0 {
			return rs, func() {}, nil
		}
	}
	f, err := os.CreateTemp("", "csirtlink-import-*")
	if err != nil {
		return nil, nil, fmt.Errorf("indicator import: spool: %w", err)
	}
	done := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		done()
		return nil, nil, fmt.Errorf("indicator import: spool: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		done()
		return nil, nil, fmt.Errorf("indicator import: spool: %w", err)
	}
	return f, done, nil
}

// ownByValues finds this team's live indicators of the same type and value as inds,
// keyed by type and value: the newest one of each.
func (s *Service) ownByValues(ctx context.Context, tx store.Tx, inds []store.Indicator) (map[string]store.Indicator, error) {
	values := make([]string, 0, len(inds))
	seen := make(map[string]bool, len(inds))
	for _, ind := range inds {
		if !seen[ind.Value] {
			seen[ind.Value] = true
			values = append(values, ind.Value)
		}
	}
	mine := make(map[string]store.Indicator, len(inds))
	// Newest first: up to 50 holders of each value, as one look-up per value read before.
	found, err := tx.IndicatorsByValue(ctx, values, 50*len(values))
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		key := f.Type + "\x00" + f.Value
		if _, ok := mine[key]; !ok && f.Author == s.Self() {
			mine[key] = f
		}
	}
	return mine, nil
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
