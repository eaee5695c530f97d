package oncall

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Override puts User on call in a rotation from Start until End (exclusive), in place of
// whoever the rota names. Overrides may overlap: at any instant the one that started
// latest wins, and of two that started together the later in the list.
type Override struct {
	ID         string    `json:"id"`
	RotationID string    `json:"rotation_id"`
	User       string    `json:"user"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Note       string    `json:"note,omitempty"`
}

// Validate checks every field; errors are *FieldError values named by JSON field.
func (o Override) Validate() error {
	p := problems{object: fmt.Sprintf("override %q", o.ID)}
	if strings.TrimSpace(o.RotationID) == "" {
		p.add("rotation_id", "required")
	}
	if strings.TrimSpace(o.User) == "" {
		p.add("user", "required")
	}
	if o.Start.IsZero() {
		p.add("start", "required")
	}
	if o.End.IsZero() {
		p.add("end", "required")
	} else if !o.End.After(o.Start) {
		p.add("end", "must be after start")
	}
	return p.err()
}

// maxShifts caps the length of one listing, so a careless range cannot exhaust memory:
// a year of hourly shifts fits.
const maxShifts = 10000

// OnCall returns who is on call in r at t, overrides applied. Overrides of other
// rotations are ignored, so a team's whole list may be passed.
//
// The returned shift is the stretch around t during which the same rota shift or the
// same override is in force: a rota shift cut short by an override ends where the
// override starts, and an override spanning a hand-off is one shift. It is the element
// of Shifts that contains t.
func OnCall(r Rotation, overrides []Override, t time.Time) (Shift, error) {
	s, err := r.compile()
	if err != nil {
		return Shift{}, err
	}
	if err := inRange(t); err != nil {
		return Shift{}, err
	}
	ovs, err := relevant(r.ID, overrides)
	if err != nil {
		return Shift{}, err
	}
	return s.segment(ovs, t), nil
}

// Shifts lists who is on call in r from from until to, for display: rota shifts with
// the overrides cut in, in order, each as OnCall describes it. The first may start
// before from and the last end after to; they are not clipped, so the page can say
// "since Monday 09:00". A range of more than maxShifts shifts is an error.
func (r Rotation) Shifts(overrides []Override, from, to time.Time) ([]Shift, error) {
	s, err := r.compile()
	if err != nil {
		return nil, err
	}
	if err := checkWindow(from, to); err != nil {
		return nil, err
	}
	ovs, err := relevant(r.ID, overrides)
	if err != nil {
		return nil, err
	}
	var out []Shift
	for t := from; t.Before(to); {
		if len(out) == maxShifts {
			return nil, fmt.Errorf("to: more than %d shifts between from and to", maxShifts)
		}
		sh := s.segment(ovs, t)
		out = append(out, sh)
		t = sh.End
	}
	return out, nil
}

func checkWindow(from, to time.Time) error {
	if to.Before(from) {
		return errors.New("to: before from")
	}
	if err := inRange(from); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := inRange(to); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	return nil
}

// relevant returns the overrides of one rotation, in the caller's order, checked: one
// bad override is an error rather than a silently wrong answer about who is on call.
func relevant(rotationID string, overrides []Override) ([]Override, error) {
	var out []Override
	for i, o := range overrides {
		if o.RotationID != rotationID {
			continue
		}
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("overrides[%d]: %w", i, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// winner returns the index of the override in force at t, or -1.
func winner(ovs []Override, t time.Time) int {
	w := -1
	for i, o := range ovs {
		if o.Start.After(t) || !o.End.After(t) {
			continue
		}
		if w < 0 || !o.Start.Before(ovs[w].Start) {
			w = i
		}
	}
	return w
}

// beats reports whether ovs[i] takes precedence over ovs[j] where both apply.
func beats(ovs []Override, i, j int) bool {
	return ovs[i].Start.After(ovs[j].Start) || (ovs[i].Start.Equal(ovs[j].Start) && i > j)
}

// segment returns the stretch around t during which one rota shift or one override is
// in force, t in range.
func (s *schedule) segment(ovs []Override, t time.Time) Shift {
	if w := winner(ovs, t); w >= 0 {
		o := ovs[w]
		sh := Shift{User: o.User, Start: o.Start, End: o.End, Rotation: s.id, Override: true, OverrideID: o.ID}
		// Only an override that beats this one can interrupt it, where that one ends
		// before t or starts after it (had it covered t, it would have won at t).
		for i := range ovs {
			if beats(ovs, i, w) {
				clip(&sh, ovs[i], t)
			}
		}
		sh.Start, sh.End = sh.Start.UTC(), sh.End.UTC()
		return sh
	}
	sh := s.at(t)
	for _, o := range ovs {
		clip(&sh, o, t)
	}
	return sh
}

// clip shortens sh, which holds t, so that o (which does not hold t) falls outside it.
func clip(sh *Shift, o Override, t time.Time) {
	if !o.End.After(t) && o.End.After(sh.Start) {
		sh.Start = o.End.UTC()
	}
	if o.Start.After(t) && o.Start.Before(sh.End) {
		sh.End = o.Start.UTC()
	}
}
