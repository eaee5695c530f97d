package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

// fastFed makes retries quick so tests of outages finish in seconds.
var fastFed = config.Federation{RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond),
	PullInterval: config.Duration(50 * time.Millisecond)}

func startNet(t *testing.T, opts testnet.Options) *testnet.Net {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Federation == (config.Federation{}) {
		opts.Federation = fastFed
	}
	n, err := testnet.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// call makes an API request as the node's admin and decodes the JSON answer into out.
// It reports failures with t.Errorf, not t.Fatal, so goroutines may use it too.
func call(t *testing.T, nd *testnet.Node, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Errorf("encode request: %v", err)
			return -1
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, nd.URL+path, rd)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return -1
	}
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Errorf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type incidentView struct {
	ID           string `json:"id"`
	Coordinator  string `json:"coordinator"`
	Status       string `json:"status"`
	TLP          string `json:"tlp"`
	Participants []struct {
		Team   string `json:"team"`
		Status string `json:"status"`
	} `json:"participants"`
	Timeline []entryView `json:"timeline"`
}

type entryView struct {
	ID         string   `json:"id"`
	Position   int64    `json:"position"`
	Team       string   `json:"team"`
	Kind       string   `json:"kind"`
	Body       string   `json:"body"`
	TLP        string   `json:"tlp"`
	Recipients []string `json:"recipients"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// eventually polls cond every 10 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getIncident(t *testing.T, nd *testnet.Node, id string) (incidentView, int) {
	t.Helper()
	var in incidentView
	code := call(t, nd, "GET", "/api/v1/incidents/"+id, nil, &in)
	return in, code
}

func createIncident(t *testing.T, nd *testnet.Node, tlpLabel string, participants ...string) incidentView {
	t.Helper()
	var in incidentView
	code := call(t, nd, "POST", "/api/v1/incidents", map[string]any{"title": "Botnet C2 across borders", "description": "C2 in jp, bots in cn and kr",
		"category": "malicious-code/infected-system", "severity": "high", "tlp": tlpLabel, "participants": participants}, &in)
	if code != http.StatusCreated || in.ID == "" {
		t.Fatalf("create incident: %d %+v", code, in)
	}
	return in
}

func timelineBodies(in incidentView) []string {
	var out []string
	for _, e := range in.Timeline {
		out = append(out, fmt.Sprintf("%d:%s", e.Position, e.Body))
	}
	return out
}
