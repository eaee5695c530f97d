package taxonomy

import (
	"slices"
	"testing"
	"unicode"
)

// TestEveryCategoryIsTranslated: every class and type has a name and a description in
// each translation, written in that language's script, and no translation names a
// class or type the catalogue does not have.
func TestEveryCategoryIsTranslated(t *testing.T) {
	langs := Languages()
	slices.Sort(langs)
	if !slices.Equal(langs, []string{"ja", "ko", "zh-Hans"}) {
		t.Fatalf("translations: %v", langs)
	}
	var keys []string
	for _, c := range Classes() {
		keys = append(keys, c.Value)
		for _, ty := range c.Types {
			keys = append(keys, c.Value+"/"+ty.Value)
		}
	}
	script := map[string]*unicode.RangeTable{"zh-Hans": unicode.Han, "ja": unicode.Han, "ko": unicode.Hangul}
	for _, l := range langs {
		for _, k := range keys {
			tx, ok := loadTexts()[l][k]
			if !ok || tx.Name == "" || tx.Description == "" {
				t.Errorf("%s: %s has no name or description", l, k)
				continue
			}
			if !hasScript(tx.Description, script[l]) && !hasScript(tx.Description, unicode.Katakana) {
				t.Errorf("%s: %s's description is not in the language: %q", l, k, tx.Description)
			}
		}
		for k := range loadTexts()[l] {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: translates %q, which the catalogue lacks", l, k)
			}
		}
	}
	if tx, ok := Translate("malicious-code/c2-server", "en"); !ok || tx.Name != "C2 Server" {
		t.Errorf("English: %+v %v", tx, ok)
	}
	if tx, ok := Translate("malicious-code/c2-server", "ja"); !ok || tx.Name != "C2 サーバー" {
		t.Errorf("Japanese: %+v %v", tx, ok)
	}
	if _, ok := Translate("malicious-code/nope", "ja"); ok {
		t.Errorf("an unknown type translates")
	}
}

func hasScript(s string, tab *unicode.RangeTable) bool {
	for _, r := range s {
		if unicode.Is(tab, r) {
			return true
		}
	}
	return false
}
