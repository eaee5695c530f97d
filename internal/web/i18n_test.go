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
		"status.":      statuses,
		"severity.":    {"critical", "high", "medium", "low"},
		"part.":        {"invited", "acknowledged", "working", "done"},
		"role.":        {"admin", "duty_officer", "handler", "observer"},
		"delivery.":    {"push", "pull"},
		"hstate.":      {"sent", "delivered", "notified", "acknowledged", "resolved"},
		"channel.":     {"console", "email", "webhook"},
		"via.":         {"api", "console", "email-code", "fallback-code"},
		"sig.":         {"verified", "invalid", "none", "nokey"},
		"nstate.":      {"pending", "sending", "sent", "failed", "skipped", "unknown"},
		"weekday.":     {"0", "1", "2", "3", "4", "5", "6"},
		"auditaction.": auditActions,
		"month.":       {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
		"zone.":        zones,
		"health.":      {"ok", "quiet", "lagging", "error", "revoked", "unknown", "okSince", "quietSince", "laggingSince"},
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
		{"ja", "time.minutesAgo", 1, "1分前"},
		{"ja", "time.minutesAgo", 5, "5分前"},
		{"zh-Hans", "incidents.count", 2, "2 个事件"},
		{"ko", "time.hoursAgo", 3, "3시간 전"},
		{"en", "nav.waitingN", 1, "1 page waits for us"},
		{"en", "nav.waitingN", 3, "3 pages wait for us"},
		{"en", "oncall.wait", 1, "then wait 1 minute"},
		{"en", "oncall.runs", 1, "Runs once."},
		{"en", "oncall.runs", 2, "Runs 2 times in all."},
		{"zh-Hans", "oncall.runs", 1, "执行 1 轮。"},
		{"ja", "oncall.wait", 5, "その後 5 分待つ"},
		{"ko", "page.toTeams", 2, "받는 팀 2곳"},
	}
	for _, c := range cases {
		if got := tr.printer(c.lang).Sprintf(c.key, c.n); got != c.want {
			t.Errorf("%s %s(%d) = %q, want %q", c.lang, c.key, c.n, got, c.want)
		}
	}
}

// TestPluralsWithMoreArguments: a plural chosen by its first argument may use the
// others, and a form that leaves the count out ("=1": "every day") prints no residue.
func TestPluralsWithMoreArguments(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "daily hand-off at 09:00"}, {"en", 2, "hand-off every 2 days at 09:00"},
		{"zh-Hans", 1, "每天 09:00 交接"}, {"zh-Hans", 3, "每 3 天 09:00 交接"},
		{"ja", 1, "毎日 09:00 に交代"}, {"ko", 1, "매일 09:00 교대"}, {"ko", 2, "2일마다 09:00 교대"},
	} {
		if got := tr.printer(c.lang).Sprintf("oncall.daily", c.n, "09:00"); got != c.want {
			t.Errorf("%s oncall.daily(%d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
	if got := tr.printer("ja").Sprintf("duration.minSec", 4, 12); got != "4 分 12 秒" {
		t.Errorf("ja duration.minSec = %q", got)
	}
}

// TestServiceMessagesTranslate: the hotline's messages are keyed by their English
// format, and every catalog keeps the format's arguments.
func TestServiceMessagesTranslate(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range languages {
		got := tr.printer(l.Code).Sprintf("TLP:%s does not allow this page to go to %s", "RED", "kr")
		if !strings.Contains(got, "TLP:RED") || !strings.Contains(got, "kr") || strings.Contains(got, "%!") {
			t.Errorf("%s: %q", l.Code, got)
		}
		if got := tr.printer(l.Code).Sprintf("%q is not a peer of this node", "xx"); !strings.Contains(got, `"xx"`) || strings.Contains(got, "%!") {
			t.Errorf("%s: %q", l.Code, got)
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
