package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The console's languages, in the order the switcher shows them. Each has a catalog
// locales/<code>.json; a test fails when one lacks a key another has.
var languages = []struct{ Code, Name string }{
	{"en", "English"},
	{"zh-Hans", "简体中文"},
	{"ja", "日本語"},
	{"ko", "한국어"},
}

//go:embed locales/*.json
var localeFS embed.FS

// pluralOrder is the order in which plural selectors are tried; "other" must come last.
var pluralOrder = []string{"=0", "=1", "zero", "one", "two", "few", "many", "other"}

// translations holds the catalogs and picks a language for a request.
type translations struct {
	cat     *catalog.Builder
	tags    []language.Tag
	matcher language.Matcher
	keys    map[string][]string // language code → its keys, sorted
}

// loadTranslations reads every catalog. A value is a string (a format for
// message.Printer.Sprintf, with %[n]v arguments) or an object of plural forms chosen by
// the first argument, e.g. {"one": "%d minute ago", "other": "%d minutes ago"}.
func loadTranslations() (*translations, error) {
	t := &translations{cat: catalog.NewBuilder(catalog.Fallback(language.English)), keys: map[string][]string{}}
	for _, l := range languages {
		tag := language.MustParse(l.Code)
		t.tags = append(t.tags, tag)
		b, err := localeFS.ReadFile(path.Join("locales", l.Code+".json"))
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locales/%s.json: %w", l.Code, err)
		}
		for key, raw := range m {
			if err := t.set(tag, key, raw); err != nil {
				return nil, fmt.Errorf("locales/%s.json: %s: %w", l.Code, key, err)
			}
			t.keys[l.Code] = append(t.keys[l.Code], key)
		}
		sort.Strings(t.keys[l.Code])
	}
	t.matcher = language.NewMatcher(t.tags)
	return t, nil
}

func (t *translations) set(tag language.Tag, key string, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return t.cat.SetString(tag, key, s)
	}
	var forms map[string]string
	if err := json.Unmarshal(raw, &forms); err != nil {
		return fmt.Errorf("want a string or an object of plural forms")
	}
	if forms["other"] == "" {
		return fmt.Errorf("plural forms need \"other\"")
	}
	var cases []any
	for _, sel := range pluralOrder {
		if m, ok := forms[sel]; ok {
			cases = append(cases, sel, m)
		}
	}
	if len(cases) != 2*len(forms) {
		return fmt.Errorf("unknown plural selector in %v", forms)
	}
	return t.cat.Set(tag, key, plural.Selectf(1, "%d", cases...))
}

func mustLoadTranslations() *translations {
	t, err := loadTranslations()
	if err != nil {
		panic(fmt.Sprintf("web: %v", err)) // the catalogs are compiled in; tests load them
	}
	return t
}

// supported returns the code of a console language, or "".
func supported(code string) string {
	for _, l := range languages {
		if strings.EqualFold(l.Code, code) {
			return l.Code
		}
	}
	return ""
}

// match picks the best console language for an Accept-Language header (English when
// nothing fits).
func (t *translations) match(acceptLanguage string) string {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return "en"
	}
	_, i, conf := t.matcher.Match(prefs...)
	if conf == language.No {
		return "en"
	}
	return languages[i].Code
}

func (t *translations) printer(code string) *message.Printer {
	return message.NewPrinter(language.MustParse(code), message.Catalog(t.cat))
}

// has reports whether key is in the catalog of language code.
func (t *translations) has(code, key string) bool {
	_, ok := slices.BinarySearch(t.keys[code], key)
	return ok
}

// language chooses the request's language: the person's choice, then the language
// cookie (set by the switcher before signing in), then Accept-Language.
func (c *Console) language(r *http.Request, chosen string) string {
	if l := supported(chosen); l != "" {
		return l
	}
	if l := supported(c.cookie(r, "csl_lang")); l != "" {
		return l
	}
	return c.i18n.match(r.Header.Get("Accept-Language"))
}
