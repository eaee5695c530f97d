package taxonomy

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"
)

// Translations of the classification's names and descriptions, one file per language
// (i18n/<lang>.json, keyed by "class" and "class/type"). English is the file itself.
// TestEveryCategoryIsTranslated fails when a class or type lacks either in any of them.
//
//go:embed i18n/*.json
var i18nFS embed.FS

// Text is a class's or type's name and description in one language.
type Text struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

var loadTexts = sync.OnceValue(func() map[string]map[string]Text {
	out := map[string]map[string]Text{}
	files, err := i18nFS.ReadDir("i18n")
	if err != nil {
		panic(fmt.Sprintf("taxonomy: i18n: %v", err))
	}
	for _, f := range files {
		b, err := i18nFS.ReadFile(path.Join("i18n", f.Name()))
		if err != nil {
			panic(fmt.Sprintf("taxonomy: i18n: %v", err))
		}
		m := map[string]Text{}
		if err := json.Unmarshal(b, &m); err != nil {
			// Compiled in and checked by the tests: a build defect, as with rsit.json.
			panic(fmt.Sprintf("taxonomy: i18n/%s: %v", f.Name(), err))
		}
		out[strings.TrimSuffix(f.Name(), ".json")] = m
	}
	return out
})

// Languages lists the languages the classification is translated into, besides English.
func Languages() []string {
	var out []string
	for l := range loadTexts() {
		out = append(out, l)
	}
	return out
}

// Translate returns the name and description of a class ("malicious-code") or a type
// ("malicious-code/c2-server") in a language; in English, or for a language without a
// translation, the catalogue's own. ok is false for an unknown class or type.
func Translate(key, lang string) (Text, bool) {
	var en Text
	if strings.Contains(key, "/") {
		_, t, ok := Lookup(key)
		if !ok {
			return Text{}, false
		}
		en = Text{Name: t.Expanded, Description: t.Description}
	} else {
		i, ok := load().byValue[key]
		if !ok {
			return Text{}, false
		}
		c := load().classes[i]
		en = Text{Name: c.Expanded, Description: c.Description}
	}
	if t, ok := loadTexts()[lang][key]; ok && t.Name != "" {
		return t, true
	}
	return en, true
}
