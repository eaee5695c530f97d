package api

import (
	"errors"
	"net/http"
	"strconv"

	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
)

func (a *API) whoami(w http.ResponseWriter, r *http.Request, c caller) error {
	writeJSON(w, http.StatusOK, map[string]string{"user": c.user.Name, "role": c.user.Role, "team": a.dir.Self.ID})
	return nil
}

func (a *API) listTeams(w http.ResponseWriter, r *http.Request, _ caller) error {
	writeJSON(w, http.StatusOK, map[string]any{"self": a.dir.Self, "peers": a.dir.Peers()})
	return nil
}

func (a *API) listPeers(w http.ResponseWriter, r *http.Request, _ caller) error {
	links, err := a.fed.Links(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"peers": links})
	return nil
}

// retryPeer is an operator's "retry now" for a link in back-off (admin, duty officer).
func (a *API) retryPeer(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("id")
	if err := a.fed.Retry(r.Context(), id, c.user.Name); err != nil {
		if errors.Is(err, federation.ErrUnknownPeer) {
			return problem.NotFound("%q is not an active peer", id)
		}
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"peer": id, "status": "retrying"})
	return nil
}

// limitParam reads ?limit=, 1 to 1000, or def when absent.
func limitParam(r *http.Request, def int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 1000 {
		return 0, problem.Invalid("limit", "must be a number from 1 to 1000")
	}
	return n, nil
}

func (a *API) listRefusals(w http.ResponseWriter, r *http.Request, _ caller) error {
	n, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	rs, err := a.fed.Refusals(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"refusals": rs})
	return nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ caller) error {
	n, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil && r.URL.Query().Get("after") != "" {
		return problem.Invalid("after", "must be a sequence number")
	}
	recs, err := a.audit.ListAudit(r.Context(), after, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": recs})
	return nil
}
