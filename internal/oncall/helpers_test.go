package oncall

import (
	"testing"
	"time"
)

// ts reads an instant written with its UTC offset, "2026-10-25 02:30 +0100", so that a
// test can name either occurrence of a repeated local time.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04 -0700", s)
	if err != nil {
		t.Fatalf("bad instant %q in test: %v", s, err)
	}
	return v
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func rota(id, tz, shift string, every int, start string, members ...string) Rotation {
	return Rotation{ID: id, Name: id, Timezone: tz, Shift: shift, Every: every, Start: start, Members: members}
}

// show prints an instant in a zone, for failure messages people can read.
func show(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 -0700")
}
