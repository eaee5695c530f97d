package partner

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
)

// SafetyNumber is the short fingerprint two teams read to each other over another
// channel (the hotline) before they trust each other's keys: six groups of five
// digits, derived from both keys (Signal's safety numbers are the model). Both sides
// compute the same number, whichever is "ours": the keys are sorted first.
func SafetyNumber(a, b ed25519.PublicKey) string {
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	h := sha512.New()
	h.Write([]byte("csirtlink/safety-number/v1"))
	h.Write(a)
	h.Write(b)
	sum := h.Sum(nil)
	// Iterate so that a search for a colliding key costs more than one hash per try.
	for range 5200 {
		h.Reset()
		h.Write(sum)
		h.Write(a)
		h.Write(b)
		sum = h.Sum(sum[:0])
	}
	groups := make([]string, 6)
	for i := range groups {
		// 5 bytes give 40 bits; mod 100,000 keeps the bias negligible.
		var v [8]byte
		copy(v[3:], sum[i*5:i*5+5])
		groups[i] = fmt.Sprintf("%05d", binary.BigEndian.Uint64(v[:])%100000)
	}
	return strings.Join(groups, " ")
}

// normalNumber keeps the digits of a safety number as someone typed it (spaces,
// dashes and dots between the groups are fine).
func normalNumber(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '\t':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 30
}
