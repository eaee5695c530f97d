package api

import (
	"net/http"

	"csirtlink/internal/incident"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := r.URL.Query()
	f := store.IncidentFilter{Status: q.Get("status"), Severity: q.Get("severity"), Category: q.Get("category"), TLP: q.Get("tlp"), Team: q.Get("team")}
	var err error
	if f.Limit, err = limitParam(r, 0); err != nil {
		return err
	}
	list, err := a.incidents.List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
	return nil
}

func (a *API) createIncident(w http.ResponseWriter, r *http.Request, c caller) error {
	var n incident.NewIncident
	if err := decode(r, &n); err != nil {
		return err
	}
	in, err := a.incidents.Create(r.Context(), c.incident(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+in.ID)
	writeJSON(w, http.StatusCreated, in)
	return nil
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request, _ caller) error {
	in, err := a.incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (a *API) addEntry(w http.ResponseWriter, r *http.Request, c caller) error {
	var n incident.NewEntry
	if err := decode(r, &n); err != nil {
		return err
	}
	e, err := a.incidents.AddEntry(r.Context(), c.incident(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

type statusRequest struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	var req statusRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	e, err := a.incidents.SetStatus(r.Context(), c.incident(), r.PathValue("id"), req.Status, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (a *API) setParticipation(w http.ResponseWriter, r *http.Request, c caller) error {
	var req statusRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Note != "" {
		return problem.Invalid("note", "not used for participation")
	}
	e, err := a.incidents.SetParticipation(r.Context(), c.incident(), r.PathValue("id"), req.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (a *API) addParticipant(w http.ResponseWriter, r *http.Request, c caller) error {
	var req struct {
		Team string `json:"team"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	e, err := a.incidents.AddParticipant(r.Context(), c.incident(), r.PathValue("id"), req.Team)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}
