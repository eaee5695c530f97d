package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"csirtlink/internal/api"
	"csirtlink/internal/opmetrics"
	"csirtlink/internal/testnet"
)

// openAPIDoc is the served document, decoded.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func loadDoc(t *testing.T) openAPIDoc {
	t.Helper()
	var d openAPIDoc
	if err := json.Unmarshal(api.OpenAPI(), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return d
}

// Every route the API registers is in the document, and the document has no
// operation that no route serves.
func TestOpenAPIHasEveryRoute(t *testing.T) {
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Teams: testnet.Default[:1]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	a := n.Node("cn").App
	routes := api.New(a.Auth, a.Incidents, a.Hotline, a.Fed, a.Store, a.Store.Ping, slog.New(slog.DiscardHandler)).Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes: the table is not the one the API registers", len(routes))
	}
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	served := map[string]bool{"GET " + opmetrics.Path: true} // mounted by the app, beside the API
	for _, r := range routes {
		served[r.Pattern] = true
	}
	for pattern := range served {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("route %q has no method", pattern)
			continue
		}
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is served but not in openapi.json", pattern)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			if !served[strings.ToUpper(method)+" "+path] {
				t.Errorf("openapi.json documents %s %s, which no route serves", strings.ToUpper(method), path)
			}
		}
	}
	// The document is served, to anyone, as JSON.
	resp, err := http.Get(n.Node("cn").URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, api.OpenAPI()) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// schemas compiles the response schemas of the document.
type schemas struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

func newSchemas(t *testing.T) *schemas {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("https://csirtlink.test/openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	return &schemas{c: c, cache: map[string]*jsonschema.Schema{}}
}

// ptrEscape escapes a JSON pointer token.
func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// check validates a real answer against the schema the document declares for that
// path, method and status; a status the document does not declare fails too.
func (s *schemas) check(t *testing.T, method, path string, status int, body []byte) {
	t.Helper()
	loc := fmt.Sprintf("https://csirtlink.test/openapi.json#/paths/%s/%s/responses/%d", ptrEscape(path), strings.ToLower(method), status)
	var doc map[string]any
	json.Unmarshal(api.OpenAPI(), &doc)
	resp := (((doc["paths"].(map[string]any))[path]).(map[string]any))[strings.ToLower(method)]
	if resp == nil {
		t.Errorf("%s %s: not in the document", method, path)
		return
	}
	r := resp.(map[string]any)["responses"].(map[string]any)[strconv.Itoa(status)]
	if r == nil {
		t.Errorf("%s %s: status %d is not in the document: %s", method, path, status, body)
		return
	}
	if ref, ok := r.(map[string]any)["$ref"].(string); ok {
		loc = "https://csirtlink.test/openapi.json" + ref
	}
	loc += "/content/application~1json/schema"
	sch, ok := s.cache[loc]
	if !ok {
		var err error
		if sch, err = s.c.Compile(loc); err != nil {
			t.Fatalf("%s %s %d: compile %s: %v", method, path, status, loc, err)
		}
		s.cache[loc] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s %s: not JSON: %v", method, path, err)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s %d: the answer disagrees with openapi.json:\n%v\nanswer: %.2000s", method, path, status, err, body)
	}
}

// do makes a request as the node's admin and returns status and body.
func do(t *testing.T, nd *testnet.Node, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, nd.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Real answers of the main endpoints, from a seeded network, agree with the schemas.
func TestOpenAPISchemasMatchRealAnswers(t *testing.T) {
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, nd := range n.Nodes {
		if _, err := nd.App.Publisher.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := newSchemas(t)
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")

	var list struct {
		Incidents []struct{ ID, Coordinator string } `json:"incidents"`
	}
	code, b := do(t, jp, "GET", "/api/v1/incidents", nil)
	s.check(t, "GET", "/api/v1/incidents", code, b)
	json.Unmarshal(b, &list)
	if len(list.Incidents) < 3 {
		t.Fatalf("seeded incidents at jp: %s", b)
	}
	var pages struct {
		Pages []struct{ ID, From string } `json:"pages"`
	}
	code, b = do(t, jp, "GET", "/api/v1/pages", nil)
	s.check(t, "GET", "/api/v1/pages", code, b)
	json.Unmarshal(b, &pages)
	if len(pages.Pages) < 2 {
		t.Fatalf("seeded pages at jp: %s", b)
	}

	type req struct {
		nd           *testnet.Node
		method, path string // path is the document's; url the real one
		url          string
		body         any
		want         int
	}
	incID, pageID := list.Incidents[0].ID, pages.Pages[0].ID
	var inds struct {
		Indicators []struct{ ID, Author string } `json:"indicators"`
	}
	code, b = do(t, jp, "GET", "/api/v1/indicators?author=cn&seen=yes", nil)
	s.check(t, "GET", "/api/v1/indicators", code, b)
	json.Unmarshal(b, &inds)
	if len(inds.Indicators) == 0 {
		t.Fatalf("seeded indicators with sightings at jp: %s", b)
	}
	indID := inds.Indicators[0].ID
	reqs := []req{
		{jp, "GET", "/healthz", "", nil, 200},
		{jp, "GET", "/api/v1/incidents/{id}/misp", "/api/v1/incidents/" + incID + "/misp", nil, 200},
		{jp, "GET", "/api/v1/indicators/misp", "/api/v1/indicators/misp?id=" + indID, nil, 200},
		{jp, "GET", "/readyz", "", nil, 200},
		{jp, "GET", "/api/v1/whoami", "", nil, 200},
		{jp, "GET", "/api/v1/teams", "", nil, 200},
		{jp, "GET", "/api/v1/incidents/{id}", "/api/v1/incidents/" + incID, nil, 200},
		{jp, "GET", "/api/v1/incidents/{id}", "/api/v1/incidents/cn-2026-9999", nil, 404},
		{cn, "POST", "/api/v1/incidents", "", map[string]any{"title": "Open resolvers used in reflection", "category": "vulnerable/vulnerable-system",
			"severity": "low", "tlp": "GREEN", "participants": []string{"jp"}}, 201},
		{cn, "POST", "/api/v1/incidents", "", map[string]any{"title": "x", "category": "no/such", "severity": "low", "tlp": "GREEN"}, 422},
		{cn, "POST", "/api/v1/incidents", "", map[string]any{"title": "x", "colour": "red"}, 422},
		{jp, "POST", "/api/v1/incidents/{id}/timeline", "/api/v1/incidents/" + incID + "/timeline", map[string]any{"kind": "comment", "body": "Seen here too.", "tlp": "AMBER"}, 201},
		{jp, "GET", "/api/v1/pages/{id}", "/api/v1/pages/" + pageID, nil, 200},
		{cn, "GET", "/api/v1/pages/{id}", "/api/v1/pages/" + pageID, nil, 200},
		{cn, "POST", "/api/v1/pages", "", map[string]any{"to": []string{"kr"}, "severity": "medium", "summary": "Schema check page"}, 201},
		{jp, "GET", "/api/v1/commchecks", "", nil, 200},
		{cn, "GET", "/api/v1/commchecks", "", nil, 200},
		{jp, "GET", "/api/v1/oncall", "", nil, 200},
		{jp, "GET", "/api/v1/oncall/now", "", nil, 200},
		{jp, "GET", "/api/v1/oncall/partners", "", nil, 200},
		{jp, "GET", "/api/v1/peers", "", nil, 200},
		{jp, "GET", "/api/v1/federation/refusals", "", nil, 200},
		{jp, "GET", "/api/v1/audit", "", nil, 200},
		{jp, "GET", "/api/v1/users", "", nil, 200},
		{jp, "GET", "/api/v1/users/{name}/contacts", "/api/v1/users/tanaka.hiro/contacts", nil, 200},
		{jp, "GET", "/api/v1/metrics/collaboration", "/api/v1/metrics/collaboration?period=" + strconv.Itoa(time.Now().UTC().Year()), nil, 200},
		{jp, "GET", "/api/v1/metrics/collaboration", "/api/v1/metrics/collaboration?period=2026-12&partner=cn", nil, 200},
		{jp, "GET", "/api/v1/metrics/collaboration", "/api/v1/metrics/collaboration?period=soon", nil, 422},
		{jp, "GET", "/api/v1/metrics/joint", "/api/v1/metrics/joint?period=" + strconv.Itoa(time.Now().UTC().Year()), nil, 200},
		{cn, "GET", "/api/v1/indicators/{id}", "/api/v1/indicators/" + indID, nil, 200},
		{jp, "GET", "/api/v1/indicators/{id}", "/api/v1/indicators/" + indID, nil, 200},
		{jp, "GET", "/api/v1/indicators/{id}", "/api/v1/indicators/00000000-0000-4000-8000-000000000000", nil, 404},
		{cn, "POST", "/api/v1/indicators", "", map[string]any{"value": "198.51.100.250", "category": "malicious-code/c2-server", "tlp": "AMBER", "share_with": []string{"jp"}}, 201},
		{cn, "POST", "/api/v1/indicators", "", map[string]any{"value": "198.51.100.250", "category": "malicious-code/c2-server", "tlp": "RED"}, 422},
		{jp, "PUT", "/api/v1/indicators/{id}", "/api/v1/indicators/" + indID, map[string]any{"value": "198.51.100.7", "category": "malicious-code/c2-server", "tlp": "AMBER"}, 403},
		{jp, "POST", "/api/v1/indicators/{id}/sightings", "/api/v1/indicators/" + indID + "/sightings", map[string]any{"kind": "seen", "count": 12}, 201},
		{jp, "GET", "/api/v1/search", "/api/v1/search?q=198.51.100.100", nil, 200},
		{jp, "GET", "/api/v1/search", "/api/v1/search?q=not%20a%20value", nil, 422},
		{kr, "GET", "/api/v1/indicators/export", "/api/v1/indicators/export?format=json&type=url", nil, 200},
	}
	for _, r := range reqs {
		url := r.url
		if url == "" {
			url = r.path
		}
		code, b := do(t, r.nd, r.method, url, r.body)
		if code != r.want {
			t.Errorf("%s %s at %s: %d, want %d: %s", r.method, url, r.nd.Team, code, r.want, b)
		}
		s.check(t, r.method, r.path, code, b)
	}
	// The joint report the schema checked has every team's figures in it.
	_, b = do(t, jp, "GET", "/api/v1/metrics/joint?period="+strconv.Itoa(time.Now().UTC().Year()), nil)
	var j struct{ Teams []struct{ Team string } }
	json.Unmarshal(b, &j)
	var teams []string
	for _, tm := range j.Teams {
		teams = append(teams, tm.Team)
	}
	if !slices.Contains(teams, "jp") {
		t.Errorf("jp's own aggregate is not in its joint report: %v", teams)
	}
}
