package cvss

import (
	"strings"
	"testing"
)

// Scores from the FIRST CVSS 3.1 calculator and NVD.
func TestBaseScore31(t *testing.T) {
	for vec, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":          9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":          10.0,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N":          6.1,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H":          7.8,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N":          5.9,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N":          0,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O": 6.5,
	} {
		v, err := Parse(vec)
		if err != nil {
			t.Fatalf("%s: %v", vec, err)
		}
		got, sev, err := v.BaseScore()
		if err != nil || got != want || sev != Severity(want) {
			t.Errorf("%s: score %v %s (%v), want %v", vec, got, sev, err, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for vec, want := range map[string]string{
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":     "version",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H":         "metric A: missing",
		"CVSS:3.1/AC:L/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H":     "metric AV: missing",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H": "given twice",
		"CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":     "not allowed",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/":    "KEY:VALUE",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H": "metric SC: missing",
		"AV:N/AC:L": "version",
		"":          "not a vector",
		"CVSS:3.1/" + strings.Repeat("AV:N/", 200): "longer",
	} {
		if _, err := Parse(vec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", vec, err, want)
		}
	}
}

func TestParse40(t *testing.T) {
	v, err := Parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/U:Amber")
	if err != nil || v.Version != "4.0" || v.Metrics["U"] != "Amber" {
		t.Fatalf("%+v %v", v, err)
	}
	if _, _, err := v.BaseScore(); err == nil {
		t.Fatal("a 4.0 vector was scored by the 3.1 formula")
	}
}

// FuzzParse: no input panics, and what parses is scored in range.
func FuzzParse(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:X/MAV:N")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
	f.Add("CVSS:3.1/AV:N//")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil || v.Version != "3.1" {
			return
		}
		score, _, err := v.BaseScore()
		if err != nil || score < 0 || score > 10 {
			t.Fatalf("%q: %v %v", s, score, err)
		}
	})
}
