package oncall

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Shift kinds of a rotation.
const (
	Daily  = "daily"  // hand-off every Every days at Start's local wall-clock time
	Weekly = "weekly" // hand-off every Every weeks at Start's local weekday and time
	Hours  = "hours"  // hand-off every Every hours of elapsed time, whatever the clocks say
)

// StartLayout is the layout of Rotation.Start: a wall-clock time in the rotation's zone.
const StartLayout = "2006-01-02T15:04"

// The longest shift of each kind: a year. Longer is a typing error, and the bound keeps
// every computation far from overflow.
const (
	maxEveryDays  = 366
	maxEveryWeeks = 53
	maxEveryHours = 366 * 24
)

// ShiftAt and OnCall answer for instants in years 1 to 9999 only (not the zero time);
// outside that Start cannot be written and time arithmetic nears its limits.
var (
	minInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Rotation is an on-call rota: its members take turns in order, handing off at a local
// wall-clock time in the team's zone (or after a fixed number of hours).
//
// The schedule runs backwards from Start as it runs forwards: the shift just before
// Start belongs to the last member, the one before that to the last but one. So an
// instant before Start still has someone on call, and moving Start by whole cycles
// changes nothing.
type Rotation struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"` // IANA zone of the hand-off, e.g. "Asia/Tokyo"
	Shift    string `json:"shift"`    // Daily, Weekly or Hours
	// Every is the shift length: Every days, weeks or hours; 1 to a year's worth.
	Every int `json:"every"`
	// Start is the first hand-off, a wall-clock time in Timezone (StartLayout). For
	// daily and weekly shifts its time of day is every later hand-off's.
	Start string `json:"start"`
	// Members are user names in order of their turn; the first takes the shift at Start.
	// A name may appear more than once.
	Members []string `json:"members"`
}

// Shift is one person's time on call in a rotation. Times are UTC; End is exclusive.
type Shift struct {
	User     string    `json:"user"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Rotation string    `json:"rotation"`
	// Override says the shift is an override's, not the rota's; OverrideID names it.
	Override   bool   `json:"override"`
	OverrideID string `json:"override_id,omitempty"`
}

// Contains reports whether t falls within the shift.
func (s Shift) Contains(t time.Time) bool { return !t.Before(s.Start) && t.Before(s.End) }

// schedule is a validated rotation ready for arithmetic.
type schedule struct {
	id      string
	members []string
	loc     *time.Location
	wall    time.Time // Start's wall clock, as fields of a UTC time
	days    int       // days between hand-offs; 0 for Hours
	period  int64     // seconds between hand-offs, for Hours
	first   time.Time // the hand-off at Start
}

// Validate checks every field; errors are *FieldError values named by JSON field.
func (r Rotation) Validate() error {
	_, err := r.compile()
	return err
}

func (r Rotation) compile() (*schedule, error) {
	p := problems{object: fmt.Sprintf("rotation %q", r.ID)}
	if strings.TrimSpace(r.ID) == "" {
		p.add("id", "required")
	}
	if strings.TrimSpace(r.Name) == "" {
		p.add("name", "required")
	}
	var loc *time.Location
	switch r.Timezone {
	case "":
		p.add("timezone", "required")
	case "Local":
		// Would make the schedule depend on the machine it runs on.
		p.add("timezone", `"Local" is not an IANA time zone`)
	default:
		l, err := time.LoadLocation(r.Timezone)
		if err != nil {
			p.add("timezone", "%q is not an IANA time zone", r.Timezone)
		}
		loc = l
	}
	s := &schedule{id: r.ID, members: r.Members, loc: loc}
	var most int
	switch r.Shift {
	case Daily:
		most, s.days = maxEveryDays, r.Every
	case Weekly:
		most, s.days = maxEveryWeeks, 7*r.Every
	case Hours:
		most, s.period = maxEveryHours, int64(r.Every)*3600
	default:
		p.add("shift", "%q is not %s, %s or %s", r.Shift, Daily, Weekly, Hours)
	}
	if r.Every < 1 {
		p.add("every", "must be at least 1")
	} else if most > 0 && r.Every > most {
		p.add("every", "must be at most %d for %s shifts", most, r.Shift)
	}
	wall, err := time.Parse(StartLayout, r.Start)
	if err != nil {
		p.add("start", "%q is not a local time like 2026-04-01T09:00", r.Start)
	}
	s.wall = wall
	if len(r.Members) == 0 {
		p.add("members", "at least one member required")
	}
	for i, m := range r.Members {
		if strings.TrimSpace(m) == "" {
			p.add(fmt.Sprintf("members[%d]", i), "blank user name")
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	s.first = wallClock(wall, loc)
	return s, nil
}

// ShiftAt returns the rota's shift covering t, before any override.
func (r Rotation) ShiftAt(t time.Time) (Shift, error) {
	s, err := r.compile()
	if err != nil {
		return Shift{}, err
	}
	if err := inRange(t); err != nil {
		return Shift{}, err
	}
	return s.at(t), nil
}

// Handoffs lists the rota's hand-offs (shift starts, before overrides) in [from, to).
func (r Rotation) Handoffs(from, to time.Time) ([]time.Time, error) {
	s, err := r.compile()
	if err != nil {
		return nil, err
	}
	if err := checkWindow(from, to); err != nil {
		return nil, err
	}
	var out []time.Time
	sh := s.at(from)
	if !sh.Start.Before(from) {
		out = append(out, sh.Start)
	}
	for sh.End.Before(to) {
		if len(out) == maxShifts {
			return nil, fmt.Errorf("to: more than %d hand-offs between from and to", maxShifts)
		}
		out = append(out, sh.End)
		sh = s.at(sh.End)
	}
	return out, nil
}

func inRange(t time.Time) error {
	if t.IsZero() {
		// Surely a time the caller forgot to set, not a question about year 1.
		return errors.New("time is zero (unset)")
	}
	if t.Before(minInstant) || !t.Before(maxInstant) {
		return fmt.Errorf("time %s is outside years 1 to 9999", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// handoff returns the n-th hand-off; n may be negative.
func (s *schedule) handoff(n int64) time.Time {
	if s.days == 0 {
		return time.Unix(s.first.Unix()+n*s.period, 0).UTC()
	}
	return wallClock(s.wall.AddDate(0, 0, int(n)*s.days), s.loc)
}

// slack bounds, in seconds, how far a wall-clock hand-off can fall from its place on
// a uniform grid laid from the first one: at most the difference of two UTC offsets.
const slack = 2 * maxOffset

// at returns the shift covering t, which must be in range.
//
// Shift n starts at hand-off n and runs until the earliest later hand-off. Wherever the
// clocks move by less than a shift this is simply hand-off n+1. The general rule
// matters only where a zone jumps a whole day or more (Pacific/Apia skipped 30 December
// 2011): a hand-off not before its successor gives an empty shift, which is skipped, so
// shifts never overlap and every instant has exactly one.
func (s *schedule) at(t time.Time) Shift {
	n := s.last(t)
	return Shift{
		User:     s.members[floorMod(n, int64(len(s.members)))],
		Start:    s.handoff(n),
		End:      s.next(n),
		Rotation: s.id,
	}
}

// last returns the number of the last hand-off not after t.
func (s *schedule) last(t time.Time) int64 {
	secs := t.Unix() - s.first.Unix()
	if s.days == 0 {
		return floorDiv(secs, s.period)
	}
	// Above this estimate every hand-off is after t; step down to the last one not.
	n := floorDiv(secs+slack, s.nominal()) + 1
	for s.handoff(n).After(t) {
		n--
	}
	return n
}

// next returns the earliest hand-off after number n. Only those within two slacks of
// n+1 on the uniform grid can come before it.
func (s *schedule) next(n int64) time.Time {
	e := s.handoff(n + 1)
	if s.days == 0 {
		return e
	}
	for k := n + 2; k <= n+2+2*slack/s.nominal(); k++ {
		if h := s.handoff(k); h.Before(e) {
			e = h
		}
	}
	return e
}

// nominal is the seconds between daily or weekly hand-offs when the clocks do not move.
func (s *schedule) nominal() int64 { return int64(s.days) * 86400 }
