package oncall

import (
	"fmt"
	"testing"
	"time"
)

// FuzzRotation: ShiftAt never panics, whatever the rotation; for a valid one the shift
// contains the instant, is not empty, and meets its neighbours exactly.
func FuzzRotation(f *testing.F) {
	zones := []string{
		"Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Europe/Berlin", "America/New_York",
		"Australia/Sydney", "Australia/Lord_Howe", "Europe/Dublin", "Pacific/Apia",
		"Pacific/Kiritimati", "America/Juneau", "Asia/Manila", "Africa/Casablanca",
		"Antarctica/Troll", "America/St_Johns", "Asia/Kathmandu", "UTC",
	}
	for i, z := range zones {
		f.Add(Daily, 1, "2026-03-29T02:30", z, uint8(3), int64(1774746000+i*86400*37))
		f.Add(Weekly, 2, "2026-10-25T02:00", z, uint8(2), int64(1792800000-i*86400*101))
		f.Add(Hours, 7, "2011-12-29T09:00", z, uint8(5), int64(1325203200+i*3600))
	}
	f.Add(Daily, 1, "1867-10-18T12:00", "America/Juneau", uint8(4), int64(-3225223727))
	f.Add(Daily, 366, "9999-12-31T23:59", "Pacific/Kiritimati", uint8(1), int64(-62135596799))
	f.Add("monthly", 0, "nonsense", "Mars/Olympus_Mons", uint8(0), int64(0))
	f.Fuzz(func(t *testing.T, shift string, every int, start, tz string, members uint8, at int64) {
		r := Rotation{ID: "fuzz", Name: "fuzz", Timezone: tz, Shift: shift, Every: every, Start: start}
		for i := range int(members % 8) {
			r.Members = append(r.Members, fmt.Sprint("m", i))
		}
		t0 := time.Unix(at, 0)
		sh, err := r.ShiftAt(t0)
		if r.Validate() != nil || inRange(t0) != nil {
			if err == nil {
				t.Fatalf("ShiftAt accepted %+v at %v", r, t0)
			}
			return
		}
		if err != nil {
			t.Fatalf("ShiftAt(%v) of valid %+v: %v", t0, r, err)
		}
		if !sh.End.After(sh.Start) || !sh.Contains(t0) {
			t.Fatalf("ShiftAt(%v) of %+v = %v..%v, not a shift containing it", t0, r, sh.Start, sh.End)
		}
		// Neighbours: the next shift starts where this one ends, and this one is the
		// same from its first instant to its last.
		for _, probe := range []time.Time{sh.Start, sh.End.Add(-time.Nanosecond)} {
			if inRange(probe) != nil {
				continue
			}
			if again, err := r.ShiftAt(probe); err != nil || again != sh {
				t.Fatalf("ShiftAt(%v) = %+v, %v; want %+v", probe, again, err, sh)
			}
		}
		if inRange(sh.End) == nil {
			if next, err := r.ShiftAt(sh.End); err != nil || !next.Start.Equal(sh.End) {
				t.Fatalf("shift after %+v is %+v, %v; want it to start at %v", sh, next, err, sh.End)
			}
		}
		if inRange(sh.Start.Add(-time.Nanosecond)) == nil {
			if prev, err := r.ShiftAt(sh.Start.Add(-time.Nanosecond)); err != nil || !prev.End.Equal(sh.Start) {
				t.Fatalf("shift before %+v is %+v, %v; want it to end at %v", sh, prev, err, sh.Start)
			}
		}
	})
}
