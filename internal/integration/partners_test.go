package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

type partnersView struct {
	Partners []struct {
		Team         string    `json:"team"`
		Name         string    `json:"name"`
		Timezone     string    `json:"timezone"`
		At           time.Time `json:"at"`
		ReceivedAt   time.Time `json:"received_at"`
		Stale        bool      `json:"stale"`
		HotlineEmail string    `json:"hotline_email"`
		Rotations    []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Timezone string `json:"timezone"`
			Current  struct {
				User string `json:"user"`
			} `json:"current"`
			Next struct {
				User string `json:"user"`
			} `json:"next"`
		} `json:"rotations"`
	} `json:"partners"`
}

// onCallAt is who cn sees on call in jp's primary rota, and how old that news is.
func onCallAt(t *testing.T, nd *testnet.Node, partner string) (current, next string, at time.Time, stale bool, err error) {
	t.Helper()
	var v partnersView
	if code := call(t, nd, "GET", "/api/v1/oncall/partners", nil, &v); code != 200 {
		t.Fatalf("partners on call: %d", code)
	}
	for _, p := range v.Partners {
		if p.Team != partner {
			continue
		}
		for _, r := range p.Rotations {
			if r.ID == "primary" {
				return r.Current.User, r.Next.User, p.At, p.Stale, nil
			}
		}
		return "", "", p.At, p.Stale, fmt.Errorf("no primary rota in %+v", p)
	}
	return "", "", time.Time{}, false, fmt.Errorf("no summary from %s: %+v", partner, v)
}

// TestPartnersSeeWhoIsOnCall: jp's node tells cn who is on call (display names only),
// tells it again when the shift hands off, and cn refuses a summary jp sends for
// another team.
func TestPartnersSeeWhoIsOnCall(t *testing.T) {
	h := startHotlineNet(t, testnet.Options{})
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	ctx := context.Background()

	// 01:00 in Tokyo: tanaka has the night, sato takes over at 09:00.
	eventually(t, 5*time.Second, "jp's summary at cn", func() error {
		cur, next, _, stale, err := onCallAt(t, cn, "jp")
		if err != nil {
			return err
		}
		if cur != "Tanaka Hiro" || next != "Sato Yuki" || stale {
			return fmt.Errorf("current %q, next %q, stale %v", cur, next, stale)
		}
		return nil
	})

	// The API's shape, and no contact details in it.
	resp, body := rawGet(t, cn, "/api/v1/oncall/partners")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("partners on call: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var raw map[string][]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw["partners"]) != 1 {
		t.Fatalf("partners: %s", body)
	}
	p := raw["partners"][0]
	for _, k := range []string{"team", "name", "timezone", "at", "received_at", "stale", "rotations"} {
		if _, ok := p[k]; !ok {
			t.Errorf("partner lacks %q: %s", k, body)
		}
	}
	if p["team"] != "jp" || p["timezone"] != "Asia/Tokyo" || p["stale"] != false {
		t.Errorf("partner: %s", body)
	}
	rot := p["rotations"].([]any)[0].(map[string]any)
	if rot["id"] != "primary" || rot["name"] != "Primary duty" || rot["timezone"] != "Asia/Tokyo" {
		t.Errorf("rotation: %v", rot)
	}
	cur := rot["current"].(map[string]any)
	if cur["user"] != "Tanaka Hiro" || cur["end"] != "2026-11-24T00:00:00Z" {
		t.Errorf("current shift: %v", cur)
	}
	for _, secret := range []string{"tanaka@jp.example", "sato@jp.example", h.hookURL, "\"tanaka\"", "BEGIN PGP"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("partners on call shows %q: %s", secret, body)
		}
	}

	// jp's own node has no partner summaries (cn and kr have no rota, so they say nothing).
	var own partnersView
	if code := call(t, jp, "GET", "/api/v1/oncall/partners", nil, &own); code != 200 || len(own.Partners) != 0 {
		t.Errorf("jp's partners on call: %d %+v", code, own)
	}

	// Past the 09:00 hand-off, cn learns that sato is on call.
	h.clock.Advance(8*time.Hour + time.Minute)
	eventually(t, 5*time.Second, "hand-off told to cn", func() error {
		cur, next, at, stale, err := onCallAt(t, cn, "jp")
		if err != nil {
			return err
		}
		if cur != "Sato Yuki" || next != "Tanaka Hiro" || stale || at.Before(night.Add(8*time.Hour)) {
			return fmt.Errorf("current %q, next %q, at %v, stale %v", cur, next, at, stale)
		}
		return nil
	})

	// A summary jp's node sends for another team is refused by cn, and changes nothing.
	forged, _ := wire.EncodeOnCallSummary(wire.OnCallSummary{Team: "kr", At: h.clock.Now(), Rotations: []wire.OnCallRotation{{
		ID: "primary", Name: "Forged", Timezone: "Asia/Seoul",
		Current: wire.OnCallShift{User: "Mallory", Start: h.clock.Now().Add(-time.Hour), End: h.clock.Now().Add(time.Hour)},
		Next:    wire.OnCallShift{User: "Mallory", Start: h.clock.Now().Add(time.Hour), End: h.clock.Now().Add(2 * time.Hour)}}}})
	err := jp.App.Store.InTx(ctx, func(tx store.Tx) error {
		return jp.App.Fed.Enqueue(ctx, tx, federation.Message{To: "cn", Type: "oncall.summary", ObjectID: "forged",
			Payload: forged, Item: tlp.Item{Label: tlp.Green, Author: "jp"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "forged summary refused", func() error {
		sent, err := jp.App.Store.Sent(ctx, "cn")
		if err != nil {
			return err
		}
		for _, it := range sent {
			if it.ObjectID != "forged" {
				continue
			}
			if it.Receipt == nil {
				return fmt.Errorf("no receipt yet")
			}
			var r envelope.Receipt
			if err := json.Unmarshal(it.Receipt, &r); err != nil {
				return err
			}
			if r.Status != envelope.Rejected || !strings.Contains(r.Reason, "kr") {
				t.Fatalf("forged summary: %s (%s)", r.Status, r.Reason)
			}
			return nil
		}
		return fmt.Errorf("forged summary not in jp's outbox")
	})
	var v partnersView
	call(t, cn, "GET", "/api/v1/oncall/partners", nil, &v)
	if len(v.Partners) != 1 || v.Partners[0].Team != "jp" {
		t.Errorf("after a forged summary, cn has %+v", v.Partners)
	}
}

func rawGet(t *testing.T, nd *testnet.Node, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", nd.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
