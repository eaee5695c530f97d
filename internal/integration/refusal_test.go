package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/testnet"
)

// post sends a signed federation request as team from, with key, dated at.
func post(t *testing.T, to *testnet.Node, key identity.Key, from string, at time.Time, body []byte) (int, envelope.Receipts) {
	t.Helper()
	req, err := http.NewRequest("POST", to.URL+"/federation/v1/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	envelope.SignRequest(req, key, from, to.Team, at, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rs envelope.Receipts
	json.Unmarshal(b, &rs)
	return resp.StatusCode, rs
}

func refusalReasons(t *testing.T, nd *testnet.Node) map[string]int {
	var out struct {
		Refusals []struct {
			Peer, Reason, Detail string
		} `json:"refusals"`
	}
	if code := call(t, nd, "GET", "/api/v1/federation/refusals", nil, &out); code != 200 {
		t.Fatalf("refusals: %d", code)
	}
	m := map[string]int{}
	for _, r := range out.Refusals {
		m[r.Reason]++
	}
	return m
}

func TestForgedAndReplayedTrafficIsRefused(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	cnKey, err := identity.Load(filepath.Join(dir, "cn", "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	in := createIncident(t, cn, "AMBER", "jp")
	eventually(t, 2*time.Second, "incident delivered to jp", func() error {
		sent, _ := cn.App.Store.Sent(ctx, "jp")
		if len(sent) != 1 || sent[0].DeliveredAt == nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	sent, _ := cn.App.Store.Sent(ctx, "jp")
	orig, err := envelope.Unmarshal(sent[0].Envelope)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(es ...*envelope.Envelope) []byte {
		b, _ := json.Marshal(envelope.Batch{Envelopes: es})
		return b
	}
	now := time.Now()

	t.Run("replay", func(t *testing.T) {
		code, rs := post(t, jp, cnKey, "cn", now, batch(orig))
		if code != 200 || len(rs.All()) != 1 || rs.All()[0].Status != envelope.Applied {
			t.Fatalf("replay: %d %+v", code, rs)
		}
		// The answer is the original receipt: nothing was applied again.
		var first envelope.Receipt
		json.Unmarshal(sent[0].Receipt, &first)
		if !rs.All()[0].ReceivedAt.Equal(first.ReceivedAt) {
			t.Fatalf("replay got a new receipt %v, first was %v", rs.All()[0].ReceivedAt, first.ReceivedAt)
		}
		if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != 1 {
			t.Fatalf("jp applied %d envelopes", c)
		}
	})

	// A second envelope, validly signed by cn, under a sequence number jp already
	// applied: refused and recorded, and the first one's effect stays.
	t.Run("seq reused", func(t *testing.T) {
		var p map[string]any
		if err := json.Unmarshal(orig.Payload, &p); err != nil {
			t.Fatal(err)
		}
		p["title"] = "Rewritten by a second envelope"
		other := *orig
		other.Payload, _ = json.Marshal(p)
		other.Time = time.Now().UTC().Truncate(time.Microsecond)
		other.Sign(cnKey)
		if pub, _ := identity.ParsePublic(cnKey.Public()); other.Verify(pub) != nil {
			t.Fatal("the second envelope must be validly signed for this test to mean anything")
		}
		code, rs := post(t, jp, cnKey, "cn", time.Now(), batch(&other))
		if code != 200 || len(rs.All()) != 0 || !strings.Contains(rs.Error, "seq reused") {
			t.Fatalf("second envelope under seq %d: %d %+v", orig.Seq, code, rs)
		}
		var got struct{ Title string }
		call(t, jp, "GET", "/api/v1/incidents/"+in.ID, nil, &got)
		if got.Title != "Botnet C2 across borders" {
			t.Fatalf("jp's incident title is now %q", got.Title)
		}
		if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != 1 {
			t.Fatalf("jp holds %d envelopes from cn", c)
		}
		inbox, _ := jp.App.Store.GetInbox(ctx, "cn", orig.Seq)
		if d := orig.Digest(); !bytes.Equal(inbox.Digest, d[:]) {
			t.Fatal("jp's inbox now names another envelope under the used number")
		}
	})

	t.Run("tampered", func(t *testing.T) {
		bad := *orig
		bad.Seq = orig.Seq + 1
		bad.Payload = bytes.Replace(orig.Payload, []byte("Botnet"), []byte("Hoax!!"), 1)
		code, rs := post(t, jp, cnKey, "cn", now, batch(&bad))
		if code != 200 || len(rs.All()) != 0 || rs.Error == "" {
			t.Fatalf("tampered: %d %+v", code, rs)
		}
		got, _ := getIncident(t, jp, in.ID)
		if got.ID == "" || bytes.Contains([]byte(fmt.Sprint(got)), []byte("Hoax")) {
			t.Fatalf("jp's incident changed: %+v", got)
		}
	})

	t.Run("unknown peer", func(t *testing.T) {
		stranger, _ := identity.Generate()
		code, _ := post(t, jp, stranger, "xx", now, batch())
		if code != http.StatusForbidden {
			t.Fatalf("unknown peer: %d", code)
		}
	})

	t.Run("impostor", func(t *testing.T) {
		stranger, _ := identity.Generate()
		code, _ := post(t, jp, stranger, "cn", now, batch(orig))
		if code != http.StatusUnauthorized {
			t.Fatalf("impostor: %d", code)
		}
	})

	t.Run("out of window", func(t *testing.T) {
		code, _ := post(t, jp, cnKey, "cn", now.Add(-10*time.Minute), batch(orig))
		if code != http.StatusUnauthorized {
			t.Fatalf("stale request: %d", code)
		}
	})

	got := refusalReasons(t, jp)
	for _, reason := range []string{"replay", "seq reused", "tampered", "unknown peer", "bad request signature", "out of window"} {
		if got[reason] == 0 {
			t.Errorf("refusal %q not visible; have %v", reason, got)
		}
	}
	if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != 1 {
		t.Fatalf("jp applied %d envelopes from cn, want 1", c)
	}
}

// A captured GET /outbox request (for a node that pulls) cannot be played again
// within the time window to read what waits for that node; and receipts with seq 0
// are a 400 that names the field, not a 500.
func TestCapturedFederationRequestsCannotBeReplayed(t *testing.T) {
	dir := t.TempDir()
	opts := testnetOptions()
	opts.Dir = dir
	opts.PullOnly = []string{"kr"}
	n := startNet(t, opts)
	cn := n.Node("cn")
	krKey, err := identity.Load(filepath.Join(dir, "kr", "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", cn.URL+"/federation/v1/outbox?after=0&limit=10", nil)
	envelope.SignRequest(req, krKey, "kr", "cn", time.Now(), nil)
	captured := req.Header.Clone()
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized, http.StatusUnauthorized} {
		r, _ := http.NewRequest("GET", req.URL.String(), nil)
		r.Header = captured.Clone()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %s, want %d", i+1, resp.StatusCode, b, want)
		}
	}
	if refusalReasons(t, cn)["replayed request"] != 2 {
		t.Errorf("replays not recorded: %v", refusalReasons(t, cn))
	}

	body := []byte(`{"receipts":[{"origin":"cn","receiver":"kr","seq":0,"digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","status":"applied","received_at":"2026-11-22T10:00:00Z","signature":"` +
		strings.Repeat("A", 86) + `=="}]}`)
	r, _ := http.NewRequest("POST", cn.URL+"/federation/v1/receipts", bytes.NewReader(body))
	envelope.SignRequest(r, krKey, "kr", "cn", time.Now(), body)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "receipts[0].seq") {
		t.Fatalf("receipt with seq 0: %d %s, want 400 naming receipts[0].seq", resp.StatusCode, b)
	}
}
