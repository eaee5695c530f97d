package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAckFormInFourLanguages: the form where a person acknowledges a page with a code
// from an e-mail (no account) speaks the language the link or the browser asks for,
// with a wrong code refused in that language, and passes axe-core.
func TestAckFormInFourLanguages(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	cn := n.Node("cn")
	tb := tab(t, browser(t, exe), false)
	want := map[string]string{"en": "Acknowledge a hotline page", "zh-Hans": "确认热线呼叫", "ja": "ホットライン呼び出しの確認", "ko": "핫라인 호출 확인"}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "ack form "+lang, chromedp.Navigate(cn.URL+"/hotline/ack?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#code")))
		if got, _ := chromedp.Run(tb, chromedp.Evaluate[string]("document.documentElement.lang")); got != lang {
			t.Errorf("html lang %q, want %q", got, lang)
		}
		if h := text(t, tb, "h1"); h != want[lang] {
			t.Errorf("%s heading: %q", lang, h)
		}
		do(t, tb, "wrong code", chromedp.SendKeys(chromedp.CSS("#code"), "ZZZZZZ"))
		submit(t, tb, "send a wrong code", "button[type=submit]")
		msg := text(t, tb, "[role=alert]")
		if msg == "" || (lang != "en" && strings.ContainsAny(msg, "abcdefghijklmnopqrstuvwxyz")) {
			t.Errorf("%s: the refusal is not in the language: %q", lang, msg)
		}
		checkScreen(t, tb, axe, lang, "ack-form")
		shoot(t, tb, shots, lang+"-ack-form")
	}
}
