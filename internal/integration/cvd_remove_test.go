package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/cli"
	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

// TestCVDRemoveItems: after creation cn (the owner) removes a vulnerability (API), a
// product (CLI) and a coordinator (kr, API), and jp removes one of its vendors (CLI).
// Each removal is a signed entry that every remaining participant folds the same:
// statuses of the removed vulnerability leave the matrix, the removed vendor's stay,
// the embargo no longer waits for kr. kr is told of its own removal and gets nothing
// after it (it can no longer write); the removed vendor's person no longer lists or
// reads the case and mail to it is refused, both by the egress decision. Refusals: a
// participant removing the owner's items (403), an item that is not there or the owner
// itself (422, the field named), two items at once (400), a vendor's person (403), a
// vendor already removed (409).
func TestCVDRemoveItems(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "JPCERT/CC <cvd@jpcert.example>", TLS: "none"}
	n := startNet(t, opts)
	cn, jp, kr := n.Nodes[0], n.Nodes[1], n.Nodes[2]
	ctx := t.Context()
	id := newCase(t, cn, "jp")
	cases := "/api/v1/cvd/cases/" + id
	if code := call(t, cn, "PATCH", cases, map[string]any{"vulnerabilities": []map[string]string{{"title": "Hard-coded credentials", "cwe": "CWE-798"}}}, nil); code != http.StatusOK {
		t.Fatalf("add v2: %d", code)
	}
	waitCase(t, []*testnet.Node{jp}, id, "v2 at jp", func(c caseView) error {
		if _, ok := c.Matrix["v2"]; !ok {
			return fmt.Errorf("matrix %v", c.Matrix)
		}
		return nil
	})
	call(t, cn, "POST", cases+"/embargo", map[string]string{"publish_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, nil)
	waitCase(t, []*testnet.Node{jp}, id, "the proposal at jp", func(c caseView) error {
		if c.Embargo.PublishAt == nil {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})
	for _, nd := range []*testnet.Node{cn, jp} {
		if code := call(t, nd, "POST", cases+"/embargo/agree", nil, nil); code != http.StatusOK {
			t.Fatalf("agree at %s: %d", nd.Team, code)
		}
	}

	// jp's vendor, with a person, states statuses for v1 and v2.
	if _, err := jp.App.Auth.CreateUser(ctx, "sato.oem", "sato.oem", "", "vendor"); err != nil {
		t.Fatal(err)
	}
	token, _, err := jp.App.Auth.IssueToken(ctx, "sato.oem", "vendor", 0)
	if err != nil {
		t.Fatal(err)
	}
	vp := *jp
	vp.Token = token
	var vd struct{ ID string }
	call(t, jp, "POST", cases+"/vendors", map[string]any{"name": "OEM KK", "email": "psirt@oem.example", "shared": true, "products": []string{"p2"}, "user": "sato.oem"}, &vd)
	for _, v := range []string{"v1", "v2"} {
		if code := call(t, &vp, "POST", cases+"/statuses", map[string]string{"vendor": vd.ID, "vulnerability": v, "product": "p2", "status": "fixed", "fixed_version": "2.4.1"}, nil); code != http.StatusOK {
			t.Fatalf("status %s: %d", v, code)
		}
	}
	waitCase(t, []*testnet.Node{cn}, id, "jp's statuses", func(c caseView) error {
		if c.Matrix["v1"]["p2"].Status != "fixed" || c.Matrix["v2"]["p2"].Status != "fixed" || c.Embargo.State != "embargoed" {
			return fmt.Errorf("%s %v", c.Embargo.State, c.Matrix)
		}
		return nil
	})

	// Refusals.
	type apiErr struct {
		Error struct{ Field, Message string }
	}
	for _, c := range []struct {
		nd    *testnet.Node
		body  map[string]string
		code  int
		field string
	}{
		{jp, map[string]string{"vulnerability": "v2"}, http.StatusForbidden, ""},
		{jp, map[string]string{"participant": "cn"}, http.StatusForbidden, ""},
		{&vp, map[string]string{"vendor": vd.ID}, http.StatusForbidden, ""},
		{cn, map[string]string{"vendor": vd.ID}, http.StatusUnprocessableEntity, "vendor"}, // jp's vendor is not cn's
		{cn, map[string]string{"vulnerability": "v9"}, http.StatusUnprocessableEntity, "vulnerability"},
		{cn, map[string]string{"participant": "cn"}, http.StatusUnprocessableEntity, "participant"},
		{cn, map[string]string{"vulnerability": "v2", "product": "p4"}, http.StatusBadRequest, ""},
		{cn, map[string]string{}, http.StatusBadRequest, ""},
	} {
		var e apiErr
		if code := call(t, c.nd, "POST", cases+"/removals", c.body, &e); code != c.code || e.Error.Field != c.field {
			t.Errorf("%s removes %v: %d %q, want %d %q (%s)", c.nd.Team, c.body, code, e.Error.Field, c.code, c.field, e.Error.Message)
		}
	}

	removals := func(c caseView) []string {
		var out []string
		for _, en := range c.Timeline {
			if en.Kind == "remove" && en.Position > 0 {
				out = append(out, en.Team)
			}
		}
		return out
	}
	// The owner removes v2 (API) and p4 (CLI); then kr joins, and gets the timeline so
	// far, removals included, folded on the current case without a rejection; a new
	// vulnerability does not take v2's id again. Then the owner removes kr (API).
	var k caseView
	if code := call(t, cn, "POST", cases+"/removals", map[string]string{"vulnerability": "v2", "reason": "a duplicate of v1"}, &k); code != http.StatusOK {
		t.Fatalf("remove v2: %d", code)
	}
	cliRun := func(nd *testnet.Node, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := cli.Run(ctx, append(args, "--url", nd.URL, "--token", nd.Token), &out, &errOut); err != nil {
			t.Fatalf("cli %v: %v %s", args, err, errOut.String())
		}
		return out.String()
	}
	if out := cliRun(cn, "cvd", "remove", id, "--product", "p4", "not", "affected", "after", "all"); !strings.Contains(out, "remove product p4: not affected after all") {
		t.Errorf("cli remove printed:\n%s", out)
	}
	var joined struct {
		caseView
		Vulnerabilities []struct{ ID string } `json:"vulnerabilities"`
	}
	if code := call(t, cn, "PATCH", cases, map[string]any{"add_participants": []string{"kr"}, "vulnerabilities": []map[string]string{{"title": "Weak session tokens"}}}, &joined); code != http.StatusOK ||
		len(joined.Vulnerabilities) != 2 || joined.Vulnerabilities[1].ID != "v3" || joined.Embargo.State != "draft" {
		t.Fatalf("kr joins: %d %+v", code, joined)
	}
	waitCase(t, []*testnet.Node{kr}, id, "kr joined with the timeline so far", func(c caseView) error {
		if len(c.Timeline) < 7 || strings.Join(removals(c), ",") != "cn,cn" || len(c.Matrix) != 2 || len(c.Matrix["v1"]) != 3 ||
			c.Matrix["v1"]["p2"].Status != "fixed" || c.Matrix["v3"]["p2"].Status != "unassessed" {
			return fmt.Errorf("timeline %d, removals %v, matrix %v", len(c.Timeline), removals(c), c.Matrix)
		}
		return nil
	})
	// Every entry reached kr: none was refused for naming what is gone.
	atCN, _ := getCase(t, cn, id)
	waitCase(t, []*testnet.Node{kr}, id, "kr holds cn's whole timeline", func(c caseView) error {
		if len(c.Timeline) != len(atCN.Timeline) {
			return fmt.Errorf("%d entries, cn has %d", len(c.Timeline), len(atCN.Timeline))
		}
		return nil
	})
	if code := call(t, cn, "POST", cases+"/removals", map[string]string{"participant": "kr", "reason": "no vendor of kr is affected"}, &k); code != http.StatusOK ||
		strings.Join(k.Participants, ",") != "cn,jp" || k.Embargo.State != "embargoed" {
		t.Fatalf("remove kr: %d %v %s", code, k.Participants, k.Embargo.State)
	}
	waitCase(t, []*testnet.Node{kr}, id, "kr told of its removal", func(c caseView) error {
		if strings.Join(c.Participants, ",") != "cn,jp" {
			return fmt.Errorf("participants %v", c.Participants)
		}
		return nil
	})
	if code := call(t, kr, "POST", cases+"/comments", map[string]string{"body": "still here?"}, nil); code != http.StatusForbidden {
		t.Errorf("kr wrote after its removal: %d", code)
	}

	// jp removes its vendor (CLI); it goes to cn to be sequenced, and back.
	if out := cliRun(jp, "cvd", "remove", id, "--vendor", vd.ID, "left", "the", "market"); !strings.Contains(out, "(removed)") {
		t.Errorf("cli remove vendor printed:\n%s", out)
	}
	var e apiErr
	if code := call(t, jp, "POST", cases+"/removals", map[string]string{"vendor": vd.ID}, &e); code != http.StatusConflict {
		t.Errorf("the vendor removed twice: %d %s", code, e.Error.Message)
	}
	waitCase(t, []*testnet.Node{cn, jp}, id, "every removal folded", func(c caseView) error {
		switch {
		case strings.Join(removals(c), ",") != "cn,cn,cn,jp":
			return fmt.Errorf("removals %v", removals(c))
		case len(c.Matrix) != 2 || len(c.Matrix["v1"]) != 3 || c.Matrix["v1"]["p2"].Status != "fixed":
			return fmt.Errorf("matrix %v", c.Matrix)
		case strings.Join(c.Participants, ",") != "cn,jp" || c.Embargo.State != "embargoed" || slices.Contains(c.Embargo.Agreed, "kr"):
			return fmt.Errorf("%v %+v", c.Participants, c.Embargo)
		}
		return nil
	})
	// kr got the removals up to its own, and nothing after it.
	c, _ := getCase(t, kr, id)
	if got := strings.Join(removals(c), ","); got != "cn,cn,cn" || len(c.Matrix) != 2 || len(c.Matrix["v1"]) != 3 {
		t.Errorf("kr: removals %s, matrix %v", got, c.Matrix)
	}

	// The removed vendor: no longer listed, read or mailed — the egress decision says why.
	var list struct{ Cases []struct{ ID string } }
	if code := call(t, &vp, "GET", "/api/v1/cvd/cases", nil, &list); code != http.StatusOK || len(list.Cases) != 0 {
		t.Errorf("the removed vendor lists %d %+v", code, list)
	}
	if code := call(t, &vp, "GET", cases, nil, &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "removed") {
		t.Errorf("the removed vendor read the case: %d %q", code, e.Error.Message)
	}
	if code := call(t, jp, "POST", cases+"/vendors/"+vd.ID+"/mail", map[string]string{"subject": "RT-500", "body": "Please check."}, &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "removed") {
		t.Errorf("mail to the removed vendor: %d %q", code, e.Error.Message)
	}
	if code := call(t, jp, "PATCH", cases+"/vendors/"+vd.ID, map[string]string{"tlp": "RED"}, &e); code != http.StatusConflict {
		t.Errorf("the removed vendor's label changed: %d", code)
	}
	// Once the case is public, the embargo holds nothing back: the removal alone keeps it
	// from the vendor.
	if code := call(t, cn, "POST", cases+"/embargo/emergency", map[string]string{"reason": "exploited in the wild"}, nil); code != http.StatusOK {
		t.Fatalf("emergency: %d", code)
	}
	waitCase(t, []*testnet.Node{jp}, id, "public at jp", func(c caseView) error {
		if c.Embargo.State != "public" {
			return fmt.Errorf("%s", c.Embargo.State)
		}
		return nil
	})
	if code := call(t, &vp, "GET", cases, nil, &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "removed") {
		t.Errorf("the removed vendor read the public case: %d %q", code, e.Error.Message)
	}
	if code := call(t, jp, "POST", cases+"/vendors/"+vd.ID+"/mail", map[string]string{"subject": "RT-500", "body": "Published."}, &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "removed") {
		t.Errorf("mail to the removed vendor of a public case: %d %q", code, e.Error.Message)
	}
	time.Sleep(200 * time.Millisecond)
	if got := mb.to("psirt@oem.example"); len(got) != 0 {
		t.Errorf("the removed vendor got %d mails", len(got))
	}
}
