package observable

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		typ, in string
		want    Observable
	}{
		// IPv4 and IPv6
		{"", "192.0.2.1", Observable{IPv4, "192.0.2.1"}},
		{"ipv4", " 192.0.2.1\n", Observable{IPv4, "192.0.2.1"}},
		{"", "192[.]0[.]2[.]1", Observable{IPv4, "192.0.2.1"}},
		{"", "192(.)0(.)2(.)1", Observable{IPv4, "192.0.2.1"}},
		{"", "2001:DB8:0:0:0:0:0:1", Observable{IPv6, "2001:db8::1"}},
		{"ipv6", "2001:0db8::0001", Observable{IPv6, "2001:db8::1"}},
		{"", "2001[:]db8[:][:]1", Observable{IPv6, "2001:db8::1"}},
		{"", "::ffff:192.0.2.1", Observable{IPv4, "192.0.2.1"}},
		{"ipv6", "::FFFF:c000:0201", Observable{IPv4, "192.0.2.1"}},
		{"ipv4", "::ffff:192.0.2.1", Observable{IPv4, "192.0.2.1"}},
		{"IPv4", "192.0.2.1", Observable{IPv4, "192.0.2.1"}},

		// CIDR
		{"", "10.1.2.3/8", Observable{CIDR, "10.0.0.0/8"}},
		{"cidr", "192.0.2.7/32", Observable{CIDR, "192.0.2.7/32"}},
		{"", "2001:DB8::1/32", Observable{CIDR, "2001:db8::/32"}},
		{"", "2001:db8::1/128", Observable{CIDR, "2001:db8::1/128"}},
		{"", "::ffff:10.1.2.3/104", Observable{CIDR, "10.0.0.0/8"}},

		// Domains, including IDN
		{"", "Example.COM.", Observable{Domain, "example.com"}},
		{"domain", "www.example[.]org", Observable{Domain, "www.example.org"}},
		{"", "例え.jp", Observable{Domain, "xn--r8jz45g.jp"}},
		{"", "例え。jp", Observable{Domain, "xn--r8jz45g.jp"}}, // ideographic full stop
		{"", "xn--R8JZ45G.jp", Observable{Domain, "xn--r8jz45g.jp"}},
		{"", "한국인터넷진흥원.kr", Observable{Domain, "xn--3e0bx5e6xzftae3gxzpskhile.kr"}},
		{"", "예시.한국", Observable{Domain, "xn--vv4b11d.xn--3e0b707e"}},
		{"", "中国互联网络信息中心.cn", Observable{Domain, "xn--fiqa61au8b7zsevnm8ak20mc4a87e.cn"}},
		{"", "例子.中国", Observable{Domain, "xn--fsqu00a.xn--fiqs8s"}},
		{"", "Bücher.example", Observable{Domain, "xn--bcher-kva.example"}},
		{"", "faß.de", Observable{Domain, "xn--fa-hia.de"}}, // non-transitional: ß is kept

		// URLs
		{"", "hxxp://evil[.]example/path?q=1#frag", Observable{URL, "http://evil.example/path?q=1"}},
		{"", "hXXps[:]//Evil.Example:443/a", Observable{URL, "https://evil.example/a"}},
		{"", "HTTP://EVIL.example:80", Observable{URL, "http://evil.example/"}},
		{"url", "http://evil.example:8080/x", Observable{URL, "http://evil.example:8080/x"}},
		{"", "ftp://files.example:21/pub/", Observable{URL, "ftp://files.example/pub/"}},
		{"", "ftp://files.example:2121/pub/", Observable{URL, "ftp://files.example:2121/pub/"}},
		{"", "http://[2001:DB8::1]:80/", Observable{URL, "http://[2001:db8::1]/"}},
		{"", "http://[::ffff:192.0.2.1]/", Observable{URL, "http://192.0.2.1/"}},
		{"", "http://192.0.2.1:0080/", Observable{URL, "http://192.0.2.1/"}},
		{"", "https://例え.jp/パス", Observable{URL, "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"}},
		{"", "http://paypal.example@evil.example/", Observable{URL, "http://paypal.example@evil.example/"}},

		// E-mail
		{"", "Phish.Er@Example.COM", Observable{Email, "Phish.Er@example.com"}},
		{"email", "a[@]example[.]org", Observable{Email, "a@example.org"}},
		{"", "info@例え.jp", Observable{Email, "info@xn--r8jz45g.jp"}},

		// Hashes
		{"", "D41D8CD98F00B204E9800998ECF8427E", Observable{MD5, "d41d8cd98f00b204e9800998ecf8427e"}},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", Observable{MD5, "d41d8cd98f00b204e9800998ecf8427e"}},
		{"", "da39a3ee5e6b4b0d3255bfef95601890afd80709", Observable{SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		{"", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", Observable{SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
	}
	// Expected A-labels were computed independently with Python's punycode codec.
	for _, tc := range tests {
		got, err := Parse(tc.typ, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", tc.typ, tc.in, got, err, tc.want)
		}
		// Detection must recognise every canonical form. (Not a fuzz
		// property: an e-mail local part may legally contain "://".)
		if auto, err := Parse("", tc.want.Value); err != nil || auto != tc.want {
			t.Errorf("Parse(\"\", %q) = %+v, %v; want %+v", tc.want.Value, auto, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		typ, in string
		want    string // substring of the error
	}{
		{"", "", "empty value"},
		{"", "   ", "empty value"},
		{"domain", " ", "observable domain: empty value"},
		{"domain", "[.]", `domain "[.]": empty name`},
		{"", "a..b", `observable: domain "a..b": empty label`},
		{"", "localhost", `domain "localhost": needs at least two labels`},
		{"", "1.2.3.256", `ipv4 "1.2.3.256"`},
		{"", "1.2.3", `ipv4 "1.2.3"`},
		{"domain", "192.0.2.1", "is an IP address"},
		{"domain", "example.123", "all-numeric"},
		{"", "-bad.example", `domain "-bad.example": invalid name`},
		{"", "under_score.example", "invalid name"},
		{"", strings.Repeat("a", 64) + ".example", "longer than 63"},
		{"", strings.Repeat("abcdefghi.", 26) + "example", "longer than 253"},
		{"", "fe80::1%eth0", `ipv6 "fe80::1%eth0": zone "eth0" not allowed`},
		{"ipv4", "2001:db8::1", "is an IPv6 address"},
		{"ipv6", "192.0.2.1", "is an IPv4 address"},
		{"", "10.0.0.0/33", `cidr "10.0.0.0/33"`},
		{"", "fe80::1%eth0/64", "cidr"},
		{"", "javascript://evil.example/", `scheme "javascript" not allowed`},
		{"", "file:///etc/passwd", `scheme "file" not allowed`},
		{"url", "http:evil.example", "host required"},
		{"", "http://evil..example/", `url "http://evil..example/": host "evil..example": empty label`},
		{"", "http://evil.example:99999/", "port"},
		{"", "http://evil.example:0/", "port"},
		{"", "http://[fe80::1%25eth0]/", "zone"},
		{"", "@example.com", "empty local part"},
		{"", strings.Repeat("x", 65) + "@example.com", "longer than 64"},
		{"", "a b@example.com", "white space"},
		{"", "user@localhost", `domain "localhost": needs at least two labels`},
		{"", "user@[192.0.2.1]", "email"},
		{"md5", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "40 hex digits, want 32"},
		{"sha256", "xyz", "not hexadecimal"},
		{"", "hash", "needs at least two labels"},
		{"fqdn", "example.com", `unknown type "fqdn" (valid: ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256)`},
		{"", strings.Repeat("a", MaxLen+1), "more than the 2048 allowed"},
		{"", "exa\xffmple.com", "not valid UTF-8"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.typ, tc.in)
		if err == nil {
			t.Errorf("Parse(%q, %q) = %+v, want error containing %q", tc.typ, tc.in, got, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q) error = %q, want it to contain %q", tc.typ, tc.in, err, tc.want)
		}
		if got != (Observable{}) {
			t.Errorf("Parse(%q, %q) returned %+v alongside an error", tc.typ, tc.in, got)
		}
	}
}

func TestTypes(t *testing.T) {
	got := Types()
	want := []Type{IPv4, IPv6, CIDR, Domain, URL, Email, MD5, SHA1, SHA256}
	if !slices.Equal(got, want) {
		t.Fatalf("Types() = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if Types()[0] != IPv4 {
		t.Error("Types() returns shared state")
	}
}

// FuzzParse checks that Parse never panics and that its output is a fixed
// point: parsing a result again with its own type yields the same result.
func FuzzParse(f *testing.F) {
	seeds := []struct{ typ, in string }{
		{"", "192.0.2.1"}, {"", "::ffff:192.0.2.1"}, {"", "2001:db8::1"}, {"ipv6", "fe80::1%eth0"},
		{"", "10.1.2.3/8"}, {"", "::ffff:10.1.2.3/100"},
		{"", "例え.jp"}, {"", "예시.한국"}, {"", "例子.中国"}, {"", "xn--r8jz45g.jp"}, {"domain", "Example.COM."},
		{"", "hxxp://evil[.]example:80/a?b#c"}, {"url", "https://user:pw@[2001:db8::1]:8443/%7e?x"},
		{"", "a[@]example[.]org"}, {"", "x@@example.com"}, {"email", "a://b@example.com"},
		{"", "d41d8cd98f00b204e9800998ecf8427e"}, {"sha1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"},
		{"", "[[.]]"}, {"", "http://a.example/[[.]]"}, {"", "hxxps[:]//a(.)b"}, {"bogus", ""},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.in)
	}
	f.Fuzz(func(t *testing.T, typ, in string) {
		o, err := Parse(typ, in)
		if err != nil {
			if o != (Observable{}) {
				t.Fatalf("Parse(%q, %q) returned %+v alongside error %v", typ, in, o, err)
			}
			return
		}
		if !slices.Contains(types, o.Type) {
			t.Fatalf("Parse(%q, %q) returned unknown type %q", typ, in, o.Type)
		}
		again, err := Parse(string(o.Type), o.Value)
		if err != nil {
			t.Fatalf("Parse(%q, %q) = %+v, but parsing that again fails: %v", typ, in, o, err)
		}
		if again != o {
			t.Fatalf("Parse(%q, %q) = %+v, but parsing that again gives %+v", typ, in, o, again)
		}
	})
}
