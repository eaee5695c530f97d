package partner

import (
	"strings"
	"testing"
	"time"

	"csirtlink/internal/identity"
	"csirtlink/internal/wire"
)

func TestSafetyNumberIsTheSameOnBothSides(t *testing.T) {
	a, _ := identity.Generate()
	b, _ := identity.Generate()
	n := SafetyNumber(a.PublicKey(), b.PublicKey())
	if n != SafetyNumber(b.PublicKey(), a.PublicKey()) {
		t.Fatal("the two sides compute different numbers")
	}
	groups := strings.Split(n, " ")
	if len(groups) != 6 {
		t.Fatalf("%q: want six groups", n)
	}
	for _, g := range groups {
		if len(g) != 5 || strings.Trim(g, "0123456789") != "" {
			t.Fatalf("%q: want groups of five digits", n)
		}
	}
	c, _ := identity.Generate()
	if n == SafetyNumber(a.PublicKey(), c.PublicKey()) {
		t.Fatal("another key gives the same number")
	}
	if d, ok := normalNumber(strings.ReplaceAll(n, " ", "-")); !ok || d != strings.ReplaceAll(n, " ", "") {
		t.Fatalf("a number typed with dashes is not read: %q", d)
	}
}

func statement(t *testing.T, old, next, signOld, signNew identity.Key) wire.KeyRotation {
	t.Helper()
	k := wire.KeyRotation{Version: wire.PartnerVersion, Team: "jp", OldKey: old.Public(), NewKey: next.Public(), At: time.Unix(1e9, 0).UTC()}
	msg, err := rotationBytes(k)
	if err != nil {
		t.Fatal(err)
	}
	k.OldSig, k.NewSig = signOld.Sign(msg), signNew.Sign(msg)
	return k
}

func TestRotationNeedsBothKeys(t *testing.T) {
	old, _ := identity.Generate()
	next, _ := identity.Generate()
	if err := VerifyRotation(statement(t, old, next, old, next), old.Public()); err != nil {
		t.Fatalf("a good rotation is refused: %v", err)
	}
	// Forged: signed by the new key only (a thief without the old key).
	if err := VerifyRotation(statement(t, old, next, next, next), old.Public()); err == nil || !strings.Contains(err.Error(), "old_sig") {
		t.Fatalf("a rotation signed by the new key only is accepted: %v", err)
	}
	// Forged: the old key's holder names a key it cannot sign with.
	if err := VerifyRotation(statement(t, old, next, old, old), old.Public()); err == nil || !strings.Contains(err.Error(), "new_sig") {
		t.Fatalf("a rotation not signed by the new key is accepted: %v", err)
	}
	// A rotation from a key we do not hold for the team.
	other, _ := identity.Generate()
	if err := VerifyRotation(statement(t, other, next, other, next), old.Public()); err == nil {
		t.Fatal("a rotation of a key not on file is accepted")
	}
}

func TestIntroductionMustBeSignedByItsKey(t *testing.T) {
	k, _ := identity.Generate()
	doc, err := wire.EncodeIntroduction(wire.Introduction{Team: "jp", Name: "JPCERT/CC", URL: "https://jp.example", PublicKey: k.Public(),
		Timezone: "Asia/Tokyo", Constituency: wire.Constituency{Team: "jp", Serial: 1, Networks: []string{"198.51.100.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := wire.EncodeSignedDocument(wire.SignedDocument{Document: doc, Signature: signDocument(k.Sign, tagIntroduction, doc)})
	if _, err := ParseIntroduction(good); err != nil {
		t.Fatalf("a good introduction: %v", err)
	}
	other, _ := identity.Generate()
	bad, _ := wire.EncodeSignedDocument(wire.SignedDocument{Document: doc, Signature: signDocument(other.Sign, tagIntroduction, doc)})
	if _, err := ParseIntroduction(bad); err == nil {
		t.Fatal("an introduction signed by another key is accepted")
	}
}

// FuzzParseIntroduction: no input panics, and what is accepted verifies.
func FuzzParseIntroduction(f *testing.F) {
	k, _ := identity.Generate()
	doc, _ := wire.EncodeIntroduction(wire.Introduction{Team: "jp", Name: "JPCERT/CC", URL: "https://jp.example", PublicKey: k.Public(),
		Timezone: "Asia/Tokyo", Constituency: wire.Constituency{Team: "jp", Serial: 1, Countries: []string{"JP"}}})
	good, _ := wire.EncodeSignedDocument(wire.SignedDocument{Document: doc, Signature: signDocument(k.Sign, tagIntroduction, doc)})
	f.Add(good)
	f.Add([]byte(`{"document":"e30=","signature":"AA=="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ParseIntroduction(b)
		if err != nil {
			return
		}
		if _, err := identity.ParsePublic(in.PublicKey); err != nil {
			t.Fatalf("accepted an introduction without a valid key: %v", err)
		}
	})
}

// FuzzVerifyRotation: no input panics; a mutated statement never verifies.
func FuzzVerifyRotation(f *testing.F) {
	old, _ := identity.Generate()
	next, _ := identity.Generate()
	k := wire.KeyRotation{Version: wire.PartnerVersion, Team: "jp", OldKey: old.Public(), NewKey: next.Public(), At: time.Unix(1e9, 0).UTC()}
	msg, _ := rotationBytes(k)
	k.OldSig, k.NewSig = old.Sign(msg), next.Sign(msg)
	good, _ := wire.EncodeKeyRotation(k)
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := wire.DecodeKeyRotation(b)
		if err != nil {
			return
		}
		if VerifyRotation(r, old.Public()) == nil {
			again, _ := wire.EncodeKeyRotation(r)
			if string(again) != string(good) {
				t.Fatalf("a statement other than the signed one verifies: %s", again)
			}
		}
	})
}
