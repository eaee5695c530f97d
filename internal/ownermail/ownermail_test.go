package ownermail

import (
	"reflect"
	"testing"
	"time"

	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

func TestDueAt(t *testing.T) {
	// Friday 2026-12-04 10:00 in Tokyo is 01:00 UTC.
	fri := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	tokyo := func(d, h, m int) time.Time {
		loc, _ := time.LoadLocation("Asia/Tokyo")
		return time.Date(2026, 12, d, h, m, 0, 0, loc).UTC()
	}
	daily := store.OwnerContact{Schedule: "daily", DigestAt: "09:30", Timezone: "Asia/Tokyo"}
	business := daily
	business.BusinessDays = true
	later := daily
	later.DigestAt = "18:00"
	tests := []struct {
		name string
		c    store.OwnerContact
		now  time.Time
		want time.Time
	}{
		{"immediate", store.OwnerContact{Schedule: "immediate"}, fri, fri},
		{"daily, today's digest has passed", daily, fri, tokyo(5, 9, 30)},
		{"daily, today's digest to come", later, fri, tokyo(4, 18, 0)},
		{"business days skip the weekend", business, fri, tokyo(7, 9, 30)},
		{"business days, on Saturday", business, tokyo(5, 12, 0), tokyo(7, 9, 30)},
		{"exactly at the digest time", daily, tokyo(5, 9, 30), tokyo(5, 9, 30)},
	}
	for _, tc := range tests {
		if got := DueAt(tc.c, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Every language has every word, and a TLP rule for every label a report can carry.
func TestCatalogsAreComplete(t *testing.T) {
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		c, ok := catalogs[lang]
		if !ok {
			t.Fatalf("no catalog for %s", lang)
		}
		v := reflect.ValueOf(c)
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" {
				t.Errorf("%s: %s is empty", lang, v.Type().Field(i).Name)
			}
		}
		for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber} {
			if c.tlpRules[l] == "" {
				t.Errorf("%s: no rule for TLP:%s", lang, l)
			}
		}
	}
	if catalogFor("fr").subject != catalogs["en"].subject {
		t.Error("an unknown language does not fall back to English")
	}
}
