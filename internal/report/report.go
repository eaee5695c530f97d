// Package report writes the joint report of the collaboration for a period: one
// self-contained, print-ready HTML file (A4 pages, SVG charts drawn here, fonts for
// Chinese, Japanese and Korean by font-family stack, no script, nothing fetched) and a
// CSV file per table, in English, Simplified Chinese, Japanese or Korean from the
// catalogs in locales/. It draws only what the joint report holds: each team's own
// published figures, attributed to it.
package report

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/metrics"
	"csirtlink/internal/wire"
)

//go:embed locales/*.json report.html.tmpl
var files embed.FS

// Languages are the report's languages, in the catalogs' names.
var Languages = []string{"en", "zh-Hans", "ja", "ko"}

// Catalog is one language's messages by key.
type Catalog map[string]string

// LoadCatalog reads a language's catalog.
func LoadCatalog(lang string) (Catalog, error) {
	if !slices.Contains(Languages, lang) {
		return nil, fmt.Errorf("language %q: not one of %s", lang, strings.Join(Languages, ", "))
	}
	b, err := files.ReadFile("locales/" + lang + ".json")
	if err != nil {
		return nil, err
	}
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	return c, nil
}

// Data is what a report is drawn from.
type Data struct {
	Joint  metrics.Joint   // the period's joint report
	Months []metrics.Joint // the joint report of each month of the period
	Names  map[string]string
	By     string // the team whose node produced the report
	At     time.Time
}

// Table is one table of the report, as written to HTML and CSV.
type Table struct {
	Name   string // the CSV file's name, without .csv
	Title  string
	Header []string
	Rows   [][]string
	Note   string
}

// Chart is one SVG chart.
type Chart struct {
	Title string
	SVG   template.HTML
	Note  string
}

// Write renders the report in lang into dir: report.html and one CSV per table. It
// returns the files written.
func Write(d Data, lang, dir string) ([]string, error) {
	cat, err := LoadCatalog(lang)
	if err != nil {
		return nil, err
	}
	r := &renderer{d: d, c: cat, lang: lang}
	tables := []Table{r.teamsTable(), r.hotlineTable(), r.incidentTable(), r.commCheckTable(), r.categoryTable(),
		r.sharingTable(), r.feedTable(), r.feedRouteTable(), r.cvdTable()}
	charts := []Chart{r.categoryChart(), r.crossBorderChart()}
	charts = append(charts, r.responseCharts()...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, t := range tables {
		var buf bytes.Buffer
		buf.WriteString("\ufeff") // so that spreadsheet programs read UTF-8
		w := csv.NewWriter(&buf)
		w.Write(t.Header)
		w.WriteAll(t.Rows)
		if err := w.Error(); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, t.Name+".csv")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		written = append(written, p)
	}
	tmpl, err := template.New("report.html.tmpl").Funcs(template.FuncMap{"t": r.t}).ParseFS(files, "report.html.tmpl")
	if err != nil {
		return nil, err
	}
	missing := []string{}
	for _, m := range d.Joint.Missing {
		missing = append(missing, r.name(m))
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{"Lang": lang, "Period": r.period(d.Joint.Period), "By": r.name(d.By),
		"At": d.At.UTC().Format("2006-01-02 15:04 UTC"), "Tables": tables, "Charts": charts, "Missing": strings.Join(missing, ", "),
		"Teams": len(d.Joint.Teams), "Takedown": r.takedownChart()})
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	p := filepath.Join(dir, "report.html")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return append(written, p), nil
}

type renderer struct {
	d    Data
	c    Catalog
	lang string
	err  error // the first missing key
}

// t looks a key up; a key the catalog lacks is an error of the whole report, never
// English text in another language.
func (r *renderer) t(key string, args ...any) string {
	s, ok := r.c[key]
	if !ok {
		if r.err == nil {
			r.err = fmt.Errorf("catalog %s: no %q", r.lang, key)
		}
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

func (r *renderer) name(team string) string {
	if n := r.d.Names[team]; n != "" {
		return n
	}
	return team
}

func (r *renderer) pair(from, to string) string { return r.name(from) + " → " + r.name(to) }

// period names a period in the report's language.
func (r *renderer) period(p metrics.Period) string {
	switch p.Kind {
	case metrics.Year:
		return r.t("period.year", p.From.Year())
	case metrics.Quarter:
		return r.t("period.quarter", p.From.Year(), int(p.From.Month()-1)/3+1)
	case metrics.Month:
		return r.t("period.month", p.From.Year(), r.month(p.From.Month()))
	}
	return p.Name
}

func (r *renderer) month(m time.Month) string { return r.t("month." + strconv.Itoa(int(m))) }

// dur writes seconds readably, in the report's units.
func (r *renderer) dur(secs float64) string {
	switch {
	case secs < 90:
		return r.t("unit.s", int(math.Round(secs)))
	case secs < 90*60:
		return r.t("unit.min", int(math.Round(secs/60)))
	case secs < 36*3600:
		return r.t("unit.h", strconv.FormatFloat(secs/3600, 'f', 1, 64))
	}
	return r.t("unit.d", strconv.FormatFloat(secs/86400, 'f', 1, 64))
}

// fig writes a figure's p50, p95 and max, or a dash without records.
func (r *renderer) fig(f wire.AggregateFigure) []string {
	if f.N == 0 {
		return []string{"0", "–", "–", "–"}
	}
	return []string{strconv.Itoa(f.N), r.dur(f.P50), r.dur(f.P95), r.dur(f.Max)}
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return strconv.Itoa(int(math.Round(float64(n)*100/float64(of)))) + "%"
}

// directions lists each team's reported directions, by reporting team, then pair.
func (r *renderer) directions(keep func(wire.AggregatePairDir) bool) [][2]any {
	var out [][2]any
	for _, tm := range r.d.Joint.Teams {
		for _, d := range tm.Directions {
			if keep(d) {
				out = append(out, [2]any{tm.Team, d})
			}
		}
	}
	return out
}

func (r *renderer) teamsTable() Table {
	t := Table{Name: "teams", Title: r.t("table.teams"), Note: r.t("note.teams"),
		Header: []string{r.t("col.team"), r.t("col.incidents"), r.t("col.crossborder"), r.t("col.share"), r.t("col.published")}}
	for _, tm := range r.d.Joint.Teams {
		t.Rows = append(t.Rows, []string{r.name(tm.Team), strconv.Itoa(tm.Own.IncidentsCoordinated), strconv.Itoa(tm.Own.CrossBorderCoordinated),
			pct(tm.Own.CrossBorderCoordinated, tm.Own.IncidentsCoordinated), tm.At.UTC().Format("2006-01-02 15:04 UTC")})
	}
	return t
}

func (r *renderer) hotlineTable() Table {
	t := Table{Name: "hotline", Title: r.t("table.hotline"), Note: r.t("note.hotline"),
		Header: []string{r.t("col.reporter"), r.t("col.pair"), r.t("col.pages"), r.t("col.acked"), "p50", "p95", r.t("col.max"), r.t("col.within15"), r.t("col.within1h")}}
	for _, x := range r.directions(func(d wire.AggregatePairDir) bool { return d.Hotline.Pages > 0 }) {
		d := x[1].(wire.AggregatePairDir)
		h := d.Hotline
		t.Rows = append(t.Rows, append(append([]string{r.name(x[0].(string)), r.pair(d.From, d.To), strconv.Itoa(h.Pages)}, r.fig(h.Acknowledged)...),
			pct(h.AckWithin15m, h.Pages), pct(h.AckWithin1h, h.Pages)))
	}
	return t
}

func (r *renderer) incidentTable() Table {
	t := Table{Name: "incidents", Title: r.t("table.incidents"), Note: r.t("note.incidents"),
		Header: []string{r.t("col.reporter"), r.t("col.pair"), r.t("col.crossborder"), r.t("col.acked"), "p50", "p95", r.t("col.max"),
			r.t("col.firstentry") + " p50", r.t("col.done") + " p50", r.t("col.closed") + " p50"}}
	p50 := func(f wire.AggregateFigure) string {
		if f.N == 0 {
			return "–"
		}
		return r.dur(f.P50)
	}
	for _, x := range r.directions(func(d wire.AggregatePairDir) bool { return d.Incidents.CrossBorder > 0 }) {
		d := x[1].(wire.AggregatePairDir)
		in := d.Incidents
		t.Rows = append(t.Rows, append(append([]string{r.name(x[0].(string)), r.pair(d.From, d.To), strconv.Itoa(in.CrossBorder)}, r.fig(in.Acknowledged)...),
			p50(in.FirstEntry), p50(in.Done), p50(in.Closed)))
	}
	return t
}

func (r *renderer) commCheckTable() Table {
	t := Table{Name: "commchecks", Title: r.t("table.commchecks"), Note: r.t("note.commchecks"),
		Header: []string{r.t("col.reporter"), r.t("col.pair"), r.t("col.checks"), r.t("col.acked"), "p50", "p95", r.t("col.max")}}
	for _, x := range r.directions(func(d wire.AggregatePairDir) bool { return d.CommChecks.Checks > 0 }) {
		d := x[1].(wire.AggregatePairDir)
		c := d.CommChecks
		f := r.fig(c.Acknowledged)
		t.Rows = append(t.Rows, append([]string{r.name(x[0].(string)), r.pair(d.From, d.To), strconv.Itoa(c.Checks)}, f...))
	}
	return t
}

// monthlyCategories is, per month, the cross-border incidents by RSIT class, each
// counted once at its coordinator.
func (r *renderer) monthlyCategories() ([]string, []map[string]int) {
	var classes []string
	var per []map[string]int
	for _, m := range r.d.Months {
		c := map[string]int{}
		for _, tm := range m.Teams {
			for _, bc := range tm.Own.ByCategory {
				class, _, _ := strings.Cut(bc.Key, "/")
				c[class] += bc.N
				if !slices.Contains(classes, class) {
					classes = append(classes, class)
				}
			}
		}
		per = append(per, c)
	}
	sort.Strings(classes)
	return classes, per
}

func (r *renderer) categoryTable() Table {
	classes, per := r.monthlyCategories()
	t := Table{Name: "categories", Title: r.t("table.categories"), Note: r.t("note.categories"), Header: []string{r.t("col.month")}}
	for _, c := range classes {
		t.Header = append(t.Header, r.t("class."+c))
	}
	t.Header = append(t.Header, r.t("col.total"))
	for i, m := range r.d.Months {
		row := []string{r.period(m.Period)}
		total := 0
		for _, c := range classes {
			row = append(row, strconv.Itoa(per[i][c]))
			total += per[i][c]
		}
		t.Rows = append(t.Rows, append(row, strconv.Itoa(total)))
	}
	return t
}
