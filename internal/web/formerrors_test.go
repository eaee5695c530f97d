package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every mistake in a form is shown at once, each beside its field, so that a tired
// officer fixes them in one go rather than one per submit (issue 10, item 12): the new
// incident form with four wrong fields, in English and Korean.
func TestEveryFormErrorAtOnce(t *testing.T) {
	n := startNet(t)
	cn := n.Node("cn")
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	bad := url.Values{"title": {""}, "description": {"C2 still answers"}, "category": {"no-such-class"}, "severity": {"extreme"}, "tlp": {"PURPLE"}}
	u, _ := url.Parse(cn.URL)
	for _, lang := range []string{"en", "ko"} {
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_lang_cn", Value: lang}})
		resp, body := c.post("/incidents", bad)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d, want 422", lang, resp.StatusCode)
		}
		for _, f := range []string{"title", "category", "severity", "tlp"} {
			if !strings.Contains(body, `id="`+f+`-error"`) {
				t.Errorf("%s: no message beside %s; every error is to be shown at once", lang, f)
			}
		}
		if !strings.Contains(body, "C2 still answers") {
			t.Errorf("%s: the description typed was lost", lang)
		}
	}
}
