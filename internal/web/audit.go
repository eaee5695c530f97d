package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

type auditPage struct {
	Records []store.AuditRecord // newest first
	Older   int64               // ?before= for the next page, 0 when none
	Newer   int64
}

const auditPageSize = 100

// audit shows the hash-chained log, newest first, a page at a time (?before=SEQ).
func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *view) error {
	last, err := c.d.Store.LastAudit(r.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	before := last.Seq + 1
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return problem.Invalid("before", "must be a sequence number")
		}
		before = min(n, before)
	}
	after := max(before-auditPageSize-1, 0)
	var recs []store.AuditRecord
	if n := int(before - after - 1); n > 0 {
		if recs, err = c.d.Store.ListAudit(r.Context(), after, n); err != nil {
			return err
		}
	}
	slices.Reverse(recs)
	page := auditPage{Records: recs}
	if after > 0 {
		page.Older = after + 1
	}
	if before <= last.Seq {
		page.Newer = min(before+auditPageSize, last.Seq+1)
	}
	v.Nav = "audit"
	return c.render(w, v, http.StatusOK, "audit", v.T("audit.title"), page)
}
