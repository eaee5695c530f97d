package feed

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"csirtlink/internal/taxonomy"
)

// The value readers below are shared by every format so a port or a time means
// the same in all of them. They do not allocate on valid input: they run once
// per field of millions of rows.

// ParseIP reads an IPv4 or IPv6 address. An IPv4-mapped IPv6 address is
// unmapped (routing tables hold IPv4 as IPv4); zones are refused.
func ParseIP(s string) (netip.Addr, error) {
	if ip, ok := parseIPv4(s); ok {
		return ip, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", clip(s))
	}
	if ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone", clip(s))
	}
	return ip.Unmap(), nil
}

// parseIPv4 is the fast path for dotted-quad IPv4, most of any report: one
// pass, no function calls. Anything else (IPv6, odd forms) goes to netip,
// which also gives the error. Leading zeros are refused, as netip does.
func parseIPv4(s string) (netip.Addr, bool) {
	var a [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // a leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && field < 3:
			a[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(val)
	return netip.AddrFrom4(a), true
}

// ParsePort reads a port number; empty is 0.
func ParsePort(s string) (uint16, error) {
	n, ok := parseUint(s, 65535)
	if !ok {
		return 0, fmt.Errorf("%q is not a port number (0-65535)", clip(s))
	}
	return uint16(n), nil
}

// ParseASN reads an AS number, with or without an "AS" prefix; empty is 0.
func ParseASN(s string) (uint32, error) {
	t := s
	if len(t) > 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	n, ok := parseUint(t, 1<<32-1)
	if !ok {
		return 0, fmt.Errorf("%q is not an AS number", clip(s))
	}
	return uint32(n), nil
}

func parseUint(s string, limit uint64) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	if len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	return n, n <= limit
}

// countryCodes interns the 676 two-letter codes, so normalising a country
// never allocates.
var countryCodes = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{'A' + byte(i/26), 'A' + byte(i%26)})
	}
	return t
}()

// CountryCode returns s as an upper-case two-letter code, if it is one.
// Whether the code is assigned is not checked: feeds use user-assigned codes
// (Shadowserver's "ZZ", "EU"), and routing only compares them.
func CountryCode(s string) (string, bool) {
	if len(s) != 2 {
		return "", false
	}
	a, b := s[0]|0x20, s[1]|0x20 // ASCII lower case
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return "", false
	}
	return countryCodes[int(a-'a')*26+int(b-'a')], true
}

// ParseCountry reads a country code; empty is "".
func ParseCountry(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	cc, ok := CountryCode(s)
	if !ok {
		return "", fmt.Errorf("%q is not a two-letter country code", clip(s))
	}
	return cc, nil
}

var errNoTime = errors.New("required")

// ParseTime reads a timestamp as feeds write them: Shadowserver's
// "2006-01-02 15:04:05" (UTC), RFC 3339 with or without fractions, the same
// with a space for the T, and Unix seconds. Times without a zone are UTC.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errNoTime
	}
	if t, ok := parseSimpleTime(s); ok {
		return t, nil
	}
	if s[0] != '-' && !strings.ContainsAny(s, "-:") {
		if n, ok := parseUint(s, 1<<33); ok {
			return time.Unix(int64(n), 0).UTC(), nil
		}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want e.g. 2006-01-02 15:04:05 or RFC 3339)", clip(s))
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// parseSimpleTime is the fast path for "2006-01-02 15:04:05" and
// "2006-01-02T15:04:05" (optionally with Z or +00:00), which is how
// Shadowserver and IntelMQ write every time.
func parseSimpleTime(s string) (time.Time, bool) {
	switch {
	case len(s) == 19:
	case len(s) == 20 && s[19] == 'Z':
	case len(s) == 25 && s[19:] == "+00:00":
	default:
		return time.Time{}, false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	h, ok4 := digits(s[11:13])
	mi, ok5 := digits(s[14:16])
	se, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
		d > daysIn(mo, y) || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	days := daysFromCivil(y, mo, d)
	return time.Unix(days*86400+int64(h*3600+mi*60+se), 0).UTC(), true
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm): a few integer operations where time.Date
// normalises every field.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 1969 here, so no negative division
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// HostOfURL returns the host name of a URL, lower-cased only if it had to be,
// or "" when the URL names no host or names an IP address.
func HostOfURL(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		return "" // an IPv6 literal
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if strings.ContainsFunc(h, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		h = strings.ToLower(h)
	}
	return h
}

// Classifier validates RSIT categories with a small memory of the ones seen,
// so a stream of rows naming the same few categories is checked cheaply.
type Classifier struct {
	seen map[string]bool
}

// Valid reports whether category is an RSIT "class/type".
func (c *Classifier) Valid(category string) bool {
	if ok, hit := c.seen[category]; hit {
		return ok
	}
	ok := taxonomy.Valid(category) == nil
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	if len(c.seen) < 1024 { // bounded: hostile input names endless categories
		c.seen[strings.Clone(category)] = ok
	}
	return ok
}

// clip shortens a value quoted in an error message: the value comes from
// outside, and errors are kept and shown.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Clip is clip for the formats' own messages.
func Clip(s string) string { return clip(s) }
