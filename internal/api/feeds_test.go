package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// sendRaw makes an API request with a body and decodes the JSON answer.
func sendRaw(t *testing.T, nd *testnet.Node, token, method, path, ctype string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, nd.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out
}

func errorField(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func postOwner(t *testing.T, nd *testnet.Node, token, body string) (int, map[string]any) {
	t.Helper()
	return sendRaw(t, nd, token, "POST", "/api/v1/owners", "application/json", strings.NewReader(body))
}

// The owners API checks every field and names the one at fault; only a duty officer or
// an admin changes owners.
func TestOwnersAPIValidation(t *testing.T) {
	cn, _ := startOne(t)
	ctx := context.Background()
	if _, err := cn.App.Auth.CreateUser(ctx, "sato", "Sato Ken", "", auth.Handler); err != nil {
		t.Fatal(err)
	}
	handler, _, err := cn.App.Auth.IssueToken(ctx, "sato", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	const ok = `{"id":"isp-a","name":"ISP A","networks":["192.0.2.0/24"],"contacts":[{"email":"abuse@isp-a.example"}]}`
	bad := map[string]string{
		`{"id":"ISP A","name":"x","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example"}]}`:                                  "id",
		`{"id":"a","name":"","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example"}]}`:                                       "name",
		`{"id":"a","name":"A","networks":["192.0.2.1/24"],"contacts":[{"email":"a@b.example"}]}`:                                      "networks[0]",
		`{"id":"a","name":"A","networks":["2001:db8::/32","banana"],"contacts":[{"email":"a@b.example"}]}`:                            "networks[1]",
		`{"id":"a","name":"A","asns":[0],"contacts":[{"email":"a@b.example"}]}`:                                                       "asns[0]",
		`{"id":"a","name":"A","asns":[-1],"contacts":[{"email":"a@b.example"}]}`:                                                      "asns",
		`{"id":"a","name":"A","domains":["com"],"contacts":[{"email":"a@b.example"}]}`:                                                "domains[0]",
		`{"id":"a","name":"A","contacts":[{"email":"a@b.example"}]}`:                                                                  "networks",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"]}`:                                                                           "contacts",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"nope"}]}`:                                             "contacts[0].email",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example","language":"de"}]}`:                      "contacts[0].language",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example","format":"xml"}]}`:                       "contacts[0].format",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example","schedule":"daily","digest_at":"7am"}]}`: "contacts[0].digest_at",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example","pgp_key":"junk"}]}`:                     "contacts[0].pgp_key",
		`{"id":"a","name":"A","networks":["192.0.2.0/24"],"colour":"red","contacts":[{"email":"a@b.example"}]}`:                       "colour",
	}
	for body, field := range bad {
		st, out := postOwner(t, cn, cn.Token, body)
		if st != http.StatusUnprocessableEntity || errorField(out) != field {
			t.Errorf("%s: %d %v, want 422 naming %s", body, st, out, field)
		}
	}
	if st, out := postOwner(t, cn, handler, ok); st != http.StatusForbidden {
		t.Errorf("a handler created an owner: %d %v", st, out)
	}
	if st, out := postOwner(t, cn, cn.Token, ok); st != http.StatusCreated || out["id"] != "isp-a" {
		t.Fatalf("create: %d %v", st, out)
	}
	if st, _ := postOwner(t, cn, cn.Token, ok); st != http.StatusConflict {
		t.Errorf("create twice: %d", st)
	}
	if st, out := sendRaw(t, cn, cn.Token, "PUT", "/api/v1/owners/isp-a", "application/json",
		strings.NewReader(`{"id":"other","name":"A","networks":["192.0.2.0/24"],"contacts":[{"email":"a@b.example"}]}`)); st != 422 || errorField(out) != "id" {
		t.Errorf("put with another id: %d %v", st, out)
	}
	if st, out := sendRaw(t, cn, cn.Token, "PUT", "/api/v1/owners/isp-a", "application/json",
		strings.NewReader(`{"name":"ISP A renamed","networks":["198.51.100.0/24"],"contacts":[{"email":"a@b.example","schedule":"immediate"}]}`)); st != 200 || out["name"] != "ISP A renamed" {
		t.Errorf("put: %d %v", st, out)
	}
	if st, out := sendRaw(t, cn, handler, "GET", "/api/v1/owners", "", nil); st != 200 || len(out["owners"].([]any)) != 1 {
		t.Errorf("list: %d %v", st, out)
	}
	if st, _ := sendRaw(t, cn, handler, "DELETE", "/api/v1/owners/isp-a", "", nil); st != http.StatusForbidden {
		t.Errorf("a handler deleted an owner: %d", st)
	}
	if st, _ := sendRaw(t, cn, cn.Token, "DELETE", "/api/v1/owners/isp-a", "", nil); st != http.StatusNoContent {
		t.Errorf("delete: %d", st)
	}
	if st, _ := sendRaw(t, cn, cn.Token, "DELETE", "/api/v1/owners/isp-a", "", nil); st != http.StatusNotFound {
		t.Errorf("delete twice: %d", st)
	}

	// An import with one bad row changes nothing; the error names the line.
	csv := "id,name,networks,email\nuni,University,203.0.113.0/24,cert@uni.example\nbad,Bad,10.0.0.1/8,x@y.example\n"
	if st, out := sendRaw(t, cn, cn.Token, "POST", "/api/v1/owners/import", "text/csv", strings.NewReader(csv)); st != 422 || !strings.Contains(errorMessage(out), "10.0.0.1/8") {
		t.Errorf("import with a bad row: %d %v", st, out)
	}
	if list, _ := cn.App.Owners.List(ctx); len(list) != 0 {
		t.Errorf("a failed import left %d owners", len(list))
	}
	csv = "id,name,networks,email\nuni,University,203.0.113.0/24,cert@uni.example\nuni,,2001:db8:1::/48,noc@uni.example\n"
	if st, out := sendRaw(t, cn, cn.Token, "POST", "/api/v1/owners/import", "text/csv", strings.NewReader(csv)); st != 200 || out["created"] != float64(1) {
		t.Errorf("import: %d %v", st, out)
	}
}

// A Shadowserver report uploaded to the API (gzipped) is routed to the most specific
// owner for IPv4 and IPv6 alike, the counts match, malformed rows are counted with
// their lines, and each owner's stored events are exactly its own.
func TestIngestRoutesToTheMostSpecificOwner(t *testing.T) {
	cn, _ := startOne(t)
	ctx := context.Background()
	owners := []string{
		`{"id":"isp","name":"ISP","networks":["198.51.100.0/24","2001:db8::/32"],"contacts":[{"email":"abuse@isp.example"}]}`,
		`{"id":"hosting","name":"Hosting","networks":["198.51.100.128/25","2001:db8:5::/48"],"contacts":[{"email":"abuse@hosting.example"}]}`,
		`{"id":"uni","name":"University","asns":[64501],"contacts":[{"email":"cert@uni.example"}]}`,
	}
	for _, o := range owners {
		if st, out := postOwner(t, cn, cn.Token, o); st != http.StatusCreated {
			t.Fatalf("owner: %d %v", st, out)
		}
	}
	var rep strings.Builder
	rep.WriteString(`"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city"` + "\n")
	rows := []struct{ ip, asn string }{
		{"198.51.100.10", "64500"},  // isp
		{"198.51.100.200", "64500"}, // hosting: the /25 inside isp's /24
		{"2001:db8:1::1", "64500"},  // isp
		{"2001:db8:5::9", "64500"},  // hosting: the /48 inside isp's /32
		{"2001:db8:5::a", "64500"},  // hosting
		{"203.0.113.7", "64501"},    // uni, by AS number
		{"192.0.2.1", "64999"},      // no one
	}
	for _, r := range rows {
		fmt.Fprintf(&rep, `"2024-05-01 00:00:01","%s","tcp",23,,telnet,%s,JP,TOKYO,TOKYO`+"\n", r.ip, r.asn)
	}
	rep.WriteString(`"2024-05-01 00:00:01","not-an-ip","tcp",23,,telnet,1,JP,TOKYO,TOKYO` + "\n") // line 9
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(rep.String()))
	zw.Close()

	st, out := sendRaw(t, cn, cn.Token, "POST", "/api/v1/feeds/ingest?format=shadowserver&report=scan_telnet", "application/gzip", &gz)
	if st != http.StatusCreated {
		t.Fatalf("ingest: %d %v", st, out)
	}
	id, _ := out["id"].(string)
	st, run := sendRaw(t, cn, cn.Token, "GET", "/api/v1/feeds/runs/"+id, "", nil)
	if st != 200 {
		t.Fatalf("get run: %d %v", st, run)
	}
	if run["events"] != float64(7) || run["routed_owners"] != float64(6) || run["unrouted"] != float64(1) || run["state"] != "done" {
		t.Errorf("counts: %v", run)
	}
	if got := toJSON(run["owners"]); got != `{"hosting":3,"isp":2,"uni":1}` {
		t.Errorf("per owner: %s", got)
	}
	if got := toJSON(run["routed_partners"]); got != `{}` {
		t.Errorf("per partner: %s", got)
	}
	errs, _ := run["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["line"] != float64(9) {
		t.Errorf("errors: %v", run["errors"])
	}

	want := map[string][]string{"isp": {"198.51.100.10", "2001:db8:1::1"}, "hosting": {"198.51.100.200", "2001:db8:5::9", "2001:db8:5::a"},
		"uni": {"203.0.113.7"}}
	for o, ips := range want {
		var got []string
		err := cn.App.Feeds.Events(ctx, id, store.ChunkOwner, o, func(r feedrun.Record) error {
			got = append(got, r.IP)
			if !strings.Contains(r.Raw, r.IP) || r.Report != "scan_telnet" || r.TLP != "AMBER" {
				t.Errorf("%s: record %+v", o, r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != strings.Join(ips, " ") {
			t.Errorf("%s's events: %v, want %v", o, got, ips)
		}
	}
	var unrouted []string
	cn.App.Feeds.Events(ctx, id, store.ChunkUnrouted, "", func(r feedrun.Record) error { unrouted = append(unrouted, r.IP); return nil })
	if strings.Join(unrouted, " ") != "192.0.2.1" {
		t.Errorf("unrouted: %v", unrouted)
	}

	st, list := sendRaw(t, cn, cn.Token, "GET", "/api/v1/feeds/runs", "", nil)
	if runs, _ := list["runs"].([]any); st != 200 || len(runs) != 1 {
		t.Errorf("runs: %d %v", st, list)
	}
	// A format the node does not know, or a mapping that does not fit, makes no run.
	if st, out := sendRaw(t, cn, cn.Token, "POST", "/api/v1/feeds/ingest?format=xml", "text/plain", strings.NewReader("x")); st != 422 || errorField(out) != "format" {
		t.Errorf("unknown format: %d %v", st, out)
	}
	if st, out := sendRaw(t, cn, cn.Token, "POST", "/api/v1/feeds/ingest?format=csv&map=ip=nosuch", "text/csv", strings.NewReader("src,ts\n1.2.3.4,0\n")); st != 422 || errorField(out) != "map" {
		t.Errorf("bad map: %d %v", st, out)
	}
	if st, _ := sendRaw(t, cn, cn.Token, "GET", "/api/v1/feeds/runs/run-nosuch", "", nil); st != 404 {
		t.Errorf("unknown run: %d", st)
	}
}
