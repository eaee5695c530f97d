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
	"csirtlink/internal/indicator"
	"csirtlink/internal/testnet"
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

	// Both share an indicator with cn.
	for i, nd := range []*testnet.Node{jp, n.Node("kr")} {
		if _, err := nd.App.Indicators.Create(ctx, indicator.Actor{Name: nd.User}, indicator.Input{Type: "ipv4", Value: fmt.Sprintf("198.51.100.%d", 10+i),
			Category: "malicious-code/c2-server", TLP: "GREEN"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if got, _ := cn.App.Indicators.List(ctx, indicator.Filter{}); len(got) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the partners' indicators never reached cn")
		}
		time.Sleep(50 * time.Millisecond)
	}

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	chip := func(team string) string { return fmt.Sprintf(`data-unverified="%s"`, team) }
	u, _ := url.Parse(cn.URL)
	for lang, want := range map[string]string{"en": "Never verified", "zh-Hans": "从未核实", "ja": "登録情報 未確認", "ko": "확인된 적 없음"} {
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_lang_cn", Value: lang}})
		for _, path := range []string{"/hotline/new", "/hotline", "/hotline/pages/" + p.ID, "/indicators"} {
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
