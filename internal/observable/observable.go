// Package observable parses indicators (addresses, domains, URLs, e-mail
// addresses, hashes) into one canonical form each, so that the same indicator
// reported by two teams compares equal.
package observable

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Type names the kind of an observable.
type Type string

// The supported observable types.
const (
	IPv4   Type = "ipv4"
	IPv6   Type = "ipv6"
	CIDR   Type = "cidr"
	Domain Type = "domain"
	URL    Type = "url"
	Email  Type = "email"
	MD5    Type = "md5"
	SHA1   Type = "sha1"
	SHA256 Type = "sha256"
)

var types = []Type{IPv4, IPv6, CIDR, Domain, URL, Email, MD5, SHA1, SHA256}

// Types returns every supported type.
func Types() []Type {
	return slices.Clone(types)
}

// MaxLen bounds the raw input in bytes. Real indicators are far shorter; the
// cap keeps a hostile feed from making us normalise megabytes per entry.
const MaxLen = 2048

// Observable is a normalised indicator.
type Observable struct {
	Type  Type   `json:"type"`
	Value string `json:"value"`
}

// Parse normalises raw as an observable of type typ, or detects the type when
// typ is empty. A successful result parses to itself again, so stored values
// can be compared byte for byte.
func Parse(typ, raw string) (Observable, error) {
	t := Type(strings.ToLower(strings.TrimSpace(typ)))
	if t != "" && !slices.Contains(types, t) {
		return Observable{}, fmt.Errorf("observable: unknown type %q (valid: %s)", typ, joinTypes())
	}
	// These checks come before detection, so name the type only if given.
	prefix := "observable"
	if t != "" {
		prefix += " " + string(t)
	}
	if len(raw) > MaxLen {
		return Observable{}, fmt.Errorf("%s: value is %d bytes, more than the %d allowed", prefix, len(raw), MaxLen)
	}
	if !utf8.ValidString(raw) {
		return Observable{}, fmt.Errorf("%s: value is not valid UTF-8", prefix)
	}
	raw = strings.TrimSpace(raw)
	s := undefang(raw)
	if s == "" {
		return Observable{}, fmt.Errorf("%s: empty value", prefix)
	}
	if t == "" {
		t = detect(s)
	}

	var (
		o   = Observable{Type: t}
		err error
	)
	switch t {
	case IPv4, IPv6:
		o, err = parseIP(t, s)
	case CIDR:
		o.Value, err = parseCIDR(s)
	case Domain:
		o.Value, err = normDomain(s)
	case URL:
		o.Value, err = parseURL(s)
	case Email:
		o.Value, err = parseEmail(s)
	case MD5, SHA1, SHA256:
		o.Value, err = parseHash(t, s)
	}
	if err != nil {
		return Observable{}, fmt.Errorf("observable: %s %q: %w", t, raw, err)
	}
	return o, nil
}

func joinTypes() string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// defanged holds the usual ways analysts neuter indicators in reports.
var defanged = strings.NewReplacer("[.]", ".", "(.)", ".", "[@]", "@", "[:]", ":")

// undefang reverses defanging. It repeats until nothing changes because one
// pass can leave a new token behind ("[[.]]" becomes "[.]"), and a value
// still holding one would not parse to itself.
func undefang(s string) string {
	for {
		r := defanged.Replace(s)
		if r == s {
			break
		}
		s = r
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "hxxp") {
		rest := s[4:]
		if strings.HasPrefix(rest, "://") || (len(rest) > 3 && strings.EqualFold(rest[:1], "s") && rest[1:4] == "://") {
			s = "http" + rest
		}
	}
	return s
}

// detect guesses the type from the value's shape; the parser for that type
// then decides whether the value is valid.
func detect(s string) Type {
	switch {
	case strings.Contains(s, "://"):
		return URL
	case strings.Contains(s, "@"):
		return Email
	case strings.Contains(s, "/"):
		return CIDR
	case strings.Contains(s, ":"):
		return IPv6
	case strings.Contains(s, ".") && strings.Trim(s, "0123456789.") == "":
		return IPv4
	}
	if isHex(s) {
		for t, n := range hashLen {
			if len(s) == n {
				return t
			}
		}
	}
	return Domain
}

func parseIP(t Type, s string) (Observable, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return Observable{}, err
	}
	// A zone names an interface on one host; it means nothing to a peer.
	if addr.Zone() != "" {
		return Observable{}, fmt.Errorf("zone %q not allowed", addr.Zone())
	}
	switch {
	case addr.Is4In6():
		// An IPv4-mapped address is that IPv4 host; store it so, whatever
		// family the caller named, so both spellings match.
		return Observable{Type: IPv4, Value: addr.Unmap().String()}, nil
	case t == IPv4 && addr.Is6():
		return Observable{}, errors.New("is an IPv6 address")
	case t == IPv6 && addr.Is4():
		return Observable{}, errors.New("is an IPv4 address")
	case addr.Is4():
		return Observable{Type: IPv4, Value: addr.String()}, nil
	default:
		return Observable{Type: IPv6, Value: addr.String()}, nil
	}
}

func parseCIDR(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked().String(), nil
}

// lookup is UTS #46 lookup processing with the label checks on (STD3
// characters, hyphen and joiner rules, Bidi rule) and non-transitional
// mapping, so "ß" stays "ß" as registries now treat it. DNS lengths are
// checked by normDomain instead, whose errors name the offending part.
var lookup = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
)

// normDomain returns the A-label form of a host name.
func normDomain(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty name")
	}
	// Checked before IDNA so the common mistakes get a plain message.
	if slices.Contains(strings.Split(s, "."), "") {
		return "", errors.New("empty label")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", errors.New("is an IP address, not a domain")
	}
	a, err := lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("invalid name: %w", err)
	}
	a = strings.ToLower(a)
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", errors.New("needs at least two labels")
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "", errors.New("empty label")
		case len(l) > 63:
			return "", fmt.Errorf("label %q is longer than 63 bytes", l)
		}
	}
	if len(a) > 253 {
		return "", fmt.Errorf("name is %d bytes, longer than 253", len(a))
	}
	// An all-numeric top-level label is never delegated; such a name is
	// almost always a mistyped IPv4 address.
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("top-level label %q is all-numeric", tld)
	}
	return a, nil
}

var defaultPorts = map[string]int{"http": 80, "https": 443, "ftp": 21}

func parseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	// url.Parse has already lower-cased the scheme.
	def, ok := defaultPorts[u.Scheme]
	if !ok {
		return "", fmt.Errorf("scheme %q not allowed (want http, https or ftp)", u.Scheme)
	}
	name := u.Hostname()
	if name == "" {
		return "", errors.New("host required")
	}

	host, err := normHost(name, strings.HasPrefix(u.Host, "["))
	if err != nil {
		return "", fmt.Errorf("host %q: %w", name, err)
	}

	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q out of range", p)
		}
		if n != def {
			host += ":" + strconv.Itoa(n)
		}
	}

	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	// RFC 3986 6.2.3: an empty path and "/" are the same resource over HTTP.
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return u.String(), nil
}

// normHost normalises a URL host without its port; bracketed says it was
// written as an IPv6 literal.
func normHost(name string, bracketed bool) (string, error) {
	addr, err := netip.ParseAddr(name)
	switch {
	case err != nil && bracketed:
		return "", err
	case err != nil:
		return normDomain(name)
	case addr.Zone() != "":
		return "", fmt.Errorf("zone %q not allowed", addr.Zone())
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String(), nil
	}
	return "[" + addr.String() + "]", nil
}

func parseEmail(s string) (string, error) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "", errors.New("no @")
	}
	local, domain := s[:i], s[i+1:]
	switch {
	case local == "":
		return "", errors.New("empty local part")
	case len(local) > 64:
		return "", fmt.Errorf("local part is %d bytes, longer than 64", len(local))
	case strings.ContainsFunc(local, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "", errors.New("local part contains white space or control characters")
	}
	d, err := normDomain(domain)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", domain, err)
	}
	return local + "@" + d, nil
}

var hashLen = map[Type]int{MD5: 32, SHA1: 40, SHA256: 64}

func parseHash(t Type, s string) (string, error) {
	if !isHex(s) {
		return "", errors.New("not hexadecimal")
	}
	if n := hashLen[t]; len(s) != n {
		return "", fmt.Errorf("%d hex digits, want %d", len(s), n)
	}
	return strings.ToLower(s), nil
}

func isHex(s string) bool {
	return s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}
