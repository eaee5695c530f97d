package web

import (
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

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

// auditActions are the audit log's actions with a label in the catalogs
// ("auditaction.<action>"); any other is shown by its code.
var auditActions = []string{"incident.create", "incident.invite", "incident.receive", "incident.update", "entry.comment",
	"entry.observable", "entry.status", "entry.participation", "entry.invitation", "entry.append", "entry.submit",
	"page.send", "page.ack", "page.fallback", "page.receive", "page.resolve", "page.state", "commcheck.send", "contact.add",
	"contact.delete", "oncall.override", "oncall.override.delete", "oncall.policy", "oncall.rotation",
	"oncall.rotation.delete", "user.create", "user.disable", "user.enable", "user.password_set", "user.signout", "token.issue",
	"console.signin", "console.signin.failed", "console.signin.code_failed", "console.signin.disabled",
	"page.delivered", "page.notified", "page.acknowledged"}

// AuditAction is an audit record's action in the viewer's words, or its code.
func (v *view) AuditAction(action string) template.HTML {
	if v.c.i18n.has(v.Lang, "auditaction."+action) {
		return template.HTML(template.HTMLEscapeString(v.T("auditaction." + action)))
	}
	return template.HTML(`<span translate="no">` + template.HTMLEscapeString(action) + `</span>`)
}

// AuditActor is who did it: a person by name, or the node's own parts and peers in the
// viewer's words.
func (v *view) AuditActor(actor string) template.HTML {
	kind, rest, _ := strings.Cut(actor, ":")
	switch {
	case actor == "engine":
		return template.HTML(template.HTMLEscapeString(v.T("audit.actorEngine")))
	case actor == "cli":
		return template.HTML(template.HTMLEscapeString(v.T("audit.actorCLI")))
	case kind == "peer" && rest != "":
		return v.TH("audit.actorPeer", v.teamMark(rest))
	case kind == "fallback" && rest != "":
		return v.TH("audit.actorFallback", v.teamMark(rest))
	case kind == "console" && rest != "":
		return v.PersonWho(rest)
	}
	return v.PersonWho(actor)
}

func (v *view) teamMark(id string) template.HTML {
	return template.HTML(`<span class="team-name" translate="no">` + template.HTMLEscapeString(v.TeamName(id)) + `</span>`)
}

// TeamList names teams by their names, marked as names, in the viewer's list style.
func (v *view) TeamList(ids []string) template.HTML {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(template.HTMLEscapeString(v.T("list.sep")))
		}
		b.WriteString(string(v.teamMark(id)))
	}
	return template.HTML(b.String())
}

// AuditDetail is a record's detail: "via <channel>" in the viewer's words; any other
// is the machine's record, shown as it is and marked as English.
func (v *view) AuditDetail(detail string) template.HTML {
	if via, ok := strings.CutPrefix(detail, "via "); ok && v.c.i18n.has(v.Lang, "via."+via) {
		return template.HTML(template.HTMLEscapeString(v.T("page.via", v.T("via."+via))))
	}
	if addr, ok := strings.CutPrefix(detail, "from "); ok && !strings.Contains(addr, " ") {
		return v.TH("audit.fromAddr", template.HTML(`<span class="id" translate="no">`+template.HTMLEscapeString(addr)+`</span>`))
	}
	return template.HTML(`<span lang="en" translate="no">` + template.HTMLEscapeString(detail) + `</span>`)
}
