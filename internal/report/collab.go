package report

import (
	"strconv"
	"strings"

	"csirtlink/internal/wire"
)

// The report's sharing, feed and vulnerability-coordination tables and its takedown
// chart, from the sections version 2 aggregates carry (a team that published version 1
// has none, and shows no row).

func (r *renderer) sharingTable() Table {
	t := Table{Name: "sharing", Title: r.t("table.sharing"), Note: r.t("note.sharing"),
		Header: []string{r.t("col.reporter"), r.t("col.pair"), r.t("col.objects"), r.t("col.sightings"), r.t("col.takedowns"),
			r.t("col.takedowntimes"), "p50", "p95", r.t("col.max")}}
	for _, x := range r.directions(func(d wire.AggregatePairDir) bool { return d.Sharing != nil && d.Sharing.Objects > 0 }) {
		d := x[1].(wire.AggregatePairDir)
		s := d.Sharing
		t.Rows = append(t.Rows, append([]string{r.name(x[0].(string)), r.pair(d.From, d.To), strconv.Itoa(s.Objects),
			strconv.Itoa(s.Sightings), strconv.Itoa(s.Takedowns)}, r.fig(s.TimeToTakedown)...))
	}
	return t
}

func (r *renderer) feedTable() Table {
	t := Table{Name: "feeds", Title: r.t("table.feeds"), Note: r.t("note.feeds"),
		Header: []string{r.t("col.team"), r.t("col.runs"), r.t("col.events"), r.t("col.toowners"), r.t("col.topartners"),
			r.t("col.unrouted"), r.t("col.unroutedshare")}}
	for _, tm := range r.d.Joint.Teams {
		f := tm.Own.Feeds
		if f == nil || f.Runs == 0 {
			continue
		}
		t.Rows = append(t.Rows, []string{r.name(tm.Team), strconv.Itoa(f.Runs), strconv.Itoa(f.Events), strconv.Itoa(f.RoutedOwners),
			strconv.Itoa(f.RoutedPartners), strconv.Itoa(f.Unrouted), pct(f.Unrouted, f.Events)})
	}
	return t
}

func (r *renderer) feedRouteTable() Table {
	t := Table{Name: "feed_routes", Title: r.t("table.feedroutes"), Note: r.t("note.feedroutes"),
		Header: []string{r.t("col.reporter"), r.t("col.pair"), r.t("col.events")}}
	for _, x := range r.directions(func(d wire.AggregatePairDir) bool { return d.Feeds != nil && d.Feeds.Events > 0 }) {
		d := x[1].(wire.AggregatePairDir)
		t.Rows = append(t.Rows, []string{r.name(x[0].(string)), r.pair(d.From, d.To), strconv.Itoa(d.Feeds.Events)})
	}
	return t
}

func (r *renderer) cvdTable() Table {
	t := Table{Name: "cvd", Title: r.t("table.cvd"), Note: r.t("note.cvd"),
		Header: []string{r.t("col.team"), r.t("col.cases"), r.t("col.vendorscontacted"), r.t("col.vendorsreached"),
			r.t("col.publishedcases"), "p50", "p95", r.t("col.max")}}
	for _, tm := range r.d.Joint.Teams {
		c := tm.Own.CVD
		if c == nil || c.Cases == 0 {
			continue
		}
		t.Rows = append(t.Rows, append([]string{r.name(tm.Team), strconv.Itoa(c.Cases), strconv.Itoa(c.VendorsContacted),
			strconv.Itoa(c.VendorsReached), strconv.Itoa(c.Published)}, r.fig(c.TimeToPublication)[1:]...))
	}
	return t
}

// takedownChart is, for each direction whose objects the sharing team saw taken down,
// the days from sharing to the partner's takedown report (p50, p95, slowest), as the
// sharing team measured them from the partner's signed feedback.
func (r *renderer) takedownChart() Chart {
	b := bars{series: []string{"p50", "p95", r.t("col.max")}, unit: r.t("chart.days"), h: 240}
	for _, tm := range r.d.Joint.Teams {
		for _, d := range tm.Directions {
			if d.From != tm.Team || d.Sharing == nil || d.Sharing.TimeToTakedown.N == 0 {
				continue
			}
			f := d.Sharing.TimeToTakedown
			// Team ids, not names: six pairs of full names do not fit under the bars.
			b.labels = append(b.labels, strings.ToUpper(d.From)+" → "+strings.ToUpper(d.To))
			b.values = append(b.values, []float64{f.P50 / 86400, f.P95 / 86400, f.Max / 86400})
		}
	}
	return Chart{Title: r.t("chart.takedown"), SVG: b.svg(), Note: r.t("note.takedown")}
}
