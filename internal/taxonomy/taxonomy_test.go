package taxonomy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestClasses(t *testing.T) {
	cs := Classes()
	want := []string{
		"abusive-content", "malicious-code", "information-gathering", "intrusion-attempts", "intrusions",
		"availability", "information-content-security", "fraud", "vulnerable", "other", "test",
	}
	if got := classValues(cs); !slices.Equal(got, want) {
		t.Fatalf("classes = %v, want %v", got, want)
	}
	for _, c := range cs {
		if c.Expanded == "" || c.Description == "" || len(c.Types) == 0 {
			t.Errorf("class %q is missing its expansion, description or types: %+v", c.Value, c)
		}
		seen := map[string]bool{}
		for _, ty := range c.Types {
			if seen[ty.Value] {
				t.Errorf("class %q lists type %q twice", c.Value, ty.Value)
			}
			seen[ty.Value] = true
		}
	}
	vuln := cs[slices.IndexFunc(cs, func(c Class) bool { return c.Value == "vulnerable" })]
	wantVuln := []string{"weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible", "information-disclosure", "vulnerable-system"}
	if got := typeValues(vuln.Types); !slices.Equal(got, wantVuln) {
		t.Errorf("vulnerable types = %v, want %v", got, wantVuln)
	}

	// Callers get copies; mutating one must not change the catalogue.
	cs[0].Types[0].Value = "mutated"
	cs[0].Value = "mutated"
	if again := Classes(); again[0].Value != "abusive-content" || again[0].Types[0].Value != "spam" {
		t.Error("Classes() returns shared state")
	}
}

// TestParseMergesRepeatedClass covers the merge with a file that does repeat
// a class, since the embedded revision happens not to.
func TestParseMergesRepeatedClass(t *testing.T) {
	data := []byte(`{
		"predicates": [{"value": "vulnerable"}, {"value": "other"}],
		"values": [
			{"predicate": "vulnerable", "entry": [{"value": "weak-crypto"}, {"value": "ddos-amplifier"}]},
			{"predicate": "other", "entry": [{"value": "other"}]},
			{"predicate": "vulnerable", "entry": [{"value": "ddos-amplifier", "expanded": "later copy"}, {"value": "vulnerable-system"}]}
		]}`)
	c, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := classValues(c.classes); !slices.Equal(got, []string{"vulnerable", "other"}) {
		t.Fatalf("classes = %v", got)
	}
	vuln := c.classes[0].Types
	if got, want := typeValues(vuln), []string{"weak-crypto", "ddos-amplifier", "vulnerable-system"}; !slices.Equal(got, want) {
		t.Errorf("merged types = %v, want %v", got, want)
	}
	if vuln[1].Expanded != "" {
		t.Errorf("repeated type replaced the first occurrence: %+v", vuln[1])
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		`{`: "decode",
		`{"predicates":[{"value":"a"}],"values":[{"predicate":"b","entry":[{"value":"x"}]}]}`:               `undeclared class "b"`,
		`{"predicates":[{"value":"a"},{"value":"a"}],"values":[]}`:                                          `class "a" listed twice`,
		`{"predicates":[{"value":"a"},{"value":"b"}],"values":[{"predicate":"a","entry":[{"value":"x"}]}]}`: `class "b" has no types`,
		`{"predicates":[{"value":""}],"values":[]}`:                                                         "empty value",
		`{"predicates":[{"value":"a"}],"values":[{"predicate":"a","entry":[{"value":""}]}]}`:                "type with empty value",
	}
	for in, want := range tests {
		if _, err := parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%s) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestValidAndLookup(t *testing.T) {
	for _, cat := range []string{"malicious-code/infected-system", "availability/ddos", "vulnerable/vulnerable-system", "test/test", "other/undetermined"} {
		if err := Valid(cat); err != nil {
			t.Errorf("Valid(%q) = %v", cat, err)
		}
		class, typ, _ := strings.Cut(cat, "/")
		c, ty, ok := Lookup(cat)
		if !ok || c.Value != class || ty.Value != typ || ty.Expanded == "" || len(c.Types) == 0 {
			t.Errorf("Lookup(%q) = %+v, %+v, %v", cat, c, ty, ok)
		}
	}

	tests := []struct{ cat, want string }{
		{"malware/infected-system", `unknown class "malware"`},
		{"malicious-code/ddos", `class "malicious-code" has no type "ddos" (valid: infected-system, c2-server, malware-distribution, malware-configuration)`},
		{"availability/DDoS", `class "availability" has no type "DDoS"`},
		{"malicious-code", "not of the form class/type"},
		{"", "not of the form class/type"},
		{"malicious-code/infected-system/x", `has no type "infected-system/x"`},
		{"/ddos", `unknown class ""`},
	}
	for _, tc := range tests {
		err := Valid(tc.cat)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Valid(%q) = %v, want error containing %q", tc.cat, err, tc.want)
		}
		if _, _, ok := Lookup(tc.cat); ok {
			t.Errorf("Lookup(%q) found something", tc.cat)
		}
	}
	if err := Valid("malware/x"); !strings.Contains(err.Error(), "malicious-code") {
		t.Errorf("unknown-class error does not list the valid classes: %v", err)
	}
}

// TestEmbeddedMatchesShared keeps the embedded copy identical to the
// project's reference data, so an update to one cannot miss the other.
func TestEmbeddedMatchesShared(t *testing.T) {
	shared, err := os.ReadFile(sharedFile(t, "data/rsit/machinev1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, rsitJSON) {
		t.Error("internal/taxonomy/rsit.json differs from shared/data/rsit/machinev1.json; copy it again")
	}
}

// sharedFile finds rel in the project's shared/ directory (see findShared). A checkout
// without it skips the test, except in CI, where a check that did not run must not
// pass as green.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p, err := findShared(os.Getenv("CSIRTLINK_SHARED"), wd, rel)
	if err != nil {
		if inCI(os.Getenv("CI")) {
			t.Fatalf("%v; CI is set, so the comparison must run: set CSIRTLINK_SHARED to the shared/ directory", err)
		}
		t.Skip(err)
	}
	return p
}

// findShared returns dir/rel for $CSIRTLINK_SHARED when that is set, else for the
// nearest directory named shared above start that holds rel: it sits beside the
// checkout here (../../../shared from this package) and may sit inside it elsewhere.
func findShared(env, start, rel string) (string, error) {
	if env != "" {
		p := filepath.Join(env, rel)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CSIRTLINK_SHARED: %w", err)
		}
		return p, nil
	}
	for dir := start; ; {
		p := filepath.Join(dir, "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("shared/%s not found above %s", rel, start)
		}
		dir = parent
	}
}

// inCI reads the CI variable as CI services set it ("true", "1"); empty, "0" and
// "false" mean a local run.
func inCI(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

func TestFindShared(t *testing.T) {
	root := t.TempDir()
	pkg := filepath.Join(root, "repo", "internal", "taxonomy")
	file := filepath.Join(root, "shared", "data", "x.json")
	for _, d := range []string{pkg, filepath.Dir(file)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := findShared("", pkg, "data/x.json"); err == nil {
		t.Fatal("found a file that does not exist")
	}
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := findShared("", pkg, "data/x.json"); err != nil || got != file {
		t.Fatalf("findShared = %q, %v; want %q", got, err, file)
	}
	if _, err := findShared(filepath.Join(root, "elsewhere"), pkg, "data/x.json"); err == nil {
		t.Error("a CSIRTLINK_SHARED without the file was passed over for the one found by walking up")
	}
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		if inCI(v) != want {
			t.Errorf("inCI(%q) = %v", v, !want)
		}
	}
}
