package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
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
		if code != 200 || len(rs.Receipts) != 1 || rs.Receipts[0].Status != envelope.Applied {
			t.Fatalf("replay: %d %+v", code, rs)
		}
		// The answer is the original receipt: nothing was applied again.
		var first envelope.Receipt
		json.Unmarshal(sent[0].Receipt, &first)
		if !rs.Receipts[0].ReceivedAt.Equal(first.ReceivedAt) {
			t.Fatalf("replay got a new receipt %v, first was %v", rs.Receipts[0].ReceivedAt, first.ReceivedAt)
		}
		if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != 1 {
			t.Fatalf("jp applied %d envelopes", c)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		bad := *orig
		bad.Seq = orig.Seq + 1
		bad.Payload = bytes.Replace(orig.Payload, []byte("Botnet"), []byte("Hoax!!"), 1)
		code, rs := post(t, jp, cnKey, "cn", now, batch(&bad))
		if code != 200 || len(rs.Receipts) != 0 || rs.Error == "" {
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
	for _, reason := range []string{"replay", "tampered", "unknown peer", "bad request signature", "out of window"} {
		if got[reason] == 0 {
			t.Errorf("refusal %q not visible; have %v", reason, got)
		}
	}
	if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != 1 {
		t.Fatalf("jp applied %d envelopes from cn, want 1", c)
	}
}
