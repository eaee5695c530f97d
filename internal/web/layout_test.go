package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// TestUserTextIsMarkedWithItsLanguage: what people wrote carries a lang attribute
// guessed from its script (issue 10, item 9), so that Chinese in a Korean screen is
// drawn with Chinese glyphs and broken by Chinese rules; Han alone follows the writing
// team's language.
func TestUserTextIsMarkedWithItsLanguage(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	pub := func() string {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	dir, err := team.NewDirectory(team.Team{PublicKey: pub(), ID: "kr", Name: "KrCERT/CC", Timezone: "Asia/Seoul", Languages: []string{"ko", "en"}}, []team.Peer{
		{Team: team.Team{PublicKey: pub(), URL: "https://cn.example", ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", Languages: []string{"zh-Hans", "en"}}},
		{Team: team.Team{PublicKey: pub(), URL: "https://jp.example", ID: "jp", Name: "JPCERT/CC", Timezone: "Asia/Tokyo", Languages: []string{"ja", "en"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := testView(t, tr, "ko")
	v.c.dir = dir
	for _, c := range []struct{ text, team, want string }{
		{"僵尸网络控制服务器仍在响应", "cn", "zh-Hans"},
		{"C2 サーバーがまだ応答しています", "jp", "ja"},
		{"情報漏洩", "jp", "ja"}, // Han only, written by a Japanese team
		{"C2 서버가 아직 응답합니다", "kr", "ko"},
		{"C2 still answers", "cn", "en"},
	} {
		if got := v.UL(c.text, c.team); got != c.want {
			t.Errorf("UL(%q, %s) = %q, want %q", c.text, c.team, got, c.want)
		}
	}
	// Every template that shows a title or summary people wrote marks it.
	for _, f := range []string{"incidents.html", "incident.html", "hotline.html", "cvd.html"} {
		b, err := os.ReadFile(filepath.Join("templates", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `lang="{{`) {
			t.Errorf("%s marks no user text with its language", f)
		}
	}
}

// TestLineBreakingPerLanguage: Korean breaks between words (keep-all); Chinese and
// Japanese break between characters, so keep-all is never applied to them.
func TestLineBreakingPerLanguage(t *testing.T) {
	b, err := os.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	css := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(b), "")
	rules := regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`).FindAllStringSubmatch(css, -1)
	seen := false
	for _, r := range rules {
		sel, body := strings.TrimSpace(r[1]), r[2]
		if !strings.Contains(body, "keep-all") {
			continue
		}
		seen = true
		if sel != ":lang(ko)" {
			t.Errorf("keep-all on %q: only Korean text breaks between words", sel)
		}
	}
	if !seen {
		t.Error("Korean text has no keep-all rule")
	}
}

// TestTimeZonesArePicked: every time-zone field is a list to pick from, not free text
// (issue 10, item 10).
func TestTimeZonesArePicked(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	fields := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range regexp.MustCompile(`<(\w+)[^>]*name="(timezone|tz|zone)"`).FindAllStringSubmatch(string(b), -1) {
			fields++
			if tag[1] != "select" {
				t.Errorf("%s: the time-zone field is an <%s>, not a <select>", f, tag[1])
			}
		}
	}
	if fields < 2 {
		t.Errorf("%d time-zone fields found; the account and rotation forms have one each", fields)
	}
}

// TestNameAndRoleOnce: the header names the person and their role once — "Duty officer
// (jp)" is not followed by "duty officer" again, in any language (issue 10, item 12).
func TestNameAndRoleOnce(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		v := testView(t, tr, lang)
		v.session = &session{User: store.User{Name: "duty", DisplayName: "Duty officer (jp)", Role: auth.DutyOfficer}}
		if got := v.RoleShown(); got != "" {
			t.Errorf("%s: the role %q repeats what the name says", lang, got)
		}
		v.session = &session{User: store.User{Name: "tanaka", DisplayName: "Tanaka Hiro", Role: auth.DutyOfficer}}
		if got, want := v.RoleShown(), tr.printer(lang).Sprintf("role."+auth.DutyOfficer); got != want || got == "" {
			t.Errorf("%s: role %q beside a plain name, want %q", lang, got, want)
		}
	}
}
