package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"csirtlink/internal/indicator"
	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
)

// The shared indicators' screens (issue 11): the list with its filters, an object's page
// with its sightings timeline and the buttons to report, and the search that the
// navigation's box opens.

type indicatorListPage struct {
	Indicators []store.Indicator
	Types      []observable.Type
	Classes    []taxonomy.Class
	Teams      []team.Peer
	Filtered   bool
}

func (c *Console) indicatorList(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	f := indicator.Filter{Type: q.Get("type"), Category: q.Get("category"), TLP: q.Get("tlp"), Author: q.Get("author"),
		Seen: q.Get("seen"), Expired: q.Get("expired"), Limit: 500}
	v.Form, v.FormName = q, "filter"
	page := indicatorListPage{Types: observable.Types(), Classes: taxonomy.Classes(), Teams: c.dir.Peers(),
		Filtered: f != (indicator.Filter{Limit: 500})}
	list, err := c.d.Indicators.List(r.Context(), f)
	if err != nil && !v.fieldErrors("filter", err, nil) {
		return err
	}
	page.Indicators = list
	v.Nav = "indicators"
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnprocessableEntity
	}
	return c.render(w, v, status, "indicators", v.T("indicators.title"), page)
}

type indicatorPage struct {
	indicator.View
	Mine  bool
	Kinds []string
}

var sightingKinds = []string{store.SightingSeen, store.SightingTakenDown, store.SightingFalsePositive, store.SightingBlocked}

func (c *Console) indicatorShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showIndicator(w, r, v, http.StatusOK)
}

func (c *Console) showIndicator(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	iv, err := c.d.Indicators.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Nav = "indicators"
	title := iv.Value
	if iv.Revoked {
		title = iv.ID
	}
	return c.render(w, v, status, "indicator", title, indicatorPage{View: iv, Mine: iv.Author == c.dir.Self.ID, Kinds: sightingKinds})
}

// indicatorSighting takes the object page's report form: the button pressed names the
// kind (seen, taken-down, false-positive, blocked).
func (c *Console) indicatorSighting(w http.ResponseWriter, r *http.Request, v *view) error {
	in := indicator.SightingInput{Kind: r.PostFormValue("kind"), Constituency: r.PostFormValue("constituency"), Note: r.PostFormValue("note"),
		TLP: r.PostFormValue("tlp")}
	if n := strings.TrimSpace(r.PostFormValue("count")); n != "" && in.Kind == store.SightingSeen {
		var err error
		if in.Count, err = parseCount(n); err != nil {
			err = problem.Invalid("count", "must be a positive number")
			v.Form = r.PostForm
			v.fieldErrors("sighting", err, nil)
			return c.showIndicator(w, r, v, http.StatusUnprocessableEntity)
		}
	}
	_, err := c.d.Indicators.Report(r.Context(), indicator.Actor{Name: v.userName()}, r.PathValue("id"), in)
	if err != nil {
		v.Form = r.PostForm
		if !v.fieldErrors("sighting", err, nil) {
			return err
		}
		if p, _ := problem.As(err); p.Status == http.StatusNotFound {
			return err
		}
		return c.showIndicator(w, r, v, http.StatusUnprocessableEntity)
	}
	c.flash(w, "ok", "flash.sighting")
	http.Redirect(w, r, "/indicators/"+url.PathEscape(r.PathValue("id"))+"#sightings", http.StatusSeeOther)
	return nil
}

func parseCount(s string) (int64, error) {
	var n int64
	for _, ch := range s {
		if ch < '0' || ch > '9' || n > 1<<40 {
			return 0, errors.New("not a count")
		}
		n = n*10 + int64(ch-'0')
	}
	return n, nil
}

type searchPage struct {
	Q    string
	Hits []indicator.Hit
}

func (c *Console) search(w http.ResponseWriter, r *http.Request, v *view) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v.Form, v.FormName, v.Nav = r.URL.Query(), "search", "search"
	page := searchPage{Q: q}
	status := http.StatusOK
	if q != "" {
		hits, err := c.d.Indicators.Search(r.Context(), q)
		if err != nil {
			if !v.fieldErrors("search", err, nil) {
				return err
			}
			status = http.StatusUnprocessableEntity
		}
		page.Hits = hits
	}
	return c.render(w, v, status, "search", v.T("search.title"), page)
}

// related is what else this node knows about each of an incident's observables, by value.
func (c *Console) related(r *http.Request, incidentID string, values []string) map[string][]indicator.Hit {
	if c.d.Indicators == nil {
		return nil
	}
	out := map[string][]indicator.Hit{}
	for _, val := range values {
		hits, err := c.d.Indicators.Related(r.Context(), incidentID, val)
		if err == nil && len(hits) > 0 {
			out[val] = hits
		}
	}
	return out
}
