package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/metrics"
	"csirtlink/internal/report"
	"csirtlink/internal/testnet"
)

// The joint report of a year with two months of history, in each language: its
// files, its tables, no untranslated text, and a screenshot of it in Chromium.
func TestReportInFourLanguages(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start.Add(-time.Hour))
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Clock: clk,
		Hotline: config.Hotline{EngineInterval: config.Duration(20 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	end := start.AddDate(0, 2, 0)
	if err := n.Play(ctx, clk, testnet.DemoHistory(start, end)); err != nil {
		t.Fatal(err)
	}
	clk.Set(end.Add(24 * time.Hour))
	for _, nd := range n.Nodes {
		if _, err := nd.App.Publisher.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	jp := n.Node("jp")
	// Wait for every team's aggregates to reach jp.
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := jp.App.Publisher.Joint(ctx, mustPeriod(t, "2026"))
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Teams) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jp holds %d teams' aggregates", len(j.Teams))
		}
		time.Sleep(20 * time.Millisecond)
	}

	en, err := report.LoadCatalog("en")
	if err != nil {
		t.Fatal(err)
	}
	exe := ""
	for _, b := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			exe = p
			break
		}
	}
	if exe == "" && os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found and CI=true: install it (apt-get install -y chromium fonts-noto-cjk)")
	}
	shots := os.Getenv("CSIRTLINK_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join("..", "web", "testdata", "screenshots-out")
	}
	for _, lang := range report.Languages {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		err := Run(ctx, []string{"report", "--url", jp.URL, "--token", jp.Token, "--period", "2026", "--lang", lang, "--out", dir}, &out, &errb)
		if err != nil {
			t.Fatalf("%s: %v: %s", lang, err, errb.String())
		}
		html, err := os.ReadFile(filepath.Join(dir, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		// Self-contained: nothing fetched, no script.
		for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
			if bytes.Contains(html, []byte(bad)) {
				t.Errorf("%s: report.html has %q", lang, bad)
			}
		}
		if !bytes.Contains(html, []byte(`<html lang="`+lang+`">`)) || !bytes.Contains(html, []byte("<svg")) || !bytes.Contains(html, []byte("size: A4")) {
			t.Errorf("%s: not a print-ready report with its language and charts", lang)
		}
		// Every table is in its CSV, with rows: every pair that paged another has a row.
		for _, name := range []string{"teams", "hotline", "incidents", "commchecks", "categories", "sharing", "feeds", "feed_routes", "cvd"} {
			f, err := os.Open(filepath.Join(dir, name+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatalf("%s %s.csv: %v", lang, name, err)
			}
			if len(rows) < 2 {
				t.Errorf("%s %s.csv: no rows", lang, name)
			}
		}
		if lang != "en" {
			text := visibleText(string(html))
			for key, s := range en {
				for _, frag := range fragments(s) {
					if strings.Contains(text, frag) {
						t.Errorf("%s: untranslated text %q (from %s) in the report", lang, frag, key)
					}
				}
			}
		}
		if exe == "" {
			continue
		}
		shot := screenshot(t, exe, filepath.Join(dir, "report.html"))
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, "report-"+lang+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustPeriod(t *testing.T, s string) metrics.Period {
	t.Helper()
	p, err := metrics.ParsePeriod(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var verb = regexp.MustCompile(`%(\[\d+\])?[sd]`)

// fragments are the words of an English message that a translation must not show:
// its literal parts between format verbs, of at least five letters.
func fragments(s string) []string {
	var out []string
	for _, f := range verb.Split(s, -1) {
		f = strings.TrimSpace(strings.Trim(f, ".:,() "))
		if len([]rune(f)) >= 5 && regexp.MustCompile(`[A-Za-z]{3}`).MatchString(f) {
			out = append(out, f)
		}
	}
	return out
}

// visibleText is a page's text without markup, style or titles of team names.
func visibleText(html string) string {
	html = regexp.MustCompile(`(?s)<style.*?</style>`).ReplaceAllString(html, "")
	html = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(html, " ")
	for _, name := range []string{"CNCERT/CC", "JPCERT/CC", "KrCERT/CC", "TLP:GREEN", "UTC"} {
		html = strings.ReplaceAll(html, name, "")
	}
	return html
}

// screenshot renders a file in headless Chromium and returns a full-page PNG.
func screenshot(t *testing.T, exe, file string) []byte {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(900, 1200), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel3()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("Chromium: %v", err)
	}
	// The page lays out: every chart is drawn with a size.
	js := `Array.from(document.querySelectorAll("svg")).map(s => s.getBoundingClientRect().width)`
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
	if err != nil {
		t.Fatal(err)
	}
	if len(widths) < 3 {
		t.Errorf("%d charts drawn", len(widths))
	}
	for _, w := range widths {
		if w < 100 {
			t.Errorf("a chart %v px wide", w)
		}
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	return buf
}
