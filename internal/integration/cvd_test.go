package integration

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/testnet"

	"github.com/ProtonMail/go-crypto/openpgp"
)

type caseView struct {
	ID           string   `json:"id"`
	Owner        string   `json:"owner"`
	Owners       []string `json:"owners"`
	Participants []string `json:"participants"`
	Embargo      struct {
		State     string     `json:"state"`
		PublishAt *time.Time `json:"publish_at"`
		Agreed    []string   `json:"agreed"`
		Emergency *struct {
			Team, By, Reason string
		} `json:"emergency"`
	} `json:"embargo"`
	Statuses []struct {
		Team, Vendor, Status string
	} `json:"statuses"`
	Matrix     map[string]map[string]struct{ Status string } `json:"matrix"`
	LocalTimes []struct{ Party, Timezone, Time string }      `json:"local_times"`
	Handoff    *struct{ From, To string }                    `json:"handoff"`
	Timeline   []struct {
		Position int64
		Team     string
		Kind     string
	} `json:"timeline"`
	Vulnerabilities []struct {
		ScoreV3 float64 `json:"score_v3"`
	} `json:"vulnerabilities"`
}

// startCVDNet starts the three nodes on a fake clock set to at.
func startCVDNet(t *testing.T, at time.Time) (*clock.Fake, *testnet.Net) {
	clk := clock.NewFake(at)
	opts := testnetOptions()
	opts.Clock = clk
	return clk, startNet(t, opts)
}

func getCase(t *testing.T, nd *testnet.Node, id string) (caseView, int) {
	t.Helper()
	var c caseView
	code := call(t, nd, "GET", "/api/v1/cvd/cases/"+id, nil, &c)
	return c, code
}

// fetch GETs a path of a node without credentials and returns the status and body.
func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func newCase(t *testing.T, nd *testnet.Node, participants ...string) string {
	t.Helper()
	var c caseView
	body := map[string]any{"title": "Router firmware: remote code execution", "participants": participants,
		"reporter":        map[string]string{"name": "Researcher R", "email": "r@lab.example", "timezone": "Europe/Berlin"},
		"vulnerabilities": []map[string]string{{"title": "OS command injection", "cve": "CVE-2026-12345", "cwe": "CWE-78", "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		"products": []map[string]string{{"vendor": "Chip Co", "product": "SoC SDK", "versions": "<3.2"},
			{"vendor": "OEM KK", "product": "RT-500", "versions": "<2.4.1"}, {"vendor": "OEM KK", "product": "RT-300", "versions": "all"},
			{"vendor": "KT ISP", "product": "HomeBox", "versions": "1.x"}}}
	if code := call(t, nd, "POST", "/api/v1/cvd/cases", body, &c); code != http.StatusCreated || c.ID == "" {
		t.Fatalf("create case: %d %+v", code, c)
	}
	return c.ID
}

func waitCase(t *testing.T, nodes []*testnet.Node, id, what string, cond func(caseView) error) {
	t.Helper()
	for _, nd := range nodes {
		eventually(t, 20*time.Second, nd.Team+": "+what, func() error {
			c, code := getCase(t, nd, id)
			if code != http.StatusOK {
				return fmt.Errorf("status %d", code)
			}
			return cond(c)
		})
	}
}

// TestCVDAcrossThreeNodes runs a case from report to publication: three coordinators,
// vendors at two of them whose identities never reach the third, statuses per
// vulnerability × product, one agreed instant, nothing public anywhere before it (API,
// the CSAF folder, the feeds, the metadata), and each node's advisories — valid CSAF
// 2.0, linked to each other — at the instant, on a fake clock.
func TestCVDAcrossThreeNodes(t *testing.T) {
	clk, n := startCVDNet(t, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	cn, jp, kr := n.Nodes[0], n.Nodes[1], n.Nodes[2]
	id := newCase(t, cn, "jp", "kr")
	waitCase(t, n.Nodes, id, "the case", func(c caseView) error {
		if c.Owner != "cn" || len(c.Participants) != 3 || c.Vulnerabilities[0].ScoreV3 != 9.8 {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})

	// Vendors at cn and jp; jp's is shared by name, cn's is not.
	var v1, v2 struct{ ID string }
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "Shenzhen Chip PSIRT", "email": "psirt@chip.example",
		"products": []string{"p1"}}, &v1); code != http.StatusCreated {
		t.Fatalf("vendor at cn: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "OEM KK", "contact": "Sato", "email": "secure@oem.example",
		"products": []string{"p2", "p3"}, "shared": true}, &v2); code != http.StatusCreated {
		t.Fatalf("vendor at jp: %d", code)
	}
	for _, s := range []struct {
		nd   *testnet.Node
		body map[string]string
	}{
		{cn, map[string]string{"vendor": v1.ID, "vulnerability": "v1", "product": "p1", "status": "affected", "statement": "SDK fix in Q1"}},
		{jp, map[string]string{"vendor": v2.ID, "vulnerability": "v1", "product": "p2", "status": "fixed", "fixed_version": "2.4.1"}},
		{jp, map[string]string{"vendor": v2.ID, "vulnerability": "v1", "product": "p3", "status": "not_affected", "justification": "vulnerable_code_not_present"}},
	} {
		if code := call(t, s.nd, "POST", "/api/v1/cvd/cases/"+id+"/statuses", s.body, nil); code != http.StatusOK {
			t.Fatalf("status at %s: %d", s.nd.Team, code)
		}
	}
	var bad map[string]map[string]string
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/statuses", map[string]string{"vendor": v2.ID, "vulnerability": "v1", "product": "p3",
		"status": "not_affected"}, &bad); code != http.StatusUnprocessableEntity || bad["error"]["field"] != "justification" {
		t.Fatalf("not affected without a justification: %d %v", code, bad)
	}
	waitCase(t, n.Nodes, id, "the status matrix", func(c caseView) error {
		got := []string{c.Matrix["v1"]["p1"].Status, c.Matrix["v1"]["p2"].Status, c.Matrix["v1"]["p3"].Status, c.Matrix["v1"]["p4"].Status}
		if strings.Join(got, " ") != "affected fixed not_affected unassessed" {
			return fmt.Errorf("matrix %v", got)
		}
		return nil
	})

	// The embargo: proposed by the owner, agreed by each coordinator on its own node.
	instant := clk.Now().Add(10 * time.Minute)
	var c caseView
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": instant.Format(time.RFC3339)}, &c); code != http.StatusOK {
		t.Fatalf("propose: %d", code)
	}
	if len(c.LocalTimes) != 4 || c.LocalTimes[1].Time != instant.In(mustZone(t, "Asia/Tokyo")).Format(time.RFC3339) || c.LocalTimes[3].Party != "reporter" {
		t.Fatalf("local times %+v", c.LocalTimes)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": instant.Format(time.RFC3339)}, nil); code != http.StatusForbidden {
		t.Fatalf("a participant proposed: %d", code)
	}
	waitCase(t, n.Nodes, id, "the proposal", func(c caseView) error {
		if c.Embargo.PublishAt == nil || !c.Embargo.PublishAt.Equal(instant) {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})
	for _, nd := range n.Nodes {
		if code := call(t, nd, "POST", "/api/v1/cvd/cases/"+id+"/embargo/agree", nil, nil); code != http.StatusOK {
			t.Fatalf("agree at %s: %d", nd.Team, code)
		}
	}
	waitCase(t, n.Nodes, id, "the agreement", func(c caseView) error {
		if c.Embargo.State != "embargoed" || strings.Join(c.Embargo.Agreed, ",") != "cn,jp,kr" {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})

	// Before the instant: nothing anywhere, a second before it included.
	clk.Set(instant.Add(-time.Second))
	for _, nd := range n.Nodes {
		if code := call(t, nd, "GET", "/api/v1/cvd/cases/"+id+"/csaf?lang=ja", nil, nil); code != http.StatusForbidden {
			t.Errorf("%s: csaf before the instant: %d", nd.Team, code)
		}
		for _, p := range []string{"white/index.txt", "white/changes.csv", "white/feed-tlp-white.json", "provider-metadata.json"} {
			code, body := fetch(t, nd.URL+"/.well-known/csaf/"+p)
			if code != http.StatusOK || bytes.Contains(body, []byte(strings.ToLower(id))) || bytes.Contains(body, []byte(strings.ToUpper(id))) {
				t.Errorf("%s: %s before the instant: %d %s", nd.Team, p, code, body)
			}
		}
		for _, lang := range []string{"en", "zh", "ja", "ko"} {
			if code, _ := fetch(t, nd.URL+"/.well-known/csaf/white/2026/"+strings.ToLower(id)+"-"+lang+".json"); code != http.StatusNotFound {
				t.Errorf("%s: the %s advisory before the instant: %d", nd.Team, lang, code)
			}
		}
	}

	// At the instant each node publishes its own, without waiting for the others.
	clk.Set(instant)
	published := map[string]string{"cn": "zh en", "jp": "ja", "kr": "ko"}
	dir := t.TempDir()
	var files []string
	for _, nd := range n.Nodes {
		if code := call(t, nd, "GET", "/api/v1/cvd/cases/"+id+"/csaf?lang=ja", nil, nil); code != http.StatusOK {
			t.Errorf("%s: csaf at the instant: %d", nd.Team, code)
		}
		code, index := fetch(t, nd.URL+"/.well-known/csaf/white/index.txt")
		if code != http.StatusOK {
			t.Fatalf("%s: index.txt %d", nd.Team, code)
		}
		for _, lang := range strings.Fields(published[nd.Team]) {
			name := "2026/" + strings.ToLower(id) + "-" + lang + ".json"
			if !bytes.Contains(index, []byte(name)) {
				t.Errorf("%s: index.txt lacks %s: %s", nd.Team, name, index)
			}
			code, doc := fetch(t, nd.URL+"/.well-known/csaf/white/"+name)
			if code != http.StatusOK {
				t.Fatalf("%s: %s: %d", nd.Team, name, code)
			}
			checkHashesAndSignature(t, nd, name, doc)
			var d struct {
				Document struct {
					Lang       string
					References []struct{ URL string }
				}
			}
			if err := json.Unmarshal(doc, &d); err != nil || d.Document.Lang != lang || len(d.Document.References) != 3 {
				t.Fatalf("%s: %s: %v %+v", nd.Team, name, err, d)
			}
			// Linked advisories resolve: every reference is another node's published file.
			for _, r := range d.Document.References {
				if code, _ := fetch(t, r.URL); code != http.StatusOK {
					t.Errorf("%s: reference %s: %d", name, r.URL, code)
				}
			}
			f := filepath.Join(dir, nd.Team+"-"+lang+".json")
			if err := os.WriteFile(f, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		if _, feed := fetch(t, nd.URL+"/.well-known/csaf/white/feed-tlp-white.json"); !bytes.Contains(feed, []byte(strings.ToUpper(id))) {
			t.Errorf("%s: the feed lacks the advisory: %s", nd.Team, feed)
		}
		if code, _ := fetch(t, nd.URL+"/.well-known/csaf/amber/index.txt"); code != http.StatusUnauthorized {
			t.Errorf("%s: the amber folder without credentials: %d", nd.Team, code)
		}
	}
	if len(files) != 4 {
		t.Fatalf("%d advisories", len(files))
	}
	validateCSAF(t, files)

	// The vendors' identities stayed with their coordinators: kr's database has neither.
	for _, nd := range []*testnet.Node{kr, jp} {
		vs, err := nd.App.Store.ListCVDVendors(t.Context(), id)
		if err != nil || (nd == kr && len(vs) != 0) {
			t.Fatalf("%s holds vendors %+v %v", nd.Team, vs, err)
		}
	}
	raw := dbBytes(t, kr)
	for _, secret := range []string{"Shenzhen Chip PSIRT", "psirt@chip.example", "secure@oem.example", "Sato", "r@lab.example", "Researcher R"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("kr's database holds %q", secret)
		}
	}
	if !bytes.Contains(dbBytes(t, cn), []byte("psirt@chip.example")) {
		t.Fatal("the search for vendor identities reads nothing: cn's own vendor is not found in cn's database")
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// dbBytes is everything a node's SQLite database holds on disk, the WAL included.
func dbBytes(t *testing.T, nd *testnet.Node) []byte {
	t.Helper()
	p := nd.App.Config.DatabasePath()
	var all []byte
	for _, f := range []string{p, p + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// validateCSAF runs the BSI validator (schema and mandatory tests) over the files; it
// fails under CI when Node.js or the library is missing.
func validateCSAF(t *testing.T, files []string) {
	t.Helper()
	script, _ := filepath.Abs("../csaf/testdata/validate.mjs")
	if _, err := os.Stat("../csaf/testdata/node_modules/@secvisogram/csaf-validator-lib/package.json"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the CSAF validator is missing and CI is set: npm ci --prefix internal/csaf/testdata (%v)", err)
		}
		t.Skipf("the CSAF validator is missing: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), "node", append([]string{script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("the published advisories are not valid CSAF 2.0: %v\n%s", err, out)
	}
}

// TestCVDEmergencyAndHandoff: an emergency publication goes to every node at once,
// with who and why; the owner hands the case to a participant, who accepts and then
// owns it, with the whole history kept.
func TestCVDEmergencyAndHandoff(t *testing.T) {
	clk, n := startCVDNet(t, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	cn, jp, kr := n.Nodes[0], n.Nodes[1], n.Nodes[2]
	id := newCase(t, cn, "jp", "kr")
	waitCase(t, n.Nodes, id, "the case", func(c caseView) error { return nil })

	// Hand-off: offered by cn, accepted by jp; kr's accepting is refused.
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/handoff", map[string]string{"team": "jp"}, nil); code != http.StatusOK {
		t.Fatalf("offer: %d", code)
	}
	waitCase(t, n.Nodes, id, "the offer", func(c caseView) error {
		if c.Handoff == nil || c.Handoff.To != "jp" {
			return fmt.Errorf("%+v", c.Handoff)
		}
		return nil
	})
	if code := call(t, kr, "POST", "/api/v1/cvd/cases/"+id+"/handoff/accept", nil, nil); code != http.StatusConflict {
		t.Fatalf("kr accepted an offer to jp: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/handoff/accept", nil, nil); code != http.StatusOK {
		t.Fatalf("accept: %d", code)
	}
	waitCase(t, n.Nodes, id, "the new owner", func(c caseView) error {
		if c.Owner != "jp" || strings.Join(c.Owners, ",") != "cn,jp" || c.Handoff != nil {
			return fmt.Errorf("owner %s owners %v", c.Owner, c.Owners)
		}
		return nil
	})
	// The new owner sequences from where the old one stopped.
	instant := clk.Now().Add(time.Hour)
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": instant.Format(time.RFC3339)}, nil); code != http.StatusForbidden {
		t.Fatalf("the old owner proposed: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": instant.Format(time.RFC3339)}, nil); code != http.StatusOK {
		t.Fatalf("the new owner proposes: %d", code)
	}
	waitCase(t, []*testnet.Node{kr}, id, "the new owner's proposal", func(c caseView) error {
		if c.Embargo.PublishAt == nil {
			return fmt.Errorf("no proposal yet")
		}
		return nil
	})
	if code := call(t, kr, "POST", "/api/v1/cvd/cases/"+id+"/embargo/object", map[string]string{"reason": "our vendor needs two more weeks"}, nil); code != http.StatusOK {
		t.Fatalf("object: %d", code)
	}
	waitCase(t, n.Nodes, id, "the history", func(c caseView) error {
		var kinds []string
		for i, e := range c.Timeline {
			if e.Position != int64(i+1) {
				return fmt.Errorf("positions %+v", c.Timeline)
			}
			kinds = append(kinds, e.Kind)
		}
		if strings.Join(kinds, " ") != "handoff.offer handoff.accept embargo.propose embargo.object" {
			return fmt.Errorf("timeline %v", kinds)
		}
		return nil
	})

	// Emergency: kr publishes early, with a reason; every node goes public at once.
	if code, _ := fetch(t, cn.URL+"/.well-known/csaf/white/2026/"+strings.ToLower(id)+"-zh.json"); code != http.StatusNotFound {
		t.Fatalf("before the emergency: %d", code)
	}
	if code := call(t, kr, "POST", "/api/v1/cvd/cases/"+id+"/embargo/emergency", map[string]string{"reason": "exploited in the wild"}, nil); code != http.StatusOK {
		t.Fatalf("emergency: %d", code)
	}
	waitCase(t, n.Nodes, id, "the emergency", func(c caseView) error {
		if c.Embargo.State != "public" || c.Embargo.Emergency == nil || c.Embargo.Emergency.Team != "kr" || c.Embargo.Emergency.Reason != "exploited in the wild" {
			return fmt.Errorf("%+v", c.Embargo)
		}
		return nil
	})
	for _, nd := range n.Nodes {
		code, index := fetch(t, nd.URL+"/.well-known/csaf/white/index.txt")
		if code != http.StatusOK || !slices.ContainsFunc(strings.Fields(string(index)), func(s string) bool { return strings.Contains(s, strings.ToLower(id)) }) {
			t.Errorf("%s: not published after the emergency: %s", nd.Team, index)
		}
	}
}

// TestCVDDemoSeed: the demo's case has vendors at each team and an embargo every
// coordinator agreed; nothing is published before its instant, everything at it.
func TestCVDDemoSeed(t *testing.T) {
	// As in the demo, the nodes have a mail relay: jp's vendor is written to, and its
	// reply sets a status by mail.
	mb := startMailbox(t)
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	opts := testnetOptions()
	opts.Clock = clk
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "CSIRT <cvd@csirt.example>", TLS: "none"}
	n := startNet(t, opts)
	at := clk.Now().Add(5 * time.Minute)
	id, err := n.SeedCVD(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	var jpView struct {
		VendorMail []struct{ Direction, Subject, Body string } `json:"vendor_mail"`
	}
	call(t, n.Node("jp"), "GET", "/api/v1/cvd/cases/"+id, nil, &jpView)
	// On the fake clock both carry the same time: their order is not asserted.
	dirs := map[string]string{}
	for _, m := range jpView.VendorMail {
		dirs[m.Direction] = m.Body
	}
	if len(jpView.VendorMail) != 2 || dirs["out"] == "" || !strings.HasPrefix(dirs["in"], "Thank you for the report") || !strings.Contains(dirs["in"], "status v2 p2 fixed 2.4.1") {
		t.Errorf("jp's mail with its vendor: %+v", jpView.VendorMail)
	}
	if got := mb.to("psirt@nishikawa.example"); len(got) != 1 {
		t.Errorf("the vendor got %d mails", len(got))
	}
	for _, nd := range n.Nodes {
		c, _ := getCase(t, nd, id)
		if c.Embargo.State != "embargoed" || len(c.Statuses) != 6 || c.Matrix["v2"]["p2"].Status != "fixed" {
			t.Fatalf("%s: %+v", nd.Team, c)
		}
		if _, index := fetch(t, nd.URL+"/.well-known/csaf/white/index.txt"); len(index) != 0 {
			t.Fatalf("%s: published before the instant: %s", nd.Team, index)
		}
	}
	clk.Set(at)
	for _, nd := range n.Nodes {
		if _, index := fetch(t, nd.URL+"/.well-known/csaf/white/index.txt"); !bytes.Contains(index, []byte(strings.ToLower(id))) {
			t.Fatalf("%s: not published at the instant: %s", nd.Team, index)
		}
	}
}

// checkHashesAndSignature: the .sha256 and .sha512 files name the document's digests,
// and the .asc signature verifies with the key the provider metadata points at.
func checkHashesAndSignature(t *testing.T, nd *testnet.Node, name string, doc []byte) {
	t.Helper()
	base := nd.URL + "/.well-known/csaf/white/" + name
	s256, s512 := sha256.Sum256(doc), sha512.Sum512(doc)
	for ext, want := range map[string]string{".sha256": hex.EncodeToString(s256[:]), ".sha512": hex.EncodeToString(s512[:])} {
		if code, b := fetch(t, base+ext); code != http.StatusOK || !strings.HasPrefix(string(b), want+"  ") {
			t.Errorf("%s%s: %d %s", name, ext, code, b)
		}
	}
	var meta struct {
		Keys []struct{ URL string } `json:"public_openpgp_keys"`
	}
	_, mb := fetch(t, nd.URL+"/.well-known/csaf/provider-metadata.json")
	if err := json.Unmarshal(mb, &meta); err != nil || len(meta.Keys) != 1 {
		t.Fatalf("%s: provider metadata keys: %v %s", nd.Team, err, mb)
	}
	_, key := fetch(t, meta.Keys[0].URL)
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(key))
	if err != nil {
		t.Fatalf("%s: key: %v", nd.Team, err)
	}
	_, sig := fetch(t, base+".asc")
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(doc), bytes.NewReader(sig), nil); err != nil {
		t.Errorf("%s: %s.asc does not verify: %v", nd.Team, name, err)
	}
}

// TestCVDVendorRole: a vendor's person signs in on its coordinator's node and reaches
// only the cases its vendor is in, sees only its own part of them, sets only its own
// vendor's statuses, and nothing else of the node.
func TestCVDVendorRole(t *testing.T) {
	_, n := startCVDNet(t, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	cn, jp := n.Nodes[0], n.Nodes[1]
	id := newCase(t, cn, "jp", "kr")
	other := newCase(t, cn, "jp")
	waitCase(t, []*testnet.Node{jp}, other, "the cases at jp", func(caseView) error { return nil })
	waitCase(t, []*testnet.Node{jp}, id, "the cases at jp", func(caseView) error { return nil })
	ctx := t.Context()
	if _, err := jp.App.Auth.CreateUser(ctx, "sato.oem", "Sato (OEM KK)", "", "vendor"); err != nil {
		t.Fatal(err)
	}
	token, _, err := jp.App.Auth.IssueToken(ctx, "sato.oem", "vendor", 0)
	if err != nil {
		t.Fatal(err)
	}
	var mine, theirs struct{ ID string }
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "OEM KK", "email": "secure@oem.example", "products": []string{"p2"}, "user": "sato.oem"}, &mine)
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "Other KK", "products": []string{"p3"}}, &theirs)
	call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/statuses", map[string]string{"vendor": theirs.ID, "vulnerability": "v1", "product": "p3", "status": "affected"}, nil)
	vendor := *jp
	vendor.Token = token
	var list struct{ Cases []struct{ ID string } }
	if code := call(t, &vendor, "GET", "/api/v1/cvd/cases", nil, &list); code != http.StatusOK || len(list.Cases) != 1 || list.Cases[0].ID != id {
		t.Fatalf("the vendor's cases: %d %+v", code, list)
	}
	if code := call(t, &vendor, "GET", "/api/v1/cvd/cases/"+other, nil, nil); code != http.StatusNotFound {
		t.Fatalf("a case of another vendor: %d", code)
	}
	for _, p := range []string{"/api/v1/incidents", "/api/v1/pages", "/api/v1/whoami"} {
		if code := call(t, &vendor, "GET", p, nil, nil); code != http.StatusForbidden {
			t.Errorf("the vendor reached %s: %d", p, code)
		}
	}
	if code := call(t, &vendor, "POST", "/api/v1/cvd/cases/"+id+"/embargo/agree", nil, nil); code != http.StatusForbidden {
		t.Errorf("the vendor agreed for the coordinator: %d", code)
	}
	if code := call(t, &vendor, "POST", "/api/v1/cvd/cases/"+id+"/statuses", map[string]string{"vendor": theirs.ID, "vulnerability": "v1", "product": "p3", "status": "fixed", "fixed_version": "9"}, nil); code != http.StatusForbidden {
		t.Errorf("the vendor set another vendor's status: %d", code)
	}
	var c struct {
		caseView
		Vendors  []struct{ Name string }
		Reporter *struct{ Name string }
	}
	if code := call(t, &vendor, "POST", "/api/v1/cvd/cases/"+id+"/statuses", map[string]string{"vendor": mine.ID, "vulnerability": "v1", "product": "p2", "status": "fixed", "fixed_version": "2.4.1"}, &c); code != http.StatusOK {
		t.Fatalf("the vendor's own status: %d", code)
	}
	if len(c.Vendors) != 1 || c.Vendors[0].Name != "OEM KK" || c.Reporter != nil || len(c.Timeline) != 0 {
		t.Fatalf("the vendor sees %+v", c)
	}
	// Once the owner has sequenced it, the vendor sees its own status and no other.
	waitCase(t, []*testnet.Node{&vendor}, id, "the vendor's own status", func(c caseView) error {
		if len(c.Statuses) != 1 || c.Matrix["v1"]["p2"].Status != "fixed" || c.Matrix["v1"]["p3"].Status != "unassessed" {
			return fmt.Errorf("%+v", c.Matrix["v1"])
		}
		return nil
	})
	waitCase(t, []*testnet.Node{cn}, id, "the vendor's status at the owner", func(c caseView) error {
		if c.Matrix["v1"]["p2"].Status != "fixed" {
			return fmt.Errorf("%+v", c.Matrix["v1"])
		}
		return nil
	})
}
