package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/sqlstore"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// Paging under concurrent inserts: writers add objects while a reader pages with the
// cursor; every object is read exactly once, in the order of its number.
func TestPagingUnderConcurrentInserts(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			n := newNode(t, db)
			const writers, each = 4, 60
			var wg sync.WaitGroup
			done := make(chan struct{})
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						o := object(w*1000+i, tlp.Green, t0)
						if _, err := db.AddTAXIIObjects(context.Background(), IndicatorsCollection, []store.TAXIIObject{o}, time.Now()); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			go func() { wg.Wait(); close(done) }()
			seen := map[string]int{}
			var after int64
			var lastAdded time.Time
			finished := false
			for {
				objs, err := db.TAXIIObjects(context.Background(), store.TAXIIQuery{Collection: IndicatorsCollection, AfterSeq: after,
					Labels: n.srv.visibleLabels(store.TAXIIConsumer{Ceiling: "GREEN"}), Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if o.Seq != after+1 {
						t.Fatalf("after %d came %d: a number was skipped", after, o.Seq)
					}
					if !o.DateAdded.After(lastAdded) {
						t.Fatalf("date_added %v not after %v", o.DateAdded, lastAdded)
					}
					after, lastAdded = o.Seq, o.DateAdded
					seen[o.ID]++
				}
				if len(objs) == 0 {
					if finished {
						break
					}
					select {
					case <-done:
						finished = true // one more read after the last commit
					default:
					}
				}
			}
			if len(seen) != writers*each {
				t.Fatalf("read %d objects, want %d", len(seen), writers*each)
			}
			for id, k := range seen {
				if k != 1 {
					t.Fatalf("%s read %d times", id, k)
				}
			}
		})
	}
}

func TestClientAgainstOwnServer(t *testing.T) {
	n := newNode(t, openSQLite(t))
	for i := range 23 {
		n.add(t, object(i, []tlp.Label{tlp.Green, tlp.Amber}[i%2], t0))
	}
	cred := n.creds["soc-green"]
	c := &Client{User: cred.Name, Secret: cred.Password, PageSize: 5}
	var got []string
	res, err := c.Pull(t.Context(), n.ts.URL+"/taxii2/api/", IndicatorsCollection, "", func(p Page) error {
		got = append(got, ids(p.Objects)...)
		return nil
	})
	if err != nil || res.Stopped != "" || res.Objects != 12 || res.Pages != 3 || len(got) != 12 || res.Repeated != 0 {
		t.Fatalf("pull: %+v %v (%d objects)", res, err, len(got))
	}
	// Resume: only what was added since.
	n.add(t, object(100, tlp.Green, t0), object(101, tlp.Amber, t0))
	bearer := &Client{Secret: cred.Token}
	var more []string
	res2, err := bearer.Pull(t.Context(), n.ts.URL+"/taxii2/api/", IndicatorsCollection, res.AddedLast, func(p Page) error {
		more = append(more, ids(p.Objects)...)
		return nil
	})
	if err != nil || len(more) != 1 || !strings.HasPrefix(more[0], object(100, tlp.Green, t0).ID) || !later(res2.AddedLast, res.AddedLast) {
		t.Fatalf("resume: %+v %v %v", res2, err, more)
	}
	// Errors of the server come back as such.
	bad := &Client{User: "soc-green", Secret: "wrong"}
	if _, err := bad.Pull(t.Context(), n.ts.URL+"/taxii2/api/", IndicatorsCollection, "", func(Page) error { return nil }); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := c.Pull(t.Context(), "ftp://x/", IndicatorsCollection, "", func(Page) error { return nil }); err == nil || !strings.Contains(err.Error(), "url") {
		t.Fatalf("bad url: %v", err)
	}
}

// double is a TAXII server with the mistakes real ones make.
type double struct {
	objs []json.RawMessage
	// inclusive: added_after returns objects added at the instant too.
	inclusive bool
	// repeatNext: every page says more, with the same next.
	repeatNext bool
	// noNext: pages by date_added only.
	noNext bool
	// stuck: says more, with neither next nor a header.
	stuck    bool
	requests int
}

func (d *double) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.requests++
	if d.requests > 1000 {
		http.Error(w, "looping", 500)
		return
	}
	// Objects i was added at second i; two objects share each instant, as millions do
	// on real servers.
	added := func(i int) time.Time { return t0.Add(time.Duration(i/2) * time.Second) }
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	start := 0
	if v := r.URL.Query().Get("added_after"); v != "" {
		at, _ := time.Parse(time.RFC3339Nano, v)
		for start < len(d.objs) && (added(start).Before(at) || (!d.inclusive && added(start).Equal(at))) {
			start++
		}
	}
	if v := r.URL.Query().Get("next"); v != "" && !d.repeatNext {
		start, _ = strconv.Atoi(v)
	}
	end := min(start+limit, len(d.objs))
	page := d.objs[start:end]
	more := end < len(d.objs) || d.repeatNext || d.stuck
	e := map[string]any{"more": more, "objects": page}
	if more && !d.noNext && !d.stuck {
		e["next"] = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", MediaType)
	if len(page) > 0 && !d.stuck {
		w.Header().Set("X-TAXII-Date-Added-First", formatAdded(added(start)))
		w.Header().Set("X-TAXII-Date-Added-Last", formatAdded(added(end-1)))
	}
	json.NewEncoder(w).Encode(e)
}

func TestClientAgainstServersThatRepeat(t *testing.T) {
	var objs []json.RawMessage
	for i := range 20 {
		objs = append(objs, object(i, tlp.Green, t0).Raw)
	}
	for name, tc := range map[string]struct {
		d           *double
		want        int
		stopped     string
		maxRequests int
	}{
		"repeats next":                        {&double{repeatNext: true}, 5, "repeated a next", 3},
		"inclusive added_after, no next":      {&double{inclusive: true, noNext: true}, 20, "", 10},
		"more with nothing to follow":         {&double{stuck: true}, 5, "neither next", 1},
		"inclusive added_after, with next ok": {&double{inclusive: true}, 20, "", 4},
	} {
		t.Run(name, func(t *testing.T) {
			tc.d.objs = objs
			ts := httptest.NewServer(tc.d)
			defer ts.Close()
			c := &Client{PageSize: 5}
			seen := map[string]bool{}
			res, err := c.Pull(t.Context(), ts.URL+"/api/", "col", "", func(p Page) error {
				for _, k := range ids(p.Objects) {
					if seen[k] {
						t.Errorf("%s handed on twice", k)
					}
					seen[k] = true
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != tc.want || res.Objects != tc.want || !strings.Contains(res.Stopped, tc.stopped) || (tc.stopped == "") != (res.Stopped == "") {
				t.Fatalf("%+v, %d objects", res, len(seen))
			}
			if tc.d.requests > tc.maxRequests+1 {
				t.Fatalf("%d requests", tc.d.requests)
			}
		})
	}
	// An inclusive server resumed at its last date_added sends that instant's objects
	// again: they are not handed on twice within a pull, and the pull ends.
	d := &double{objs: objs, inclusive: true, noNext: true}
	ts := httptest.NewServer(d)
	defer ts.Close()
	res, err := (&Client{PageSize: 5}).Pull(t.Context(), ts.URL+"/api/", "col", formatAdded(t0.Add(9*time.Second)), func(p Page) error { return nil })
	if err != nil || res.Objects != 2 || res.Stopped != "" {
		t.Fatalf("resume on an inclusive server: %+v %v", res, err)
	}
}

// sink records what the puller hands on.
type sink struct{ got []stix.IndicatorData }

func (s *sink) Indicator(_ context.Context, d stix.IndicatorData, provenance string) (bool, error) {
	if !strings.HasPrefix(provenance, "taxii:remote indicator--") {
		return false, fmt.Errorf("provenance %q", provenance)
	}
	s.got = append(s.got, d)
	return true, nil
}

func TestPullSourceKeepsAndImportsAndResumes(t *testing.T) {
	remote := newNode(t, openSQLite(t))
	remote.add(t, object(1, tlp.Green, t0), object(2, tlp.Clear, t0))
	unknown := store.TAXIIObject{ID: "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc", Version: t0, SpecVersion: "2.1", Type: "malware", TLP: "GREEN",
		Raw: []byte(`{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2026-03-01T09:00:00.000Z","modified":"2026-03-01T09:00:00.000Z","name":"Poison Ivy","is_family":true,"object_marking_refs":["` + stix.MarkingID(tlp.Green) + `"]}`)}
	remote.add(t, unknown)

	local := openSQLite(t)
	loc := newNode(t, local)
	cred := remote.creds["soc-green"]
	src, err := SaveSource(t.Context(), local, SourceInput{ID: "remote", URL: remote.ts.URL + "/taxii2/api/", Collection: IndicatorsCollection,
		Username: cred.Name, Secret: cred.Password, TLP: "AMBER", Interval: time.Hour}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for in, field := range map[SourceInput]string{
		{ID: "Bad ID", URL: src.URL, Collection: "c", TLP: "GREEN", Interval: time.Hour}:  "id",
		{ID: "x", URL: "file:///etc", Collection: "c", TLP: "GREEN", Interval: time.Hour}: "url",
		{ID: "x", URL: src.URL, Collection: "a/b", TLP: "GREEN", Interval: time.Hour}:     "collection",
		{ID: "x", URL: src.URL, Collection: "c", TLP: "PINK", Interval: time.Hour}:        "tlp",
		{ID: "x", URL: src.URL, Collection: "c", TLP: "GREEN", Interval: time.Second}:     "interval",
	} {
		if _, err := SaveSource(t.Context(), local, in, t0); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%+v: %v", in, err)
		}
	}
	sk := &sink{}
	p := NewPuller(local, sk, loc.clk, loc.srv.log)
	if err := p.UpdateAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, _ := local.TAXIISource(t.Context(), "remote")
	if s.LastCount != 3 || s.Total != 3 || s.LastError != "" || s.LastOKAt == nil || s.NextAdded == "" || len(sk.got) != 2 {
		t.Fatalf("first pull: %+v, %d imported", s, len(sk.got))
	}
	if sk.got[0].Label != tlp.Green || sk.got[0].Observables[0].Value != "198.51.100.1" {
		t.Fatalf("imported %+v", sk.got[0])
	}
	// What we do not map is kept byte for byte, with its provenance.
	kept, _ := local.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: SourceCollection("remote"), Labels: tlpStrings(), Limit: 10})
	if len(kept) != 3 || string(kept[2].Raw) != string(unknown.Raw) || kept[2].Source != "source:remote" {
		t.Fatalf("kept %+v", kept)
	}
	// What was pulled is not served again to our own consumers.
	if r := loc.do(t, "partner-amber", "GET", "/taxii2/api/collections/"+url.PathEscape(SourceCollection("remote"))+"/objects/", nil); r.code != 404 {
		t.Fatalf("a source's collection served: %d %s", r.code, r.body)
	}
	if r := loc.do(t, "partner-amber", "GET", "/taxii2/api/collections/", nil); strings.Contains(string(r.body), "source:") {
		t.Fatalf("a source's collection listed: %s", r.body)
	}
	// Not due yet: nothing happens; due: only what is new comes.
	remote.add(t, object(3, tlp.Green, t0))
	p.UpdateAll(t.Context())
	if s, _ := local.TAXIISource(t.Context(), "remote"); s.Total != 3 {
		t.Fatalf("pulled before due: %+v", s)
	}
	loc.clk.Advance(time.Hour)
	p.UpdateAll(t.Context())
	if s, _ := local.TAXIISource(t.Context(), "remote"); s.Total != 4 || s.LastCount != 1 || len(sk.got) != 3 {
		t.Fatalf("second pull: %+v", s)
	}
	// A failing source records its error.
	remote.ts.Close()
	loc.clk.Advance(time.Hour)
	p.UpdateAll(t.Context())
	if s, _ := local.TAXIISource(t.Context(), "remote"); s.LastError == "" || s.Total != 4 {
		t.Fatalf("failed pull: %+v", s)
	}
}
