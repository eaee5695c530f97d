package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/hotline"
)

// A partner that has not confirmed its directory entry carries an "unverified" chip
// wherever we send to it (the page form, the list of pages, a page's screen) and one
// that confirmed carries none; in every language.
func TestUnverifiedChipBesidePartners(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	// jp confirms its entry: at cn jp is verified, kr (never asked, never confirmed) is not.
	if err := jp.App.Partners.Confirm(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, _ := cn.App.Partners.Get("jp"); !p.Unverified {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("jp's confirmation never reached cn")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p, err := cn.App.Hotline.Send(ctx, hotline.Actor{Name: cn.User}, hotline.NewPage{To: []string{"jp", "kr"}, Severity: "high", Summary: "Check the chips"})
	if err != nil {
		t.Fatal(err)
	}

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	chip := func(team string) string { return fmt.Sprintf(`data-unverified="%s"`, team) }
	u, _ := url.Parse(cn.URL)
	for lang, want := range map[string]string{"en": "Never verified", "zh-Hans": "从未核实", "ja": "登録情報 未確認", "ko": "확인된 적 없음"} {
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_lang_cn", Value: lang}})
		for _, path := range []string{"/hotline/new", "/hotline", "/hotline/pages/" + p.ID} {
			resp, body := c.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d", lang, path, resp.StatusCode)
			}
			if !strings.Contains(body, chip("kr")) {
				t.Errorf("%s %s: no unverified chip beside kr", lang, path)
			}
			if strings.Contains(body, chip("jp")) {
				t.Errorf("%s %s: an unverified chip beside jp, which confirmed", lang, path)
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s %s: the chip does not say %q", lang, path, want)
			}
		}
	}
}
