package feed

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// Limits on what one run accepts from outside. They bound memory per row, not
// the size of the input: a run streams any number of rows.
const (
	DefaultBatchSize      = 1024
	MaxBatchSize          = 1 << 16
	DefaultMaxRecordBytes = 64 << 10
	MaxRecordBytes        = 16 << 20
	DefaultMaxErrors      = 100
	MaxErrors             = 10000
	maxNameLen            = 200
)

// Config is what one run knows about its input beyond the bytes.
type Config struct {
	// Format names the format in the registry; empty means detect it.
	Format string
	// Feed names the feed, for events that do not carry a name.
	Feed string
	// TLP labels every event (an event's own label can only make it stricter).
	// Empty means AMBER: the recipient may pass an event to the network owner.
	TLP tlp.Label
	// Report is the report type, as Shadowserver file names carry it
	// ("scan_telnet"); FileName, if given, is the input's file name, from which
	// a format may read the report type when Report is empty.
	Report   string
	FileName string
	// Map is a generic CSV file's column mapping, e.g. "ip=src,time=ts,port=dport".
	Map string
	// Classification is the RSIT category for rows that carry none.
	Classification string
	// Observed is when the input was received: the time of events whose rows
	// carry none. Zero means such rows are malformed.
	Observed time.Time

	BatchSize      int // events per batch; 0 means DefaultBatchSize
	MaxRecordBytes int // longest row; longer rows are malformed; 0 means the default
	MaxErrors      int // malformed rows whose details are kept; 0 means the default
}

// Normalize fills in defaults and checks every field; errors name the field.
func (c Config) Normalize() (Config, error) {
	var errs []error
	if c.TLP == "" {
		c.TLP = tlp.Amber
	}
	if l, err := tlp.Parse(string(c.TLP)); err != nil {
		errs = append(errs, fmt.Errorf("tlp: %w", err))
	} else {
		c.TLP = l
	}
	if len(c.Feed) > maxNameLen {
		errs = append(errs, fmt.Errorf("feed: longer than %d bytes", maxNameLen))
	}
	if len(c.Report) > maxNameLen || strings.ContainsAny(c.Report, "/\\\x00") {
		errs = append(errs, fmt.Errorf("report: %q is not a report type", c.Report))
	}
	if c.Classification != "" {
		if err := taxonomy.Valid(c.Classification); err != nil {
			errs = append(errs, fmt.Errorf("classification: %w", err))
		}
	}
	switch {
	case c.BatchSize == 0:
		c.BatchSize = DefaultBatchSize
	case c.BatchSize < 0 || c.BatchSize > MaxBatchSize:
		errs = append(errs, fmt.Errorf("batch_size: %d not in 1..%d", c.BatchSize, MaxBatchSize))
	}
	switch {
	case c.MaxRecordBytes == 0:
		c.MaxRecordBytes = DefaultMaxRecordBytes
	case c.MaxRecordBytes < 64 || c.MaxRecordBytes > MaxRecordBytes:
		errs = append(errs, fmt.Errorf("max_record_bytes: %d not in 64..%d", c.MaxRecordBytes, MaxRecordBytes))
	}
	switch {
	case c.MaxErrors == 0:
		c.MaxErrors = DefaultMaxErrors
	case c.MaxErrors < 0 || c.MaxErrors > MaxErrors:
		errs = append(errs, fmt.Errorf("max_errors: %d not in 1..%d", c.MaxErrors, MaxErrors))
	}
	if !c.Observed.IsZero() {
		c.Observed = c.Observed.UTC()
	}
	return c, errors.Join(errs...)
}
