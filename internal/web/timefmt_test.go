package web

import (
	"strings"
	"testing"
	"time"
)

// TestTimesReadRight formats times as each language's viewer reads them (issue 10,
// item 10): "today"/"yesterday" for those days, a date without the year in this year
// and with it otherwise, the viewer's day boundary (not UTC's), and zones by offset
// and name, never by an ambiguous abbreviation such as CST.
func TestTimesReadRight(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 14, 1, 30, 0, 0, time.UTC) // 09:30 in Shanghai
	cases := []struct {
		lang                                 string
		today, yesterday, thisYear, lastYear string
		zone                                 string
	}{
		{"en", "today 09:00", "yesterday 23:50", "Mar 2 10:00", "Dec 31, 2025 22:00", "China Standard Time (UTC+8)"},
		{"zh-Hans", "今天 09:00", "昨天 23:50", "3月2日 10:00", "2025年12月31日 22:00", "中国标准时间（UTC+8）"},
		{"ja", "今日 09:00", "昨日 23:50", "3月2日 10:00", "2025年12月31日 22:00", "中国標準時（UTC+8）"},
		{"ko", "오늘 09:00", "어제 23:50", "3월 2일 10:00", "2025년 12월 31일 22:00", "중국 표준시 (UTC+8)"},
	}
	for _, c := range cases {
		v := testView(t, tr, c.lang)
		v.Loc, v.Now = shanghai, now
		got := []string{
			v.Time(time.Date(2026, 3, 14, 9, 0, 0, 0, shanghai)),
			// 15:50 UTC on the 13th is 23:50 on the 13th in Shanghai: yesterday there,
			// though the UTC date is the same as now's.
			v.Time(time.Date(2026, 3, 13, 15, 50, 0, 0, time.UTC)),
			v.Time(time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)),
			v.Time(time.Date(2025, 12, 31, 22, 0, 0, 0, shanghai)),
			v.ZoneName("Asia/Shanghai"),
		}
		want := []string{c.today, c.yesterday, c.thisYear, c.lastYear, c.zone}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %q, want %q", c.lang, got[i], want[i])
			}
		}
		// A partner's time carries its offset, never "CST".
		if z := v.ZoneTime(now, "America/Chicago"); strings.Contains(z, "CST") || !strings.Contains(z, "UTC−5") { // daylight time in March
			t.Errorf("%s: Chicago's time %q", c.lang, z)
		}
		if z := v.ZoneTime(now, "Asia/Shanghai"); strings.Contains(z, "CST") || !strings.Contains(z, "UTC+8") {
			t.Errorf("%s: Shanghai's time %q", c.lang, z)
		}
	}
}
