package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/testnet"
)

// post sends a document (not JSON) as the node's admin.
func post(t *testing.T, nd *testnet.Node, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, nd.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// TestExchangeRoutes: the STIX and IODEF routes answer as openapi.json says, with the
// media types of their formats, and bad documents get a problem naming the field.
func TestExchangeRoutes(t *testing.T) {
	net := startNet(t, testnet.Options{Teams: testnet.Default[:2]})
	cn := net.Node("cn")
	s := newSchemas(t)
	code, b := do(t, cn, "POST", "/api/v1/incidents", map[string]any{"title": "Scan from a botnet", "category": "information-gathering/scanner",
		"severity": "low", "tlp": "GREEN"})
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	var in struct{ ID string }
	json.Unmarshal(b, &in)
	do(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "observable", "body": "198.51.100.7"})

	for _, c := range []struct{ path, ctype, has string }{
		{"/api/v1/incidents/" + in.ID + "/stix?team=outside", "application/stix+json;version=2.1", `"type":"bundle"`},
		{"/api/v1/incidents/" + in.ID + "/iodef", "application/xml; charset=utf-8", `<IODEF-Document`},
	} {
		req, _ := http.NewRequest("GET", cn.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+cn.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(body.String(), c.has) || resp.Header.Get("X-Csirtlink-Withheld") != "0" {
			t.Errorf("GET %s: %d %s %q\n%.300s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Csirtlink-Withheld"), body.String())
		}
		if c.ctype != "application/xml; charset=utf-8" {
			code, b := post(t, cn, "/api/v1/stix/import", "application/stix+json", body.Bytes())
			s.check(t, "POST", "/api/v1/stix/import", code, b)
			if code != 201 {
				t.Errorf("import: %d %s", code, b)
			}
		} else {
			code, b := post(t, cn, "/api/v1/iodef/import", "application/xml", body.Bytes())
			s.check(t, "POST", "/api/v1/iodef/import", code, b)
			if code != 201 {
				t.Errorf("import: %d %s", code, b)
			}
		}
	}

	// An observer reads incidents but does not send them out of the node.
	ctx := context.Background()
	if _, err := cn.App.Auth.CreateUser(ctx, "olga", "Olga", "", auth.Observer); err != nil {
		t.Fatal(err)
	}
	tok, _, err := cn.App.Auth.IssueToken(ctx, "olga", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/incidents/" + in.ID + "/stix"}, {"GET", "/api/v1/incidents/" + in.ID + "/iodef"},
		{"POST", "/api/v1/stix/import"}, {"POST", "/api/v1/iodef/import"}} {
		req, _ := http.NewRequest(r.method, cn.URL+r.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("an observer's %s %s: %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}

	// Refusals: a RED ceiling for outsiders, an unknown label, a broken bundle, an
	// IODEF document with a DTD, an unknown incident.
	for _, c := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"GET", "/api/v1/incidents/" + in.ID + "/stix?team=outside&audience=red", "", 403, ""},
		{"GET", "/api/v1/incidents/" + in.ID + "/stix?audience=purple", "", 422, "audience"},
		{"GET", "/api/v1/incidents/cn-1999-0001/iodef", "", 404, ""},
		{"POST", "/api/v1/stix/import", `{"type":"bundle","id":"bundle--1","objects":[]}`, 422, "document"},
		{"POST", "/api/v1/stix/import?tlp=purple", `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[]}`, 422, "tlp"},
		{"POST", "/api/v1/iodef/import", `<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`, 422, "document"},
		{"POST", "/api/v1/iodef/import", ``, 422, "document"},
	} {
		var code int
		var b []byte
		if c.method == "GET" {
			code, b = do(t, cn, "GET", c.path, nil)
		} else {
			code, b = post(t, cn, c.path, "application/octet-stream", []byte(c.body))
		}
		var p struct{ Error struct{ Field string } }
		json.Unmarshal(b, &p)
		if code != c.status || p.Error.Field != c.field {
			t.Errorf("%s %s: %d %s, want %d on %q", c.method, c.path, code, b, c.status, c.field)
		}
		path := c.path
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if strings.Contains(path, "/incidents/") {
			path = "/api/v1/incidents/{id}/" + path[strings.LastIndexByte(path, '/')+1:]
		}
		s.check(t, c.method, path, code, b)
	}
}
