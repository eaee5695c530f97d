package integration

import (
	"fmt"

	"csirtlink/internal/config"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/testnet"
)

type partnerView struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Fingerprint  string `json:"fingerprint"`
	PublicKey    string `json:"public_key"`
	Constituency struct {
		Networks []string `json:"networks"`
		Domains  []string `json:"domains"`
	} `json:"constituency"`
}

type lookupView struct {
	Owners []struct {
		Team, Matched, Source string
	} `json:"owners"`
}

// Two nodes that know nothing of each other onboard each other through the API: each
// adds the other from its signed introduction (pending), a wrong safety number keeps it
// pending, and nothing but introductions flows until both sides have approved.
func TestPartnersOnboardFromNothing(t *testing.T) {
	n := startNet(t, testnet.Options{Teams: testnet.Default[:2], Strangers: true})
	cn, jp := n.Nodes[0], n.Nodes[1]

	var atCN, atJP partnerView
	if code := call(t, cn, "POST", "/api/v1/partners", map[string]string{"url": jp.URL}, &atCN); code != http.StatusCreated || atCN.Status != "pending" {
		t.Fatalf("cn adds jp: %d %+v", code, atCN)
	}
	if code := call(t, jp, "POST", "/api/v1/partners", map[string]string{"url": cn.URL}, &atJP); code != http.StatusCreated || atJP.Status != "pending" {
		t.Fatalf("jp adds cn: %d %+v", code, atJP)
	}
	// A pending partner has no link yet: the link screens still answer.
	if code := call(t, cn, "GET", "/api/v1/peers", nil, nil); code != http.StatusOK {
		t.Fatalf("peers with a pending partner: %d", code)
	}
	if atCN.Fingerprint == "" || atCN.Fingerprint != atJP.Fingerprint {
		t.Fatalf("both sides must compute the same safety number: %q and %q", atCN.Fingerprint, atJP.Fingerprint)
	}

	var perr apiError
	if code := call(t, cn, "POST", "/api/v1/partners/jp/approve", map[string]string{"fingerprint": "12345 12345 12345 12345 12345 12345"}, &perr); code != http.StatusUnprocessableEntity || perr.Error.Field != "fingerprint" {
		t.Fatalf("a wrong fingerprint: %d %+v", code, perr)
	}
	var got []partnerView
	call(t, cn, "GET", "/api/v1/partners", nil, &got)
	if len(got) != 1 || got[0].Status != "pending" {
		t.Fatalf("after a wrong fingerprint jp must stay pending: %+v", got)
	}

	// cn approves jp with the number jp's admin reads out; jp has not approved cn yet.
	if code := call(t, cn, "POST", "/api/v1/partners/jp/approve", map[string]string{"fingerprint": atJP.Fingerprint}, &atCN); code != http.StatusOK || atCN.Status != "active" {
		t.Fatalf("approve: %d %+v", code, atCN)
	}
	inc := createIncident(t, cn, "AMBER", "jp")
	time.Sleep(300 * time.Millisecond)
	if _, code := getIncident(t, jp, inc.ID); code != http.StatusNotFound {
		t.Fatalf("jp got cn's incident before approving cn: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/partners/cn/approve", map[string]string{"fingerprint": atCN.Fingerprint}, &atJP); code != http.StatusOK {
		t.Fatalf("jp approves cn: %d", code)
	}
	eventually(t, 10*time.Second, "cn's incident reaches jp once both approved", func() error {
		if _, code := getIncident(t, jp, inc.ID); code != http.StatusOK {
			return fmt.Errorf("%d", code)
		}
		return nil
	})

	// Constituencies: jp's from its introduction, then an update federated to cn.
	var lk lookupView
	call(t, cn, "GET", "/api/v1/constituency/lookup?ip=198.51.100.7", nil, &lk)
	if len(lk.Owners) != 1 || lk.Owners[0].Team != "jp" || lk.Owners[0].Matched != "198.51.100.0/24" || lk.Owners[0].Source != "partner" {
		t.Fatalf("lookup before the update: %+v", lk)
	}
	if code := call(t, jp, "PUT", "/api/v1/constituency", map[string]any{"countries": []string{"JP"}, "networks": []string{"198.51.100.0/25", "192.0.2.128/25"},
		"asns": []uint32{64500}, "domains": []string{"jp"}}, nil); code != http.StatusOK {
		t.Fatalf("jp sets its constituency: %d", code)
	}
	eventually(t, 10*time.Second, "jp's new constituency changes cn's answers", func() error {
		var lk lookupView
		call(t, cn, "GET", "/api/v1/constituency/lookup?ip=192.0.2.200", nil, &lk)
		// 192.0.2.0/24 is cn's own; jp now claims 192.0.2.128/25 too: both shown.
		if len(lk.Owners) != 2 || lk.Owners[0].Team != "jp" || lk.Owners[1].Team != "cn" || lk.Owners[1].Source != "self" {
			return fmt.Errorf("%+v", lk.Owners)
		}
		return nil
	})
	call(t, cn, "GET", "/api/v1/constituency/lookup?domain=www.example.jp", nil, &lk)
	if len(lk.Owners) != 1 || lk.Owners[0].Matched != "jp" {
		t.Fatalf("domain lookup: %+v", lk)
	}

	// jp rotates its key: cn takes the statement, and what jp signs with the new key
	// still reaches cn.
	var rot struct {
		PublicKey string `json:"public_key"`
	}
	if code := call(t, jp, "POST", "/api/v1/keys/rotate", map[string]any{}, &rot); code != http.StatusAccepted {
		t.Fatalf("rotate: %d", code)
	}
	eventually(t, 10*time.Second, "cn holds jp's new key", func() error {
		var p struct {
			Partner partnerView `json:"partner"`
		}
		call(t, cn, "GET", "/api/v1/partners/jp", nil, &p)
		if p.Partner.PublicKey != rot.PublicKey {
			return fmt.Errorf("key %s", p.Partner.PublicKey)
		}
		return nil
	})
	eventually(t, 10*time.Second, "jp switched to its new key", func() error {
		if k := jp.App.Fed.Directory().Self.ID; k != "jp" {
			return fmt.Errorf("self %s", k)
		}
		var who map[string]any
		call(t, jp, "GET", "/api/v1/partners/cn", nil, &who)
		return nil
	})
	inc2 := createIncident(t, jp, "GREEN", "cn")
	eventually(t, 10*time.Second, "jp's incident after the rotation reaches cn", func() error {
		if _, code := getIncident(t, cn, inc2.ID); code != http.StatusOK {
			return fmt.Errorf("%d", code)
		}
		return nil
	})

	// cn revokes jp: nothing more goes to jp, and jp's traffic is refused.
	if code := call(t, cn, "POST", "/api/v1/partners/jp/revoke", nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	inc3 := createIncident(t, jp, "GREEN", "cn")
	time.Sleep(500 * time.Millisecond)
	if _, code := getIncident(t, cn, inc3.ID); code != http.StatusNotFound {
		t.Fatalf("a revoked partner's incident was taken: %d", code)
	}
	var refusals struct {
		Refusals []struct{ Peer, Reason string } `json:"refusals"`
	}
	call(t, cn, "GET", "/api/v1/federation/refusals", nil, &refusals)
	found := false
	for _, r := range refusals.Refusals {
		found = found || (r.Peer == "jp" && r.Reason == "revoked peer")
	}
	if !found {
		t.Fatalf("no refusal of the revoked partner's traffic: %+v", refusals)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents", map[string]any{"title": "after revoke", "category": "other", "severity": "low",
		"tlp": "GREEN", "participants": []string{"jp"}}, nil); code < 400 {
		t.Fatalf("an incident with a revoked partner was accepted: %d", code)
	}
}

// onboard makes a and b partners of each other through the API.
func onboard(t *testing.T, a, b *testnet.Node) {
	t.Helper()
	var va, vb partnerView
	call(t, a, "POST", "/api/v1/partners", map[string]string{"url": b.URL}, &va)
	call(t, b, "POST", "/api/v1/partners", map[string]string{"url": a.URL}, &vb)
	if code := call(t, a, "POST", "/api/v1/partners/"+b.Team+"/approve", map[string]string{"fingerprint": vb.Fingerprint}, nil); code != http.StatusOK {
		t.Fatalf("%s approves %s: %d", a.Team, b.Team, code)
	}
	if code := call(t, b, "POST", "/api/v1/partners/"+a.Team+"/approve", map[string]string{"fingerprint": va.Fingerprint}, nil); code != http.StatusOK {
		t.Fatalf("%s approves %s: %d", b.Team, a.Team, code)
	}
}

// A partner not verified within the period is flagged and asked, through federation,
// to confirm; its admins see the task, confirm, and the flag clears.
func TestPartnersReverify(t *testing.T) {
	n := startNet(t, testnet.Options{Teams: testnet.Default[:2], Strangers: true,
		Directory: config.Directory{Reverify: config.Duration(2 * time.Second)},
		Hotline:   config.Hotline{EngineInterval: config.Duration(100 * time.Millisecond)}})
	cn, jp := n.Nodes[0], n.Nodes[1]
	onboard(t, cn, jp)
	eventually(t, 20*time.Second, "jp's admins are asked to confirm their entry at cn", func() error {
		var got struct {
			Tasks []struct{ Team string } `json:"tasks"`
		}
		call(t, jp, "GET", "/api/v1/directory/tasks", nil, &got)
		if len(got.Tasks) == 0 || got.Tasks[0].Team != "cn" {
			return fmt.Errorf("%+v", got)
		}
		return nil
	})
	var unverified []partnerView
	call(t, cn, "GET", "/api/v1/partners?unverified=true", nil, &unverified)
	if len(unverified) != 1 || unverified[0].ID != "jp" {
		t.Fatalf("cn does not flag jp unverified: %+v", unverified)
	}
	if code := call(t, jp, "POST", "/api/v1/directory/confirm", nil, nil); code != http.StatusAccepted {
		t.Fatalf("confirm: %d", code)
	}
	eventually(t, 10*time.Second, "jp's confirmation reaches cn", func() error {
		var got struct {
			Partner struct {
				VerifiedAt *time.Time `json:"verified_at"`
			} `json:"partner"`
		}
		call(t, cn, "GET", "/api/v1/partners/jp", nil, &got)
		if got.Partner.VerifiedAt == nil || time.Since(*got.Partner.VerifiedAt) > time.Second {
			return fmt.Errorf("verified_at %v", got.Partner.VerifiedAt)
		}
		return nil
	})
}
