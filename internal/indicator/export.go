package indicator

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/store"
)

// ExportColumns are the columns of an exported CSV file: the import's fields, then the
// object's identity. A file exported here imports again (the extra columns mapped to -).
var ExportColumns = append(append([]string{}, Fields...), "id", "author", "version", "modified")

// WriteCSV writes indicators as CSV with a header.
func WriteCSV(w io.Writer, list []store.Indicator) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return err
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, ind := range list {
		from := ind.ValidFrom
		rec := []string{ind.Type, ind.Value, ind.Category, strconv.Itoa(ind.Confidence), ind.TLP,
			strings.Join(ind.ShareWith, ";"), strings.Join(ind.Incidents, ";"), strings.Join(ind.Tags, ";"), ind.Description,
			tm(&from), tm(ind.ValidUntil), ind.ID, ind.Author, strconv.FormatInt(ind.Version, 10), tm(&ind.Modified)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
