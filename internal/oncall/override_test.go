package oncall

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A Tokyo rota: aki has 1 April, ben 2 April, chie 3 April, aki 4 April, and so on.
func tokyoWeek(t *testing.T) (Rotation, []Override) {
	r := rota("jp-primary", "Asia/Tokyo", Daily, 1, "2026-04-01T09:00", "aki", "ben", "chie")
	ov := func(id, user, from, to string) Override {
		return Override{ID: id, RotationID: r.ID, User: user, Start: ts(t, from), End: ts(t, to)}
	}
	return r, []Override{
		ov("o1", "dan", "2026-04-02 12:00 +0900", "2026-04-02 15:00 +0900"), // inside ben's shift
		ov("o2", "eve", "2026-04-03 20:00 +0900", "2026-04-04 12:00 +0900"), // across a hand-off
		ov("o3", "fay", "2026-04-06 08:00 +0900", "2026-04-06 20:00 +0900"), // across a hand-off...
		ov("o4", "gus", "2026-04-06 10:00 +0900", "2026-04-06 12:00 +0900"), // ...and inside it, later: wins
		{ID: "kr1", RotationID: "kr-primary", User: "zed", Start: ts(t, "2026-04-01 00:00 +0900"), End: ts(t, "2026-04-09 00:00 +0900")},
	}
}

type seg struct {
	user, from, to string // times in Tokyo, "+0900" implied
	override       string // override id, "" for the rota
}

func (s seg) String() string { return fmt.Sprintf("%s %s..%s %s", s.user, s.from, s.to, s.override) }

func segOf(sh Shift) seg {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	f := func(t time.Time) string { return t.In(tokyo).Format("01-02 15:04") }
	return seg{sh.User, f(sh.Start), f(sh.End), sh.OverrideID}
}

func TestOnCallWithOverrides(t *testing.T) {
	r, overrides := tokyoWeek(t)
	tests := []struct {
		name string
		at   string
		want seg
	}{
		{"rota shift cut short by an override", "2026-04-02 11:59 +0900", seg{"ben", "04-02 09:00", "04-02 12:00", ""}},
		{"override inside a shift", "2026-04-02 12:00 +0900", seg{"dan", "04-02 12:00", "04-02 15:00", "o1"}},
		{"override's last minute", "2026-04-02 14:59 +0900", seg{"dan", "04-02 12:00", "04-02 15:00", "o1"}},
		{"rota shift resumes after it", "2026-04-02 15:00 +0900", seg{"ben", "04-02 15:00", "04-03 09:00", ""}},
		{"rota shift until the next override", "2026-04-03 19:00 +0900", seg{"chie", "04-03 09:00", "04-03 20:00", ""}},
		{"override across a hand-off is one shift", "2026-04-04 09:30 +0900", seg{"eve", "04-03 20:00", "04-04 12:00", "o2"}},
		{"next rota member after it", "2026-04-04 12:00 +0900", seg{"aki", "04-04 12:00", "04-05 09:00", ""}},
		{"outer override before the inner one", "2026-04-06 08:30 +0900", seg{"fay", "04-06 08:00", "04-06 10:00", "o3"}},
		{"the later-starting override wins", "2026-04-06 11:00 +0900", seg{"gus", "04-06 10:00", "04-06 12:00", "o4"}},
		{"outer override resumes", "2026-04-06 12:00 +0900", seg{"fay", "04-06 12:00", "04-06 20:00", "o3"}},
		{"rota after both", "2026-04-06 20:00 +0900", seg{"chie", "04-06 20:00", "04-07 09:00", ""}},
		{"another rotation's override is ignored", "2026-04-01 10:00 +0900", seg{"aki", "04-01 09:00", "04-02 09:00", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := OnCall(r, overrides, ts(t, tt.at))
			if err != nil {
				t.Fatal(err)
			}
			if got := segOf(sh); got != tt.want {
				t.Errorf("OnCall(%s) = %v, want %v", tt.at, got, tt.want)
			}
			if sh.Override != (tt.want.override != "") || sh.Rotation != r.ID {
				t.Errorf("OnCall(%s) = %+v: override flag or rotation wrong", tt.at, sh)
			}
			if !sh.Contains(ts(t, tt.at)) {
				t.Errorf("OnCall(%s) = %+v does not contain the instant", tt.at, sh)
			}
		})
	}
}

func TestOverridesStartingTogether(t *testing.T) {
	r, _ := tokyoWeek(t)
	overrides := []Override{
		{ID: "ian", RotationID: r.ID, User: "ian", Start: ts(t, "2026-04-08 10:00 +0900"), End: ts(t, "2026-04-08 13:00 +0900")},
		{ID: "hal", RotationID: r.ID, User: "hal", Start: ts(t, "2026-04-08 10:00 +0900"), End: ts(t, "2026-04-08 11:00 +0900")},
	}
	for at, want := range map[string]seg{
		"2026-04-08 10:00 +0900": {"hal", "04-08 10:00", "04-08 11:00", "hal"}, // the later in the list
		"2026-04-08 11:00 +0900": {"ian", "04-08 11:00", "04-08 13:00", "ian"},
	} {
		sh, err := OnCall(r, overrides, ts(t, at))
		if err != nil || segOf(sh) != want {
			t.Errorf("OnCall(%s) = %v, %v; want %v", at, segOf(sh), err, want)
		}
	}
}

func TestShiftsForAWeek(t *testing.T) {
	r, overrides := tokyoWeek(t)
	got, err := r.Shifts(overrides, ts(t, "2026-04-01 09:00 +0900"), ts(t, "2026-04-08 09:00 +0900"))
	if err != nil {
		t.Fatal(err)
	}
	want := []seg{
		{"aki", "04-01 09:00", "04-02 09:00", ""},
		{"ben", "04-02 09:00", "04-02 12:00", ""},
		{"dan", "04-02 12:00", "04-02 15:00", "o1"},
		{"ben", "04-02 15:00", "04-03 09:00", ""},
		{"chie", "04-03 09:00", "04-03 20:00", ""},
		{"eve", "04-03 20:00", "04-04 12:00", "o2"},
		{"aki", "04-04 12:00", "04-05 09:00", ""},
		{"ben", "04-05 09:00", "04-06 08:00", ""},
		{"fay", "04-06 08:00", "04-06 10:00", "o3"},
		{"gus", "04-06 10:00", "04-06 12:00", "o4"},
		{"fay", "04-06 12:00", "04-06 20:00", "o3"},
		{"chie", "04-06 20:00", "04-07 09:00", ""},
		{"aki", "04-07 09:00", "04-08 09:00", ""},
	}
	var gotSegs []seg
	for _, sh := range got {
		gotSegs = append(gotSegs, segOf(sh))
	}
	if fmt.Sprint(gotSegs) != fmt.Sprint(want) {
		t.Fatalf("Shifts:\n got %v\nwant %v", gotSegs, want)
	}

	// From the middle of a shift, the listing starts with that whole shift.
	got, err = r.Shifts(overrides, ts(t, "2026-04-02 13:00 +0900"), ts(t, "2026-04-02 15:00 +0900"))
	if err != nil || len(got) != 1 || segOf(got[0]) != want[2] {
		t.Errorf("Shifts within dan's override = %v, %v; want just it", got, err)
	}
	if got, err := r.Shifts(nil, ts(t, "2026-04-02 13:00 +0900"), ts(t, "2026-04-02 13:00 +0900")); err != nil || len(got) != 0 {
		t.Errorf("Shifts over an empty range = %v, %v; want none", got, err)
	}
	if _, err := r.Shifts(nil, ts(t, "2026-04-02 13:00 +0900"), ts(t, "2026-04-01 13:00 +0900")); err == nil || !strings.Contains(err.Error(), "to:") {
		t.Errorf("Shifts with to before from: %v, want a to: error", err)
	}
	hourly := rota("h", "UTC", Hours, 1, "2026-01-01T00:00", "a", "b")
	if _, err := hourly.Shifts(nil, ts(t, "2026-01-01 00:00 +0000"), ts(t, "2028-01-01 00:00 +0000")); err == nil {
		t.Error("Shifts listed two years of hourly shifts; want the cap to refuse")
	}
}

// TestShiftsAgreeWithOnCall: every instant of a listing is in the shift OnCall gives
// for it, and the listing has no gaps or overlaps, across a DST change and a pile of
// overlapping overrides.
func TestShiftsAgreeWithOnCall(t *testing.T) {
	r := rota("de-primary", "Europe/Berlin", Daily, 1, "2026-10-20T09:00", "anna", "bernd", "clara")
	base := ts(t, "2026-10-22 00:00 +0200")
	var overrides []Override
	for i := range 12 {
		start := base.Add(time.Duration(i*i*97%140) * time.Hour)
		overrides = append(overrides, Override{
			ID: fmt.Sprint("o", i), RotationID: r.ID, User: fmt.Sprint("u", i%4),
			Start: start, End: start.Add(time.Duration(1+i*37%50) * time.Hour),
		})
	}
	from, to := base, base.Add(8*24*time.Hour)
	shifts, err := r.Shifts(overrides, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for i, sh := range shifts {
		if !sh.End.After(sh.Start) {
			t.Fatalf("shift %d is empty: %+v", i, sh)
		}
		if i > 0 && !sh.Start.Equal(shifts[i-1].End) {
			t.Fatalf("shift %d starts at %v, previous ends at %v", i, sh.Start, shifts[i-1].End)
		}
		if i > 0 && sh.User == shifts[i-1].User && sh.OverrideID == shifts[i-1].OverrideID && !sh.Override {
			t.Fatalf("shifts %d and %d are one rota shift split for no reason", i-1, i)
		}
	}
	for at := from; at.Before(to); at = at.Add(17 * time.Minute) {
		sh, err := OnCall(r, overrides, at)
		if err != nil {
			t.Fatal(err)
		}
		if !sh.Contains(at) {
			t.Fatalf("OnCall(%v) = %+v, not containing it", at, sh)
		}
		// The brute-force answer: the latest-starting override covering at, else the rota.
		want, _ := r.ShiftAt(at)
		best := -1
		for i, o := range overrides {
			if !o.Start.After(at) && o.End.After(at) && (best < 0 || !o.Start.Before(overrides[best].Start)) {
				best = i
			}
		}
		if best >= 0 {
			want.User = overrides[best].User
		}
		if sh.User != want.User {
			t.Fatalf("OnCall(%v) = %s, want %s", at, sh.User, want.User)
		}
		found := false
		for _, l := range shifts {
			if l == sh {
				found = true
			}
		}
		if !found {
			t.Fatalf("OnCall(%v) = %+v is not in the listing", at, sh)
		}
	}
}

func TestOverrideValidate(t *testing.T) {
	start := ts(t, "2026-04-02 12:00 +0900")
	good := Override{ID: "o1", RotationID: "jp-primary", User: "dan", Start: start, End: start.Add(time.Hour)}
	tests := []struct {
		name  string
		edit  func(*Override)
		field string
	}{
		{"valid", func(*Override) {}, ""},
		{"no rotation", func(o *Override) { o.RotationID = "" }, "rotation_id"},
		{"no user", func(o *Override) { o.User = " " }, "user"},
		{"no start", func(o *Override) { o.Start = time.Time{} }, "start"},
		{"no end", func(o *Override) { o.End = time.Time{} }, "end"},
		{"ends as it starts", func(o *Override) { o.End = o.Start }, "end"},
		{"ends before it starts", func(o *Override) { o.End = o.Start.Add(-time.Minute) }, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			err := o.Validate()
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("Validate() = %v, want an error in %s", err, tt.field)
			case tt.field != "" && !strings.HasPrefix(err.Error(), `override "o1": `+tt.field+": "):
				t.Fatalf("Validate() = %q, want it to name the override and field", err)
			}
		})
	}
}

func TestOnCallRefusesABadOverride(t *testing.T) {
	r, overrides := tokyoWeek(t)
	bad := Override{ID: "oops", RotationID: r.ID, User: "dan", Start: ts(t, "2026-04-02 12:00 +0900"), End: ts(t, "2026-04-02 11:00 +0900")}
	_, err := OnCall(r, append(overrides, bad), ts(t, "2026-04-05 12:00 +0900"))
	if err == nil || !strings.Contains(err.Error(), `overrides[5]: override "oops": end: must be after start`) {
		t.Errorf("OnCall with a bad override = %v, want it named", err)
	}
	// Another rotation's bad override is that rotation's problem.
	other := bad
	other.RotationID = "kr-primary"
	if _, err := OnCall(r, append(overrides, other), ts(t, "2026-04-05 12:00 +0900")); err != nil {
		t.Errorf("OnCall refused because of another rotation's override: %v", err)
	}
}
