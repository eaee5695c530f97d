// Package web is the duty officers' console: server-rendered pages in English, Chinese,
// Japanese and Korean, with live updates.
package web

import (
	"log/slog"
	"net/http"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
)

// Deps is what the console needs from the node.
type Deps struct {
	Auth      *auth.Service
	Incidents *incident.Service
	Fed       *federation.Federation
	Store     store.Store
	Clock     clock.Clock
	Log       *slog.Logger
}

// Console serves the web console.
type Console struct {
	d Deps
}

// New makes the console.
func New(d Deps) *Console { return &Console{d: d} }

// Register mounts the console's routes on mux.
func (c *Console) Register(mux *http.ServeMux) {}
