package api

import (
	"errors"
	"net/http"

	"csirtlink/internal/metrics"
	"csirtlink/internal/problem"
)

// SetMetrics gives the API the collaboration metrics (kept apart from New so that
// the services it is built with stay as they were).
func (a *API) SetMetrics(svc *metrics.Service, pub *metrics.Publisher) {
	a.metrics, a.publisher = svc, pub
}

// periodParam reads ?period=, required.
func periodParam(r *http.Request) (metrics.Period, error) {
	s := r.URL.Query().Get("period")
	if s == "" {
		return metrics.Period{}, problem.Invalid("period", "required: a year (2026), quarter (2026Q3), month (2026-12) or week (2026-W07)")
	}
	p, err := metrics.ParsePeriod(s)
	if err != nil {
		return p, problem.Invalid("period", "%v", err)
	}
	return p, nil
}

// collaboration is this node's figures for a period, pooled and per direction, for
// every partner or one.
func (a *API) collaboration(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := periodParam(r)
	if err != nil {
		return err
	}
	partner := r.URL.Query().Get("partner")
	if partner == a.dir.Self.ID {
		return problem.Invalid("partner", "must be a partner team, not this one")
	}
	rep, err := a.metrics.Compute(r.Context(), p, partner)
	if errors.Is(err, metrics.ErrUnknownTeam) {
		return problem.Invalid("partner", "%q is not a partner team", partner)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// joint is the joint report of a period from every team's published aggregates.
func (a *API) joint(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := periodParam(r)
	if err != nil {
		return err
	}
	if p.Kind == metrics.Week {
		return problem.Invalid("period", "weeks are not published; use a month, quarter or year")
	}
	j, err := a.publisher.Joint(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
