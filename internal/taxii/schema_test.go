package taxii

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"csirtlink/internal/store"
)

// sharedData is ../shared/data/stix2.1 (the OASIS schemas and examples, BSD-3-Clause;
// see its README). Under CI its absence fails the test; elsewhere it skips, saying what
// is missing.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared/data/stix2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas", "common", "bundle.json")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the OASIS STIX 2.1 schemas are missing (%v): CI needs ../shared/data/stix2.1", err)
		}
		t.Skipf("no OASIS STIX 2.1 schemas at %s (../shared/data/stix2.1): %v", dir, err)
	}
	return dir
}

// oasisSchemas compiles the OASIS schemas, each under its own $id, so that their
// relative references resolve among themselves and nothing is fetched.
type oasisSchemas struct {
	c     *jsonschema.Compiler
	ids   map[string]string // file name without .json → $id
	cache map[string]*jsonschema.Schema
}

func loadSchemas(t *testing.T) *oasisSchemas {
	t.Helper()
	root := filepath.Join(sharedData(t), "schemas")
	s := &oasisSchemas{c: jsonschema.NewCompiler(), ids: map[string]string{}, cache: map[string]*jsonschema.Schema{}}
	s.c.DefaultDraft(jsonschema.Draft2020)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", path)
		}
		s.ids[strings.TrimSuffix(d.Name(), ".json")] = id
		return s.c.AddResource(id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ids) < 50 {
		t.Fatalf("found %d schemas under %s; want the whole OASIS set", len(s.ids), root)
	}
	return s
}

func (s *oasisSchemas) validate(t *testing.T, schema string, obj json.RawMessage) {
	t.Helper()
	sch, ok := s.cache[schema]
	if !ok {
		id, known := s.ids[schema]
		if !known {
			t.Fatalf("no OASIS schema %q", schema)
		}
		var err error
		if sch, err = s.c.Compile(id); err != nil {
			t.Fatalf("compile %s: %v", schema, err)
		}
		s.cache[schema] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s does not validate against the OASIS schema:\n%s\n%v", schema, obj, err)
	}
}

// Every object the collection holds of our indicators validates against the OASIS
// schemas, for every observable type and for a revocation; the publisher adds each
// version once.
func TestPublishedIndicatorsValidate(t *testing.T) {
	s := loadSchemas(t)
	db := openSQLite(t)
	n := newNode(t, db)
	p := NewPublisher(db)
	until := t0.Add(30 * 24 * time.Hour)
	values := map[string]string{"ipv4": "198.51.100.7", "ipv6": "2001:db8::1", "cidr": "198.51.100.0/24", "domain": "evil.example",
		"url": "http://evil.example/x?a=1", "email": "bad@evil.example", "md5": "d41d8cd98f00b204e9800998ecf8427e",
		"sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	i := 0
	for typ, v := range values {
		i++
		ind := store.Indicator{ID: "00000000-0000-4000-8000-00000000000" + string(rune('0'+i)), Author: "cn", Version: 1, State: store.IndicatorActive,
			Type: typ, Value: v, Category: "malicious-code/c2-server", Confidence: 50, TLP: "GREEN", Description: "C2 <b>",
			ValidFrom: t0, ValidUntil: &until, CreatedAt: t0, Modified: t0, ReceivedAt: t0}
		if err := db.PutIndicator(t.Context(), ind); err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(t.Context(), ind.ID, t0); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	if _, err := p.Sync(t.Context(), t0); err != nil { // already there: nothing added
		t.Fatal(err)
	}
	objs, err := db.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: IndicatorsCollection, Labels: tlpStrings(), Version: store.TAXIIVersion{All: true}, Limit: 100})
	if err != nil || len(objs) != len(values) {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	for _, o := range objs {
		s.validate(t, "indicator", o.Raw)
	}
	// A revocation is a new version, revoked, that validates too.
	first := objs[0]
	var ind store.Indicator
	list, _ := db.ListIndicators(t.Context(), store.IndicatorFilter{Revoked: true})
	for _, x := range list {
		if strings.Contains(string(first.Raw), x.ID) {
			ind = x
		}
	}
	revokedAt := t0.Add(time.Hour)
	ind.State, ind.RevokedAt, ind.Version = store.IndicatorRevoked, &revokedAt, 2
	if err := db.PutIndicator(t.Context(), ind); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), ind.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	vs, _ := db.TAXIIObjects(t.Context(), store.TAXIIQuery{Collection: IndicatorsCollection, IDs: []string{first.ID}, Labels: tlpStrings(), Version: store.TAXIIVersion{All: true}, Limit: 10})
	if len(vs) != 2 || !vs[1].Latest || !strings.Contains(string(vs[1].Raw), `"revoked":true`) || !vs[1].Version.Equal(revokedAt) {
		t.Fatalf("revocation: %+v", vs)
	}
	s.validate(t, "indicator", vs[1].Raw)
	// Served to a GREEN consumer, the revocation is what it gets by default.
	r := n.do(t, "soc-green", "GET", objectsPath+first.ID+"/", nil)
	if !strings.Contains(string(r.body), `"revoked":true`) {
		t.Fatalf("served: %s", r.body)
	}
	// What a consumer posts and we keep validates as it came, and comes back the same.
	var e struct{ Objects []json.RawMessage }
	json.Unmarshal(r.body, &e)
	if !bytes.Equal(e.Objects[0], vs[1].Raw) {
		t.Fatal("served bytes differ from those stored")
	}
}
