package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Period kinds.
const (
	Week    = "week"
	Month   = "month"
	Quarter = "quarter"
	Year    = "year"
)

// Period is a span of time figures are computed over: [From, To) in UTC. Every team
// uses UTC boundaries, so that the figures of teams in different time zones cover the
// same span and a joint report adds up.
type Period struct {
	Kind string    `json:"kind"`
	Name string    `json:"name"` // 2026, 2026Q3, 2026-12, 2026-W07
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

var (
	reYear    = regexp.MustCompile(`^(\d{4})$`)
	reQuarter = regexp.MustCompile(`^(\d{4})Q([1-4])$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(0[1-9]|1[0-2])$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$`)
)

// ParsePeriod reads a period: a year (2026), a quarter (2026Q3), a month (2026-12) or
// an ISO week (2026-W07). Years from 2000 to 2199.
func ParsePeriod(s string) (Period, error) {
	year := func(m []string) (int, error) {
		y, _ := strconv.Atoi(m[1])
		if y < 2000 || y > 2199 {
			return 0, fmt.Errorf("period %q: the year must be from 2000 to 2199", s)
		}
		return y, nil
	}
	if len(s) > 16 {
		return Period{}, fmt.Errorf("period: longer than 16 characters")
	}
	switch {
	case reYear.MatchString(s):
		y, err := year(reYear.FindStringSubmatch(s))
		if err != nil {
			return Period{}, err
		}
		from := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Year, Name: s, From: from, To: from.AddDate(1, 0, 0)}, nil
	case reQuarter.MatchString(s):
		m := reQuarter.FindStringSubmatch(s)
		y, err := year(m)
		if err != nil {
			return Period{}, err
		}
		q, _ := strconv.Atoi(m[2])
		from := time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Quarter, Name: s, From: from, To: from.AddDate(0, 3, 0)}, nil
	case reMonth.MatchString(s):
		m := reMonth.FindStringSubmatch(s)
		y, err := year(m)
		if err != nil {
			return Period{}, err
		}
		mo, _ := strconv.Atoi(m[2])
		from := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Month, Name: s, From: from, To: from.AddDate(0, 1, 0)}, nil
	case reWeek.MatchString(s):
		m := reWeek.FindStringSubmatch(s)
		y, err := year(m)
		if err != nil {
			return Period{}, err
		}
		w, _ := strconv.Atoi(m[2])
		// ISO 8601: week 1 holds the year's first Thursday; weeks start on Monday.
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		from := monday.AddDate(0, 0, 7*(w-1))
		if wy, ww := from.ISOWeek(); wy != y || ww != w {
			return Period{}, fmt.Errorf("period %q: %d has no week %d", s, y, w)
		}
		return Period{Kind: Week, Name: s, From: from, To: from.AddDate(0, 0, 7)}, nil
	}
	return Period{}, fmt.Errorf("period %q: not a year (2026), quarter (2026Q3), month (2026-12) or week (2026-W07)", s)
}

// Months lists the months of a year or quarter (a month is its own; a week has none).
func (p Period) Months() []Period {
	var out []Period
	if p.Kind == Week {
		return nil
	}
	for t := p.From; t.Before(p.To); t = t.AddDate(0, 1, 0) {
		m, _ := ParsePeriod(t.Format("2006-01"))
		out = append(out, m)
	}
	return out
}

// Published is the periods a node publishes aggregates of at now: the current and the
// previous year, and their quarters and months up to now.
func Published(now time.Time) []Period {
	now = now.UTC()
	var out []Period
	for _, y := range []int{now.Year() - 1, now.Year()} {
		yp, _ := ParsePeriod(strconv.Itoa(y))
		if yp.From.After(now) {
			continue
		}
		out = append(out, yp)
		for q := 1; q <= 4; q++ {
			qp, _ := ParsePeriod(fmt.Sprintf("%dQ%d", y, q))
			if qp.From.After(now) {
				break
			}
			out = append(out, qp)
		}
		for _, mp := range yp.Months() {
			if mp.From.After(now) {
				break
			}
			out = append(out, mp)
		}
	}
	return out
}
