package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/indicator"
	"csirtlink/internal/problem"
)

// MaxIndicatorImport caps an indicator file uploaded to the API (1,000,000 lines of a
// typical CSV fit).
const MaxIndicatorImport = 256 << 20

// SetIndicators mounts shared indicators, sightings and search (issue 11) on the API.
func (a *API) SetIndicators(s *indicator.Service) { a.indicators = s }

// indicatorRoutes answer 503 until SetIndicators.
func (a *API) indicatorRoutes() []Route {
	r := func(pattern string, p auth.Permission, limit int64, h handlerFunc) Route {
		return Route{pattern, a.withLimit(p, limit, func(w http.ResponseWriter, req *http.Request, c caller) error {
			if a.indicators == nil {
				return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "indicators are not set up on this node"}
			}
			return h(w, req, c)
		})}
	}
	return []Route{
		r("GET /api/v1/indicators", auth.Read, maxBody, a.listIndicators),
		r("POST /api/v1/indicators", auth.Write, maxBody, a.createIndicator),
		r("GET /api/v1/indicators/export", auth.Read, maxBody, a.exportIndicators),
		r("POST /api/v1/indicators/import", auth.Write, MaxIndicatorImport, a.importIndicators),
		r("GET /api/v1/indicators/{id}", auth.Read, maxBody, a.getIndicator),
		r("PUT /api/v1/indicators/{id}", auth.Write, maxBody, a.updateIndicator),
		r("DELETE /api/v1/indicators/{id}", auth.Write, maxBody, a.revokeIndicator),
		r("POST /api/v1/indicators/{id}/sightings", auth.Write, maxBody, a.reportSighting),
		r("GET /api/v1/search", auth.Read, maxBody, a.search),
	}
}

func (c caller) indicator() indicator.Actor { return indicator.Actor{Name: c.user.Name} }

func indicatorFilter(r *http.Request) (indicator.Filter, error) {
	q := r.URL.Query()
	f := indicator.Filter{Type: q.Get("type"), Category: q.Get("category"), TLP: q.Get("tlp"), Author: q.Get("author"),
		Value: q.Get("value"), Seen: q.Get("seen"), Expired: q.Get("expired"), Revoked: q.Get("revoked") == "true"}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, problem.Invalid("limit", "must be a positive number")
		}
		f.Limit = n
	}
	return f, nil
}

func (a *API) listIndicators(w http.ResponseWriter, r *http.Request, _ caller) error {
	f, err := indicatorFilter(r)
	if err != nil {
		return err
	}
	list, err := a.indicators.List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"indicators": list})
	return nil
}

func (a *API) createIndicator(w http.ResponseWriter, r *http.Request, c caller) error {
	var in indicator.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	ind, err := a.indicators.Create(r.Context(), c.indicator(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/indicators/"+ind.ID)
	writeJSON(w, http.StatusCreated, ind)
	return nil
}

func (a *API) getIndicator(w http.ResponseWriter, r *http.Request, _ caller) error {
	v, err := a.indicators.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) updateIndicator(w http.ResponseWriter, r *http.Request, c caller) error {
	var in indicator.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	ind, err := a.indicators.Update(r.Context(), c.indicator(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ind)
	return nil
}

func (a *API) revokeIndicator(w http.ResponseWriter, r *http.Request, c caller) error {
	ind, err := a.indicators.Revoke(r.Context(), c.indicator(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": ind.ID, "version": ind.Version, "revoked": true})
	return nil
}

func (a *API) reportSighting(w http.ResponseWriter, r *http.Request, c caller) error {
	var in indicator.SightingInput
	if err := decode(r, &in); err != nil {
		return err
	}
	x, err := a.indicators.Report(r.Context(), c.indicator(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, x)
	return nil
}

func (a *API) search(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		return problem.Invalid("q", "required")
	}
	hits, err := a.indicators.Search(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"q": q, "hits": hits})
	return nil
}

func (a *API) exportIndicators(w http.ResponseWriter, r *http.Request, _ caller) error {
	f, err := indicatorFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "csv" && format != "json" {
		return problem.Invalid("format", "must be one of %s", "csv, json")
	}
	if f.Limit == 0 {
		f.Limit = 5000
	}
	list, err := a.indicators.List(r.Context(), f)
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="indicators.csv"`)
		return indicator.WriteCSV(w, list)
	}
	writeJSON(w, http.StatusOK, map[string]any{"indicators": list})
	return nil
}

// importIndicators takes an import file as the body; the query gives its format, the
// column mapping (map=theirs:ours,…) and the defaults of what lines leave empty.
func (a *API) importIndicators(w http.ResponseWriter, r *http.Request, c caller) error {
	opt, err := importOptions(r)
	if err != nil {
		return err
	}
	res, err := a.indicators.Import(r.Context(), c.indicator(), r.Body, opt)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !res.Imported {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
	return nil
}

func importOptions(r *http.Request) (indicator.ImportOptions, error) {
	q := r.URL.Query()
	opt := indicator.ImportOptions{Format: q.Get("format"), Defaults: indicator.Input{Type: q.Get("type"),
		Category: q.Get("category"), TLP: q.Get("tlp"), Description: q.Get("description")}}
	split := func(v string) []string {
		var out []string
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	opt.Defaults.ShareWith, opt.Defaults.Tags, opt.Defaults.Incidents = split(q.Get("share_with")), split(q.Get("tags")), split(q.Get("incidents"))
	if v := q.Get("confidence"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return opt, problem.Invalid("confidence", "must be between 0 and 100")
		}
		opt.Defaults.Confidence = &n
	}
	if v := q.Get("valid_until"); v != "" {
		t, err := indicator.ParseTime(v)
		if err != nil {
			return opt, problem.Invalid("valid_until", "%v", err)
		}
		opt.Defaults.ValidUntil = &t
	}
	for _, m := range split(q.Get("map")) {
		theirs, ours, ok := strings.Cut(m, ":")
		if !ok {
			return opt, problem.Invalid("map", "must be theirs:ours pairs")
		}
		if opt.Map == nil {
			opt.Map = map[string]string{}
		}
		opt.Map[strings.ToLower(strings.TrimSpace(theirs))] = strings.TrimSpace(ours)
	}
	return opt, nil
}
