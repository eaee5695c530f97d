package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/cli"
	"csirtlink/internal/testnet"
)

// TestCVDEditCase: after creation the owner adds a participant, a vulnerability and a
// product and edits one of each, through the API and the CLI, with the checks of
// creation (a field named in each refusal); every participant holds the new fields,
// and the team added later gets the timeline so far, so it folds the same embargo and
// statuses — and the embargo waits for its agreement too. Only the owner edits.
func TestCVDEditCase(t *testing.T) {
	_, n := startCVDNet(t, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	cn, jp, kr := n.Nodes[0], n.Nodes[1], n.Nodes[2]
	id := newCase(t, cn, "jp")
	waitCase(t, []*testnet.Node{jp}, id, "the case at jp", func(caseView) error { return nil })
	var c caseView
	call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": "2026-12-10T06:00:00Z"}, &c)
	waitCase(t, []*testnet.Node{jp}, id, "the proposal at jp", func(c caseView) error {
		if c.Embargo.PublishAt == nil {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})
	for _, nd := range []*testnet.Node{cn, jp} {
		if code := call(t, nd, "POST", "/api/v1/cvd/cases/"+id+"/embargo/agree", nil, nil); code != http.StatusOK {
			t.Fatalf("agree at %s: %d", nd.Team, code)
		}
	}
	var v struct{ ID string }
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "OEM KK", "shared": true, "products": []string{"p2"}}, &v)
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/statuses", map[string]string{"vendor": v.ID, "vulnerability": "v1", "product": "p2", "status": "fixed", "fixed_version": "2.4.1"}, nil)
	waitCase(t, []*testnet.Node{cn}, id, "embargoed with jp's status", func(c caseView) error {
		if c.Embargo.State != "embargoed" || c.Matrix["v1"]["p2"].Status != "fixed" {
			return fmt.Errorf("%s %+v", c.Embargo.State, c.Matrix["v1"])
		}
		return nil
	})

	// Refusals name the field; a participant is not the owner.
	for body, field := range map[string]string{
		`{"vulnerabilities":[{"title":"XSS","cvss_v4":"CVSS:4.0/AV:N"}]}`: "vulnerabilities[1].cvss_v4",
		`{"vulnerabilities":[{"id":"v9","title":"XSS"}]}`:                 "vulnerabilities",
		`{"products":[{"vendor":"X","product":"","versions":"1"}]}`:       "products[4].product",
		`{"add_participants":["zz"]}`:                                     "add_participants",
		`{"vulnerabilities":[{"title":"Dup","cve":"CVE-2026-12345"}]}`:    "vulnerabilities[1].cve",
		`{"title":""}`:     "title",
		`{"colour":"red"}`: "colour",
	} {
		var e struct{ Error struct{ Field string } }
		if code := callRaw(t, cn, "PATCH", "/api/v1/cvd/cases/"+id, body, &e); code != http.StatusUnprocessableEntity || e.Error.Field != field {
			t.Errorf("%s: %d field %q, want 422 %q", body, code, e.Error.Field, field)
		}
	}
	if code := call(t, jp, "PATCH", "/api/v1/cvd/cases/"+id, map[string]string{"title": "mine now"}, nil); code != http.StatusForbidden {
		t.Errorf("a participant edited the case: %d", code)
	}

	// The API: kr joins, a vulnerability is added (scored on every node), a product edited.
	edit := map[string]any{"add_participants": []string{"kr"},
		"vulnerabilities": []map[string]string{{"title": "Hard-coded credentials", "cwe": "CWE-798",
			"cvss_v4": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"}},
		"products": []map[string]string{{"id": "p2", "vendor": "OEM KK", "product": "RT-500", "versions": "<2.4.2"}}}
	if code := call(t, cn, "PATCH", "/api/v1/cvd/cases/"+id, edit, &c); code != http.StatusOK || len(c.Participants) != 3 || c.Embargo.State != "draft" {
		t.Fatalf("edit: %d %+v", code, c)
	}
	// The CLI: a title, and a product added from a file.
	file := filepath.Join(t.TempDir(), "edit.json")
	if err := os.WriteFile(file, []byte(`{"products":[{"vendor":"KT ISP","product":"HomeBox Pro","versions":"2.x","purl":"pkg:generic/kt/homebox-pro"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := cli.Run(t.Context(), []string{"cvd", "edit", id, "--title", "Router firmware: RCE and credentials", file, "--url", cn.URL, "--token", cn.Token}, &out, &errOut); err != nil {
		t.Fatalf("cli: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "RCE and credentials") || !strings.Contains(out.String(), "p5 KT ISP HomeBox Pro") {
		t.Fatalf("cli output:\n%s", out.String())
	}
	type full struct {
		caseView
		Title           string
		Products        []struct{ ID, Product, Versions string }
		Vulnerabilities []struct {
			ID      string
			ScoreV4 float64 `json:"score_v4"`
		} `json:"vulnerabilities"`
	}
	for _, nd := range []*testnet.Node{jp, kr} {
		eventually(t, 20*time.Second, nd.Team+": the edited case", func() error {
			var f full
			if code := call(t, nd, "GET", "/api/v1/cvd/cases/"+id, nil, &f); code != http.StatusOK {
				return fmt.Errorf("status %d", code)
			}
			switch {
			case f.Title != "Router firmware: RCE and credentials" || len(f.Products) != 5 || f.Products[1].Versions != "<2.4.2":
				return fmt.Errorf("fields %q %+v", f.Title, f.Products)
			case len(f.Vulnerabilities) != 2 || f.Vulnerabilities[1].ID != "v2" || f.Vulnerabilities[1].ScoreV4 != 8.7:
				return fmt.Errorf("vulnerabilities %+v", f.Vulnerabilities)
			case f.Embargo.PublishAt == nil || strings.Join(f.Embargo.Agreed, ",") != "cn,jp" || f.Embargo.State != "draft":
				return fmt.Errorf("embargo %+v", f.Embargo)
			case f.Matrix["v1"]["p2"].Status != "fixed" || f.Matrix["v2"]["p5"].Status != "unassessed":
				return fmt.Errorf("matrix %+v", f.Matrix)
			}
			return nil
		})
	}
	// kr agrees, and the case is embargoed again everywhere.
	if code := call(t, kr, "POST", "/api/v1/cvd/cases/"+id+"/embargo/agree", nil, nil); code != http.StatusOK {
		t.Fatalf("kr agrees: %d", code)
	}
	waitCase(t, []*testnet.Node{cn, jp, kr}, id, "embargoed with kr", func(c caseView) error {
		if c.Embargo.State != "embargoed" {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})
}

// callRaw is call with a body sent as it is written.
func callRaw(t *testing.T, nd *testnet.Node, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, nd.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode
}
