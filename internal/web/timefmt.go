package web

import (
	"fmt"
	"strconv"
	"time"
	"unicode"
)

// Times as people read them at 3 a.m.: "today 14:02", "yesterday 23:10", a date
// without the year in this year and with it otherwise, in the words of the viewer's
// language. A zone is named by its UTC offset ("UTC+8"), never by an abbreviation such
// as "CST", which reads as US Central time to many; the viewer's own zone is named once,
// in the footer, and times in it carry no label.

// zoneLabel names t's zone by its offset from UTC: "UTC", "UTC+9", "UTC+5:30", "UTC−3".
func zoneLabel(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	h, m := off/3600, off%3600/60
	if m == 0 {
		return "UTC" + sign + strconv.Itoa(h)
	}
	return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
}

// dayWords says which day t is, from now, both in loc: "today", "yesterday",
// "tomorrow", a date this year, or a date with its year.
func (v *view) dayWords(t time.Time, loc *time.Location) string {
	lt, now := t.In(loc), v.Now.In(loc)
	y, m, d := lt.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ny, nm, nd := now.Date()
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	switch day.Sub(today) {
	case 0:
		return v.T("time.today")
	case -24 * time.Hour:
		return v.T("time.yesterday")
	case 24 * time.Hour:
		return v.T("time.tomorrow")
	}
	// Numbers go in as strings: the printer would group a year's digits ("2,026").
	args := []any{strconv.Itoa(y), strconv.Itoa(int(m)), strconv.Itoa(d), v.T(fmt.Sprintf("month.%d", int(m)))}
	if y == ny {
		return v.T("time.dayMonth", args...)
	}
	return v.T("time.dayMonthYear", args...)
}

// at formats t in loc: its day and its time of day, with the zone's offset when label.
func (v *view) at(t time.Time, loc *time.Location, label bool) string {
	if t.IsZero() {
		return ""
	}
	hm := t.In(loc).Format("15:04")
	if label {
		hm += " " + zoneLabel(t.In(loc))
	}
	return v.T("time.dayAt", v.dayWords(t, loc), hm)
}

// Time formats t in the viewer's time zone.
func (v *view) Time(t time.Time) string { return v.at(t, v.Loc, false) }

// TeamTime is t in a team's local time, with its offset, or "" when that reads the same
// as the viewer's.
func (v *view) TeamTime(t time.Time, teamID string) string {
	tm, ok := v.c.dir.Team(teamID)
	if !ok || t.IsZero() || sameOffset(t, tm.Location(), v.Loc) {
		return ""
	}
	return v.at(t, tm.Location(), true)
}

func sameOffset(t time.Time, a, b *time.Location) bool {
	_, ao := t.In(a).Zone()
	_, bo := t.In(b).Zone()
	return ao == bo
}

// LocalNow is the time of day now at a team, with its offset: "15:10 UTC+9".
func (v *view) LocalNow(teamID string) string {
	tm, ok := v.c.dir.Team(teamID)
	if !ok {
		return ""
	}
	now := v.Now.In(tm.Location())
	return now.Format("15:04") + " " + zoneLabel(now)
}

// ZoneTime formats t in the zone tz (an IANA name), with the zone's offset.
func (v *view) ZoneTime(t time.Time, tz string) string { return v.at(t, zone(tz), true) }

// NowIn is the time of day now in the zone tz, with its offset.
func (v *view) NowIn(tz string) string {
	now := v.Now.In(zone(tz))
	return now.Format("15:04") + " " + zoneLabel(now)
}

// ZoneName names an IANA zone for people: its place in their language where the
// catalogs have it, and its offset now ("東京 (UTC+9)").
func (v *view) ZoneName(tz string) string {
	key := "zone." + tz
	name := tz
	if v.c.i18n.has(v.Lang, key) {
		name = v.T(key)
	}
	return v.T("time.zoneName", name, zoneLabel(v.Now.In(zone(tz))))
}

// UL guesses the language of text a person wrote, for its lang attribute, so that the
// browser draws it with the right glyphs and breaks its lines by its own rules: Chinese
// in a Korean screen is drawn as Chinese. Kana means Japanese and Hangul Korean; Han
// alone means Chinese unless the writing team works in Japanese; anything else is taken
// for English, the teams' working language across borders.
func (v *view) UL(text, teamID string) string {
	var han, kana, hangul bool
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana = true
		case unicode.Is(unicode.Hangul, r):
			hangul = true
		case unicode.Is(unicode.Han, r):
			han = true
		}
	}
	switch {
	case kana:
		return "ja"
	case hangul:
		return "ko"
	case han:
		if tm, ok := v.c.dir.Team(teamID); ok {
			for _, l := range tm.Languages {
				if l == "ja" {
					return "ja"
				}
				if l == "zh" || l == "zh-Hans" || l == "zh-CN" {
					return "zh-Hans"
				}
			}
		}
		return "zh-Hans"
	}
	return "en"
}
