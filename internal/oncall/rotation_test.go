package oncall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRotationValidate(t *testing.T) {
	good := rota("primary", "Asia/Tokyo", Daily, 1, "2026-04-01T09:00", "aki", "ben")
	tests := []struct {
		name  string
		edit  func(*Rotation)
		field string // "" when valid
		want  string
	}{
		{"valid", func(*Rotation) {}, "", ""},
		{"weekly and hours are shift kinds too", func(r *Rotation) { r.Shift, r.Every = Hours, 12 }, "", ""},
		{"a name listed twice is allowed", func(r *Rotation) { r.Members = []string{"aki", "ben", "aki"} }, "", ""},
		{"no id", func(r *Rotation) { r.ID = " " }, "id", `rotation " ": id: required`},
		{"no name", func(r *Rotation) { r.Name = "" }, "name", `rotation "primary": name: required`},
		{"no zone", func(r *Rotation) { r.Timezone = "" }, "timezone", `timezone: required`},
		{"unknown zone", func(r *Rotation) { r.Timezone = "Mars/Olympus_Mons" }, "timezone", `timezone: "Mars/Olympus_Mons" is not an IANA time zone`},
		{"machine zone", func(r *Rotation) { r.Timezone = "Local" }, "timezone", `"Local" is not an IANA time zone`},
		{"unknown shift", func(r *Rotation) { r.Shift = "monthly" }, "shift", `shift: "monthly" is not daily, weekly or hours`},
		{"every zero", func(r *Rotation) { r.Every = 0 }, "every", `rotation "primary": every: must be at least 1`},
		{"every negative", func(r *Rotation) { r.Every = -2 }, "every", `every: must be at least 1`},
		{"more than a year of days", func(r *Rotation) { r.Every = 367 }, "every", `every: must be at most 366 for daily shifts`},
		{"more than a year of weeks", func(r *Rotation) { r.Shift, r.Every = Weekly, 54 }, "every", `every: must be at most 53 for weekly shifts`},
		{"more than a year of hours", func(r *Rotation) { r.Shift, r.Every = Hours, 8785 }, "every", `every: must be at most 8784 for hours shifts`},
		{"start with a space", func(r *Rotation) { r.Start = "2026-04-01 09:00" }, "start", `start: "2026-04-01 09:00" is not a local time`},
		{"start with seconds", func(r *Rotation) { r.Start = "2026-04-01T09:00:00" }, "start", `start:`},
		{"start with a zone", func(r *Rotation) { r.Start = "2026-04-01T09:00Z" }, "start", `start:`},
		{"start on 30 February", func(r *Rotation) { r.Start = "2026-02-30T09:00" }, "start", `start:`},
		{"no start", func(r *Rotation) { r.Start = "" }, "start", `start: "" is not`},
		{"no members", func(r *Rotation) { r.Members = nil }, "members", `members: at least one member required`},
		{"blank member", func(r *Rotation) { r.Members = []string{"aki", " "} }, "members[1]", `members[1]: blank user name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			r.Members = append([]string(nil), good.Members...)
			tt.edit(&r)
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate() field = %+v, want %q", fe, tt.field)
			}
			if _, err := r.ShiftAt(time.Now()); err == nil {
				t.Fatal("ShiftAt accepted an invalid rotation")
			}
		})
	}
}

func TestRotationValidateReportsEveryField(t *testing.T) {
	err := Rotation{Every: 0}.Validate()
	for _, f := range []string{"id", "name", "timezone", "shift", "every", "start", "members"} {
		if !strings.Contains(err.Error(), ": "+f+": ") {
			t.Errorf("Validate() = %v, missing field %s", err, f)
		}
	}
}

// TestTokyoDaily walks a daily rota through a third of a year and back before its
// start: a zone without daylight saving, where every shift is 24 hours.
func TestTokyoDaily(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	r := rota("jp-primary", "Asia/Tokyo", Daily, 1, "2026-01-01T09:00", "aki", "ben", "chie")
	first := time.Date(2026, 1, 1, 9, 0, 0, 0, tokyo)
	for i := -10; i < 120; i++ {
		handoff := first.AddDate(0, 0, i)
		want := r.Members[floorMod(int64(i), 3)]
		sh, err := r.ShiftAt(handoff)
		if err != nil {
			t.Fatal(err)
		}
		if sh.User != want || !sh.Start.Equal(handoff) || sh.End.Sub(sh.Start) != 24*time.Hour {
			t.Fatalf("day %d: ShiftAt(%s) = %s %s..%s, want %s from the hand-off for 24h",
				i, show(handoff, tokyo), sh.User, show(sh.Start, tokyo), show(sh.End, tokyo), want)
		}
		before, err := r.ShiftAt(handoff.Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if prev := r.Members[floorMod(int64(i-1), 3)]; before.User != prev || !before.End.Equal(handoff) {
			t.Fatalf("day %d: a minute before the hand-off %s is on call until %s, want %s until the hand-off",
				i, before.User, show(before.End, tokyo), prev)
		}
	}
	// Fixed points, so that the loop above cannot agree with a wrong formula.
	for at, want := range map[string]string{
		"2026-01-01 09:00 +0900": "aki",
		"2026-01-02 08:59 +0900": "aki",
		"2026-01-02 09:00 +0900": "ben",
		"2026-04-10 09:00 +0900": "aki", // day 99
		"2026-04-11 03:00 +0900": "aki",
		"2025-12-31 09:00 +0900": "chie", // before start: the last member's shift
		"2025-12-31 08:59 +0900": "ben",
		"2025-12-29 09:00 +0900": "aki",
	} {
		if sh, err := r.ShiftAt(ts(t, at)); err != nil || sh.User != want {
			t.Errorf("ShiftAt(%s) = %q, %v; want %q", at, sh.User, err, want)
		}
	}
}

func TestTokyoWeekly(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	monday := time.Date(2026, 1, 5, 10, 0, 0, 0, tokyo)
	tests := []struct {
		every   int
		members []string
	}{
		{1, []string{"aki", "ben"}},
		{2, []string{"aki", "ben", "chie"}},
	}
	for _, tt := range tests {
		r := rota("jp-weekly", "Asia/Tokyo", Weekly, tt.every, "2026-01-05T10:00", tt.members...)
		length := time.Duration(tt.every) * 7 * 24 * time.Hour
		for i := -3; i < 40; i++ {
			handoff := monday.Add(time.Duration(i) * length)
			want := tt.members[floorMod(int64(i), int64(len(tt.members)))]
			for _, at := range []time.Time{handoff, handoff.Add(length / 2), handoff.Add(length - time.Nanosecond)} {
				sh, err := r.ShiftAt(at)
				if err != nil {
					t.Fatal(err)
				}
				if sh.User != want || !sh.Start.Equal(handoff) || sh.End.Sub(sh.Start) != length {
					t.Fatalf("every %d, shift %d: ShiftAt(%s) = %s %s..%s, want %s from %s",
						tt.every, i, show(at, tokyo), sh.User, show(sh.Start, tokyo), show(sh.End, tokyo), want, show(handoff, tokyo))
				}
			}
		}
	}
	fortnightly := rota("jp-weekly", "Asia/Tokyo", Weekly, 2, "2026-01-05T10:00", "aki", "ben", "chie")
	if sh, _ := fortnightly.ShiftAt(ts(t, "2026-02-16 10:00 +0900")); sh.User != "aki" {
		t.Errorf("sixth week of a fortnightly rota of three: %q on call, want aki", sh.User)
	}
	if sh, _ := fortnightly.ShiftAt(ts(t, "2026-02-16 09:59 +0900")); sh.User != "chie" {
		t.Errorf("just before the sixth week: %q on call, want chie", sh.User)
	}
}

// dstCase is who is on call at one instant, and the shift they are in.
type dstCase struct {
	name       string
	at         string // instant with its offset
	user       string
	start, end string
	hours      float64 // shift length, said once more in hours
}

func runDST(t *testing.T, r Rotation, cases []dstCase) {
	t.Helper()
	loc := zone(t, r.Timezone)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh, err := r.ShiftAt(ts(t, c.at))
			if err != nil {
				t.Fatal(err)
			}
			if sh.User != c.user || !sh.Start.Equal(ts(t, c.start)) || !sh.End.Equal(ts(t, c.end)) {
				t.Errorf("ShiftAt(%s) = %s %s..%s, want %s %s..%s", c.at, sh.User,
					show(sh.Start, loc), show(sh.End, loc), c.user, c.start, c.end)
			}
			if got := sh.End.Sub(sh.Start).Hours(); got != c.hours {
				t.Errorf("shift is %vh long, want %vh", got, c.hours)
			}
			if sh.Start.Location() != time.UTC || sh.End.Location() != time.UTC {
				t.Errorf("shift times not in UTC: %v, %v", sh.Start, sh.End)
			}
		})
	}
}

func TestBerlinDailyAcrossDST(t *testing.T) {
	// Day 27 (28 March) is anna's, day 28 (29 March, clocks 02:00 -> 03:00) bernd's;
	// day 237 (24 October) anna's, day 238 (25 October, clocks 03:00 -> 02:00) bernd's.
	r := rota("de-primary", "Europe/Berlin", Daily, 1, "2026-03-01T09:00", "anna", "bernd", "clara")
	runDST(t, r, []dstCase{
		{"spring day at 08:59 is still the short night shift", "2026-03-29 08:59 +0200", "anna", "2026-03-28 09:00 +0100", "2026-03-29 09:00 +0200", 23},
		{"spring day hand-off at 09:00 summer time", "2026-03-29 09:00 +0200", "bernd", "2026-03-29 09:00 +0200", "2026-03-30 09:00 +0200", 24},
		{"spring night when clocks jump", "2026-03-29 03:00 +0200", "anna", "2026-03-28 09:00 +0100", "2026-03-29 09:00 +0200", 23},
		{"autumn day at 08:59 is still the long night shift", "2026-10-25 08:59 +0100", "anna", "2026-10-24 09:00 +0200", "2026-10-25 09:00 +0100", 25},
		{"autumn day hand-off at 09:00 winter time", "2026-10-25 09:00 +0100", "bernd", "2026-10-25 09:00 +0100", "2026-10-26 09:00 +0100", 24},
		{"autumn repeated 02:30, second time", "2026-10-25 02:30 +0100", "anna", "2026-10-24 09:00 +0200", "2026-10-25 09:00 +0100", 25},
	})
}

func TestBerlinWeeklyAcrossDST(t *testing.T) {
	r := rota("de-weekly", "Europe/Berlin", Weekly, 1, "2026-03-01T09:00", "anna", "bernd")
	runDST(t, r, []dstCase{
		{"week ending on the spring Sunday", "2026-03-29 08:59 +0200", "bernd", "2026-03-22 09:00 +0100", "2026-03-29 09:00 +0200", 167},
		{"week starting on the spring Sunday", "2026-03-29 09:00 +0200", "anna", "2026-03-29 09:00 +0200", "2026-04-05 09:00 +0200", 168},
		{"week ending on the autumn Sunday", "2026-10-25 08:59 +0100", "bernd", "2026-10-18 09:00 +0200", "2026-10-25 09:00 +0100", 169},
		{"week starting on the autumn Sunday", "2026-10-25 09:00 +0100", "anna", "2026-10-25 09:00 +0100", "2026-11-01 09:00 +0100", 168},
	})
}

func TestNewYorkDailyAcrossDST(t *testing.T) {
	// Day 6 (7 March) is ana's, day 7 (8 March) ben's; day 244 (31 October) ben's,
	// day 245 (1 November) cy's.
	r := rota("us-primary", "America/New_York", Daily, 1, "2026-03-01T09:00", "ana", "ben", "cy")
	runDST(t, r, []dstCase{
		{"spring day at 08:59", "2026-03-08 08:59 -0400", "ana", "2026-03-07 09:00 -0500", "2026-03-08 09:00 -0400", 23},
		{"spring day at 09:00", "2026-03-08 09:00 -0400", "ben", "2026-03-08 09:00 -0400", "2026-03-09 09:00 -0400", 24},
		{"autumn day at 08:59", "2026-11-01 08:59 -0500", "ben", "2026-10-31 09:00 -0400", "2026-11-01 09:00 -0500", 25},
		{"autumn day at 09:00", "2026-11-01 09:00 -0500", "cy", "2026-11-01 09:00 -0500", "2026-11-02 09:00 -0500", 24},
		{"autumn repeated 01:30, first time", "2026-11-01 01:30 -0400", "ben", "2026-10-31 09:00 -0400", "2026-11-01 09:00 -0500", 25},
		{"autumn repeated 01:30, second time", "2026-11-01 01:30 -0500", "ben", "2026-10-31 09:00 -0400", "2026-11-01 09:00 -0500", 25},
	})
}

func TestSydneyDailyAcrossDST(t *testing.T) {
	// Southern hemisphere: summer time ends on 5 April and starts on 4 October 2026.
	// Day 5 (4 April) is mei's, day 6 kai's; day 187 (3 October) lee's, day 188 mei's.
	r := rota("au-primary", "Australia/Sydney", Daily, 1, "2026-03-30T08:00", "kai", "lee", "mei")
	runDST(t, r, []dstCase{
		{"April change day at 07:59", "2026-04-05 07:59 +1000", "mei", "2026-04-04 08:00 +1100", "2026-04-05 08:00 +1000", 25},
		{"April change day at 08:00", "2026-04-05 08:00 +1000", "kai", "2026-04-05 08:00 +1000", "2026-04-06 08:00 +1000", 24},
		{"October change day at 07:59", "2026-10-04 07:59 +1100", "lee", "2026-10-03 08:00 +1000", "2026-10-04 08:00 +1100", 23},
		{"October change day at 08:00", "2026-10-04 08:00 +1100", "mei", "2026-10-04 08:00 +1100", "2026-10-05 08:00 +1100", 24},
	})
}

// TestHandoffInTheGap pins the rule for hand-off times that the clocks skip or repeat:
// a skipped time is read with the offset before the jump (02:30 becomes 03:30), a
// repeated time is its first occurrence — the same on both sides of the Atlantic,
// where time.Date alone would move New York's skipped 02:30 back to 01:30.
func TestHandoffInTheGap(t *testing.T) {
	t.Run("Berlin 02:30 on the spring night", func(t *testing.T) {
		r := rota("de-night", "Europe/Berlin", Daily, 1, "2026-03-27T02:30", "anna", "bernd", "clara")
		runDST(t, r, []dstCase{
			{"03:29 is still Saturday's", "2026-03-29 03:29 +0200", "bernd", "2026-03-28 02:30 +0100", "2026-03-29 03:30 +0200", 24},
			{"hand-off at 03:30", "2026-03-29 03:30 +0200", "clara", "2026-03-29 03:30 +0200", "2026-03-30 02:30 +0200", 23},
		})
	})
	t.Run("Berlin 02:30 on the autumn night", func(t *testing.T) {
		r := rota("de-night", "Europe/Berlin", Daily, 1, "2026-10-23T02:30", "anna", "bernd", "clara")
		runDST(t, r, []dstCase{
			{"02:29 summer time is Saturday's", "2026-10-25 02:29 +0200", "bernd", "2026-10-24 02:30 +0200", "2026-10-25 02:30 +0200", 24},
			{"hand-off at the first 02:30", "2026-10-25 02:30 +0200", "clara", "2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100", 25},
			{"the second 02:30 is no hand-off", "2026-10-25 02:30 +0100", "clara", "2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100", 25},
		})
	})
	t.Run("New York 02:30 on the spring night", func(t *testing.T) {
		r := rota("us-night", "America/New_York", Daily, 1, "2026-03-06T02:30", "ana", "ben", "cy")
		runDST(t, r, []dstCase{
			{"01:59 is still Saturday's", "2026-03-08 01:59 -0500", "ben", "2026-03-07 02:30 -0500", "2026-03-08 03:30 -0400", 24},
			{"03:29 is still Saturday's", "2026-03-08 03:29 -0400", "ben", "2026-03-07 02:30 -0500", "2026-03-08 03:30 -0400", 24},
			{"hand-off at 03:30", "2026-03-08 03:30 -0400", "cy", "2026-03-08 03:30 -0400", "2026-03-09 02:30 -0400", 23},
		})
	})
	t.Run("New York 01:30 on the autumn night", func(t *testing.T) {
		r := rota("us-night", "America/New_York", Daily, 1, "2026-10-30T01:30", "ana", "ben", "cy")
		runDST(t, r, []dstCase{
			{"01:29 daylight time is Saturday's", "2026-11-01 01:29 -0400", "ben", "2026-10-31 01:30 -0400", "2026-11-01 01:30 -0400", 24},
			{"hand-off at the first 01:30", "2026-11-01 01:30 -0400", "cy", "2026-11-01 01:30 -0400", "2026-11-02 01:30 -0500", 25},
			{"the second 01:30 is no hand-off", "2026-11-01 01:30 -0500", "cy", "2026-11-01 01:30 -0400", "2026-11-02 01:30 -0500", 25},
		})
	})
	t.Run("Start itself in the gap", func(t *testing.T) {
		r := rota("de-night", "Europe/Berlin", Daily, 1, "2026-03-29T02:30", "anna", "bernd")
		runDST(t, r, []dstCase{
			{"first shift starts at 03:30", "2026-03-29 03:30 +0200", "anna", "2026-03-29 03:30 +0200", "2026-03-30 02:30 +0200", 23},
			{"before it, the last member", "2026-03-29 03:29 +0200", "bernd", "2026-03-28 02:30 +0100", "2026-03-29 03:30 +0200", 24},
		})
	})
}

func TestBeforeStartAcrossDST(t *testing.T) {
	// The rota starts on 1 November; 25 October is day -7 (clara), 24 October day -8 (bernd).
	r := rota("de-later", "Europe/Berlin", Daily, 1, "2026-11-01T09:00", "anna", "bernd", "clara")
	runDST(t, r, []dstCase{
		{"the long night before start", "2026-10-25 08:59 +0100", "bernd", "2026-10-24 09:00 +0200", "2026-10-25 09:00 +0100", 25},
		{"the day after it", "2026-10-25 09:00 +0100", "clara", "2026-10-25 09:00 +0100", "2026-10-26 09:00 +0100", 24},
		{"the shift just before start is the last member's", "2026-11-01 08:59 +0100", "clara", "2026-10-31 09:00 +0100", "2026-11-01 09:00 +0100", 24},
	})
}

// TestHoursIgnoreTheClocks: an "hours" rota hands off after fixed elapsed time, so
// across a change its local hand-off times move by the hour the clocks moved.
func TestHoursIgnoreTheClocks(t *testing.T) {
	t.Run("Berlin every 8 hours in spring", func(t *testing.T) {
		r := rota("de-8h", "Europe/Berlin", Hours, 8, "2026-03-28T22:00", "anna", "bernd", "clara")
		runDST(t, r, []dstCase{
			{"first shift ends at 07:00 summer time", "2026-03-29 06:59 +0200", "anna", "2026-03-28 22:00 +0100", "2026-03-29 07:00 +0200", 8},
			{"second shift", "2026-03-29 07:00 +0200", "bernd", "2026-03-29 07:00 +0200", "2026-03-29 15:00 +0200", 8},
			{"before start", "2026-03-28 21:59 +0100", "clara", "2026-03-28 14:00 +0100", "2026-03-28 22:00 +0100", 8},
		})
	})
	t.Run("New York every 12 hours in autumn", func(t *testing.T) {
		r := rota("us-12h", "America/New_York", Hours, 12, "2026-10-31T20:00", "ana", "ben")
		runDST(t, r, []dstCase{
			{"night shift ends at 07:00 standard time", "2026-11-01 06:59 -0500", "ana", "2026-10-31 20:00 -0400", "2026-11-01 07:00 -0500", 12},
			{"day shift", "2026-11-01 07:00 -0500", "ben", "2026-11-01 07:00 -0500", "2026-11-01 19:00 -0500", 12},
		})
	})
	t.Run("Seoul every hour for a year", func(t *testing.T) {
		r := rota("kr-1h", "Asia/Seoul", Hours, 1, "2026-01-01T00:00", "ji", "min", "seo", "woo", "yun")
		first := ts(t, "2026-01-01 00:00 +0900")
		for i := 0; i < 365*24; i += 7 {
			at := first.Add(time.Duration(i)*time.Hour + 30*time.Minute)
			sh, err := r.ShiftAt(at)
			if err != nil {
				t.Fatal(err)
			}
			if want := r.Members[i%5]; sh.User != want || !sh.Start.Equal(first.Add(time.Duration(i)*time.Hour)) {
				t.Fatalf("hour %d: %s from %v, want %s", i, sh.User, sh.Start, want)
			}
		}
	})
}

func TestHandoffs(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	r := rota("de-primary", "Europe/Berlin", Daily, 1, "2026-03-01T09:00", "anna", "bernd", "clara")
	got, err := r.Handoffs(ts(t, "2026-03-26 09:00 +0100"), ts(t, "2026-04-02 09:00 +0200"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("Handoffs over a week = %d, want 7 (from inclusive, to exclusive)", len(got))
	}
	for i, h := range got {
		if want := time.Date(2026, 3, 26+i, 9, 0, 0, 0, berlin); !h.Equal(want) {
			t.Errorf("hand-off %d at %s, want 09:00 local on consecutive days", i, show(h, berlin))
		}
	}
	if _, err := r.Handoffs(ts(t, "2026-04-02 09:00 +0200"), ts(t, "2026-03-26 09:00 +0100")); err == nil {
		t.Error("Handoffs accepted to before from")
	}
	hourly := rota("h", "UTC", Hours, 1, "2026-01-01T00:00", "a")
	if _, err := hourly.Handoffs(ts(t, "2026-01-01 00:00 +0000"), ts(t, "2028-01-01 00:00 +0000")); err == nil {
		t.Error("Handoffs listed two years of hourly hand-offs; want the cap to refuse")
	}
}

func TestShiftAtOutOfRange(t *testing.T) {
	r := rota("p", "Asia/Tokyo", Daily, 1, "2026-01-01T09:00", "aki")
	for _, at := range []time.Time{{}, time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(1<<62, 0)} {
		if _, err := r.ShiftAt(at); err == nil {
			t.Errorf("ShiftAt(%v) succeeded; want an error outside years 1-9999", at)
		}
	}
	for _, at := range []time.Time{time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		if sh, err := r.ShiftAt(at); err != nil || !sh.Contains(at) {
			t.Errorf("ShiftAt(%v) = %+v, %v; want a shift containing it", at, sh, err)
		}
	}
}

// TestTheDaySamoaSkipped: Apia went from UTC-10 to UTC+14 at the end of 29 December
// 2011, so 30 December never happened there. Its hand-off falls into the gap and, by
// the gap rule, on the same instant as 31 December's; the empty shift is skipped.
func TestTheDaySamoaSkipped(t *testing.T) {
	// Day 4 (29 December) is e, day 5 (30 December) f, day 6 (31 December) g.
	r := rota("ws", "Pacific/Apia", Daily, 1, "2011-12-25T09:00", "a", "b", "c", "d", "e", "f", "g")
	runDST(t, r, []dstCase{
		{"29 December runs into 31 December", "2011-12-29 23:00 -1000", "e", "2011-12-29 09:00 -1000", "2011-12-31 09:00 +1400", 24},
		{"31 December starts on time", "2011-12-31 09:00 +1400", "g", "2011-12-31 09:00 +1400", "2012-01-01 09:00 +1400", 24},
	})
}

// TestStrangeZones walks a year of shifts, hand-off by hand-off, through zones and
// years with odd offsets, whole-day jumps and DST suspended for Ramadan: shifts meet
// without gaps or overlaps, none is empty, and a hand-off whose wall time exists is at
// that wall time.
func TestStrangeZones(t *testing.T) {
	tests := []struct{ zone, start string }{
		{"Pacific/Apia", "2011-06-01T02:30"},
		{"Pacific/Kiritimati", "1994-06-01T00:00"},
		{"America/Juneau", "1867-04-01T12:00"},
		{"Asia/Manila", "1844-06-01T00:00"},
		{"Africa/Casablanca", "2026-01-01T02:30"},
		{"Australia/Lord_Howe", "2026-01-01T02:15"},
		{"Antarctica/Troll", "2026-01-01T01:30"},
		{"Europe/Dublin", "2026-01-01T01:30"},
		{"America/St_Johns", "2026-01-01T02:30"},
		{"Asia/Kathmandu", "1986-01-01T00:05"},
	}
	for _, tt := range tests {
		for _, kind := range []string{Daily, Weekly} {
			t.Run(tt.zone+" "+kind, func(t *testing.T) {
				r := rota("x", tt.zone, kind, 1, tt.start, "a", "b", "c")
				loc := zone(t, tt.zone)
				wall, _ := time.Parse(StartLayout, tt.start)
				sh, err := r.ShiftAt(wallClock(wall, loc))
				if err != nil {
					t.Fatal(err)
				}
				for range 400 {
					next, err := r.ShiftAt(sh.End)
					if err != nil {
						t.Fatal(err)
					}
					if !next.Start.Equal(sh.End) || !next.End.After(next.Start) {
						t.Fatalf("after %s..%s comes %s..%s", show(sh.Start, loc), show(sh.End, loc), show(next.Start, loc), show(next.End, loc))
					}
					if l := next.Start.In(loc); l.Hour() != wall.Hour() || l.Minute() != wall.Minute() {
						// Only allowed where the wall time did not exist that day.
						w := time.Date(l.Year(), l.Month(), l.Day(), wall.Hour(), wall.Minute(), 0, 0, time.UTC)
						if e := wallClock(w, loc).In(loc); e.Hour() == wall.Hour() && e.Minute() == wall.Minute() {
							t.Fatalf("hand-off at %s, but %s existed", show(next.Start, loc), show(e, loc))
						}
					}
					sh = next
				}
			})
		}
	}
}

// tzif builds a zone with one transition at unix time at, from offset before to after
// (seconds east of UTC), in the tz database's binary format.
func tzif(t *testing.T, at int64, before, after int32) *time.Location {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("TZif")
	b.Write(make([]byte, 16)) // version 1, reserved
	// Counts: UT/local flags, standard/wall flags, leap seconds, transitions, types, abbreviation bytes.
	for _, n := range []uint32{0, 0, 0, 1, 2, 4} {
		_ = binary.Write(&b, binary.BigEndian, n)
	}
	_ = binary.Write(&b, binary.BigEndian, int32(at))
	b.WriteByte(1) // the transition is to type 1; type 0 is in force before it
	for i, off := range []int32{before, after} {
		_ = binary.Write(&b, binary.BigEndian, off)
		b.Write([]byte{0, byte(2 * i)}) // not DST; abbreviation "A" or "B"
	}
	b.WriteString("A\x00B\x00")
	loc, err := time.LoadLocationFromTZData("Test/Jump", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestJumpsOfMoreThanADay: no zone has yet moved its clocks forward by more than a day,
// but if one does, the gap rule puts daily hand-offs out of order. Shifts must still
// meet without gaps or overlaps: a shift ends at the earliest later hand-off, and empty
// ones are skipped. (Backward jumps cannot reorder them: a repeated time is its first
// occurrence.)
func TestJumpsOfMoreThanADay(t *testing.T) {
	jump := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	tests := []struct {
		name          string
		before, after int32
		unordered     bool
	}{
		{"forward 26 hours", -12 * 3600, 14 * 3600, true},
		{"forward 34 hours", -17 * 3600, 17 * 3600, true},
		{"back 26 hours", 14 * 3600, -12 * 3600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := rota("x", "UTC", Daily, 1, "2029-12-20T09:00", "a", "b", "c").compile()
			if err != nil {
				t.Fatal(err)
			}
			s.loc = tzif(t, jump, tt.before, tt.after)
			s.first = wallClock(s.wall, s.loc)
			unordered := false
			for n := int64(0); n < 30; n++ {
				unordered = unordered || s.handoff(n+1).Before(s.handoff(n))
			}
			if unordered != tt.unordered {
				t.Fatalf("hand-offs out of order: %v, want %v; the test zone is not what it says", unordered, tt.unordered)
			}
			sh := s.at(s.first)
			for range 30 {
				next := s.at(sh.End)
				if !next.Start.Equal(sh.End) || !next.End.After(next.Start) {
					t.Fatalf("after %v..%v comes %v..%v", sh.Start, sh.End, next.Start, next.End)
				}
				for _, probe := range []time.Time{sh.Start, sh.End.Add(-time.Second)} {
					if got := s.at(probe); got != sh {
						t.Fatalf("at(%v) = %v..%v, want %v..%v", probe, got.Start, got.End, sh.Start, sh.End)
					}
				}
				sh = next
			}
		})
	}
}
