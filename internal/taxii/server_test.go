package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func openSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func directory(t testing.TB) *team.Directory {
	t.Helper()
	key := func() string {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CN", Timezone: "UTC", PublicKey: key()}, []team.Peer{
		{Team: team.Team{ID: "jp", Name: "JP", Timezone: "UTC", URL: "http://127.0.0.1:1", PublicKey: key()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// node is a TAXII server on loopback over a real database.
type node struct {
	db    *sqlstore.DB
	srv   *Server
	ts    *httptest.Server
	clk   *clock.Fake
	cons  *Consumers
	creds map[string]Credentials
}

func newNode(t testing.TB, db *sqlstore.DB) *node {
	t.Helper()
	clk := clock.NewFake(t0)
	dir := directory(t)
	srv, err := NewServer(context.Background(), db, dir, clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n := &node{db: db, srv: srv, clk: clk, cons: NewConsumers(db, dir, clk), creds: map[string]Credentials{}}
	n.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(n.ts.Close)
	for _, c := range []ConsumerInput{{Name: "soc-clear", Ceiling: "CLEAR"}, {Name: "soc-green", Ceiling: "GREEN"},
		{Name: "partner-amber", Ceiling: "AMBER", CanWrite: true}} {
		cred, err := n.cons.Create(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		n.creds[c.Name] = cred
	}
	return n
}

// object is a STIX indicator of the label, modified at m.
func object(i int, label tlp.Label, m time.Time) store.TAXIIObject {
	id := fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i)
	ts := m.UTC().Format(stix.TimestampLayout)
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-03-01T09:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-03-01T09:00:00.000Z","object_marking_refs":[%q]}`,
		id, ts, i%256, stix.MarkingID(label))
	return store.TAXIIObject{ID: id, Version: m, SpecVersion: "2.1", Type: "indicator", TLP: string(label), Source: "local", Raw: []byte(raw)}
}

func (n *node) add(t testing.TB, objs ...store.TAXIIObject) []store.TAXIIObject {
	t.Helper()
	added, err := n.db.AddTAXIIObjects(context.Background(), IndicatorsCollection, objs, n.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	n.clk.Advance(time.Second)
	return added
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%d %s: %v", r.code, r.body, err)
	}
	return m
}

// do sends a request as consumer (Basic), or with no credentials for "".
func (n *node) do(t *testing.T, consumer, method, path string, body []byte, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, n.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", MediaType)
	if body != nil {
		req.Header.Set("Content-Type", MediaType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c, ok := n.creds[consumer]; ok {
		req.SetBasicAuth(c.Name, c.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

// dbs are the databases the endpoint tests run on.
var dbs = map[string]func(testing.TB) *sqlstore.DB{"sqlite": openSQLite, "postgres": openPostgres}

const objectsPath = "/taxii2/api/collections/" + IndicatorsCollection + "/objects/"

func TestDiscoveryAuthAndMediaType(t *testing.T) {
	n := newNode(t, openSQLite(t))
	// No credentials, a wrong password, an unknown account: 401 with a challenge.
	r := n.do(t, "", "GET", "/taxii2/", nil)
	if r.code != 401 || !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Basic") || r.hdr.Get("Content-Type") != MediaType {
		t.Fatalf("no credentials: %d %v", r.code, r.hdr)
	}
	r = n.do(t, "", "GET", "/taxii2/", nil, "Authorization", "Basic "+basic("soc-green", "wrong"))
	if r.code != 401 {
		t.Fatalf("wrong password: %d", r.code)
	}
	r = n.do(t, "", "GET", "/taxii2/", nil, "Authorization", "Bearer taxii_nothing")
	if r.code != 401 {
		t.Fatalf("unknown token: %d", r.code)
	}
	// Basic and bearer both work.
	r = n.do(t, "soc-green", "GET", "/taxii2/", nil)
	if r.code != 200 || r.hdr.Get("Content-Type") != MediaType {
		t.Fatalf("discovery: %d %v %s", r.code, r.hdr, r.body)
	}
	d := r.json(t)
	roots, _ := d["api_roots"].([]any)
	if len(roots) != 1 || roots[0] != n.ts.URL+"/taxii2/api/" || d["default"] != roots[0] || d["title"] == "" {
		t.Fatalf("discovery %s", r.body)
	}
	r = n.do(t, "", "GET", "/taxii2/api/", nil, "Authorization", "Bearer "+n.creds["soc-green"].Token)
	if r.code != 200 || !slices.Contains(anyStrings(r.json(t)["versions"]), MediaType) || r.json(t)["max_content_length"] != float64(MaxContentLength) {
		t.Fatalf("api root by bearer: %d %s", r.code, r.body)
	}
	// 406 for a media type that is not TAXII 2.1; */* and the unversioned type are fine.
	for accept, want := range map[string]int{"application/json": 406, "application/taxii+json;version=2.0": 406, "text/html": 406,
		"application/taxii+json": 200, "*/*": 200, "application/taxii+json; version=2.1": 200} {
		if r := n.do(t, "soc-green", "GET", "/taxii2/api/", nil, "Accept", accept); r.code != want {
			t.Errorf("Accept %s: %d, want %d", accept, r.code, want)
		}
	}
	// A disabled consumer is turned away at once, its cached check notwithstanding.
	if err := n.cons.SetDisabled(t.Context(), "soc-green", true); err != nil {
		t.Fatal(err)
	}
	if r := n.do(t, "soc-green", "GET", "/taxii2/", nil); r.code != 401 {
		t.Fatalf("disabled: %d", r.code)
	}
	// Rotation ends the old secrets.
	if err := n.cons.SetDisabled(t.Context(), "soc-green", false); err != nil {
		t.Fatal(err)
	}
	old := n.creds["soc-green"]
	fresh, err := n.cons.Rotate(t.Context(), "soc-green")
	if err != nil {
		t.Fatal(err)
	}
	if r := n.do(t, "", "GET", "/taxii2/", nil, "Authorization", "Bearer "+old.Token); r.code != 401 {
		t.Fatalf("old token after rotation: %d", r.code)
	}
	n.creds["soc-green"] = fresh
	if r := n.do(t, "soc-green", "GET", "/taxii2/", nil); r.code != 200 {
		t.Fatalf("new password: %d", r.code)
	}
	// Only hashes are stored; when it was last seen is recorded.
	c, err := n.db.TAXIIConsumer(t.Context(), "soc-green")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeenAt == nil || !c.LastSeenAt.Equal(n.clk.Now()) {
		t.Errorf("last seen: %v", c.LastSeenAt)
	}
	if d, _ := n.db.TAXIIConsumer(t.Context(), "soc-clear"); d.LastSeenAt != nil {
		t.Errorf("an unused consumer seen at %v", d.LastSeenAt)
	}
	if strings.Contains(c.PasswordHash, fresh.Password) || c.TokenHash == fresh.Token || !strings.HasPrefix(c.PasswordHash, "$argon2id$") {
		t.Fatalf("secrets stored: %+v", c)
	}
	// Unknown endpoints answer with a TAXII error.
	if r := n.do(t, "soc-green", "GET", "/taxii2/nothing/", nil); r.code != 404 || r.hdr.Get("Content-Type") != MediaType {
		t.Fatalf("unknown path: %d %v", r.code, r.hdr)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestCollections(t *testing.T) {
	n := newNode(t, openSQLite(t))
	r := n.do(t, "soc-green", "GET", "/taxii2/api/collections/", nil)
	var cols struct{ Collections []collectionResource }
	if err := json.Unmarshal(r.body, &cols); err != nil || r.code != 200 || len(cols.Collections) != 2 {
		t.Fatalf("collections: %d %s", r.code, r.body)
	}
	for _, c := range cols.Collections {
		switch c.ID {
		case IndicatorsCollection:
			if !c.CanRead || c.CanWrite || c.MediaTypes[0] != "application/stix+json;version=2.1" {
				t.Errorf("indicators %+v", c)
			}
		case InboxCollection:
			if c.CanRead || c.CanWrite {
				t.Errorf("inbox for a reader %+v", c)
			}
		default:
			t.Errorf("collection %+v", c)
		}
	}
	r = n.do(t, "partner-amber", "GET", "/taxii2/api/collections/"+InboxCollection+"/", nil)
	var inbox collectionResource
	if json.Unmarshal(r.body, &inbox); r.code != 200 || !inbox.CanWrite || inbox.CanRead {
		t.Fatalf("inbox for a writer: %d %s", r.code, r.body)
	}
	if r := n.do(t, "soc-green", "GET", "/taxii2/api/collections/nope/", nil); r.code != 404 {
		t.Fatalf("unknown collection: %d", r.code)
	}
	if r := n.do(t, "soc-green", "GET", "/taxii2/api/collections/nope/objects/", nil); r.code != 404 {
		t.Fatalf("objects of an unknown collection: %d", r.code)
	}
	if r := n.do(t, "partner-amber", "GET", "/taxii2/api/collections/"+InboxCollection+"/objects/", nil); r.code != 403 {
		t.Fatalf("reading the inbox: %d", r.code)
	}
}

type env struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

func ids(objs []json.RawMessage) []string {
	var out []string
	for _, o := range objs {
		var x struct{ ID, Modified string }
		json.Unmarshal(o, &x)
		out = append(out, x.ID+"@"+x.Modified)
	}
	return out
}

func key(o store.TAXIIObject) string {
	return o.ID + "@" + o.Version.UTC().Format(stix.TimestampLayout)
}

func TestObjectsFiltersPagingAndHeaders(t *testing.T) {
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) { testObjectsFiltersPagingAndHeaders(t, newNode(t, open(t))) })
	}
}

func testObjectsFiltersPagingAndHeaders(t *testing.T, n *node) {
	ls := []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red}
	var all []store.TAXIIObject
	for i := range 30 {
		all = append(all, n.add(t, object(i, ls[i%5], t0))...)
	}
	// Second versions of objects 0 and 1: the first versions are no longer the latest.
	v2 := n.add(t, object(0, tlp.Clear, t0.Add(time.Hour)), object(1, tlp.Green, t0.Add(time.Hour)))
	var greenLatest []string // what soc-green sees by default: CLEAR and GREEN, last versions
	for _, o := range append(slices.Clone(all[2:]), v2...) {
		if o.TLP == "CLEAR" || o.TLP == "GREEN" {
			greenLatest = append(greenLatest, key(o))
		}
	}
	// Paging with limit 4: more and next until the end, headers on every page.
	var got []string
	next := ""
	for pages := 0; ; pages++ {
		q := "?limit=4"
		if next != "" {
			q += "&next=" + url.QueryEscape(next)
		}
		r := n.do(t, "soc-green", "GET", objectsPath+q, nil)
		var e env
		if err := json.Unmarshal(r.body, &e); err != nil || r.code != 200 {
			t.Fatalf("page: %d %s", r.code, r.body)
		}
		if len(e.Objects) > 4 || r.hdr.Get("X-TAXII-Date-Added-First") == "" || r.hdr.Get("X-TAXII-Date-Added-Last") == "" {
			t.Fatalf("page of %d, headers %v", len(e.Objects), r.hdr)
		}
		if r.hdr.Get("X-TAXII-Date-Added-First") > r.hdr.Get("X-TAXII-Date-Added-Last") {
			t.Fatalf("headers out of order: %v", r.hdr)
		}
		got = append(got, ids(e.Objects)...)
		if e.More != (e.Next != "") {
			t.Fatalf("more %v with next %q", e.More, e.Next)
		}
		if !e.More {
			break
		}
		next = e.Next
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, greenLatest) {
		t.Fatalf("paged\n%v\nwant\n%v", got, greenLatest)
	}
	get := func(consumer, q string) []string {
		t.Helper()
		r := n.do(t, consumer, "GET", objectsPath+q, nil)
		var e env
		if err := json.Unmarshal(r.body, &e); err != nil || r.code != 200 {
			t.Fatalf("%s: %d %s", q, r.code, r.body)
		}
		return ids(e.Objects)
	}
	// match[id], with two values, and repeated.
	id0, id5 := all[0].ID, all[5].ID
	if g := get("soc-green", "?match[id]="+id0+","+id5); !slices.Equal(g, []string{key(all[5]), key(v2[0])}) {
		t.Errorf("match[id]: %v", g)
	}
	if g := get("soc-green", "?match[id]="+id0+"&match[id]="+id5); len(g) != 2 {
		t.Errorf("repeated match[id]: %v", g)
	}
	// match[version]: all, first, last, a timestamp, and first,last together.
	if g := get("soc-green", "?match[id]="+id0+"&match[version]=all"); !slices.Equal(g, []string{key(all[0]), key(v2[0])}) {
		t.Errorf("version all: %v", g)
	}
	if g := get("soc-green", "?match[id]="+id0+"&match[version]=first"); !slices.Equal(g, []string{key(all[0])}) {
		t.Errorf("version first: %v", g)
	}
	if g := get("soc-green", "?match[id]="+id0+"&match[version]=last"); !slices.Equal(g, []string{key(v2[0])}) {
		t.Errorf("version last: %v", g)
	}
	if g := get("soc-green", "?match[id]="+id0+"&match[version]=2026-03-01T09:00:00.000Z"); !slices.Equal(g, []string{key(all[0])}) {
		t.Errorf("version timestamp: %v", g)
	}
	if g := get("soc-green", "?match[id]="+id0+"&match[version]=first,last"); len(g) != 2 {
		t.Errorf("version first,last: %v", g)
	}
	// match[type] and match[spec_version].
	if g := get("soc-green", "?match[type]=malware"); len(g) != 0 {
		t.Errorf("type malware: %v", g)
	}
	if g := get("soc-green", "?match[type]=malware,indicator"); len(g) != len(greenLatest) {
		t.Errorf("type indicator: %d", len(g))
	}
	if g := get("soc-green", "?match[spec_version]=2.0"); len(g) != 0 {
		t.Errorf("spec_version 2.0: %v", g)
	}
	if g := get("soc-green", "?match[spec_version]=2.1"); len(g) != len(greenLatest) {
		t.Errorf("spec_version 2.1: %d", len(g))
	}
	// added_after: strictly after the instant (object 25 is CLEAR; 26 GREEN, 27-29 stricter).
	if g, want := get("soc-green", "?added_after="+url.QueryEscape(formatAdded(all[25].DateAdded))), []string{key(all[26]), key(v2[0]), key(v2[1])}; !slices.Equal(g, want) {
		t.Errorf("added_after: %v, want %v", g, want)
	}
	if g := get("soc-green", "?added_after="+url.QueryEscape(formatAdded(all[24].DateAdded))); len(g) != 4 {
		t.Errorf("added_after the one before: %v", g)
	}
	// An empty result is an empty envelope with more false and no headers.
	r := n.do(t, "soc-green", "GET", objectsPath+"?added_after=2030-01-01T00:00:00Z", nil)
	if r.code != 200 || strings.TrimSpace(string(r.body)) != `{"more":false}` || r.hdr.Get("X-TAXII-Date-Added-First") != "" {
		t.Errorf("empty: %d %s %v", r.code, r.body, r.hdr)
	}
	// Bad parameters: 400 naming the parameter.
	for q, field := range map[string]string{"?limit=0": "limit", "?limit=x": "limit", "?added_after=yesterday": "added_after",
		"?added_after=2026-03-01T09:00:00+01:00": "added_after", "?next=zzz": "next", "?match[id]=nope": "match[id]",
		"?match[type]=Bad_Type": "match[type]", "?match[version]=newest": "match[version]", "?match[spec_version]=two": "match[spec_version]",
		"?match[id]=" + id0 + ",": "match[id]"} {
		r := n.do(t, "soc-green", "GET", objectsPath+q, nil)
		if r.code != 400 || !strings.Contains(string(r.body), field) {
			t.Errorf("%s: %d %s", q, r.code, r.body)
		}
	}
	// A cursor from another collection is refused.
	other := Cursor{Collection: InboxCollection, Seq: 3}.Encode()
	if r := n.do(t, "soc-green", "GET", objectsPath+"?next="+other, nil); r.code != 400 {
		t.Errorf("foreign cursor: %d", r.code)
	}
	// limit above the maximum is cut to it, not refused.
	if r := n.do(t, "soc-green", "GET", objectsPath+"?limit=100000", nil); r.code != 200 {
		t.Errorf("large limit: %d", r.code)
	}
}

func TestAudienceDecidesWhatEachConsumerSees(t *testing.T) {
	n := newNode(t, openSQLite(t))
	for i, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		n.add(t, object(i, l, t0))
	}
	labelsSeen := func(consumer string) []string {
		r := n.do(t, consumer, "GET", objectsPath, nil)
		var e env
		json.Unmarshal(r.body, &e)
		var out []string
		for _, o := range e.Objects {
			var x struct {
				Markings []string `json:"object_marking_refs"`
			}
			json.Unmarshal(o, &x)
			l, _ := stix.StrictestMarking(x.Markings)
			out = append(out, string(l))
		}
		return out
	}
	for consumer, want := range map[string][]string{
		"soc-clear":     {"CLEAR"},
		"soc-green":     {"CLEAR", "GREEN"},
		"partner-amber": {"CLEAR", "GREEN", "AMBER"},
	} {
		if got := labelsSeen(consumer); !slices.Equal(got, want) {
			t.Errorf("%s sees %v, want %v", consumer, got, want)
		}
	}
	// The object itself, its versions and the manifest answer the same way.
	strict := object(3, tlp.AmberStrict, t0).ID
	for _, p := range []string{objectsPath + strict + "/", objectsPath + strict + "/versions/"} {
		if r := n.do(t, "partner-amber", "GET", p, nil); r.code != 404 {
			t.Errorf("AMBER+STRICT %s: %d %s", p, r.code, r.body)
		}
	}
	r := n.do(t, "partner-amber", "GET", "/taxii2/api/collections/"+IndicatorsCollection+"/manifest/", nil)
	if strings.Contains(string(r.body), strict) || !strings.Contains(string(r.body), object(2, tlp.Amber, t0).ID) {
		t.Errorf("manifest for AMBER: %s", r.body)
	}
	// No audience may be set to receive AMBER+STRICT or RED.
	for _, ceiling := range []string{"AMBER+STRICT", "RED"} {
		if _, err := n.cons.Create(t.Context(), ConsumerInput{Name: "wide", Ceiling: ceiling}); err == nil || !strings.Contains(err.Error(), "ceiling") {
			t.Errorf("ceiling %s: %v", ceiling, err)
		}
	}
	// Even one written into the store by hand is refused by egress.
	if err := n.db.PutTAXIIConsumer(t.Context(), store.TAXIIConsumer{Name: "forged", PasswordHash: mustHash(t, "pw"), Ceiling: "RED", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	n.creds["forged"] = Credentials{Name: "forged", Password: "pw"}
	if got := labelsSeen("forged"); len(got) != 0 {
		t.Errorf("a RED ceiling outside the federation sees %v", got)
	}
}

func TestObjectVersionsManifestAndDelete(t *testing.T) {
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) { testObjectVersionsManifestAndDelete(t, newNode(t, open(t))) })
	}
}

func testObjectVersionsManifestAndDelete(t *testing.T, n *node) {
	a := n.add(t, object(1, tlp.Green, t0))[0]
	b := n.add(t, object(1, tlp.Green, t0.Add(time.Minute)))[0]
	n.add(t, object(2, tlp.Green, t0))
	// Object by id: the last version by default, all with match[version]=all.
	r := n.do(t, "soc-green", "GET", objectsPath+a.ID+"/", nil)
	var e env
	if json.Unmarshal(r.body, &e); r.code != 200 || !slices.Equal(ids(e.Objects), []string{key(b)}) || r.hdr.Get("X-TAXII-Date-Added-Last") != formatAdded(b.DateAdded) {
		t.Fatalf("object: %d %s %v", r.code, r.body, r.hdr)
	}
	r = n.do(t, "soc-green", "GET", objectsPath+a.ID+"/?match[version]=all&limit=1", nil)
	if json.Unmarshal(r.body, &e); !e.More || e.Next == "" || !slices.Equal(ids(e.Objects), []string{key(a)}) {
		t.Fatalf("object versions paged: %s", r.body)
	}
	r = n.do(t, "soc-green", "GET", objectsPath+a.ID+"/?match[version]=all&limit=1&next="+e.Next, nil)
	if json.Unmarshal(r.body, &e); e.More || !slices.Equal(ids(e.Objects), []string{key(b)}) {
		t.Fatalf("object versions page 2: %s", r.body)
	}
	if r := n.do(t, "soc-green", "GET", objectsPath+"indicator--00000000-0000-4000-8000-00000000dead/", nil); r.code != 404 {
		t.Fatalf("unknown object: %d", r.code)
	}
	if r := n.do(t, "soc-green", "GET", objectsPath+"not-an-id/", nil); r.code != 400 {
		t.Fatalf("bad object id: %d", r.code)
	}
	// Versions: every version, oldest first.
	r = n.do(t, "soc-green", "GET", objectsPath+a.ID+"/versions/", nil)
	if v := r.json(t); r.code != 200 || !slices.Equal(anyStrings(v["versions"]), []string{"2026-03-01T09:00:00.000Z", "2026-03-01T09:01:00.000Z"}) || v["more"] != false {
		t.Fatalf("versions: %d %s", r.code, r.body)
	}
	// Manifest: one record per object (last versions), with date_added and media type.
	r = n.do(t, "soc-green", "GET", "/taxii2/api/collections/"+IndicatorsCollection+"/manifest/?limit=1", nil)
	var man struct {
		More    bool
		Next    string
		Objects []struct{ ID, DateAdded, Version, MediaType string }
	}
	if err := json.Unmarshal(bytes.ReplaceAll(bytes.ReplaceAll(r.body, []byte("date_added"), []byte("DateAdded")), []byte("media_type"), []byte("MediaType")), &man); err != nil {
		t.Fatal(err)
	}
	if r.code != 200 || !man.More || man.Next == "" || len(man.Objects) != 1 || man.Objects[0].ID != b.ID ||
		man.Objects[0].DateAdded != formatAdded(b.DateAdded) || man.Objects[0].Version != "2026-03-01T09:01:00.000Z" ||
		man.Objects[0].MediaType != "application/stix+json;version=2.1" || strings.Contains(string(r.body), "pattern") {
		t.Fatalf("manifest: %s", r.body)
	}
	// DELETE: refused on the shared indicators, allowed in the inbox to its writer.
	if r := n.do(t, "partner-amber", "DELETE", objectsPath+a.ID+"/", nil); r.code != 403 {
		t.Fatalf("delete a shared indicator: %d", r.code)
	}
	inbox := "/taxii2/api/collections/" + InboxCollection + "/objects/"
	post := fmt.Appendf(nil, `{"objects":[%s,%s]}`, object(7, tlp.Green, t0).Raw, object(7, tlp.Green, t0.Add(time.Hour)).Raw)
	if r := n.do(t, "partner-amber", "POST", inbox, post); r.code != 202 {
		t.Fatalf("post: %d %s", r.code, r.body)
	}
	id7 := object(7, tlp.Green, t0).ID
	if r := n.do(t, "partner-amber", "DELETE", inbox+id7+"/?match[version]=first", nil); r.code != 200 {
		t.Fatalf("delete first: %d %s", r.code, r.body)
	}
	left, _ := n.db.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: InboxCollection, IDs: []string{id7}, Labels: tlpStrings(), Version: store.TAXIIVersion{All: true}, Limit: 10})
	if len(left) != 1 || !left[0].Latest || !left[0].Version.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after deleting the first version: %+v", left)
	}
	if r := n.do(t, "partner-amber", "DELETE", inbox+id7+"/", nil); r.code != 200 {
		t.Fatalf("delete all: %d", r.code)
	}
	if r := n.do(t, "partner-amber", "DELETE", inbox+id7+"/", nil); r.code != 404 {
		t.Fatalf("delete again: %d", r.code)
	}
	if r := n.do(t, "soc-green", "DELETE", inbox+id7+"/", nil); r.code != 403 {
		t.Fatalf("delete by a reader: %d", r.code)
	}
}

func TestPostEnvelopeAndStatus(t *testing.T) {
	n := newNode(t, openSQLite(t))
	inbox := "/taxii2/api/collections/" + InboxCollection + "/objects/"
	good := object(1, tlp.Green, t0).Raw
	unmarked := []byte(`{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}`)
	bad := []byte(`{"type":"indicator","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc"}`)
	old := []byte(`{"type":"indicator","spec_version":"2.0","id":"indicator--31b940d4-6f7f-459a-80ea-9c1f17b58abc","modified":"2016-04-06T20:07:09.000Z"}`)
	body := fmt.Appendf(nil, `{"objects":[%s,%s,%s,%s]}`, good, unmarked, bad, old)
	// Media type and permission first.
	if r := n.do(t, "partner-amber", "POST", inbox, body, "Content-Type", "application/json"); r.code != 415 {
		t.Fatalf("json body: %d", r.code)
	}
	if r := n.do(t, "partner-amber", "POST", inbox, body, "Content-Type", "application/taxii+json;version=2.0"); r.code != 415 {
		t.Fatalf("2.0 body: %d", r.code)
	}
	if r := n.do(t, "soc-green", "POST", inbox, body); r.code != 403 {
		t.Fatalf("post by a reader: %d", r.code)
	}
	if r := n.do(t, "partner-amber", "POST", objectsPath, body); r.code != 403 {
		t.Fatalf("post to the shared indicators: %d", r.code)
	}
	if r := n.do(t, "partner-amber", "POST", inbox, []byte(`{"objects":`)); r.code != 400 {
		t.Fatalf("broken envelope: %d", r.code)
	}
	big := bytes.Repeat([]byte(" "), MaxContentLength+1)
	if r := n.do(t, "partner-amber", "POST", inbox, big); r.code != 413 {
		t.Fatalf("too large: %d", r.code)
	}
	r := n.do(t, "partner-amber", "POST", inbox, body)
	var st Status
	if err := json.Unmarshal(r.body, &st); err != nil || r.code != 202 || r.hdr.Get("Content-Type") != MediaType {
		t.Fatalf("post: %d %s", r.code, r.body)
	}
	if st.Status != "complete" || st.TotalCount != 4 || st.SuccessCount != 2 || st.FailureCount != 2 || st.PendingCount != 0 ||
		st.Successes[0].DateAdded == "" || !strings.Contains(st.Failures[0].Message, "id") || !strings.Contains(st.Failures[1].Message, "spec_version") {
		t.Fatalf("status %+v", st)
	}
	// The status is there to read, for its consumer only.
	r = n.do(t, "partner-amber", "GET", "/taxii2/api/status/"+st.ID+"/", nil)
	var again Status
	if json.Unmarshal(r.body, &again); r.code != 200 || again.ID != st.ID || again.SuccessCount != 2 {
		t.Fatalf("status: %d %s", r.code, r.body)
	}
	if r := n.do(t, "soc-green", "GET", "/taxii2/api/status/"+st.ID+"/", nil); r.code != 404 {
		t.Fatalf("someone else's status: %d", r.code)
	}
	// Kept byte for byte; an object without a marking is held as RED.
	objs, _ := n.db.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: InboxCollection, Labels: tlpStrings(), Limit: 10})
	if len(objs) != 2 || !bytes.Equal(objs[0].Raw, good) || !bytes.Equal(objs[1].Raw, unmarked) || objs[1].TLP != "RED" || objs[0].Source != "consumer:partner-amber" {
		t.Fatalf("kept %+v", objs)
	}
	// The same version again is a success that adds nothing.
	r = n.do(t, "partner-amber", "POST", inbox, fmt.Appendf(nil, `{"objects":[%s]}`, good))
	if json.Unmarshal(r.body, &st); st.SuccessCount != 1 || st.Successes[0].Message != "already held" {
		t.Fatalf("repeat: %s", r.body)
	}
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A cyber-observable has neither modified nor created: its version is its date_added.
func TestObservableVersionIsDateAdded(t *testing.T) {
	n := newNode(t, openSQLite(t))
	raw := []byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3","object_marking_refs":["` + stix.MarkingID(tlp.Green) + `"]}`)
	e, err := DecodeEnvelope(fmt.Appendf(nil, `{"objects":[%s]}`, raw))
	if err != nil || e[0].Err != nil || !e[0].Version.IsZero() {
		t.Fatalf("%+v %v", e, err)
	}
	o := n.add(t, store.TAXIIObject{ID: e[0].ID, Version: e[0].Version, SpecVersion: e[0].SpecVersion, Type: e[0].Type, TLP: "GREEN", Raw: raw})[0]
	r := n.do(t, "soc-green", "GET", objectsPath+o.ID+"/versions/", nil)
	if v := r.json(t); r.code != 200 || !slices.Equal(anyStrings(v["versions"]), []string{formatAdded(o.DateAdded)}) {
		t.Fatalf("versions: %d %s", r.code, r.body)
	}
}
