package hotline

import (
	"regexp"
	"testing"
)

func TestCodesAreTypableAndCompareLoosely(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newCode()
		if !regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}$`).MatchString(c) {
			t.Fatalf("code %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q twice in 1000", c)
		}
		seen[c] = true
	}
	// Typed on a phone: lower case, without the dash, with spaces.
	if hashCode("ABCDE-FGHIJ") != hashCode(" abcde fghij ") || hashCode("ABCDE-FGHIJ") != hashCode("abcdefghij") {
		t.Fatal("the same code typed differently does not match")
	}
	if hashCode("ABCDE-FGHIJ") == hashCode("ABCDE-FGHIK") {
		t.Fatal("different codes match")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{1, 3}, 2}, {[]float64{1, 2, 10}, 2}, {[]float64{1, 2, 3, 100}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestPageIDsFromPeersNameTheirSender(t *testing.T) {
	for id, ok := range map[string]bool{"2026-p0001": true, "2026-p123456789": true, "x-2026-p0001": false, "2026-0001": false, "2026-p1": false} {
		if pageNumber.MatchString(id) != ok {
			t.Errorf("%q: want %v", id, ok)
		}
	}
}
