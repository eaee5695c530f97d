// Package opmetrics is the node's operational metrics in the Prometheus text format, at
// GET /metrics behind a token of their own: federation link lag, queue depth and
// deliveries per peer, refusals by reason, pages by state, escalation lateness, engine
// cycle times and HTTP latency by route.
//
// What lives in the database (queues, deliveries, pages) is read when Prometheus
// scrapes, by a collector with a deadline, never on the request path; what happens in
// the process (requests, refusals, engine cycles) is counted as it happens. Every label
// has a bounded set of values: route patterns, not paths; this package's fixed refusal
// reasons; configured peers; page states.
package opmetrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
)

// Path is where the metrics are served.
const Path = "/metrics"

// CollectTimeout bounds the database reads of one scrape: a slow database must not
// pile up scrapes, and Prometheus would give up on the scrape anyway.
const CollectTimeout = 5 * time.Second

// Store is what the scrape-time collector reads.
type Store interface {
	store.MetricsReader
	store.CollabCounter
	NextEscalation(ctx context.Context) (time.Time, error)
	CountInbox(ctx context.Context, origin string) (int, error)
}

// Metrics is one node's registry and instruments. Each node has its own registry, so
// that several nodes in one process (the demo, the tests) never mix their figures.
type Metrics struct {
	reg       *prometheus.Registry
	tokenHash []byte // SHA-256 of the token; nil: no token is configured and every scrape is refused
	log       *slog.Logger

	httpDuration *prometheus.HistogramVec
	refusals     *prometheus.CounterVec
	engineCycle  *prometheus.HistogramVec
	engineErrors *prometheus.CounterVec
}

// HashToken is the form a metrics token is configured in: the hex SHA-256 of the token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// New makes the metrics of one node. tokenHash is the configured hash ("" for none).
func New(tokenHash string, fed *federation.Federation, st Store, clk clock.Clock, log *slog.Logger) (*Metrics, error) {
	m := &Metrics{reg: prometheus.NewRegistry(), log: log.With("component", "opmetrics")}
	if tokenHash != "" {
		b, err := hex.DecodeString(tokenHash)
		if err != nil || len(b) != sha256.Size {
			return nil, errors.New("metrics.token_hash: must be the 64 hex digits of a token's SHA-256")
		}
		m.tokenHash = b
	}
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "csirtlink_http_request_duration_seconds",
		Help:    "HTTP requests by route pattern (not path), method and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method", "code"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "csirtlink_federation_refusals_total",
		Help: "Federation traffic refused, by reason (counted even over the per-minute cap on recording).",
	}, []string{"reason"})
	m.engineCycle = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "csirtlink_engine_module_seconds",
		Help:    "Time one engine module took for one cycle.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"module"})
	m.engineErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "csirtlink_engine_module_errors_total",
		Help: "Engine module cycles that failed.",
	}, []string{"module"})
	m.reg.MustRegister(m.httpDuration, m.refusals, m.engineCycle, m.engineErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{fed: fed, st: st, clock: clk, self: fed.Self(), log: m.log})
	// Every reason shows from the first scrape, at 0, so that rate() and alerts work
	// before the first refusal.
	for _, r := range federation.RefusalReasons {
		m.refusals.WithLabelValues(r)
	}
	fed.OnRefusal(func(reason string) { m.refusals.WithLabelValues(reason).Inc() })
	return m, nil
}

// Registry is the node's registry, for tests and for other packages' instruments.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Modules makes each engine module's series show from the first scrape.
func (m *Metrics) Modules(names ...string) {
	for _, n := range names {
		m.engineCycle.WithLabelValues(n)
		m.engineErrors.WithLabelValues(n)
	}
}

// ObserveModule records one engine module's cycle (engine.Options.Observe).
func (m *Metrics) ObserveModule(module string, took time.Duration, err error) {
	m.engineCycle.WithLabelValues(module).Observe(took.Seconds())
	if err != nil {
		m.engineErrors.WithLabelValues(module).Inc()
	}
}

// Handler serves the metrics to a bearer of the metrics token; anyone else gets 401.
// At most two scrapes run at once.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 2, Timeout: 2 * CollectTimeout,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelError), ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || m.tokenHash == nil || subtle.ConstantTimeCompare(sum[:], m.tokenHash) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="csirtlink metrics"`)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error": {"code": "unauthorized", "message": "the metrics token is required"}}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Instrument wraps the node's whole handler (the mux) and times every request by the
// pattern the mux matched. The mux sets the pattern on the request it is given, so it
// is read after the request is served; a request no pattern matched is "unmatched".
// Live event streams are left out: they last as long as a browser tab is open.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if route == "GET /events" {
			return
		}
		m.httpDuration.WithLabelValues(route, method(r.Method), strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

// method bounds the method label: anyone may send any method name.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushes for
// server-sent events, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes through for handlers that type-assert http.Flusher.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
