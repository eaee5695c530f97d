package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"csirtlink/internal/wire"
)

// palette colours series; chosen to stay apart in print and for common colour blindness.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79"}

// esc escapes text for SVG.
func esc(s string) string { return template.HTMLEscapeString(s) }

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// bars draws a bar chart: one group per label, one bar (or stack) per series.
type bars struct {
	labels  []string
	series  []string
	values  [][]float64 // [label][series]
	stacked bool
	unit    string // the y axis' unit, shown at its top
	w, h    int
}

func (b bars) svg() template.HTML {
	if b.w == 0 {
		b.w, b.h = 680, 260
	}
	const left, right, top, bottom = 48, 10, 22, 40
	legendH := 20 * ((len(b.series) + 2) / 3)
	pw, ph := float64(b.w-left-right), float64(b.h-top-bottom)
	top1 := 0.0
	for _, vs := range b.values {
		sum := 0.0
		for _, v := range vs {
			if b.stacked {
				sum += v
			} else {
				sum = math.Max(sum, v)
			}
		}
		top1 = math.Max(top1, sum)
	}
	ymax := niceMax(top1)
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img">`, b.w, b.h+legendH)
	// Axis and grid: five steps.
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := float64(top) + ph - ph*float64(i)/4
		fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, b.w-right, y, y)
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#444">%s</text>`, left-4, y+3, num(math.Round(v*10)/10))
	}
	if b.unit != "" {
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="10" fill="#444">%s</text>`, 4, top-8, esc(b.unit))
	}
	n := len(b.labels)
	if n == 0 {
		n = 1
	}
	gw := pw / float64(n)
	k := len(b.series)
	for i, label := range b.labels {
		x0 := float64(left) + gw*float64(i)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#222">%s</text>`, x0+gw/2, b.h-bottom+14, esc(label))
		base := 0.0
		for j := range b.series {
			v := b.values[i][j]
			if v <= 0 {
				continue
			}
			hgt := ph * v / ymax
			var x, w float64
			if b.stacked {
				x, w = x0+gw*0.2, gw*0.6
			} else {
				w = gw * 0.8 / float64(k)
				x = x0 + gw*0.1 + w*float64(j)
			}
			y := float64(top) + ph - hgt
			if b.stacked {
				y -= ph * base / ymax
				base += v
			}
			fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
				x, y, w, hgt, palette[j%len(palette)], esc(b.series[j]), num(math.Round(v*10)/10))
		}
	}
	fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#444"/>`, left, b.w-right, float64(top)+ph, float64(top)+ph)
	for j, name := range b.series {
		x := left + (j%3)*((b.w-left)/3)
		y := b.h - 8 + 20*(j/3)
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11" fill="#222">%s</text>`,
			x, y, palette[j%len(palette)], x+14, y+9, esc(name))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// categoryChart is the cross-border incidents per month by RSIT class.
func (r *renderer) categoryChart() Chart {
	classes, per := r.monthlyCategories()
	b := bars{stacked: true, unit: r.t("chart.incidents")}
	for _, c := range classes {
		b.series = append(b.series, r.t("class."+c))
	}
	for i, m := range r.d.Months {
		b.labels = append(b.labels, r.month(m.Period.From.Month()))
		row := make([]float64, len(classes))
		for j, c := range classes {
			row[j] = float64(per[i][c])
		}
		b.values = append(b.values, row)
	}
	return Chart{Title: r.t("chart.categories"), SVG: b.svg(), Note: r.t("note.categories")}
}

// crossBorderChart is each team's coordinated incidents, and how many were cross-border.
func (r *renderer) crossBorderChart() Chart {
	b := bars{series: []string{r.t("col.incidents"), r.t("col.crossborder")}, unit: r.t("chart.incidents"), h: 220}
	for _, tm := range r.d.Joint.Teams {
		b.labels = append(b.labels, r.name(tm.Team)+" ("+pct(tm.Own.CrossBorderCoordinated, tm.Own.IncidentsCoordinated)+")")
		b.values = append(b.values, []float64{float64(tm.Own.IncidentsCoordinated), float64(tm.Own.CrossBorderCoordinated)})
	}
	return Chart{Title: r.t("chart.crossborder"), SVG: b.svg(), Note: r.t("note.crossborder")}
}

// responseCharts draw, for each directed pair, the partner's time to acknowledge pages
// month by month (p50 and p95, in minutes) as the paging team measured it.
func (r *renderer) responseCharts() []Chart {
	type key struct{ from, to string }
	var pairs []key
	seen := map[key]bool{}
	for _, tm := range r.d.Joint.Teams {
		for _, d := range tm.Directions {
			k := key{d.From, d.To}
			if d.From == tm.Team && d.Hotline.Pages > 0 && !seen[k] {
				seen[k] = true
				pairs = append(pairs, k)
			}
		}
	}
	var out []Chart
	for _, p := range pairs {
		b := bars{series: []string{"p50", "p95"}, unit: r.t("chart.minutes"), w: 340, h: 200}
		for _, m := range r.d.Months {
			b.labels = append(b.labels, r.month(m.Period.From.Month()))
			var f wire.AggregateFigure
			for _, tm := range m.Teams {
				if tm.Team != p.from {
					continue
				}
				for _, d := range tm.Directions {
					if d.From == p.from && d.To == p.to {
						f = d.Hotline.Acknowledged
					}
				}
			}
			b.values = append(b.values, []float64{f.P50 / 60, f.P95 / 60})
		}
		out = append(out, Chart{Title: r.t("chart.response", r.pair(p.from, p.to)), SVG: b.svg(), Note: r.t("note.response", r.name(p.from))})
	}
	return out
}
