package feed

import (
	"cmp"
	"fmt"
	"slices"
)

// RowError is a row that could not be read, by its line number.
type RowError struct {
	Line  int64  // the line the row starts on
	Field string // the column or field at fault; empty for the row as a whole
	Msg   string
}

func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// Stats counts what a parser read. Every data row is either an event or
// malformed: Rows == Events + Malformed.
type Stats struct {
	Rows      int64 // data rows read (the header and blank lines not counted)
	Events    int64 // rows that became events
	Malformed int64 // rows skipped as unreadable; the run goes on

	// UnknownReport counts events of a report type the format does not know.
	// They are kept (classified from the report's family where it can be told)
	// rather than dropped.
	UnknownReport int64
	// Unclassified counts events whose classification was missing or not RSIT;
	// they carry the category Unclassified.
	Unclassified int64

	// Errors holds the first malformed rows, up to Config.MaxErrors of them;
	// Malformed counts them all.
	Errors []RowError
}

// Fail records a malformed row.
func (s *Stats) Fail(max int, line int64, field, msg string) {
	s.Rows++
	s.Malformed++
	if len(s.Errors) < max {
		s.Errors = append(s.Errors, RowError{Line: line, Field: field, Msg: msg})
	}
}

// Clone returns a copy that does not share the error list.
func (s Stats) Clone() Stats {
	s.Errors = append([]RowError(nil), s.Errors...)
	return s
}

// Add adds o's counts to s and keeps the first max errors of both by line.
// Batches decoded on different cores are merged so: each keeps its own
// first errors, so the merged list is the first of the whole input.
func (s *Stats) Add(o *Stats, max int) {
	s.Rows += o.Rows
	s.Events += o.Events
	s.Malformed += o.Malformed
	s.UnknownReport += o.UnknownReport
	s.Unclassified += o.Unclassified
	if len(o.Errors) == 0 {
		return
	}
	s.Errors = append(s.Errors, o.Errors...)
	slices.SortStableFunc(s.Errors, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	if len(s.Errors) > max {
		s.Errors = s.Errors[:max]
	}
}
