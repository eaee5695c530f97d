package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"csirtlink/internal/cvd"
	"csirtlink/internal/problem"
)

// Vulnerability coordination (issue 13): the cases list and a case's page.

type cvdCasePage struct {
	Case     cvd.Case
	Matrix   map[string]map[string]cvd.Status
	IsOwner  bool
	Agreed   bool // this team agreed to the proposed instant
	Statuses []string
}

func (c *Console) cvdList(w http.ResponseWriter, r *http.Request, v *view) error {
	list, err := c.d.CVD.List(r.Context())
	if err != nil {
		return err
	}
	v.Nav = "cvd"
	return c.render(w, v, http.StatusOK, "cvd", v.T("cvd.title"), list)
}

func (c *Console) cvdShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showCase(w, r, v, http.StatusOK)
}

func (c *Console) showCase(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	k, err := c.d.CVD.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	page := cvdCasePage{Case: k, Matrix: cvd.Matrix(k), IsOwner: k.Owner == c.dir.Self.ID, Statuses: cvd.Statuses}
	for _, t := range k.Embargo.Agreed {
		page.Agreed = page.Agreed || t == c.dir.Self.ID
	}
	v.Nav = "cvd"
	return c.render(w, v, status, "cvd_case", k.Title, page)
}

// cvdAgree records this team's agreement to the proposed instant; cvdObject its
// objection, with the reason.
func (c *Console) cvdAgree(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.CVD.AgreeEmbargo(r.Context(), v.cvdActor(), r.PathValue("id"))
	return c.afterCase(w, r, v, "embargo", err, "flash.cvdAgreed")
}

func (c *Console) cvdObject(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.CVD.ObjectEmbargo(r.Context(), v.cvdActor(), r.PathValue("id"), r.PostFormValue("reason"))
	return c.afterCase(w, r, v, "embargo", err, "flash.cvdObjected")
}

func (c *Console) afterCase(w http.ResponseWriter, r *http.Request, v *view, form string, err error, flash string) error {
	if err != nil {
		v.Form = r.PostForm
		var p *problem.Error
		if !v.fieldErrors(form, err, nil) || errors.As(err, &p) && p.Status == http.StatusNotFound {
			return err
		}
		return c.showCase(w, r, v, p.Status)
	}
	c.flash(w, "ok", flash)
	http.Redirect(w, r, "/cvd/"+url.PathEscape(r.PathValue("id"))+"#"+form, http.StatusSeeOther)
	return nil
}

// Countdown says how long until t, in the viewer's language ("" once it passed).
func (v *view) Countdown(t *time.Time) string {
	if t == nil || !t.After(v.Now) {
		return ""
	}
	d := t.Sub(v.Now)
	switch {
	case d < time.Hour:
		return v.T("cvd.inMinutes", int((d+time.Minute-1)/time.Minute))
	case d < 48*time.Hour:
		return v.T("cvd.inHours", int(d/time.Hour))
	}
	return v.T("cvd.inDays", int(d/(24*time.Hour)))
}

func (v *view) cvdActor() cvd.Actor {
	u := v.User()
	return cvd.Actor{Name: u.Name, Role: u.Role}
}

// PartyTime is t at a team, always shown (the embargo's instant in each party's time).
func (v *view) PartyTime(t time.Time, teamID string) string {
	tm, ok := v.c.dir.Team(teamID)
	if !ok {
		return ""
	}
	return v.at(t, tm.Location(), true)
}

// HasCVD reports whether the node runs vulnerability coordination, for the navigation.
func (v *view) HasCVD() bool { return v.session != nil && !v.session.Pending && v.c.d.CVD != nil }
