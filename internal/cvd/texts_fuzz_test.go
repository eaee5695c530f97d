package cvd

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"csirtlink/internal/csaf"
)

// FuzzAdvisoryTexts: whatever body a client PUTs as a language's texts, checking it
// never panics, and texts it accepts make an advisory whose title is theirs (or the
// case's) and whose strings are valid UTF-8.
func FuzzAdvisoryTexts(f *testing.F) {
	f.Add(`{"title":"ルーター","summary":"概要","vulnerabilities":{"v1":{"title":"t","description":"d","remediation":"r"}}}`)
	f.Add(`{"vulnerabilities":{"v9":{}}}`)
	f.Add(`{"title":"a\nb"}`)
	f.Add(`{"title":"\xff"}`)
	s := &Service{dir: testDirectory(f)}
	f.Fuzz(func(t *testing.T, body string) {
		var in Texts
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		c := sampleCase()
		if CheckTexts(c, in) != nil {
			return
		}
		c.Advisories = map[string]Texts{"ja": in}
		doc := s.Advisory(c, "ja", csaf.SecurityAdvisory)
		want := in.Title
		if want == "" {
			want = c.Title
		}
		if doc.Document.Title != want || !utf8.ValidString(doc.Document.Notes[0].Text) {
			t.Fatalf("title %q, want %q", doc.Document.Title, want)
		}
	})
}
