package federation

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every word a refusal is recorded under is in RefusalReasons.
func TestRefusalReasonsListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// The reason is the first string literal of a refusal: refuse(ctx, peer, remote,
	// "reason", …), refuse(peer, "reason", …), a [2]string{"reason", …} or check's
	// return "reason", ….
	pats := []*regexp.Regexp{
		regexp.MustCompile(`refuse\((?:[^"()]|\([^()]*\))*?"([^"]+)"`),
		regexp.MustCompile(`\[2\]string\{"([^"]+)"`),
		regexp.MustCompile(`return "([^"]+)", fmt\.Sprintf`),
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pats {
			for _, m := range p.FindAllStringSubmatch(string(b), -1) {
				found++
				if !slices.Contains(RefusalReasons, m[1]) {
					t.Errorf("%s: refusal reason %q is not in RefusalReasons", f, m[1])
				}
			}
		}
	}
	if found < len(RefusalReasons) {
		t.Errorf("found %d refusals in the code, fewer than the %d reasons listed: the test no longer reads the code", found, len(RefusalReasons))
	}
}
