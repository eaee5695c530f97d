package hotline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/identity"
)

func TestCodesAreTypableAndCompareLoosely(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newCode()
		if !regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}$`).MatchString(c) {
			t.Fatalf("code %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q twice in 1000", c)
		}
		seen[c] = true
	}
	key := codeKey(testKey(t))
	// Typed on a phone: lower case, without the dashes, with spaces.
	if hashCode(key, "ABCDE-FGHIJ-KLMNO") != hashCode(key, " abcde fghij klmno ") || hashCode(key, "ABCDE-FGHIJ-KLMNO") != hashCode(key, "abcdefghijklmno") {
		t.Fatal("the same code typed differently does not match")
	}
	if hashCode(key, "ABCDE-FGHIJ-KLMNO") == hashCode(key, "ABCDE-FGHIJ-KLMNP") {
		t.Fatal("different codes match")
	}
}

// What the database keeps of a code is keyed by a secret only the node's key gives:
// another node (or a copy of the database alone) cannot test guesses against it, and
// it is not the unsalted hash kept before.
func TestCodeHashIsKeyedByTheNodeKey(t *testing.T) {
	a, b := testKey(t), testKey(t)
	if !bytes.Equal(codeKey(a), codeKey(a)) {
		t.Fatal("the code key changes from one start to the next")
	}
	code := newCode()
	if hashCode(codeKey(a), code) == hashCode(codeKey(b), code) {
		t.Fatal("two nodes' keys give the same code hash")
	}
	plain := sha256.Sum256([]byte("csirtlink/ack-code/v1:" + normCode(code)))
	if h := hashCode(codeKey(a), code); h == hex.EncodeToString(plain[:]) || len(h) != 64 {
		t.Fatalf("code hash %q is not a keyed hash", h)
	}
	// Codes of the old shape (ten characters) are still found by their old hash, new
	// ones never.
	old := "ABCDE-FGHIJ"
	if h, ok := legacyHashCode(old); !ok || h != legacyHash(old) {
		t.Fatalf("legacy hash of %s: %q %v", old, h, ok)
	}
	if _, ok := legacyHashCode(code); ok {
		t.Fatal("a new code is looked up by the legacy hash")
	}
}

// legacyHash is how codes were hashed before the keyed hash, written out again here.
func legacyHash(code string) string {
	sum := sha256.Sum256([]byte("csirtlink/ack-code/v1:" + strings.ToUpper(strings.ReplaceAll(code, "-", ""))))
	return hex.EncodeToString(sum[:])
}

func testKey(t *testing.T) identity.Key {
	t.Helper()
	k, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
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
