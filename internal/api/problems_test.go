package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// A request with several bad fields is answered with all of them at once, the first
// also as the error's own field (so older clients read what they read before): an
// incident, a page and an on-call rotation.
func TestEveryBadFieldAtOnce(t *testing.T) {
	cn, _ := startOne(t)
	made := send(t, cn, "POST", "/api/v1/incidents", "", map[string]any{"title": "Phishing kit", "category": "fraud/phishing",
		"severity": "high", "tlp": "AMBER"})
	var in struct{ ID string }
	if err := json.Unmarshal(made.body, &in); err != nil || in.ID == "" {
		t.Fatalf("create: %d %s", made.status, made.body)
	}
	for _, c := range []struct {
		method, path string
		body         any
		fields       []string
	}{
		{"POST", "/api/v1/incidents", map[string]any{"title": "", "category": "nonsense", "severity": "huge", "tlp": "PURPLE"},
			[]string{"title", "category", "severity", "tlp"}},
		{"POST", "/api/v1/pages", map[string]any{"to": []string{}, "severity": "huge", "summary": ""},
			[]string{"to", "severity", "summary"}},
		{"PUT", "/api/v1/oncall/rotations/r1", map[string]any{"id": "r1", "name": "", "timezone": "Mars/Base", "shift": "daily", "every": 0,
			"start": "soon", "members": []string{}}, []string{"name", "timezone", "every", "start", "members"}},
		{"POST", "/api/v1/incidents/" + in.ID + "/timeline", map[string]any{"kind": "comment", "body": " ", "tlp": "RED"},
			[]string{"body", "recipients"}},
	} {
		r := send(t, cn, c.method, c.path, "", c.body)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
			continue
		}
		var out struct {
			Error struct {
				Field  string `json:"field"`
				Errors []struct{ Field, Code, Message string }
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range out.Error.Errors {
			got[e.Field] = true
			if e.Code != "invalid" || e.Message == "" {
				t.Errorf("%s: %+v", c.path, e)
			}
		}
		for _, f := range c.fields {
			if !got[f] {
				t.Errorf("%s %s: no error for %s in %s", c.method, c.path, f, r.body)
			}
		}
		if out.Error.Field != c.fields[0] {
			t.Errorf("%s: the first field is %q, want %q", c.path, out.Error.Field, c.fields[0])
		}
	}
}
