package web

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogsHaveTheSameKeys fails when a catalog lacks a key another has.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]bool{}
	for _, l := range languages {
		for _, k := range tr.keys[l.Code] {
			all[k] = true
		}
	}
	for _, l := range languages {
		for k := range all {
			if !tr.has(l.Code, k) {
				t.Errorf("locales/%s.json lacks %q", l.Code, k)
			}
		}
	}
}

// TestEveryUsedKeyExists checks the keys the templates and handlers name, including
// the computed ones ("status." + a status).
func TestEveryUsedKeyExists(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	lit := regexp.MustCompile(`\bT[ (]"([a-zA-Z]+\.[a-zA-Z0-9_.-]+)"`)
	flash := regexp.MustCompile(`"(flash\.[a-zA-Z]+)"`)
	walk := func(dir, ext string) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
			for _, m := range flash.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	walk("templates", ".html")
	walk(".", ".go")
	computed := map[string][]string{
		"status.":   statuses,
		"severity.": {"critical", "high", "medium", "low"},
		"part.":     {"invited", "acknowledged", "working", "done"},
		"role.":     {"admin", "duty_officer", "handler", "observer"},
		"health.":   {"ok", "lagging", "error", "revoked", "unknown"},
		"delivery.": {"push", "pull"},
	}
	for prefix, vals := range computed {
		for _, v := range vals {
			used[prefix+v] = true
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k := range used {
		if !tr.has("en", k) {
			t.Errorf("key %q is used but not in the catalogs", k)
		}
	}
}

func TestPluralRules(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang, key string
		n         int
		want      string
	}{
		{"en", "time.minutesAgo", 1, "1 minute ago"},
		{"en", "time.minutesAgo", 5, "5 minutes ago"},
		{"en", "incidents.count", 1, "1 incident"},
		{"en", "incidents.count", 1200, "1,200 incidents"},
		{"ja", "time.minutesAgo", 1, "1 分前"},
		{"ja", "time.minutesAgo", 5, "5 分前"},
		{"zh-Hans", "incidents.count", 2, "2 个事件"},
		{"ko", "time.hoursAgo", 3, "3시간 전"},
	}
	for _, c := range cases {
		if got := tr.printer(c.lang).Sprintf(c.key, c.n); got != c.want {
			t.Errorf("%s %s(%d) = %q, want %q", c.lang, c.key, c.n, got, c.want)
		}
	}
}

// TestTLPLabelsStayEnglish: no catalog translates a TLP label (FIRST's rule).
func TestTLPLabelsStayEnglish(t *testing.T) {
	for _, l := range languages {
		b, err := os.ReadFile(filepath.Join("locales", l.Code+".json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, word := range []string{"琥珀", "アンバー", "앰버", "TLP:琥", "TLP:红", "TLP:赤", "TLP:빨"} {
			if strings.Contains(string(b), word) {
				t.Errorf("%s translates a TLP label (%q)", l.Code, word)
			}
		}
	}
}

func TestLanguageMatch(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		"": "en", "ja": "ja", "ja-JP,ja;q=0.9,en;q=0.8": "ja", "zh-CN,zh;q=0.9": "zh-Hans", "ko-KR": "ko",
		"fr-FR": "en", "de, ko;q=0.5": "ko", "garbage;;;": "en",
	} {
		if got := tr.match(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
	if !slices.ContainsFunc(languages, func(l struct{ Code, Name string }) bool { return l.Code == "zh-Hans" }) {
		t.Fatal("zh-Hans missing")
	}
}
