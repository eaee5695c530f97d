package web_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/csaf"
	"csirtlink/internal/cvd"
)

// TestCVDAdvisoryEditorInBrowser: on the case page jp writes the advisory in Japanese
// and Korean side by side; a title too long is refused beside its field in its column,
// with what was typed kept; saved, the texts are jp's alone (cn's store has none) and
// jp's ja advisory carries them. And jp gives a vendor the case at its own label. Checked
// with axe, on a wide screen and on a phone.
func TestCVDAdvisoryEditorInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	n := startNet(t)
	ctx := context.Background()
	seeded, err := n.SeedCVD(ctx, time.Now().Add(3*time.Hour).UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cn, jp := n.Node("cn"), n.Node("jp")
	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, jp.URL, jp.User, jp.Password)
	do(t, tb, "the case", chromedp.EmulateViewport(1400, 1000, chromedp.EmulateScale(1)),
		chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#advisory-h")))

	// The ja and ko columns of one row sit side by side.
	jaX, jaY, koX, koY := places(t, tb)
	if koX <= jaX || jaY != koY {
		t.Errorf("ja and ko titles are not side by side: ja (%v,%v) ko (%v,%v)", jaX, jaY, koX, koY)
	}

	const jaTitle, koTitle = "診断ページにおける認証不要のリモートコード実行", "진단 페이지의 인증 없는 원격 코드 실행"
	do(t, tb, "write ja and ko",
		chromedp.SetValue(chromedp.CSS(`[id="ja.title"]`), strings.Repeat("長", 201)),
		chromedp.SendKeys(chromedp.CSS(`[id="ja.vulnerabilities[v1].description"]`), "診断欄に細工した文字列を入力すると任意のコマンドが実行されます。"),
		chromedp.SendKeys(chromedp.CSS(`[id="ko.title"]`), koTitle),
		chromedp.SendKeys(chromedp.CSS(`[id="ko.vulnerabilities[v1].remediation"]`), "KrCERT/CC 보안 공지를 참고하십시오."))
	submit(t, tb, "save, too long", `#advisory button[type=submit]`)
	if msg := text(t, tb, `#advisory .field-error`); !strings.Contains(msg, "200") {
		t.Errorf("the refusal beside the ja title: %q", msg)
	}
	if kept := value(t, tb, "ko.title"); kept != koTitle {
		t.Errorf("the ko title typed was lost: %q", kept)
	}
	if c, _ := jp.App.CVD.Get(ctx, seeded); len(c.Advisories) != 0 {
		t.Errorf("saved despite the error: %+v", c.Advisories)
	}
	checkScreen(t, tb, axe, "en", "cvd-advisory-error")
	do(t, tb, "fix", chromedp.SetValue(chromedp.CSS(`[id="ja.title"]`), jaTitle))
	submit(t, tb, "save", `#advisory button[type=submit]`)
	waitText(t, tb, "the flash", "Advisory texts saved")

	c, err := jp.App.CVD.Get(ctx, seeded)
	if err != nil {
		t.Fatal(err)
	}
	if c.Advisories["ja"].Title != jaTitle || c.Advisories["ko"].Title != koTitle || c.Advisories["ko"].Vulnerabilities["v1"].Remediation == "" {
		t.Fatalf("stored %+v", c.Advisories)
	}
	if _, ok := c.Advisories["en"]; ok {
		t.Errorf("an untouched column was stored: %+v", c.Advisories["en"])
	}
	if k, _ := cn.App.CVD.Get(ctx, seeded); len(k.Advisories) != 0 {
		t.Errorf("jp's texts reached cn: %+v", k.Advisories)
	}
	doc := jp.App.CVD.Advisory(c, "ja", csaf.SecurityAdvisory)
	if doc.Document.Lang != "ja" || doc.Document.Title != jaTitle || !strings.HasPrefix(doc.Vulnerabilities[0].Notes[0].Text, "診断欄に") {
		t.Errorf("the ja advisory: %s %q %+v", doc.Document.Lang, doc.Document.Title, doc.Vulnerabilities[0].Notes)
	}
	if shown := value(t, tb, "ja.title"); shown != jaTitle {
		t.Errorf("the saved ja title is not shown: %q", shown)
	}
	// jp gives a vendor the case at RED: the list shows the label given.
	do(t, tb, "vendor form", chromedp.Click(chromedp.CSS("#vendor > details:first-of-type > summary")), chromedp.SendKeys(chromedp.CSS("#vendor-name"), "Kansai Router KK"),
		chromedp.SetValue(chromedp.CSS("#vendor-tlp"), "RED"))
	submit(t, tb, "add the vendor", `#vendor form[action$="/vendors"] button`)
	waitText(t, tb, "the flash", "Vendor added")
	if c, _ := jp.App.CVD.Get(ctx, seeded); !slices.ContainsFunc(c.Vendors, func(v cvd.Vendor) bool { return v.Name == "Kansai Router KK" && v.TLP == "RED" }) {
		t.Errorf("the vendor's label: %+v", c.Vendors)
	}
	if s := text(t, tb, "#vendor .participants"); !strings.Contains(s, "Kansai Router KK") || !strings.Contains(s, "TLP:RED") {
		t.Errorf("the vendors list: %q", s)
	}
	checkScreen(t, tb, axe, "en", "cvd-advisory")
	do(t, tb, "to the editor", chromedp.ScrollIntoView(chromedp.CSS("#advisory-h")))
	shoot(t, tb, shots, "en-cvd-advisory")

	// In Japanese, and on a phone: one column, each field's languages one under another.
	do(t, tb, "japanese", chromedp.Navigate(jp.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
	submit(t, tb, "switch to ja", `button[name=lang][value="ja"]`)
	do(t, tb, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)),
		chromedp.Navigate(jp.URL+"/cvd/"+seeded), chromedp.WaitVisible(chromedp.CSS("#advisory-h")))
	jaX, jaY, koX, koY = places(t, tb)
	if jaX != koX || koY <= jaY {
		t.Errorf("on a phone ja and ko are not stacked: ja (%v,%v) ko (%v,%v)", jaX, jaY, koX, koY)
	}
	checkScreen(t, tb, axe, "ja", "cvd-advisory-phone")
	shoot(t, tb, shots, "ja-cvd-advisory-phone")
	// And the editor's first screenful on the phone, to look at.
	do(t, tb, "to the editor", chromedp.ScrollIntoView(chromedp.CSS("#advisory-h")))
	buf, err := chromedp.Run(tb, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, "ja-cvd-advisory-phone-editor.png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// places are where the ja and ko title fields are: left and top of each.
func places(t *testing.T, ctx context.Context) (jaX, jaY, koX, koY float64) {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`["ja.title", "ko.title"].flatMap(id => {
  const r = document.getElementById(id).getBoundingClientRect(); return [r.left, r.top]; })`))
	if err != nil || len(r) != 4 {
		t.Fatalf("the fields' places: %v %v", r, err)
	}
	return r[0], r[1], r[2], r[3]
}

// value is the value of the control with the id.
func value(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById(`+strconv.Quote(id)+`).value`))
	if err != nil {
		t.Fatalf("value of %s: %v", id, err)
	}
	return v
}
