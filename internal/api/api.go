// Package api serves the node's JSON API under /api/v1.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/federation"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/owner"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// maxBody caps every request body; incident text has its own, smaller limits.
const maxBody = 1 << 20

// API holds what the handlers need.
type API struct {
	auth      *auth.Service
	incidents *incident.Service
	hotline   *hotline.Service
	fed       *federation.Federation
	dir       *team.Directory
	audit     store.Audit
	ready     func(context.Context) error
	log       *slog.Logger

	// Bulk feeds (feeds.go); nil until SetFeeds.
	owners *owner.Service
	feeds  *feedrun.Service
	// maxUpload caps a feed file uploaded to ingest.
	maxUpload int64
}

// New makes the API.
func New(a *auth.Service, inc *incident.Service, hl *hotline.Service, fed *federation.Federation, audit store.Audit, ready func(context.Context) error, log *slog.Logger) *API {
	return &API{auth: a, incidents: inc, hotline: hl, fed: fed, dir: fed.Directory(), audit: audit, ready: ready, log: log.With("component", "api")}
}

// Register mounts every route on mux. Each route names the permission it needs.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)

	mux.Handle("GET /api/v1/whoami", a.with(auth.Read, a.whoami))
	mux.Handle("GET /api/v1/teams", a.with(auth.Read, a.listTeams))
	mux.Handle("GET /api/v1/incidents", a.with(auth.Read, a.listIncidents))
	mux.Handle("POST /api/v1/incidents", a.with(auth.Write, a.createIncident))
	mux.Handle("GET /api/v1/incidents/{id}", a.with(auth.Read, a.getIncident))
	mux.Handle("POST /api/v1/incidents/{id}/timeline", a.with(auth.Write, a.addEntry))
	mux.Handle("POST /api/v1/incidents/{id}/status", a.with(auth.Write, a.setStatus))
	mux.Handle("POST /api/v1/incidents/{id}/participation", a.with(auth.Write, a.setParticipation))
	mux.Handle("POST /api/v1/incidents/{id}/participants", a.with(auth.Write, a.addParticipant))
	mux.Handle("POST /api/v1/pages", a.with(auth.Write, a.sendPage))
	mux.Handle("GET /api/v1/pages", a.with(auth.Read, a.listPages))
	mux.Handle("GET /api/v1/pages/{id}", a.with(auth.Read, a.getPage))
	mux.Handle("POST /api/v1/pages/{id}/ack", a.with(auth.Write, a.ackPage))
	mux.Handle("POST /api/v1/pages/{id}/resolve", a.with(auth.Write, a.resolvePage))
	mux.Handle("POST /api/v1/commchecks", a.with(auth.Write, a.runCommCheck))
	mux.Handle("GET /api/v1/commchecks", a.with(auth.Read, a.commCheckReport))
	mux.Handle("GET /api/v1/oncall", a.with(auth.Read, a.onCallConfig))
	mux.Handle("GET /api/v1/oncall/now", a.with(auth.Read, a.onCallNow))
	mux.Handle("GET /api/v1/oncall/partners", a.with(auth.Read, a.partnersOnCall))
	mux.Handle("PUT /api/v1/oncall/rotations/{id}", a.with(auth.Configure, a.putRotation))
	mux.Handle("DELETE /api/v1/oncall/rotations/{id}", a.with(auth.Configure, a.deleteRotation))
	mux.Handle("POST /api/v1/oncall/overrides", a.with(auth.Configure, a.addOverride))
	mux.Handle("DELETE /api/v1/oncall/overrides/{id}", a.with(auth.Configure, a.deleteOverride))
	mux.Handle("PUT /api/v1/oncall/policies/{id}", a.with(auth.Configure, a.putPolicy))
	mux.Handle("GET /api/v1/users", a.with(auth.Manage, a.listUsers))
	mux.Handle("POST /api/v1/users/{name}/disable", a.with(auth.Manage, a.disableUser))
	mux.Handle("POST /api/v1/users/{name}/enable", a.with(auth.Manage, a.enableUser))
	mux.Handle("POST /api/v1/users/{name}/sessions/revoke", a.with(auth.Manage, a.signOutUser))
	mux.Handle("GET /api/v1/users/{name}/contacts", a.with(auth.Read, a.listContacts))
	mux.Handle("POST /api/v1/users/{name}/contacts", a.with(auth.Read, a.addContact))
	mux.Handle("DELETE /api/v1/users/{name}/contacts/{id}", a.with(auth.Read, a.deleteContact))
	mux.Handle("GET /api/v1/peers", a.with(auth.Read, a.listPeers))
	mux.Handle("POST /api/v1/peers/{id}/retry", a.with(auth.Configure, a.retryPeer))
	mux.Handle("GET /api/v1/federation/refusals", a.with(auth.Manage, a.listRefusals))
	mux.Handle("GET /api/v1/audit", a.with(auth.Manage, a.listAudit))
	a.registerFeeds(mux)
	mux.Handle("/api/", a.with(auth.Read, func(w http.ResponseWriter, r *http.Request, _ caller) error {
		return &problem.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"}
	}))
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

// caller is the authenticated person making a request.
type caller struct{ user store.User }

func (c caller) incident() incident.Actor {
	return incident.Actor{UserID: c.user.ID, Name: c.user.Name, Role: c.user.Role}
}

func (c caller) auth() auth.Actor { return auth.Actor{UserID: c.user.ID, Name: c.user.Name} }

func (c caller) hotline() hotline.Actor {
	return hotline.Actor{Name: c.user.Name, DisplayName: c.user.DisplayName}
}

// with authenticates the bearer token, checks the permission, and reports errors as JSON.
func (a *API) with(p auth.Permission, h handlerFunc) http.Handler { return a.withLimit(p, maxBody, h) }

// withLimit is with, for a request whose body may be up to limit bytes.
func (a *API) withLimit(p auth.Permission, limit int64, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="csirtlink"`)
			writeError(w, &problem.Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Authorization: Bearer <token> required"})
			return
		}
		u, err := a.auth.Authenticate(r.Context(), strings.TrimSpace(tok))
		if errors.Is(err, auth.ErrBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="csirtlink", error="invalid_token"`)
			writeError(w, &problem.Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "invalid or expired token"})
			return
		}
		if err != nil {
			// The token may well be good: telling its holder otherwise would send them
			// to rotate credentials during an outage.
			a.log.Error("authenticate", "err", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
				Message: "the node cannot read its database just now; try again shortly"})
			return
		}
		if !auth.Allows(u.Role, p) {
			writeError(w, problem.Forbidden("role %s may not do this", u.Role))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r, caller{user: u}); err != nil {
			if _, ok := problem.As(err); !ok {
				a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "user", u.Name, "err", err)
			}
			writeError(w, err)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	p, ok := problem.As(err)
	if !ok {
		p = &problem.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the node's log"}
	}
	body := map[string]any{"code": p.Code, "message": p.Message}
	if p.Field != "" {
		body["field"] = p.Field
	}
	writeJSON(w, p.Status, map[string]any{"error": body})
}

// decode reads a JSON body strictly: unknown fields and trailing data are errors that
// name what was wrong.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
		case errors.As(err, &typeErr):
			return problem.Invalid(typeErr.Field, "must be %s", typeErr.Type)
		case errors.Is(err, io.EOF):
			return problem.BadRequest("empty body; a JSON object is required")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return problem.Invalid(f, "unknown field")
		}
		return problem.BadRequest("malformed JSON: %v", err)
	}
	if dec.More() {
		return problem.BadRequest("malformed JSON: data after the object")
	}
	return nil
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.ready(r.Context()); err != nil {
		a.log.Error("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
