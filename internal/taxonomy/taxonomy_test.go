package taxonomy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
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
	shared, err := os.ReadFile("../../../shared/data/rsit/machinev1.json")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("shared/data/rsit/machinev1.json not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, rsitJSON) {
		t.Error("internal/taxonomy/rsit.json differs from shared/data/rsit/machinev1.json; copy it again")
	}
}
