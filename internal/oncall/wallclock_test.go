package oncall

import (
	"testing"
	"time"
)

func TestWallClockRule(t *testing.T) {
	tests := []struct {
		name, zone, wall, want string
	}{
		{"ordinary time", "Asia/Tokyo", "2026-03-29T02:30", "2026-03-29 02:30 +0900"},
		{"Berlin skipped 02:30 is 03:30", "Europe/Berlin", "2026-03-29T02:30", "2026-03-29 03:30 +0200"},
		{"Berlin skipped 02:00 is 03:00", "Europe/Berlin", "2026-03-29T02:00", "2026-03-29 03:00 +0200"},
		{"Berlin 03:00 after the jump exists", "Europe/Berlin", "2026-03-29T03:00", "2026-03-29 03:00 +0200"},
		{"Berlin repeated 02:30 is the first", "Europe/Berlin", "2026-10-25T02:30", "2026-10-25 02:30 +0200"},
		{"Berlin repeated 02:00 is the first", "Europe/Berlin", "2026-10-25T02:00", "2026-10-25 02:00 +0200"},
		{"Berlin 03:00 after the fall is once", "Europe/Berlin", "2026-10-25T03:00", "2026-10-25 03:00 +0100"},
		{"New York skipped 02:30 is 03:30, not 01:30", "America/New_York", "2026-03-08T02:30", "2026-03-08 03:30 -0400"},
		{"New York repeated 01:30 is the first", "America/New_York", "2026-11-01T01:30", "2026-11-01 01:30 -0400"},
		{"Sydney skipped 02:30 is 03:30", "Australia/Sydney", "2026-10-04T02:30", "2026-10-04 03:30 +1100"},
		{"Sydney repeated 02:30 is the first", "Australia/Sydney", "2026-04-05T02:30", "2026-04-05 02:30 +1100"},
		{"Lord Howe skips half an hour", "Australia/Lord_Howe", "2026-10-04T02:15", "2026-10-04 02:45 +1100"},
		{"Lord Howe repeats half an hour", "Australia/Lord_Howe", "2026-04-05T01:45", "2026-04-05 01:45 +1100"},
		{"Apia skipped a whole day", "Pacific/Apia", "2011-12-30T09:00", "2011-12-31 09:00 +1400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := time.Parse(StartLayout, tt.wall)
			if err != nil {
				t.Fatal(err)
			}
			loc := zone(t, tt.zone)
			if got := wallClock(w, loc); !got.Equal(ts(t, tt.want)) {
				t.Errorf("wallClock(%s in %s) = %s, want %s", tt.wall, tt.zone, show(got, loc), tt.want)
			}
		})
	}
}

// TestWallClockProperties checks the rule at every quarter hour of 2026 in zones with
// and without daylight saving: an existing wall time is shown by the result, and by no
// earlier instant; a skipped one lands after the jump by as much as it was in the gap.
func TestWallClockProperties(t *testing.T) {
	for _, name := range []string{"Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Europe/Dublin"} {
		loc := zone(t, name)
		for w := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); w.Year() == 2026; w = w.Add(15 * time.Minute) {
			got := wallClock(w, loc)
			shown := time.Date(got.In(loc).Year(), got.In(loc).Month(), got.In(loc).Day(), got.In(loc).Hour(), got.In(loc).Minute(), 0, 0, time.UTC)
			if shown.Equal(w) {
				for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
					e := got.Add(-back).In(loc)
					if time.Date(e.Year(), e.Month(), e.Day(), e.Hour(), e.Minute(), 0, 0, time.UTC).Equal(w) {
						t.Fatalf("%s %s: resolved to %s, but %s shows it earlier", name, w.Format(StartLayout), show(got, loc), show(e, loc))
					}
				}
				continue
			}
			// A skipped time: clocks jumped over it, from the offset just before got.
			_, before := got.Add(-3 * time.Hour).In(loc).Zone()
			_, after := got.In(loc).Zone()
			if jump := time.Duration(after-before) * time.Second; jump <= 0 || !shown.Equal(w.Add(jump)) {
				t.Fatalf("%s %s: resolved to %s, which is neither that time nor it moved by the jump", name, w.Format(StartLayout), show(got, loc))
			}
		}
	}
}
