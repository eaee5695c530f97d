package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/clock"
	"csirtlink/internal/metrics"
	"csirtlink/internal/testnet"
)

// TestCollaborationInBrowser: after a month of collaboration history played through
// three nodes, cn's figures screen shows the pages, percentiles and the trend, each
// chart an SVG followed by a table of its numbers; a bad period is refused beside its
// field; the joint report downloads as HTML and ZIP; and the screen passes axe-core in
// all four languages, with screenshots.
func TestCollaborationInBrowser(t *testing.T) {
	exe := needBrowser(t)
	axe := needAxe(t)
	shots := screenshotDir(t)
	ctx := context.Background()
	now := time.Now().UTC()
	start := now.AddDate(0, -1, 0).Truncate(24 * time.Hour)
	clk := clock.NewOffset(start.Add(-time.Hour))
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Play(ctx, clk, testnet.DemoHistory(start, now.Add(-6*time.Hour))); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Now())
	for _, nd := range n.Nodes {
		if _, err := nd.App.Publisher.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cn := n.Node("cn")
	year := strconv.Itoa(now.Year())
	py, _ := metrics.ParsePeriod(year)
	waitFor(t, func() bool {
		j, err := cn.App.Publisher.Joint(ctx, py)
		return err == nil && len(j.Teams) == 3
	})

	b := browser(t, exe)
	tb := tab(t, b, false)
	signIn(t, tb, cn.URL, cn.User, cn.Password)
	do(t, tb, "figures", chromedp.Navigate(cn.URL+"/collaboration?period="+year), chromedp.WaitVisible(chromedp.CSS("#sum-h")))
	if pages := text(t, tb, ".figures div:first-child dd"); pages == "" || pages == "0" {
		t.Errorf("no pages counted after a month of history: %q", pages)
	}
	// The history shared objects, routed feed events and opened cases: the sharing card counts them.
	if objs := text(t, tb, "#sharing .figures div:first-child dd"); objs == "" || objs == "0" {
		t.Errorf("no shared objects counted after a month of history: %q", objs)
	}
	if rows, _ := chromedp.Run(tb, chromedp.Evaluate[int](`document.querySelectorAll('#sharing tbody tr').length`)); rows < 2 {
		t.Errorf("the sharing card has %d directions", rows)
	}
	bars, err := chromedp.Run(tb, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart rect').length`))
	if err != nil || bars < 4 {
		t.Errorf("charts: %d bars (%v)", bars, err)
	}
	// Each chart has a name for screen readers and its numbers in a table.
	if got, _ := chromedp.Run(tb, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('svg.chart')).every(s => s.getAttribute('role') === 'img' && s.querySelector('title'))`)); !got {
		t.Errorf("a chart lacks role=img and a title")
	}
	if rows, _ := chromedp.Run(tb, chromedp.Evaluate[int](`document.querySelectorAll('#trend-table-c').length && document.querySelector('#trend-table-c').closest('table').querySelectorAll('tbody tr').length`)); rows < 1 {
		t.Errorf("the trend has no data table")
	}
	shoot(t, tb, shots, "en-collaboration")

	// The joint report, as the download links fetch it.
	for _, c := range []struct{ format, want string }{{"", "text/html"}, {"zip", "application/zip"}} {
		js := `fetch('/collaboration/report?period=` + year + `&lang=ja&format=` + c.format + `').then(r => r.status + ' ' + r.headers.get('Content-Type') + ' ' + r.headers.get('Content-Disposition'))`
		got, err := chromedp.Run(tb, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil || !strings.HasPrefix(got, "200 "+c.want) || !strings.Contains(got, "attachment") {
			t.Errorf("joint report %q: %q (%v)", c.format, got, err)
		}
	}

	// A period that is not one, beside its field.
	do(t, tb, "bad period", chromedp.Navigate(cn.URL+"/collaboration?period=2026-13"), chromedp.WaitVisible(chromedp.CSS("#period-error")))

	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		do(t, tb, "language "+lang, chromedp.Navigate(cn.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#open-h")))
		submit(t, tb, "switch to "+lang, `button[name=lang][value="`+lang+`"]`)
		do(t, tb, "figures "+lang, chromedp.Navigate(cn.URL+"/collaboration?period="+year), chromedp.WaitVisible(chromedp.CSS("#sum-h")))
		checkScreen(t, tb, axe, lang, "collaboration")
		shoot(t, tb, shots, lang+"-collaboration")
		do(t, tb, "figures for jp "+lang, chromedp.Navigate(cn.URL+"/collaboration?period="+year+"&partner=jp"), chromedp.WaitVisible(chromedp.CSS("#sum-h")))
		checkScreen(t, tb, axe, lang, "collaboration jp")
	}
	do(t, tb, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)),
		chromedp.Navigate(cn.URL+"/collaboration?period="+year), chromedp.WaitVisible(chromedp.CSS("#sum-h")))
	shoot(t, tb, shots, "ko-phone-collaboration")
}
