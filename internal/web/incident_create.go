package web

import (
	"net/http"
	"net/url"
	"strings"

	"csirtlink/internal/incident"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
)

type incidentNewPage struct {
	Classes    []taxonomy.Class
	Severities []string
	Peers      []team.Peer
}

func (c *Console) newIncidentPage() incidentNewPage {
	var peers []team.Peer
	for _, p := range c.dir.Peers() {
		if p.IsActive() {
			peers = append(peers, p)
		}
	}
	return incidentNewPage{Classes: taxonomy.Classes(), Severities: incident.Severities, Peers: peers}
}

func (c *Console) incidentNew(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "incidents"
	v.FormName = "incident"
	v.Form.Set("tlp", "AMBER")
	v.Form.Set("severity", "medium")
	return c.render(w, v, http.StatusOK, "incident_new", v.T("new.title"), c.newIncidentPage())
}

// incidentCreate opens an incident; on a mistake the form comes back as typed, with
// the message beside the field.
func (c *Console) incidentCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	n := incident.NewIncident{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Category: r.PostFormValue("category"), Severity: r.PostFormValue("severity"), TLP: r.PostFormValue("tlp"),
		Participants: r.PostForm["participants"]}
	in, err := c.d.Incidents.Create(r.Context(), v.actor(), n)
	if err != nil {
		v.Form = r.PostForm
		if !v.fieldErrors("incident", err, nil) {
			return err
		}
		v.Nav = "incidents"
		return c.render(w, v, http.StatusUnprocessableEntity, "incident_new", v.T("new.title"), c.newIncidentPage())
	}
	c.flash(w, "ok", "flash.created")
	http.Redirect(w, r, "/incidents/"+url.PathEscape(in.ID), http.StatusSeeOther)
	return nil
}

// actor is the signed-in person as the incident service knows them.
func (v *view) actor() incident.Actor {
	u := v.User()
	return incident.Actor{UserID: u.ID, Name: u.Name, Role: u.Role}
}

// trimmed drops empty values from a multi-valued field.
func trimmed(vals []string) []string {
	var out []string
	for _, s := range vals {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
