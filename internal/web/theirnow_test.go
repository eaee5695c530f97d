package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/hotline"
	"csirtlink/internal/testnet"
)

// Issue 10 item 10: a partner's clock now is never set beside a past event's time as if
// the two were related. Wherever the console shows it (the sender's alarm, a page's
// delivery card, the partner's directory page, a waiting page at the receiver) it sits in
// an element of its own, labelled as their time now, with no event time in that element;
// in every language.
func TestPartnerNowApartFromEventTimes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn, jp := n.Node("cn"), n.Node("jp")
	p, err := cn.App.Hotline.Send(ctx, hotline.Actor{Name: cn.User}, hotline.NewPage{To: []string{"jp"}, Severity: "critical", Summary: "Clocks apart"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		pg, err := cn.App.Hotline.Get(ctx, p.ID)
		return err == nil && pg.Deliveries[0].DeliveredAt != nil
	})
	clk.Advance(6 * time.Minute) // the page is now overdue: cn's dashboard raises the alarm

	// The element holding the partner's clock: its text, and the rest of that element.
	// A <dd> is labelled by its <dt>, a <p> by its own text.
	holder := regexp.MustCompile(`(?s)(?:<dt>([^<]*)</dt>)?\s*<(?:p|dd)[^>]*>\s*<span class="their-now">(.*?)</span>(.*?)</(?:p|dd)>`)
	label := map[string]string{"en": "now", "zh-Hans": "当前", "ja": "現在時刻", "ko": "현재 시각"}
	check := func(c *client, lang, path string, want int) {
		t.Helper()
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d", lang, path, resp.StatusCode)
		}
		got := holder.FindAllStringSubmatch(body, -1)
		if len(got) < want {
			t.Errorf("%s %s: %d places showing the partner's time now, want at least %d", lang, path, len(got), want)
		}
		for _, m := range got {
			if !strings.Contains(m[1]+m[2], label[lang]) {
				t.Errorf("%s %s: the partner's clock %q is not labelled as their time now (%q)", lang, path, m[1]+m[2], label[lang])
			}
			if strings.Contains(m[2]+m[3], "<time") || strings.Contains(m[3], ":") {
				t.Errorf("%s %s: an event time shares the element with the partner's clock: %q", lang, path, m[0])
			}
		}
	}
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	j := newClient(t, jp.URL)
	mustSignIn(t, j, jp.User, jp.Password)
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		setLang(c, cn.URL, "cn", lang)
		setLang(j, jp.URL, "jp", lang)
		check(c, lang, "/", 1)                    // the alarm's facts
		check(c, lang, "/hotline/pages/"+p.ID, 1) // jp's delivery card
		check(c, lang, "/directory/jp", 1)        // jp's directory page
		check(j, lang, "/hotline", 1)             // the waiting page at jp
	}
}

func setLang(c *client, base, team, lang string) {
	u, _ := url.Parse(base)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_lang_" + team, Value: lang}})
}
