package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/envelope"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

// march is the start of the seeded history: Monday 2 March 2026, 00:00 UTC.
var march = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func day(d int, h int) time.Time { return march.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }

func secs(s int) time.Duration { return time.Duration(s) * time.Second }

// collabHistory is a month of collaboration whose figures are computed by hand in the
// test below.
func collabHistory() testnet.History {
	page := func(at time.Time, from, to string, ack int) testnet.PageStory {
		ps := testnet.PageStory{At: at, From: from, To: []string{to}, Severity: "high", Summary: "Seeded page " + at.Format("0102"),
			AckAfter: map[string]time.Duration{}}
		if ack >= 0 {
			ps.AckAfter[to] = secs(ack)
		}
		return ps
	}
	return testnet.History{
		Pages: []testnet.PageStory{
			// cn → jp: six acknowledged (60, 120, 300, 600, 1200, 4000 s), one never.
			page(day(0, 1), "cn", "jp", 60), page(day(1, 1), "cn", "jp", 120), page(day(2, 1), "cn", "jp", 300),
			page(day(3, 1), "cn", "jp", 600), page(day(4, 1), "cn", "jp", 1200), page(day(7, 1), "cn", "jp", 4000),
			page(day(8, 1), "cn", "jp", -1),
			// jp → cn: 30 s and 3000 s.
			page(day(9, 1), "jp", "cn", 30), page(day(10, 1), "jp", "cn", 3000),
			// A comm check from cn: jp answers in 90 s, kr in 45 s.
			{At: day(11, 1), From: "cn", To: []string{"jp", "kr"}, CommCheck: true,
				AckAfter: map[string]time.Duration{"jp": secs(90), "kr": secs(45)}},
			// April: another period.
			page(time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC), "cn", "jp", 10),
		},
		Incidents: []testnet.IncidentStory{
			{At: day(14, 0), Coordinator: "cn", Participants: []string{"jp", "kr"}, Title: "Seeded botnet case TOPSECRETTITLE",
				Category: "malicious-code/infected-system", Severity: "high", Steps: []testnet.Step{
					{After: secs(300), Team: "kr", Do: "acknowledged"},
					{After: secs(600), Team: "jp", Do: "acknowledged"},
					{After: secs(900), Team: "kr", Do: "comment", Body: "kr notified ISPs SECRETCOMMENT"},
					{After: secs(1800), Team: "jp", Do: "comment", Body: "jp takedown request sent"},
					{After: secs(3600), Team: "cn", Do: "mitigated"},
					{After: secs(7200), Team: "jp", Do: "done"},
					{After: secs(10800), Team: "kr", Do: "done"},
					{After: secs(14400), Team: "cn", Do: "closed"},
				}},
			{At: day(18, 0), Coordinator: "jp", Participants: []string{"cn"}, Title: "Seeded phishing case",
				Category: "fraud/phishing", Severity: "medium", Steps: []testnet.Step{
					{After: secs(120), Team: "cn", Do: "acknowledged"},
					{After: secs(240), Team: "cn", Do: "comment", Body: "cn-hosted copy found"},
					{After: secs(600), Team: "jp", Do: "closed"},
				}},
		},
		// Shared objects (TLP:GREEN: every partner holds them) and the feedback on them.
		Shares: []testnet.ShareStory{
			{At: day(2, 3), Author: "jp", Value: "https://secretphish-1.example/login", Category: "fraud/phishing", Feedback: []testnet.Feedback{
				{After: secs(600), Team: "kr", Kind: "seen"}, {After: secs(3600), Team: "cn", Kind: "taken-down"},
				{After: secs(7200), Team: "kr", Kind: "taken-down"}}},
			{At: day(5, 3), Author: "jp", Value: "https://secretphish-2.example/login", Category: "fraud/phishing", Feedback: []testnet.Feedback{
				{After: secs(86400), Team: "cn", Kind: "taken-down"}}},
			{At: day(6, 5), Author: "cn", Value: "https://secretphish-3.example/login", Category: "fraud/phishing", Feedback: []testnet.Feedback{
				{After: secs(1800), Team: "jp", Kind: "taken-down"}}},
		},
		// One feed file at cn: 40 events for its own owners, 30 for jp, 20 for kr, 10 no one's.
		Feeds: []testnet.FeedStory{{At: day(12, 2), Team: "cn", Events: map[string]int{"cn": 40, "jp": 30, "kr": 20, "": 10}}},
		// cn's case with jp, published at the agreed instant ten days on; jp's case with
		// cn and kr, whose kr vendor never answers, not yet agreed.
		Cases: []testnet.CaseStory{
			{At: day(15, 0), Owner: "cn", Participants: []string{"jp"}, Title: "SECRETCASE router flaw", PublishAfter: 10 * 24 * time.Hour,
				Vendors: []testnet.VendorStory{{Team: "cn", Name: "SecretVendorCN", After: secs(86400), Status: "fixed"},
					{Team: "jp", Name: "SecretVendorJP", After: secs(172800), Status: "affected"}}},
			{At: day(16, 0), Owner: "jp", Participants: []string{"cn", "kr"}, Title: "SECRETCASE camera flaw",
				Vendors: []testnet.VendorStory{{Team: "kr", Name: "SecretVendorKR"}, {Team: "jp", Name: "SecretVendorJP2", After: secs(3600), Status: "not_affected"}}},
		},
	}
}

type tally struct {
	N        int      `json:"n"`
	Method   string   `json:"method"`
	Evidence string   `json:"evidence"`
	Records  []string `json:"records"`
}

// sharingView is the sharing, feed and case sections of a direction.
type sharingView struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Sharing struct {
		Objects        tally  `json:"objects"`
		Sightings      tally  `json:"sightings"`
		Takedowns      tally  `json:"takedowns"`
		TimeToTakedown figure `json:"time_to_takedown"`
	} `json:"sharing"`
	Feeds struct {
		Events tally `json:"events"`
	} `json:"feeds"`
	CVD struct {
		Cases             tally  `json:"cases"`
		VendorsReached    tally  `json:"vendors_reached"`
		Published         tally  `json:"published"`
		TimeToPublication figure `json:"time_to_publication"`
	} `json:"cvd"`
}

func checkTally(t *testing.T, what string, got tally, n, records int) {
	t.Helper()
	if got.N != n || len(got.Records) != records || got.Method == "" || got.Evidence == "" {
		t.Errorf("%s: %+v, want n=%d with %d records, a method and evidence", what, got, n, records)
	}
}

type figure struct {
	N        int            `json:"n"`
	P50      *float64       `json:"p50_seconds"`
	P95      *float64       `json:"p95_seconds"`
	Max      *float64       `json:"max_seconds"`
	Evidence string         `json:"evidence"`
	Method   string         `json:"method"`
	Records  []string       `json:"records"`
	Excluded map[string]int `json:"excluded"`
}

type share struct {
	N      int      `json:"n"`
	Within int      `json:"within"`
	Share  *float64 `json:"share"`
}

type hotlineFigs struct {
	Pages        int    `json:"pages"`
	Delivered    figure `json:"delivered"`
	Acknowledged figure `json:"acknowledged"`
	Within15m    share  `json:"acknowledged_within_15m"`
	Within1h     share  `json:"acknowledged_within_1h"`
}

type incidentFigs struct {
	CrossBorder int `json:"cross_border"`
	ByCategory  []struct {
		Key string
		N   int
	} `json:"by_category"`
	Acknowledged figure `json:"acknowledged"`
	FirstEntry   figure `json:"first_entry"`
	Done         figure `json:"done"`
	Mitigated    figure `json:"mitigated"`
	Closed       figure `json:"closed"`
}

type collabView struct {
	Team       string `json:"team"`
	Hotline    hotlineFigs
	CommChecks struct {
		Checks       int    `json:"checks"`
		Answered     int    `json:"answered"`
		Acknowledged figure `json:"acknowledged"`
	} `json:"commchecks"`
	Incidents  incidentFigs `json:"incidents"`
	Directions []struct {
		From       string       `json:"from"`
		To         string       `json:"to"`
		Hotline    hotlineFigs  `json:"hotline"`
		Incidents  incidentFigs `json:"incidents"`
		CommChecks struct {
			Acknowledged figure `json:"acknowledged"`
		} `json:"commchecks"`
	} `json:"directions"`
}

func (c collabView) dir(t *testing.T, from, to string) (hotlineFigs, incidentFigs, figure) {
	t.Helper()
	for _, d := range c.Directions {
		if d.From == from && d.To == to {
			return d.Hotline, d.Incidents, d.CommChecks.Acknowledged
		}
	}
	t.Fatalf("no direction %s → %s", from, to)
	return hotlineFigs{}, incidentFigs{}, figure{}
}

// checkFig compares a figure with hand-computed values (-1: null).
func checkFig(t *testing.T, what string, f figure, n int, p50, p95, mx float64) {
	t.Helper()
	v := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	if f.N != n || v(f.P50) != p50 || v(f.P95) != p95 || v(f.Max) != mx {
		t.Errorf("%s: n=%d p50=%v p95=%v max=%v, want n=%d p50=%v p95=%v max=%v", what, f.N, v(f.P50), v(f.P95), v(f.Max), n, p50, p95, mx)
	}
	if f.Method == "" || f.Evidence == "" {
		t.Errorf("%s: says neither how it was computed nor on what evidence: %+v", what, f)
	}
	if n > 0 && len(f.Records) == 0 {
		t.Errorf("%s: no records named", what)
	}
}

func collab(t *testing.T, nd *testnet.Node, query string) collabView {
	t.Helper()
	var v collabView
	if code := call(t, nd, "GET", "/api/v1/metrics/collaboration?"+query, nil, &v); code != 200 {
		t.Fatalf("collaboration %s: %d", query, code)
	}
	return v
}

// startHistoryNet starts three nodes on a fake clock and plays the history.
func startHistoryNet(t *testing.T, opts ...testnet.Options) (*testnet.Net, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(march.Add(-time.Hour))
	o := testnet.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Clock, o.Hotline = clk, config.Hotline{EngineInterval: config.Duration(20 * time.Millisecond)}
	n := startNet(t, o)
	if err := n.Play(context.Background(), clk, collabHistory()); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	return n, clk
}

func TestCollaborationMetricsFromSeededHistory(t *testing.T) {
	n, _ := startHistoryNet(t)
	cn, jp := n.Node("cn"), n.Node("jp")

	v := collab(t, cn, "period=2026-03&partner=jp")
	h, inc, cc := v.dir(t, "cn", "jp")
	// cn → jp: sorted acknowledgement times 60 120 300 600 1200 4000. Nearest rank:
	// p50 is the ceil(0.5×6) = 3rd (300), p95 the ceil(0.95×6) = 6th (4000).
	if h.Pages != 7 {
		t.Errorf("cn → jp pages %d, want 7", h.Pages)
	}
	checkFig(t, "cn → jp acknowledged", h.Acknowledged, 6, 300, 4000, 4000)
	// Four of the seven within 15 min (60, 120, 300, 600), five within the hour.
	if h.Within15m.Within != 4 || h.Within15m.N != 7 || *h.Within15m.Share != 0.5714 || h.Within1h.Within != 5 {
		t.Errorf("cn → jp shares: %+v %+v", h.Within15m, h.Within1h)
	}
	// Every page of cn's has jp's signed receipt; on the test's clock it arrived at once.
	checkFig(t, "cn → jp delivered", h.Delivered, 7, 0, 0, 0)
	if h.Delivered.Evidence != "signed_receipt" {
		t.Errorf("cn → jp delivered evidence %q", h.Delivered.Evidence)
	}
	checkFig(t, "cn → jp comm check", cc, 1, 90, 90, 90)
	// jp → cn: 30 and 3000: p50 the 1st, p95 the 2nd.
	h2, inc2, _ := v.dir(t, "jp", "cn")
	checkFig(t, "jp → cn acknowledged", h2.Acknowledged, 2, 30, 3000, 3000)
	// Pooled, the pair: 30 60 120 300 600 1200 3000 4000 → p50 the 4th (300), p95 the 8th.
	checkFig(t, "cn ↔ jp acknowledged", v.Hotline.Acknowledged, 8, 300, 4000, 4000)
	if v.Hotline.Pages != 9 || v.Hotline.Within15m.Within != 5 {
		t.Errorf("cn ↔ jp: %d pages, %d within 15 min; want 9, 5", v.Hotline.Pages, v.Hotline.Within15m.Within)
	}
	// Incidents: cn's botnet case (jp acknowledged at +600 s, first comment +1800, done
	// +7200; cn mitigated at +3600, closed +14400) and jp's phishing case (cn
	// acknowledged +120, commented +240; jp closed +600).
	checkFig(t, "cn → jp invitation → acknowledged", inc.Acknowledged, 1, 600, 600, 600)
	checkFig(t, "cn → jp first entry", inc.FirstEntry, 1, 1800, 1800, 1800)
	checkFig(t, "cn → jp done", inc.Done, 1, 7200, 7200, 7200)
	checkFig(t, "cn → jp mitigated", inc.Mitigated, 1, 3600, 3600, 3600)
	checkFig(t, "cn → jp closed", inc.Closed, 1, 14400, 14400, 14400)
	checkFig(t, "jp → cn acknowledged", inc2.Acknowledged, 1, 120, 120, 120)
	checkFig(t, "jp → cn mitigated", inc2.Mitigated, 0, -1, -1, -1)
	checkFig(t, "cn ↔ jp incidents acknowledged", v.Incidents.Acknowledged, 2, 120, 600, 600)
	if v.Incidents.CrossBorder != 2 || len(v.Incidents.ByCategory) != 2 {
		t.Errorf("cn ↔ jp cross-border: %d %+v", v.Incidents.CrossBorder, v.Incidents.ByCategory)
	}

	// Every partner, pooled: the botnet case is in cn → jp and cn → kr, but its
	// mitigation counts once; closing counts the two cases (600, 14400).
	all := collab(t, cn, "period=2026-03")
	checkFig(t, "all mitigated", all.Incidents.Mitigated, 1, 3600, 3600, 3600)
	checkFig(t, "all closed", all.Incidents.Closed, 2, 600, 14400, 14400)
	// kr acknowledged at +300 s, commented at +900, done at +10800.
	_, krInc, krCC := all.dir(t, "cn", "kr")
	checkFig(t, "cn → kr acknowledged", krInc.Acknowledged, 1, 300, 300, 300)
	checkFig(t, "cn → kr done", krInc.Done, 1, 10800, 10800, 10800)
	checkFig(t, "cn → kr comm check", krCC, 1, 45, 45, 45)
	// Comm checks pooled: jp 90, kr 45.
	checkFig(t, "comm checks", all.CommChecks.Acknowledged, 2, 45, 90, 90)

	// Periods: April has the one page of April; the year has all eight of cn's to jp.
	apr := collab(t, cn, "period=2026-04&partner=jp")
	ha, _, _ := apr.dir(t, "cn", "jp")
	checkFig(t, "April cn → jp", ha.Acknowledged, 1, 10, 10, 10)
	year := collab(t, cn, "period=2026&partner=jp")
	if hy, _, _ := year.dir(t, "cn", "jp"); hy.Pages != 8 {
		t.Errorf("2026 cn → jp pages %d, want 8", hy.Pages)
	}
	q1 := collab(t, cn, "period=2026Q1&partner=jp")
	if hq, _, _ := q1.dir(t, "cn", "jp"); hq.Pages != 7 {
		t.Errorf("2026Q1 cn → jp pages %d, want 7", hq.Pages)
	}
	wk := collab(t, cn, "period=2026-W10&partner=jp") // 2–8 March: five pages of cn's
	if hw, _, _ := wk.dir(t, "cn", "jp"); hw.Pages != 5 {
		t.Errorf("2026-W10 cn → jp pages %d, want 5", hw.Pages)
	}

	// jp measures the same pair from its own records: the acknowledgements are its own.
	jv := collab(t, jp, "period=2026-03&partner=cn")
	jh, _, _ := jv.dir(t, "cn", "jp")
	checkFig(t, "at jp: cn → jp acknowledged", jh.Acknowledged, 6, 300, 4000, 4000)
	if jh.Acknowledged.Evidence != "local_record" {
		t.Errorf("at jp, its own acknowledgements are evidenced as %q", jh.Acknowledged.Evidence)
	}

	// Sharing, feeds and cases, as jp measures them.
	var sv struct {
		Own struct {
			CVD struct {
				Cases            tally `json:"cases"`
				VendorsContacted tally `json:"vendors_contacted"`
				VendorsReached   tally `json:"vendors_reached"`
				Published        tally `json:"published"`
			} `json:"cvd"`
		} `json:"own"`
		Directions []sharingView `json:"directions"`
	}
	if code := call(t, jp, "GET", "/api/v1/metrics/collaboration?period=2026-03", nil, &sv); code != 200 {
		t.Fatalf("collaboration at jp: %d", code)
	}
	dirs := map[string]sharingView{}
	for _, d := range sv.Directions {
		dirs[d.From+">"+d.To] = d
	}
	// jp → cn: both objects, cn's takedowns after 3600 s and 86400 s: p50 the 1st, p95 the 2nd.
	jc, jk, cj := dirs["jp>cn"], dirs["jp>kr"], dirs["cn>jp"]
	checkTally(t, "jp → cn objects", jc.Sharing.Objects, 2, 2)
	checkTally(t, "jp → cn takedowns", jc.Sharing.Takedowns, 2, 2)
	checkFig(t, "jp → cn time to takedown", jc.Sharing.TimeToTakedown, 2, 3600, 86400, 86400)
	if jc.Sharing.TimeToTakedown.Evidence != "signed_envelope" {
		t.Errorf("cn's takedowns at jp rest on %q", jc.Sharing.TimeToTakedown.Evidence)
	}
	// jp → kr: kr saw the first object and took it down after 7200 s; the second it holds, silent.
	checkTally(t, "jp → kr objects", jk.Sharing.Objects, 2, 2)
	checkTally(t, "jp → kr sightings", jk.Sharing.Sightings, 2, 2)
	checkFig(t, "jp → kr time to takedown", jk.Sharing.TimeToTakedown, 1, 7200, 7200, 7200)
	// cn → jp: cn's object, taken down by jp after 1800 s; the 30 events of cn's feed
	// file in jp's networks; cn's case, jp's vendor answered, published after 10 days.
	checkFig(t, "cn → jp time to takedown", cj.Sharing.TimeToTakedown, 1, 1800, 1800, 1800)
	checkTally(t, "cn → jp events", cj.Feeds.Events, 30, 1)
	checkTally(t, "cn → jp cases", cj.CVD.Cases, 1, 1)
	checkTally(t, "cn → jp vendors reached", cj.CVD.VendorsReached, 1, 1)
	checkFig(t, "cn → jp time to publication", cj.CVD.TimeToPublication, 1, 864000, 864000, 864000)
	checkTally(t, "jp → kr cases", jk.CVD.Cases, 1, 1)
	checkTally(t, "jp → kr vendors reached (never answered)", jk.CVD.VendorsReached, 0, 0)
	checkTally(t, "jp's own cases", sv.Own.CVD.Cases, 1, 1)
	checkTally(t, "jp's own vendors reached", sv.Own.CVD.VendorsReached, 1, 1)
	checkTally(t, "jp's own published", sv.Own.CVD.Published, 0, 0)
	// At cn, its feed run: 40 to its owners, 50 to partners, 10 unrouted.
	var cf struct {
		Own struct {
			Feeds struct {
				Events         int      `json:"events"`
				RoutedOwners   int      `json:"routed_owners"`
				RoutedPartners int      `json:"routed_partners"`
				Unrouted       int      `json:"unrouted"`
				UnroutedShare  *float64 `json:"unrouted_share"`
			} `json:"feeds"`
		} `json:"own"`
	}
	if code := call(t, cn, "GET", "/api/v1/metrics/collaboration?period=2026-03", nil, &cf); code != 200 {
		t.Fatalf("collaboration at cn: %d", code)
	}
	if f := cf.Own.Feeds; f.Events != 100 || f.RoutedOwners != 40 || f.RoutedPartners != 50 || f.Unrouted != 10 || f.UnroutedShare == nil || *f.UnroutedShare != 0.1 {
		t.Errorf("cn's feeds %+v", f)
	}

	// Bad input names the field.
	for q, field := range map[string]string{"": "period", "period=2026-13": "period", "period=26": "period",
		"period=2026-03&partner=zz": "partner", "period=2026-03&partner=cn": "partner"} {
		var e apiError
		if code := call(t, cn, "GET", "/api/v1/metrics/collaboration?"+q, nil, &e); code != 422 || e.Error.Field != field {
			t.Errorf("%q: %d %+v, want 422 naming %s", q, code, e, field)
		}
	}
}

// A figure resting on signed receipts changes when a receipt is removed, and says so.
func TestReceiptDerivedFigureChangesWithoutReceipt(t *testing.T) {
	n, _ := startHistoryNet(t)
	cn := n.Node("cn")
	before := collab(t, cn, "period=2026-03&partner=jp")
	h, _, _ := before.dir(t, "cn", "jp")
	if h.Delivered.N != 7 || h.Delivered.Excluded["no_receipt"] != 0 || len(h.Delivered.Records) != 7 {
		t.Fatalf("before: %+v", h.Delivered)
	}
	removed := h.Delivered.Records[0]
	ctx := context.Background()
	d, err := cn.App.Store.GetDelivery(ctx, removed, "jp")
	if err != nil {
		t.Fatal(err)
	}
	d.Receipt = nil
	if err := cn.App.Store.PutDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	after := collab(t, cn, "period=2026-03&partner=jp")
	h, _, _ = after.dir(t, "cn", "jp")
	if h.Delivered.N != 6 || h.Delivered.Excluded["no_receipt"] != 1 {
		t.Errorf("after removing %s's receipt: n=%d excluded=%v, want 6 and no_receipt 1", removed, h.Delivered.N, h.Delivered.Excluded)
	}
	for _, r := range h.Delivered.Records {
		if r == removed {
			t.Errorf("%s still among the delivered figure's records", removed)
		}
	}
	// A receipt that does not verify (one byte of its signature changed) is left out too.
	d2, err := cn.App.Store.GetDelivery(ctx, h.Delivered.Records[0], "jp")
	if err != nil {
		t.Fatal(err)
	}
	var r envelope.Receipt
	if err := json.Unmarshal(d2.Receipt, &r); err != nil {
		t.Fatal(err)
	}
	r.Signature[0] ^= 1
	d2.Receipt = r.Marshal()
	if err := cn.App.Store.PutDelivery(ctx, d2); err != nil {
		t.Fatal(err)
	}
	h, _, _ = collab(t, cn, "period=2026-03&partner=jp").dir(t, "cn", "jp")
	if h.Delivered.N != 5 || h.Delivered.Excluded["receipt_not_verified"] != 1 {
		t.Errorf("after a forged receipt: n=%d excluded=%v", h.Delivered.N, h.Delivered.Excluded)
	}
	// The acknowledgement figure does not rest on receipts: unchanged.
	if h.Acknowledged.N != 6 {
		t.Errorf("acknowledged n=%d", h.Acknowledged.N)
	}
}

// Every team publishes its aggregates; the joint report is the same at every node,
// attributes each team's figures to it, and no aggregate carries case content.
func TestJointReportIdenticalAtEveryNode(t *testing.T) {
	n, _ := startHistoryNet(t)
	checkJointReport(t, n)
}

// The same with jp's node on PostgreSQL: its figures, read from PostgreSQL, are the ones
// computed by hand, and the joint report is still the same at every node.
func TestJointReportIdenticalWithANodeOnPostgres(t *testing.T) {
	n, _ := startHistoryNet(t, testnet.Options{Databases: onPostgres(t, "jp")})
	if d := n.Node("jp").App.Store.Dialect(); d != "postgres" {
		t.Fatalf("jp runs on %s", d)
	}
	checkJointReport(t, n)
}

func checkJointReport(t *testing.T, n *testnet.Net) {
	ctx := context.Background()
	for _, nd := range n.Nodes {
		if _, err := nd.App.Publisher.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var bodies [][]byte
	eventually(t, 15*time.Second, "every node holds the three teams' aggregates", func() error {
		bodies = bodies[:0]
		for _, nd := range n.Nodes {
			b := getOK(t, nd, "/api/v1/metrics/joint?period=2026-03")
			var j struct {
				Teams   []struct{ Team string } `json:"teams"`
				Missing []string                `json:"missing"`
			}
			json.Unmarshal(b, &j)
			if len(j.Teams) != 3 || len(j.Missing) != 0 {
				return fmt.Errorf("%s: %d teams, missing %v", nd.Team, len(j.Teams), j.Missing)
			}
			bodies = append(bodies, b)
		}
		// An older aggregate (one the history published mid-month) may still be what a
		// node holds of a partner until the new one arrives: wait for the latest at all.
		for i := 1; i < len(bodies); i++ {
			if !bytes.Equal(bodies[0], bodies[i]) {
				return fmt.Errorf("the joint report differs between %s and %s:\n%s\n%s", n.Nodes[0].Team, n.Nodes[i].Team, bodies[0], bodies[i])
			}
		}
		return nil
	})
	// Each team's figures are its own: cn's say what cn computed for cn → jp.
	var j struct {
		Teams []struct {
			Team       string                  `json:"team"`
			Directions []wire.AggregatePairDir `json:"directions"`
		} `json:"teams"`
	}
	json.Unmarshal(bodies[0], &j)
	found := false
	for _, tm := range j.Teams {
		for _, d := range tm.Directions {
			if d.From != tm.Team && d.To != tm.Team {
				t.Errorf("%s reports %s → %s, a pair it is not in", tm.Team, d.From, d.To)
			}
			if tm.Team == "cn" && d.From == "cn" && d.To == "jp" {
				found = true
				if a := d.Hotline.Acknowledged; a.N != 6 || a.P50 != 300 || a.P95 != 4000 {
					t.Errorf("cn's cn → jp in the joint report: %+v", a)
				}
			}
		}
	}
	if !found {
		t.Error("cn's cn → jp is not in the joint report")
	}
	// The sharing, feed and case sections are in the joint report too, as each team
	// published them: jp's takedown times for jp → cn, cn's feed run.
	var j2 struct {
		Teams []struct {
			Team       string                  `json:"team"`
			Own        wire.AggregateOwn       `json:"own"`
			Directions []wire.AggregatePairDir `json:"directions"`
		} `json:"teams"`
	}
	json.Unmarshal(bodies[0], &j2)
	sections := 0
	for _, tm := range j2.Teams {
		if tm.Team == "cn" && (tm.Own.Feeds == nil || tm.Own.Feeds.Events != 100 || tm.Own.Feeds.Unrouted != 10) {
			t.Errorf("cn's own feeds in the joint report: %+v", tm.Own.Feeds)
		}
		for _, d := range tm.Directions {
			if d.Sharing == nil || d.Feeds == nil || d.CVD == nil {
				t.Errorf("%s's %s → %s has no sharing, feed or case section", tm.Team, d.From, d.To)
				continue
			}
			if tm.Team == "jp" && d.From == "jp" && d.To == "cn" {
				sections++
				if f := d.Sharing.TimeToTakedown; d.Sharing.Objects != 2 || f.N != 2 || f.P50 != 3600 || f.P95 != 86400 {
					t.Errorf("jp's jp → cn sharing in the joint report: %+v", d.Sharing)
				}
			}
			if tm.Team == "jp" && d.From == "cn" && d.To == "jp" {
				sections++
				if d.Feeds.Events != 30 || d.CVD.Cases != 1 || d.CVD.TimeToPublication.P50 != 864000 {
					t.Errorf("jp's cn → jp feeds and cases in the joint report: %+v %+v", d.Feeds, d.CVD)
				}
			}
		}
	}
	if sections != 2 {
		t.Errorf("%d of jp's two directions with cn found in the joint report", sections)
	}

	// No case content in any aggregate that left a node: no incident or page ids, no
	// titles, no comments, no people.
	forbidden := []string{"TOPSECRETTITLE", "SECRETCOMMENT", "Seeded", "duty", "cn-2026-", "jp-2026-", "kr-2026-",
		"secretphish", "SECRETCASE", "SecretVendor", "scan_telnet", "cn-telecom", "Reported back"}
	seen := 0
	for _, nd := range n.Nodes {
		for _, peer := range n.Nodes {
			if peer == nd {
				continue
			}
			items, err := nd.App.Store.Sent(ctx, peer.Team)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.Type != wire.TypeMetricsAggregate {
					continue
				}
				e, err := envelope.Unmarshal(it.Envelope)
				if err != nil {
					t.Fatal(err)
				}
				seen++
				if e.TLP != "GREEN" {
					t.Errorf("an aggregate went as %s", e.TLP)
				}
				if _, err := wire.DecodeMetricsAggregate(e.Payload); err != nil {
					t.Errorf("an aggregate that is not one: %v", err)
				}
				for _, f := range forbidden {
					if strings.Contains(string(e.Payload), f) {
						t.Errorf("an aggregate from %s to %s holds %q: %s", nd.Team, peer.Team, f, e.Payload)
					}
				}
			}
		}
	}
	if seen < 6 {
		t.Errorf("only %d aggregate envelopes seen", seen)
	}
	// Publishing again with nothing changed sends nothing.
	if k, err := n.Node("cn").App.Publisher.Publish(ctx); err != nil || k != 0 {
		t.Errorf("a second publication sent %d (%v)", k, err)
	}
}

// getOK returns the body of a 200 answer as the node's admin.
func getOK(t *testing.T, nd *testnet.Node, path string) []byte {
	t.Helper()
	resp, b := rawGet(t, nd, path)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}
