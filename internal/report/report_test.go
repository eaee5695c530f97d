package report

import (
	"regexp"
	"testing"
)

var verbs = regexp.MustCompile(`%(\[\d+\])?[sd]`)

// Every catalog has every key the others have, none empty, each with the same format
// verbs as English.
func TestCatalogsAgree(t *testing.T) {
	en, err := LoadCatalog("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		c, err := LoadCatalog(lang)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range en {
			got, ok := c[k]
			switch {
			case !ok:
				t.Errorf("%s: no %q", lang, k)
			case got == "":
				t.Errorf("%s: %q is empty", lang, k)
			case len(verbs.FindAllString(got, -1)) != len(verbs.FindAllString(v, -1)):
				t.Errorf("%s: %q has other format verbs than English: %q", lang, k, got)
			case lang != "en" && got == v && len(v) > 3:
				t.Errorf("%s: %q is the English text", lang, k)
			}
		}
		for k := range c {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not in English", lang, k)
			}
		}
	}
	if _, err := LoadCatalog("fr"); err == nil {
		t.Error("a language without a catalog loaded")
	}
}
