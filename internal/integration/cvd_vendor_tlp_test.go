package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/cli"
	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

// TestCVDVendorTLP: jp gives its case (TLP:AMBER) to one vendor at RED and to another
// at GREEN. The first vendor's person sees the case labelled RED; the second's is kept
// from it — not listed, 403 — and mail to it is refused, both by the egress decision
// (the label given is a ceiling: AMBER is stricter than GREEN); no mail goes out.
func TestCVDVendorTLP(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "JPCERT/CC <cvd@jpcert.example>", TLS: "none"}
	n := startNet(t, opts)
	cn, jp := n.Nodes[0], n.Nodes[1]
	id := newCase(t, cn, "jp")
	waitCase(t, []*testnet.Node{jp}, id, "the case at jp", func(caseView) error { return nil })
	ctx := t.Context()
	person := func(name string) *testnet.Node {
		if _, err := jp.App.Auth.CreateUser(ctx, name, name, "", "vendor"); err != nil {
			t.Fatal(err)
		}
		token, _, err := jp.App.Auth.IssueToken(ctx, name, "vendor", 0)
		if err != nil {
			t.Fatal(err)
		}
		nd := *jp
		nd.Token = token
		return &nd
	}
	red, green := person("sato.oem"), person("lee.chip")

	var e struct{ Error struct{ Field string } }
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "X", "tlp": "PINK"}, &e); code != http.StatusUnprocessableEntity || e.Error.Field != "tlp" {
		t.Fatalf("a wrong label: %d %q", code, e.Error.Field)
	}
	var a, b struct{ ID, TLP string }
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "OEM KK", "email": "psirt@oem.example", "products": []string{"p2"}, "user": "sato.oem", "tlp": "RED"}, &a)
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "Chip Co", "email": "psirt@chip.example", "products": []string{"p1"}, "user": "lee.chip", "tlp": "green"}, &b)
	if a.TLP != "RED" || b.TLP != "GREEN" {
		t.Fatalf("labels given: %q %q", a.TLP, b.TLP)
	}
	var k struct {
		TLP     string
		Vendors []struct{ Name, TLP string } // by name
	}
	if call(t, jp, "GET", "/api/v1/cvd/cases/"+id, nil, &k); k.TLP != "AMBER" || len(k.Vendors) != 2 || k.Vendors[0].TLP != "GREEN" || k.Vendors[1].TLP != "RED" {
		t.Fatalf("jp's case: %+v", k)
	}

	// The vendor given RED sees the case at RED.
	if code := call(t, red, "GET", "/api/v1/cvd/cases/"+id, nil, &k); code != http.StatusOK || k.TLP != "RED" {
		t.Fatalf("the vendor given RED: %d %+v", code, k)
	}
	// The vendor given GREEN does not see it at all.
	var list struct{ Cases []struct{ ID string } }
	if code := call(t, green, "GET", "/api/v1/cvd/cases", nil, &list); code != http.StatusOK || len(list.Cases) != 0 {
		t.Errorf("the vendor given GREEN lists %d %+v", code, list)
	}
	var refusal struct{ Error struct{ Message string } }
	if code := call(t, green, "GET", "/api/v1/cvd/cases/"+id, nil, &refusal); code != http.StatusForbidden || !strings.Contains(refusal.Error.Message, "given to the vendor") {
		t.Errorf("the vendor given GREEN read the case: %d %q", code, refusal.Error.Message)
	}
	if code := call(t, green, "GET", "/api/v1/cvd/cases/"+id+"/csaf", nil, nil); code != http.StatusForbidden {
		t.Errorf("the vendor given GREEN got the advisory: %d", code)
	}
	// Mail: refused to the vendor given GREEN, sent to the one given RED.
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors/"+b.ID+"/mail", map[string]string{"subject": "SoC SDK", "body": "Please check."}, &refusal); code != http.StatusForbidden || !strings.Contains(refusal.Error.Message, "given to the vendor") {
		t.Errorf("mail to the vendor given GREEN: %d %q", code, refusal.Error.Message)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors/"+a.ID+"/mail", map[string]string{"subject": "RT-500", "body": "Please check."}, nil); code != http.StatusCreated {
		t.Errorf("mail to the vendor given RED: %d", code)
	}
	time.Sleep(200 * time.Millisecond)
	if got := mb.to("psirt@chip.example"); len(got) != 0 {
		t.Errorf("the vendor given GREEN got %d mails", len(got))
	}

	// The labels change after the vendors were added, and the egress decision follows
	// from then on: OEM KK lowered to GREEN (API) loses the AMBER case, Chip Co raised
	// to AMBER (CLI) gets it.
	for _, c := range []struct {
		nd     *testnet.Node
		vendor string
		body   map[string]string
		code   int
		field  string
	}{
		{jp, a.ID, map[string]string{"tlp": "PINK"}, http.StatusUnprocessableEntity, "tlp"},
		{jp, "nosuchvendor", map[string]string{"tlp": "GREEN"}, http.StatusNotFound, ""},
		{red, a.ID, map[string]string{"tlp": "RED"}, http.StatusForbidden, ""},
	} {
		var e struct{ Error struct{ Field string } }
		if code := call(t, c.nd, "PATCH", "/api/v1/cvd/cases/"+id+"/vendors/"+c.vendor, c.body, &e); code != c.code || e.Error.Field != c.field {
			t.Errorf("PATCH %s %v: %d %q, want %d %q", c.vendor, c.body, code, e.Error.Field, c.code, c.field)
		}
	}
	var changed struct{ ID, TLP string }
	if code := call(t, jp, "PATCH", "/api/v1/cvd/cases/"+id+"/vendors/"+a.ID, map[string]string{"tlp": "green"}, &changed); code != http.StatusOK || changed.TLP != "GREEN" {
		t.Fatalf("lower OEM KK: %d %+v", code, changed)
	}
	var out, errOut bytes.Buffer
	if err := cli.Run(ctx, []string{"cvd", "vendor-tlp", id, "--vendor", b.ID, "--tlp", "AMBER", "--url", jp.URL, "--token", jp.Token}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "now at TLP:AMBER") {
		t.Fatalf("cli vendor-tlp: %v %s %s", err, out.String(), errOut.String())
	}
	if code := call(t, red, "GET", "/api/v1/cvd/cases", nil, &list); code != http.StatusOK || len(list.Cases) != 0 {
		t.Errorf("OEM KK, lowered to GREEN, lists %d %+v", code, list)
	}
	if code := call(t, red, "GET", "/api/v1/cvd/cases/"+id, nil, &refusal); code != http.StatusForbidden || !strings.Contains(refusal.Error.Message, "given to the vendor") {
		t.Errorf("OEM KK, lowered to GREEN, read the case: %d %q", code, refusal.Error.Message)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors/"+a.ID+"/mail", map[string]string{"subject": "RT-500", "body": "Update."}, &refusal); code != http.StatusForbidden || !strings.Contains(refusal.Error.Message, "given to the vendor") {
		t.Errorf("mail to OEM KK, lowered to GREEN: %d %q", code, refusal.Error.Message)
	}
	if code := call(t, green, "GET", "/api/v1/cvd/cases", nil, &list); code != http.StatusOK || len(list.Cases) != 1 {
		t.Errorf("Chip Co, raised to AMBER, lists %d %+v", code, list)
	}
	if code := call(t, green, "GET", "/api/v1/cvd/cases/"+id, nil, &k); code != http.StatusOK || k.TLP != "AMBER" {
		t.Errorf("Chip Co, raised to AMBER, reads: %d %+v", code, k)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors/"+b.ID+"/mail", map[string]string{"subject": "SoC SDK", "body": "Please check."}, nil); code != http.StatusCreated {
		t.Errorf("mail to Chip Co, raised to AMBER: %d", code)
	}
	eventually(t, 10*time.Second, "Chip Co's mail", func() error {
		if got := mb.to("psirt@chip.example"); len(got) != 1 {
			return fmt.Errorf("%d mails", len(got))
		}
		return nil
	})
	if got := mb.to("psirt@oem.example"); len(got) != 1 {
		t.Errorf("OEM KK got %d mails, want the one sent while it was at RED", len(got))
	}
}
