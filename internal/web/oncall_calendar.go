package web

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// calendarDays is how far the on-call calendar looks: the next two weeks.
const calendarDays = 14

// calendarPage is who is on call, day by day, in the viewer's zone: a column per
// rotation of ours, then one per partner rotation (of which we know only the current
// and next shifts, from the partner's last summary).
type calendarPage struct {
	Columns    []calendarColumn
	Days       []calendarDay
	Prev, Next string // the from= of the previous and next two weeks
	Today      bool   // the calendar starts today
}

// calendarColumn is one rotation.
type calendarColumn struct {
	ID, Name string
	Team     string // "" for ours, else the partner's id
	Timezone string
	// Until is the end of what we know of a partner's rota (the end of its next shift).
	Until time.Time
}

type calendarDay struct {
	Start time.Time // midnight in the viewer's zone
	Today bool
	Cells [][]calendarShift // per column
}

// calendarShift is the part of one shift that falls on a day.
type calendarShift struct {
	User       string
	Override   bool
	Now        bool
	Partner    bool
	Rotation   string
	Start, End time.Time // the whole shift, UTC
	// From and To are the times of day the shift covers on this day, in the viewer's
	// zone ("24:00" for a shift running past midnight), and Zone the same in the
	// rotation's zone when it reads differently ("" else).
	From, To, Zone string
	Before         bool // it began on an earlier day
	After          bool // it goes on past this day
}

// CoverURL is the on-call screen's override form filled in to take over this shift.
func (s calendarShift) CoverURL() string {
	q := url.Values{"cover": {s.Rotation}, "start": {s.Start.UTC().Format(time.RFC3339)}, "end": {s.End.UTC().Format(time.RFC3339)}}
	return "/oncall?" + q.Encode() + "#override"
}

func (c *Console) onCallCalendar(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	now := v.Now.In(v.Loc)
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, v.Loc)
	if f := r.URL.Query().Get("from"); f != "" {
		if d, err := time.ParseInLocation("2006-01-02", f, v.Loc); err == nil && d.Year() >= 2000 && d.Year() < 9000 {
			first = d
		}
	}
	var page calendarPage
	page.Today = first.Equal(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, v.Loc))
	page.Prev = first.AddDate(0, 0, -calendarDays).Format("2006-01-02")
	page.Next = first.AddDate(0, 0, calendarDays).Format("2006-01-02")
	last := first.AddDate(0, 0, calendarDays)

	cfg, err := c.d.Hotline.Config(ctx)
	if err != nil {
		return err
	}
	var shifts [][]calendarShift // per column, whole shifts
	for _, rt := range cfg.Rotations {
		list, err := rt.Shifts(cfg.Overrides, first.UTC(), last.UTC())
		if err != nil {
			return err
		}
		page.Columns = append(page.Columns, calendarColumn{ID: rt.ID, Name: rt.Name, Timezone: rt.Timezone})
		col := make([]calendarShift, 0, len(list))
		for _, s := range list {
			col = append(col, calendarShift{User: s.User, Override: s.Override, Rotation: rt.ID, Start: s.Start, End: s.End})
		}
		shifts = append(shifts, col)
	}
	partners, err := c.d.Hotline.PartnersOnCall(ctx)
	if err != nil {
		return err
	}
	for _, p := range partners {
		for _, rt := range p.Rotations {
			tz := rt.Timezone
			if tz == "" {
				tz = p.Timezone
			}
			page.Columns = append(page.Columns, calendarColumn{ID: rt.ID, Name: rt.Name, Team: p.Team, Timezone: tz, Until: rt.Next.End})
			var col []calendarShift
			for _, s := range []struct {
				User       string
				Start, End time.Time
			}{{rt.Current.User, rt.Current.Start, rt.Current.End}, {rt.Next.User, rt.Next.Start, rt.Next.End}} {
				if s.User != "" && s.End.After(s.Start) {
					col = append(col, calendarShift{User: s.User, Partner: true, Rotation: rt.ID, Start: s.Start, End: s.End})
				}
			}
			shifts = append(shifts, col)
		}
	}
	for d := range calendarDays {
		start := first.AddDate(0, 0, d)
		end := first.AddDate(0, 0, d+1)
		day := calendarDay{Start: start, Today: start.Equal(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, v.Loc))}
		for i, col := range shifts {
			var cell []calendarShift
			for _, s := range col {
				if !s.End.After(start) || !s.Start.Before(end) {
					continue
				}
				s.Before, s.After = s.Start.Before(start), s.End.After(end)
				s.Now = !v.Now.Before(s.Start) && v.Now.Before(s.End)
				from, to := maxTime(s.Start, start), minTime(s.End, end)
				s.From, s.To = clockIn(from, v.Loc, false), clockIn(to, v.Loc, to.Equal(end))
				if tz := page.Columns[i].Timezone; tz != "" && !sameOffset(from, zone(tz), v.Loc) {
					s.Zone = clockIn(from, zone(tz), false) + "–" + clockIn(to, zone(tz), false) + " " + zoneLabel(from.In(zone(tz)))
				}
				cell = append(cell, s)
			}
			day.Cells = append(day.Cells, cell)
		}
		page.Days = append(page.Days, day)
	}
	v.Nav, v.Live = "oncall", ""
	return c.render(w, v, http.StatusOK, "oncall_calendar", v.T("oncall.calendar"), page)
}

// clockIn is t's time of day in loc; midnight at the end of a day reads "24:00".
func clockIn(t time.Time, loc *time.Location, endOfDay bool) string {
	if endOfDay {
		return "24:00"
	}
	return t.In(loc).Format("15:04")
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// DayLabel names a calendar day: its weekday and date, or "today"/"tomorrow".
func (v *view) DayLabel(t time.Time) string {
	return v.T("calendar.day", v.T(fmt.Sprintf("weekday.%d", int(t.Weekday()))), v.dayWords(t, v.Loc))
}
