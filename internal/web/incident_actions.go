package web

import (
	"net/http"
	"net/url"

	"csirtlink/internal/incident"
	"csirtlink/internal/problem"
)

// afterAction finishes a form post on the incident page: on success a redirect with a
// message (so reloading does not post again); on a problem the page again, with what
// was typed and the message beside its field.
func (c *Console) afterAction(w http.ResponseWriter, r *http.Request, v *view, form string, err error, fields map[string]string, flash string) error {
	if err != nil {
		v.Form = r.PostForm
		if !v.fieldErrors(form, err, fields) {
			return err
		}
		p, _ := problem.As(err)
		if p.Status == http.StatusNotFound {
			return err
		}
		return c.showIncident(w, r, v, p.Status)
	}
	c.flash(w, "ok", flash)
	http.Redirect(w, r, "/incidents/"+url.PathEscape(r.PathValue("id"))+"#"+form, http.StatusSeeOther)
	return nil
}

func (c *Console) incidentComment(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.Incidents.AddEntry(r.Context(), v.actor(), r.PathValue("id"), incident.NewEntry{Kind: incident.KindComment,
		Body: r.PostFormValue("body"), TLP: r.PostFormValue("tlp"), Recipients: trimmed(r.PostForm["recipients"])})
	return c.afterAction(w, r, v, "comment", err, nil, "flash.commented")
}

func (c *Console) incidentObservable(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.Incidents.AddEntry(r.Context(), v.actor(), r.PathValue("id"), incident.NewEntry{Kind: incident.KindObservable,
		Type: r.PostFormValue("obs_type"), Body: r.PostFormValue("obs_value"), TLP: r.PostFormValue("obs_tlp"),
		Recipients: trimmed(r.PostForm["obs_recipients"])})
	return c.afterAction(w, r, v, "observable", err,
		map[string]string{"body": "obs_value", "type": "obs_type", "tlp": "obs_tlp", "recipients": "obs_recipients"}, "flash.observable")
}

func (c *Console) incidentStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.Incidents.SetStatus(r.Context(), v.actor(), r.PathValue("id"), r.PostFormValue("status"), r.PostFormValue("note"))
	return c.afterAction(w, r, v, "status", err, nil, "flash.status")
}

func (c *Console) incidentParticipation(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.Incidents.SetParticipation(r.Context(), v.actor(), r.PathValue("id"), r.PostFormValue("participation"))
	if err == nil && r.PostFormValue("back") == "dashboard" {
		c.flash(w, "ok", "flash.acknowledged")
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return c.afterAction(w, r, v, "participation", err, map[string]string{"status": "participation"}, "flash.participation")
}

func (c *Console) incidentInvite(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.Incidents.AddParticipant(r.Context(), v.actor(), r.PathValue("id"), r.PostFormValue("team"))
	return c.afterAction(w, r, v, "invite", err, nil, "flash.invited")
}
