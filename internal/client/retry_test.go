package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// lossyProxy forwards requests to a node and, for the first drop POSTs, throws the
// node's answer away and cuts the connection: the request was carried out, and the
// client never hears of it.
type lossyProxy struct {
	*httptest.Server
	mu   sync.Mutex
	drop int
	keys []string // the Idempotency-Key of each POST
}

// seen returns the keys of the POSTs so far.
func (p *lossyProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

func newLossyProxy(t *testing.T, node string, drop int) *lossyProxy {
	t.Helper()
	p := &lossyProxy{drop: drop}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, node+r.URL.RequestURI(), strings.NewReader(string(body)))
		if err != nil {
			t.Error(err)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Error(err)
			return
		}
		p.mu.Lock()
		lose := false
		if r.Method == http.MethodPost {
			p.keys = append(p.keys, r.Header.Get(IdempotencyHeader))
			lose = p.drop > 0
			p.drop--
		}
		p.mu.Unlock()
		if lose {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}

// quickClient has no pause between tries, and a new connection for each, so that Go's
// transport does not itself send the request again on a broken reused connection.
func quickClient(url, token string) *Client {
	c := New(url, token)
	c.http = &http.Client{Timeout: Timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	c.wait = func(context.Context, int) error { return nil }
	return c
}

func oneNode(t *testing.T) *testnet.Node {
	t.Helper()
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Teams: testnet.Default[:2],
		Federation: config.Federation{RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n.Node("cn")
}

var newIncident = incident.NewIncident{Title: "Booter hosting", Category: "availability/ddos", Severity: "high", TLP: "AMBER", Participants: []string{"jp"}}

func incidents(t *testing.T, nd *testnet.Node) int {
	t.Helper()
	list, err := New(nd.URL, nd.Token).ListIncidents(t.Context(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestLostAnswerIsSentAgainWithItsKey: the node creates the incident, its answer is
// lost on the way; the client sends the call again with the same key and gets the
// incident, and the node holds one.
//
// Regression: a lost answer was an error, and doing the call again made a duplicate.
func TestLostAnswerIsSentAgainWithItsKey(t *testing.T) {
	nd := oneNode(t)
	p := newLossyProxy(t, nd.URL, 1)
	in, err := quickClient(p.URL, nd.Token).CreateIncident(t.Context(), newIncident)
	if err != nil {
		t.Fatal(err)
	}
	if keys := p.seen(); len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("the POSTs carried keys %q; want one key, sent twice", keys)
	}
	if got := incidents(t, nd); got != 1 || in.ID == "" {
		t.Fatalf("the node holds %d incidents (the client got %q), want 1", got, in.ID)
	}
	// Each call has a key of its own.
	if _, err := quickClient(p.URL, nd.Token).CreateIncident(t.Context(), newIncident); err != nil {
		t.Fatal(err)
	}
	if keys := p.seen(); len(keys) != 3 || keys[2] == keys[0] {
		t.Fatalf("a second call reused the first one's key: %q", keys)
	}
}

// TestNoAnswerAtAllNamesTheKey: when no try is answered, the error says the call may
// have been carried out and gives its key; the call sent again with that key (as the
// CLI's --idempotency-key does) is carried out once.
func TestNoAnswerAtAllNamesTheKey(t *testing.T) {
	nd := oneNode(t)
	p := newLossyProxy(t, nd.URL, Attempts)
	_, err := quickClient(p.URL, nd.Token).CreateIncident(t.Context(), newIncident)
	var ie *IncompleteError
	if !errors.As(err, &ie) || ie.Key == "" || !strings.Contains(err.Error(), ie.Key) {
		t.Fatalf("err = %v, want an IncompleteError naming its key", err)
	}
	if keys := p.seen(); len(keys) != Attempts {
		t.Fatalf("%d tries, want %d", len(keys), Attempts)
	}
	in, err := New(nd.URL, nd.Token).CreateIncident(WithIdempotencyKey(t.Context(), ie.Key), newIncident)
	if err != nil || in.ID == "" {
		t.Fatalf("the call again with its key: %+v, %v", in, err)
	}
	if got := incidents(t, nd); got != 1 {
		t.Fatalf("the node holds %d incidents, want 1", got)
	}
}

// TestBusyAnswersAreTriedAgain: "still running" (409 in_progress) and "unavailable"
// (503) are tried again with the same key; other errors, and GETs, are not.
func TestBusyAnswersAreTriedAgain(t *testing.T) {
	var mu sync.Mutex
	var got []string
	answers := []struct {
		status int
		body   string
	}{
		{http.StatusConflict, `{"error":{"code":"in_progress","message":"still running"}}`},
		{http.StatusServiceUnavailable, `{"error":{"code":"unavailable","message":"storage"}}`},
		{http.StatusCreated, `{"id":"cn-2026-0001"}`},
		{http.StatusConflict, `{"error":{"code":"conflict","message":"closed"}}`},
		{http.StatusServiceUnavailable, `{"error":{"code":"unavailable","message":"storage"}}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.Header.Get(IdempotencyHeader))
		a := answers[0]
		answers = answers[1:]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	tries := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	c := quickClient(srv.URL, "t")
	in, err := c.CreateIncident(t.Context(), newIncident)
	if err != nil || in.ID != "cn-2026-0001" {
		t.Fatalf("CreateIncident = %+v, %v", in, err)
	}
	if got := tries(); len(got) != 3 || got[0] != got[1] || got[1] != got[2] || got[0] == "POST " {
		t.Fatalf("tries %q, want three POSTs with one key", got)
	}
	var ce *Error
	if _, err := c.CreateIncident(t.Context(), newIncident); !errors.As(err, &ce) || ce.Code != "conflict" || len(tries()) != 4 {
		t.Fatalf("a plain conflict: %v after %d tries, want it at once", err, len(tries()))
	}
	if _, err := c.WhoAmI(t.Context()); !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || len(tries()) != 5 {
		t.Fatalf("a GET answered 503: %v after %d tries, want it at once", err, len(tries()))
	}
}
