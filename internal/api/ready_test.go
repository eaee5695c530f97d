package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/faults"
	"csirtlink/internal/sqlstore"
)

// readyServer serves the API's routes with only readiness wired: /readyz is all these
// tests ask.
func readyServer(t *testing.T, db *sqlstore.DB, clk clock.Clock) *httptest.Server {
	t.Helper()
	a := &API{ready: WriteReadiness(db.ProbeWrite, clk, ProbeEvery), log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func getReady(t *testing.T, srv *httptest.Server) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestReadyzSaysWhenTheDatabaseCannotWrite opens a node's database while its file
// cannot be written: it answers reads, and every write fails.
//
// Regression: /readyz only pinged the database and said "ready".
func TestReadyzSaysWhenTheDatabaseCannotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	db, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	restore := faults.Unwritable(t, path)
	db, err = sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	srv := readyServer(t, db, clk)

	if code, body := getReady(t, srv); code != http.StatusServiceUnavailable || body["reason"] != "database is read-only" {
		t.Fatalf("readyz on an unwritable database = %d %v, want 503 database is read-only", code, body)
	}
	restore()
	// Probes are rate-limited: within ProbeEvery the last answer stands.
	if code, _ := getReady(t, srv); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz probed again within %s: %d", ProbeEvery, code)
	}
	clk.Advance(ProbeEvery)
	if code, body := getReady(t, srv); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("readyz after the fault = %d %v, want 200 ready", code, body)
	}
}
