package web

import (
	"net/http"

	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
)

type incidentListPage struct {
	Incidents  []store.Incident
	Filter     store.IncidentFilter
	Statuses   []string
	Severities []string
	Classes    []taxonomy.Class
	Peers      []team.Peer
	Filtered   bool
}

var statuses = []string{incident.Open, incident.InProgress, incident.Mitigated, incident.Closed}

// incidentList lists incidents, filtered by status, severity, category, partner and
// TLP, with the filter form kept as chosen.
func (c *Console) incidentList(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	f := store.IncidentFilter{Status: q.Get("status"), Severity: q.Get("severity"), Category: q.Get("category"),
		TLP: q.Get("tlp"), Team: q.Get("team"), Limit: 500}
	v.Form = q
	v.FormName = "filter"
	page := incidentListPage{Filter: f, Statuses: statuses, Severities: incident.Severities, Classes: taxonomy.Classes(),
		Peers: c.dir.Peers(), Filtered: f.Status != "" || f.Severity != "" || f.Category != "" || f.TLP != "" || f.Team != ""}
	list, err := c.d.Incidents.List(r.Context(), f)
	if err != nil && !v.fieldErrors("filter", err, nil) {
		return err
	}
	page.Incidents = list
	v.Nav, v.Live = "incidents", "all"
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnprocessableEntity
	}
	return c.render(w, v, status, "incidents", v.T("incidents.title"), page)
}
