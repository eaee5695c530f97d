package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238) with the parameters every authenticator app understands: HMAC-SHA1,
// 6 digits, 30-second steps.
const (
	TOTPDigits = 6
	TOTPPeriod = 30 * time.Second
	// TOTPSkew is how many steps either side of now a code is accepted, for clocks
	// that drift and people who type slowly.
	TOTPSkew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns 20 random bytes (RFC 4226's recommended length) in base32.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b32.EncodeToString(b)
}

// DecodeTOTPSecret reads a base32 secret as people type it: any case, spaces allowed.
func DecodeTOTPSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimRight(s, "="), " ", ""))
	b, err := b32.DecodeString(s)
	if err != nil || len(b) < 10 {
		return nil, fmt.Errorf("auth: TOTP secret is not base32 of at least 80 bits")
	}
	return b, nil
}

// HOTP is RFC 4226's one-time password for counter, with digits digits, using hash h.
func HOTP(h func() hash.Hash, key []byte, counter uint64, digits int) string {
	mac := hmac.New(h, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, code%mod)
}

// TOTPStep is the RFC 6238 time step T for t (T0 = 0).
func TOTPStep(t time.Time, period time.Duration) uint64 {
	return uint64(t.Unix()) / uint64(period/time.Second)
}

// TOTPCode is the code for t with the default parameters.
func TOTPCode(key []byte, t time.Time) string {
	return HOTP(sha1.New, key, TOTPStep(t, TOTPPeriod), TOTPDigits)
}

// CheckTOTP reports whether code is valid for key at now, and the step it matched.
// Callers must refuse a step at or before the last one accepted for the same user, so
// that a code seen over a shoulder cannot be used again.
func CheckTOTP(key []byte, code string, now time.Time) (step uint64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now, TOTPPeriod)
	for d := -TOTPSkew; d <= TOTPSkew; d++ {
		s := cur + uint64(d)
		if d < 0 && cur < uint64(-d) {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(HOTP(sha1.New, key, s, TOTPDigits)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// TOTPURI is the otpauth:// URI authenticator apps read (Key Uri Format).
func TOTPURI(issuer, account, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(TOTPDigits))
	v.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	return "otpauth://totp/" + label + "?" + v.Encode()
}
