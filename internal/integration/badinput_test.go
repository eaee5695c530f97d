package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBadInputNamesTheFieldAndWritesNothing(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn := n.Node("cn")
	good := func() map[string]any {
		return map[string]any{"title": "t", "description": "d", "category": "availability/ddos", "severity": "high", "tlp": "AMBER", "participants": []string{"jp"}}
	}
	with := func(k string, v any) map[string]any {
		m := good()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name  string
		body  any
		code  int
		field string
	}{
		{"empty title", with("title", "  "), 422, "title"},
		{"long title", with("title", strings.Repeat("長", 201)), 422, "title"},
		{"long description", with("description", strings.Repeat("x", 20001)), 422, "description"},
		{"unknown category", with("category", "availability/earthquake"), 422, "category"},
		{"missing category", with("category", nil), 422, "category"},
		{"bad severity", with("severity", "urgent"), 422, "severity"},
		{"bad tlp", with("tlp", "WHITE"), 422, "tlp"},
		{"unknown participant", with("participants", []string{"jp", "zz"}), 422, "participants"},
		{"unknown field", with("priority", 1), 422, "priority"},
		{"wrong type", with("participants", "jp"), 422, "participants"},
	}
	for _, c := range cases {
		var e apiError
		code := call(t, cn, "POST", "/api/v1/incidents", c.body, &e)
		if code != c.code || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("%s: got %d field %q (%q), want %d field %q", c.name, code, e.Error.Field, e.Error.Message, c.code, c.field)
		}
	}
	// A body over the limit is refused before it is read whole.
	var e apiError
	if code := call(t, cn, "POST", "/api/v1/incidents", with("description", strings.Repeat("x", 2<<20)), &e); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d %+v", code, e)
	}
	list, err := cn.App.Store.ListIncidents(ctx, storeFilter())
	if err != nil || len(list) != 0 {
		t.Fatalf("bad requests stored incidents: %v %v", list, err)
	}
	if sent, _ := cn.App.Store.Sent(ctx, "jp"); len(sent) != 0 {
		t.Fatalf("bad requests queued %d envelopes", len(sent))
	}

	in := createIncident(t, cn, "AMBER", "jp")
	entryCases := []struct {
		name, path string
		body       any
		code       int
		field      string
	}{
		{"bad kind", "timeline", map[string]any{"kind": "rumour", "body": "x"}, 422, "kind"},
		{"empty comment", "timeline", map[string]any{"kind": "comment", "body": ""}, 422, "body"},
		{"bad observable", "timeline", map[string]any{"kind": "observable", "body": "999.1.1.1", "type": "ipv4"}, 422, "body"},
		{"recipients on AMBER", "timeline", map[string]any{"kind": "comment", "body": "x", "tlp": "AMBER", "recipients": []string{"jp"}}, 422, "recipients"},
		{"recipient not participant", "timeline", map[string]any{"kind": "comment", "body": "x", "tlp": "RED", "recipients": []string{"kr"}}, 422, "recipients"},
		{"bad status", "status", map[string]any{"status": "solved"}, 422, "status"},
		{"bad participation", "participation", map[string]any{"status": "invited"}, 422, "status"},
	}
	for _, c := range entryCases {
		var e apiError
		code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/"+c.path, c.body, &e)
		if code != c.code || e.Error.Field != c.field {
			t.Errorf("%s: got %d field %q (%q), want %d field %q", c.name, code, e.Error.Field, e.Error.Message, c.code, c.field)
		}
	}
	var missing apiError
	if code := call(t, cn, "POST", "/api/v1/incidents/cn-1999-0001/timeline", map[string]any{"kind": "comment", "body": "x"}, &missing); code != 404 {
		t.Errorf("unknown incident: %d", code)
	}
	got, _ := getIncident(t, cn, in.ID)
	if len(got.Timeline) != 0 {
		t.Fatalf("bad entries stored: %+v", got.Timeline)
	}
	eventually(t, 2*time.Second, "only the creation went to jp", func() error {
		sent, _ := cn.App.Store.Sent(ctx, "jp")
		if len(sent) != 1 {
			return fmt.Errorf("%d envelopes", len(sent))
		}
		return nil
	})
}

func TestAPIRequiresAValidToken(t *testing.T) {
	n := startNet(t, testnetOptions())
	cn := *n.Node("cn")
	for _, tok := range []string{"", "csl_wrong", cn.Token + "x"} {
		cn.Token = tok
		var e apiError
		if code := call(t, &cn, "GET", "/api/v1/incidents", nil, &e); code != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
			t.Errorf("token %q: %d %+v", tok, code, e)
		}
	}
}
