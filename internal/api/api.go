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
	"csirtlink/internal/cvd"
	"csirtlink/internal/exchange"
	"csirtlink/internal/federation"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/metrics"
	"csirtlink/internal/owner"
	"csirtlink/internal/partner"
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
	idem      *idempotency // nil until EnableIdempotency

	metrics   *metrics.Service
	publisher *metrics.Publisher

	// Bulk feeds (feeds.go); nil until SetFeeds.
	owners *owner.Service
	feeds  *feedrun.Service
	// maxUpload caps a feed file uploaded to ingest.
	maxUpload int64

	// Shared indicators (indicators.go); nil until SetIndicators.
	indicators *indicator.Service
	// Vulnerability coordination (cvd.go); nil until SetCVD.
	cvd *cvd.Service
	// STIX and IODEF exports and imports (exchange.go); nil until SetExchange.
	exchange *exchange.Service
	// The partner directory (partners.go); nil until SetPartners.
	partners *partner.Service
	keyFile  string
}

// New makes the API.
func New(a *auth.Service, inc *incident.Service, hl *hotline.Service, fed *federation.Federation, audit store.Audit, ready func(context.Context) error, log *slog.Logger) *API {
	return &API{auth: a, incidents: inc, hotline: hl, fed: fed, dir: fed.Directory(), audit: audit, ready: ready, log: log.With("component", "api")}
}

// Route is one endpoint of the JSON API: its pattern (method and path, as
// http.ServeMux takes it) and its handler. The OpenAPI document's test reads this table,
// so an endpoint cannot be added without being documented.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes lists every endpoint of the API. Each route names the permission it needs.
func (a *API) Routes() []Route {
	r := func(pattern string, p auth.Permission, h handlerFunc) Route { return Route{pattern, a.with(p, h)} }
	rs := []Route{
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})},
		{"GET /readyz", http.HandlerFunc(a.readyz)},
		{"GET /api/v1/openapi.json", http.HandlerFunc(serveOpenAPI)},

		r("GET /api/v1/whoami", auth.Read, a.whoami),
		r("GET /api/v1/teams", auth.Read, a.listTeams),
		r("GET /api/v1/incidents", auth.Read, a.listIncidents),
		r("POST /api/v1/incidents", auth.Write, a.createIncident),
		r("GET /api/v1/incidents/{id}", auth.Read, a.getIncident),
		r("POST /api/v1/incidents/{id}/timeline", auth.Write, a.addEntry),
		r("POST /api/v1/incidents/{id}/status", auth.Write, a.setStatus),
		r("POST /api/v1/incidents/{id}/participation", auth.Write, a.setParticipation),
		r("POST /api/v1/incidents/{id}/participants", auth.Write, a.addParticipant),
		r("POST /api/v1/pages", auth.Write, a.sendPage),
		r("GET /api/v1/pages", auth.Read, a.listPages),
		r("GET /api/v1/pages/{id}", auth.Read, a.getPage),
		r("POST /api/v1/pages/{id}/ack", auth.Write, a.ackPage),
		r("POST /api/v1/pages/{id}/resolve", auth.Write, a.resolvePage),
		r("POST /api/v1/commchecks", auth.Write, a.runCommCheck),
		r("GET /api/v1/commchecks", auth.Read, a.commCheckReport),
		r("GET /api/v1/oncall", auth.Read, a.onCallConfig),
		r("GET /api/v1/oncall/now", auth.Read, a.onCallNow),
		r("GET /api/v1/oncall/partners", auth.Read, a.partnersOnCall),
		r("PUT /api/v1/oncall/rotations/{id}", auth.Configure, a.putRotation),
		r("DELETE /api/v1/oncall/rotations/{id}", auth.Configure, a.deleteRotation),
		r("POST /api/v1/oncall/overrides", auth.Configure, a.addOverride),
		r("DELETE /api/v1/oncall/overrides/{id}", auth.Configure, a.deleteOverride),
		r("PUT /api/v1/oncall/policies/{id}", auth.Configure, a.putPolicy),
		r("GET /api/v1/users", auth.Manage, a.listUsers),
		r("POST /api/v1/users/{name}/disable", auth.Manage, a.disableUser),
		r("POST /api/v1/users/{name}/enable", auth.Manage, a.enableUser),
		r("POST /api/v1/users/{name}/sessions/revoke", auth.Manage, a.signOutUser),
		r("GET /api/v1/users/{name}/contacts", auth.Read, a.listContacts),
		r("POST /api/v1/users/{name}/contacts", auth.Read, a.addContact),
		r("DELETE /api/v1/users/{name}/contacts/{id}", auth.Read, a.deleteContact),
		r("GET /api/v1/peers", auth.Read, a.listPeers),
		r("POST /api/v1/peers/{id}/retry", auth.Configure, a.retryPeer),
		r("GET /api/v1/federation/refusals", auth.Manage, a.listRefusals),
		r("GET /api/v1/audit", auth.Manage, a.listAudit),
		r("GET /api/v1/metrics/collaboration", auth.Read, a.collaboration),
		r("GET /api/v1/metrics/joint", auth.Read, a.joint),
	}
	rs = append(rs, a.partnerRoutes()...)
	rs = append(rs, a.cvdRoutes()...)
	rs = append(rs, a.feedRoutes()...)
	rs = append(rs, a.indicatorRoutes()...)
	return append(rs, a.exchangeRoutes()...)
}

// Register mounts every route on mux, and answers 404 for the rest of /api/.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
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
	h = a.idempotent(h)
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
	if len(p.Errors) > 1 {
		var list []map[string]string
		for _, e := range p.Errors {
			list = append(list, map[string]string{"code": e.Code, "field": e.Field, "message": e.Message})
		}
		body["errors"] = list
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
		a.notReady(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
