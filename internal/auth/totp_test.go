package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
	"time"
)

// The test vectors of RFC 6238, appendix B: 8 digits, 30 s steps, the three hashes
// with their seeds.
func TestTOTPRFC6238Vectors(t *testing.T) {
	seed20 := []byte("12345678901234567890")
	seed32 := []byte("12345678901234567890123456789012")
	seed64 := []byte("1234567890123456789012345678901234567890123456789012345678901234")
	cases := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, c := range cases {
		step := TOTPStep(time.Unix(c.unix, 0), 30*time.Second)
		for _, h := range []struct {
			name string
			fn   func() hash.Hash
			key  []byte
			want string
		}{{"SHA1", sha1.New, seed20, c.sha1}, {"SHA256", sha256.New, seed32, c.sha256}, {"SHA512", sha512.New, seed64, c.sha512}} {
			if got := HOTP(h.fn, h.key, step, 8); got != h.want {
				t.Errorf("T=%d %s: got %s, want %s", c.unix, h.name, got, h.want)
			}
		}
	}
}

// RFC 4226 appendix D: HOTP values for counters 0-9.
func TestHOTPRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(sha1.New, []byte("12345678901234567890"), uint64(i), 6); got != w {
			t.Errorf("counter %d: got %s, want %s", i, got, w)
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	secret := NewTOTPSecret()
	key, err := DecodeTOTPSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	code := TOTPCode(key, now)
	if s, ok := CheckTOTP(key, code, now); !ok || s != TOTPStep(now, TOTPPeriod) {
		t.Fatalf("current code refused")
	}
	if _, ok := CheckTOTP(key, code, now.Add(TOTPPeriod)); !ok {
		t.Errorf("code of the previous step refused (skew 1)")
	}
	if _, ok := CheckTOTP(key, code, now.Add(3*TOTPPeriod)); ok {
		t.Errorf("code three steps old accepted")
	}
	if _, ok := CheckTOTP(key, "12345", now); ok {
		t.Errorf("short code accepted")
	}
	if _, err := DecodeTOTPSecret("not base32!"); err == nil {
		t.Errorf("bad secret accepted")
	}
	if k2, err := DecodeTOTPSecret(" " + secret[:4] + " " + secret[4:] + " "); err != nil || string(k2) != string(key) {
		t.Errorf("secret with spaces not read: %v", err)
	}
}
