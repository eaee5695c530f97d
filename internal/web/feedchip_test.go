package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/partner"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// Issue 9: a feed run's row for a partner it routed events to carries the "unverified"
// chip when that partner's entry is not confirmed: "never verified" for kr, "unverified
// since" its last confirmation for jp once that is older than the re-verify period, and no
// chip for jp while its confirmation is fresh; in every language.
func TestFeedRunPartnerUnverifiedChip(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Federation: fastFed, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn, jp := n.Node("cn"), n.Node("jp")
	if err := jp.App.Partners.Confirm(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { p, _ := cn.App.Partners.Get("jp"); return !p.Unverified })

	now := clk.Now()
	run := store.FeedRun{ID: "run-chips", Format: "shadowserver", Report: "scan_telnet", TLP: "GREEN", CreatedBy: cn.User,
		State: store.RunRunning, StartedAt: now, UpdatedAt: now}
	if err := cn.App.Store.CreateFeedRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.State, run.FinishedAt = store.RunDone, &now
	run.Events, run.RoutedPartners = 7, 7
	run.FeedCounts = store.FeedCounts{Partners: map[string]int64{"jp": 4, "kr": 3}}
	if err := cn.App.Store.FinishFeedRun(ctx, run); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	// The chip inside the partner's row of the "by partner" table.
	row := func(body, team string) string {
		i := strings.Index(body, `id="bypartner-h"`)
		if i < 0 {
			t.Fatalf("no by-partner table on the run's page")
		}
		m := regexp.MustCompile(`(?s)<tr><th scope="row">.*?<span class="id" translate="no">` + team + `</span>(.*?)</tr>`).FindStringSubmatch(body[i:])
		if m == nil {
			t.Fatalf("no row for %s in the by-partner table", team)
		}
		return m[1]
	}
	page := func(lang string) string {
		setLang(c, cn.URL, "cn", lang)
		resp, body := c.get("/feeds/runs/" + run.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s run page: %d", lang, resp.StatusCode)
		}
		return body
	}
	never := map[string]string{"en": "Never verified", "zh-Hans": "从未核实", "ja": "登録情報 未確認", "ko": "확인된 적 없음"}
	for lang, want := range never {
		body := page(lang)
		if r := row(body, "kr"); !strings.Contains(r, `data-unverified="kr"`) || !strings.Contains(r, want) {
			t.Errorf("%s: kr's row lacks the %q chip: %s", lang, want, r)
		}
		if r := row(body, "jp"); strings.Contains(r, "data-unverified") {
			t.Errorf("%s: jp's row carries a chip though jp confirmed: %s", lang, r)
		}
	}

	// Past the re-verify period jp's confirmation is stale: "unverified since" it.
	clk.Advance(partner.DefaultReverify + 24*time.Hour)
	c = newClient(t, cn.URL) // the session has long expired
	mustSignIn(t, c, cn.User, cn.Password)
	since := map[string]string{"en": "Unverified since", "zh-Hans": "起未核实", "ja": "以降）", "ko": "이후 미확인"}
	for lang, want := range since {
		r := row(page(lang), "jp")
		if !strings.Contains(r, `data-unverified="jp"`) || !strings.Contains(r, want) {
			t.Errorf("%s: jp's row lacks the %q chip: %s", lang, want, r)
		}
	}
}
