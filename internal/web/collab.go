package web

import (
	"archive/zip"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"csirtlink/internal/metrics"
	"csirtlink/internal/report"
	"csirtlink/internal/team"
)

// The collaboration figures (issue 14): response times between us and our partners,
// from the records this node holds, as percentiles; the trend month by month in charts
// drawn as SVG, each followed by the same numbers as a table; and the joint report of
// every team's published aggregates to download.

// collabPage is the figures screen.
type collabPage struct {
	Periods   []metrics.Period
	Report    metrics.Report
	Figures   []figureRow
	Trend     []trendRow
	AckChart  template.HTML
	NChart    template.HTML
	Joint     bool // the period is one whose joint report exists (not a week)
	Languages []struct{ Code, Name string }
}

// figureRow is one response time: what it measures and its numbers.
type figureRow struct {
	Key    string // the catalog key of its name and method: collab.fig.<Key>, collab.how.<Key>
	Figure metrics.Figure
}

// trendRow is one month of the trend.
type trendRow struct {
	Label     string
	Pages     int
	Incidents int
	P50, P95  *float64 // time to acknowledge pages, seconds
}

// collabPeriod reads the period= parameter: the current year by default.
func (v *view) collabPeriod() (metrics.Period, error) {
	name := strings.TrimSpace(v.r.URL.Query().Get("period"))
	if name == "" {
		name = strconv.Itoa(v.Now.UTC().Year())
	}
	p, err := metrics.ParsePeriod(name)
	if err != nil {
		return p, formError("period", v.T("collab.badPeriod"))
	}
	return p, nil
}

func (c *Console) collaboration(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav, v.FormName = "collab", "collab"
	q := r.URL.Query()
	v.Form.Set("partner", q.Get("partner"))
	page := collabPage{Periods: metrics.Published(v.Now), Languages: languages}
	slices.Reverse(page.Periods)
	p, err := v.collabPeriod()
	status := http.StatusOK
	if err == nil {
		v.Form.Set("period", p.Name)
		err = c.collabFigures(r, v, p, q.Get("partner"), &page)
	}
	if err != nil {
		if !v.fieldErrors("collab", err, nil) {
			return err
		}
		status = http.StatusUnprocessableEntity
		v.Form.Set("period", q.Get("period"))
	}
	return c.render(w, v, status, "collab", v.T("collab.title"), page)
}

// collabFigures fills the page with the period's figures and, month by month, its trend.
func (c *Console) collabFigures(r *http.Request, v *view, p metrics.Period, partner string, page *collabPage) error {
	if partner == c.dir.Self.ID {
		return formError("partner", v.T("collab.notPartner"))
	}
	rep, err := c.d.Metrics.Compute(r.Context(), p, partner)
	if errors.Is(err, metrics.ErrUnknownTeam) {
		return formError("partner", v.T("collab.notPartner"))
	}
	if err != nil {
		return err
	}
	page.Report, page.Joint = rep, p.Kind != metrics.Week
	page.Figures = []figureRow{
		{"delivered", rep.Hotline.Delivered}, {"notified", rep.Hotline.Notified}, {"acknowledged", rep.Hotline.Acknowledged},
		{"commcheck", rep.CommChecks.Acknowledged}, {"invAck", rep.Incidents.Acknowledged}, {"invFirst", rep.Incidents.FirstEntry},
		{"invDone", rep.Incidents.Done}, {"mitigated", rep.Incidents.Mitigated}, {"closed", rep.Incidents.Closed},
		{"takedown", rep.Sharing.TimeToTakedown}, {"publication", rep.CVD.TimeToPublication},
	}
	months := p.Months()
	if p.Kind == metrics.Month || p.Kind == metrics.Week {
		// A month alone shows no trend: the six months up to it do.
		months = nil
		for i := 5; i >= 0; i-- {
			m, _ := metrics.ParsePeriod(p.From.AddDate(0, -i, 0).Format("2006-01"))
			months = append(months, m)
		}
	}
	for _, m := range months {
		if m.From.After(v.Now) {
			break
		}
		mr, err := c.d.Metrics.Compute(r.Context(), m, partner)
		if err != nil {
			return err
		}
		page.Trend = append(page.Trend, trendRow{Label: v.T(fmt.Sprintf("month.%d", int(m.From.Month()))), Pages: mr.Hotline.Pages,
			Incidents: mr.Incidents.CrossBorder, P50: mr.Hotline.Acknowledged.P50, P95: mr.Hotline.Acknowledged.P95})
	}
	ack := barChart{Unit: v.T("collab.minutes"), Series: []string{v.T("collab.median"), v.T("collab.p95")}}
	n := barChart{Unit: v.T("collab.count"), Series: []string{v.T("collab.pages"), v.T("collab.crossBorder")}}
	for _, t := range page.Trend {
		ack.Labels, n.Labels = append(ack.Labels, t.Label), append(n.Labels, t.Label)
		ack.Values = append(ack.Values, []float64{minutes(t.P50), minutes(t.P95)})
		n.Values = append(n.Values, []float64{float64(t.Pages), float64(t.Incidents)})
	}
	page.AckChart, page.NChart = ack.svg("chart-ack"), n.svg("chart-n")
	return nil
}

func minutes(secs *float64) float64 {
	if secs == nil {
		return 0
	}
	return math.Round(*secs/6) / 10
}

// Evidence says, in the viewer's words, what a figure's times rest on (the metrics
// package's tokens, joined by "+"), and whether any of it is signed.
func (v *view) Evidence(ev string) string {
	var out []string
	for _, e := range strings.Split(ev, "+") {
		if e != "" {
			out = append(out, v.T("evidence."+e))
		}
	}
	return strings.Join(out, v.T("list.sep"))
}

// Signed reports whether a figure rests on something a partner signed.
func (v *view) Signed(ev string) bool { return strings.Contains(ev, "signed_") }

// SharePct is a share as a whole percentage, or "—".
func (v *view) SharePct(s metrics.Share) string {
	if s.Share == nil {
		return "—"
	}
	return v.T("collab.pct", int(math.Round(*s.Share*100)))
}

// Minutes is a time in seconds as whole minutes with one decimal, for the trend table.
func (v *view) Minutes(secs *float64) string {
	if secs == nil {
		return "—"
	}
	return strconv.FormatFloat(minutes(secs), 'f', 1, 64)
}

// collabReport serves the joint report of a period (every team's published aggregates)
// in a language: the self-contained HTML page, or a ZIP of it with the CSV of each table.
func (c *Console) collabReport(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := v.collabPeriod()
	if err != nil {
		return err
	}
	if p.Kind == metrics.Week {
		return formError("period", v.T("collab.noWeeks"))
	}
	lang := supported(r.URL.Query().Get("lang"))
	if lang == "" {
		lang = v.Lang
	}
	d := report.Data{At: v.Now.UTC(), Names: map[string]string{c.dir.Self.ID: c.dir.Self.Name}, By: c.dir.Self.ID}
	for _, pr := range c.dir.Peers() {
		d.Names[pr.ID] = pr.Name
	}
	if d.Joint, err = c.d.Joint.Joint(r.Context(), p); err != nil {
		return err
	}
	for _, m := range p.Months() {
		j, err := c.d.Joint.Joint(r.Context(), m)
		if err != nil {
			return err
		}
		d.Months = append(d.Months, j)
	}
	dir, err := os.MkdirTemp("", "csirtlink-report-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files, err := report.Write(d, lang, dir)
	if err != nil {
		return fmt.Errorf("joint report: %w", err)
	}
	name := fmt.Sprintf("csirtlink-%s-%s-%s", c.dir.Self.ID, p.Name, lang)
	if r.URL.Query().Get("format") != "zip" {
		b, err := os.ReadFile(filepath.Join(dir, "report.html"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.html"`)
		_, err = w.Write(b)
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.zip"`)
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := addToZip(zw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addToZip(zw *zip.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := zw.Create(filepath.Base(path))
	if err != nil {
		return err
	}
	_, err = io.Copy(out, f)
	return err
}

// barChart draws grouped bars as SVG: one group per label, one bar per series. Its
// colours come from the stylesheet (classes s0, s1…), so that it follows the light or
// dark scheme; the numbers are also in the table that follows every chart.
type barChart struct {
	Labels []string
	Series []string
	Values [][]float64 // [label][series]
	Unit   string
}

func (b barChart) svg(id string) template.HTML {
	const w, h, left, right, top, bottom = 640, 220, 44, 8, 20, 46
	top1 := 0.0
	for _, vs := range b.Values {
		for _, x := range vs {
			top1 = math.Max(top1, x)
		}
	}
	ymax := 1.0
	if top1 > 0 {
		p := math.Pow(10, math.Floor(math.Log10(top1)))
		for _, m := range []float64{1, 2, 5, 10} {
			if top1 <= m*p {
				ymax = m * p
				break
			}
		}
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	e := template.HTMLEscapeString
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t" focusable="false"><title id="%s-t">%s</title>`,
		w, h, id, id, e(strings.Join(b.Series, " / ")+" ("+b.Unit+")"))
	for i := 0; i <= 4; i++ {
		y := float64(top) + ph - ph*float64(i)/4
		fmt.Fprintf(&s, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`,
			left, w-right, y, y, left-4, y+3, strconv.FormatFloat(math.Round(ymax*float64(i)/4*10)/10, 'f', -1, 64))
	}
	fmt.Fprintf(&s, `<text class="axis" x="4" y="%d">%s</text>`, top-8, e(b.Unit))
	gw := pw / float64(max(len(b.Labels), 1))
	bw := gw * 0.8 / float64(max(len(b.Series), 1))
	for i, label := range b.Labels {
		x0 := float64(left) + gw*float64(i)
		fmt.Fprintf(&s, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+gw/2, h-bottom+14, e(label))
		for j, val := range b.Values[i] {
			hgt := ph * val / ymax
			fmt.Fprintf(&s, `<rect class="s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, j, x0+gw*0.1+bw*float64(j), float64(top)+ph-hgt, bw, hgt)
		}
	}
	for j, name := range b.Series {
		x := left + j*180
		fmt.Fprintf(&s, `<rect class="s%d" x="%d" y="%d" width="10" height="10"/><text class="axis" x="%d" y="%d">%s</text>`, j, x, h-14, x+14, h-5, e(name))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// PeriodName names a period in the viewer's words: "2026", "2026 Q3", "December 2026".
func (v *view) PeriodName(p metrics.Period) string {
	y := strconv.Itoa(p.From.Year())
	switch p.Kind {
	case metrics.Quarter:
		return v.T("period.quarter", y, strconv.Itoa(int(p.From.Month()-1)/3+1))
	case metrics.Month:
		return v.T("period.month", y, v.T(fmt.Sprintf("month.%d", int(p.From.Month()))), strconv.Itoa(int(p.From.Month())))
	case metrics.Week:
		return v.T("period.week", p.Name)
	}
	return v.T("period.year", y)
}

// ActivePeers are the partners not revoked, for a filter.
func (v *view) ActivePeers() []team.Peer { return v.c.activePeers() }

// Has reports whether the node runs a part of the console: "collab" (collaboration
// figures) or "feeds" (network owners and feed runs).
func (v *view) Has(part string) bool {
	switch part {
	case "collab":
		return v.c.d.Metrics != nil && v.c.d.Joint != nil
	case "feeds":
		return v.c.d.Owners != nil && v.c.d.Feeds != nil
	}
	return false
}
