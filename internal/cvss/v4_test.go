package cvss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestScore40Examples scores the FIRST examples and the cross-check vectors.
func TestScore40Examples(t *testing.T) {
	for _, file := range []string{"testdata/v40_examples.tsv", "testdata/v40_crosscheck.tsv"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
				continue
			}
			fields := strings.Split(sc.Text(), "\t")
			want, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			v, err := Parse(fields[0])
			if err != nil {
				t.Fatalf("%s: %v", fields[0], err)
			}
			got, sev, err := v.Score40()
			if err != nil || got != want || sev != Severity(want) {
				t.Errorf("%s: %v %s (%v), want %v", fields[0], got, sev, err, want)
			}
			n++
		}
		f.Close()
		if n < 15 {
			t.Fatalf("%s: only %d vectors", file, n)
		}
	}
}

func TestScoreDispatch(t *testing.T) {
	v4, _ := Parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
	if s, sev, err := v4.Score(); s != 9.3 || sev != "CRITICAL" || err != nil {
		t.Errorf("4.0: %v %s %v", s, sev, err)
	}
	v3, _ := Parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	if s, _, err := v3.Score(); s != 9.8 || err != nil {
		t.Errorf("3.1: %v %v", s, err)
	}
	if _, _, err := v3.Score40(); err == nil {
		t.Error("a 3.1 vector was scored as 4.0")
	}
}

// FuzzScore40: every vector that parses scores within 0–10 without a panic, and a
// vector with any impact scores above 0.
func FuzzScore40(f *testing.F) {
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
	f.Add("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N/E:U/CR:L/MSI:S")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/MVC:H/MSA:S/U:Red")
	f.Add("CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:P/VC:N/VI:L/VA:H/SC:L/SI:H/SA:N/E:P/CR:M/IR:H/AR:L/MAV:X")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil || v.Version != "4.0" {
			return
		}
		score, sev, err := v.Score40()
		if err != nil || score < 0 || score > 10 || sev != Severity(score) {
			t.Fatalf("%q: %v %s %v", s, score, sev, err)
		}
	})
}
