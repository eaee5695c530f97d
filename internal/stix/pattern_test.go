package stix

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"csirtlink/internal/observable"
)

func TestParsePattern(t *testing.T) {
	ok := map[string]Expr{
		"[ipv4-addr:value = '198.51.100.7']":                                                           Comparison{"ipv4-addr", "value", "=", "198.51.100.7"},
		"[ipv4-addr:value ISSUBSET '198.51.100.0/24']":                                                 Comparison{"ipv4-addr", "value", "ISSUBSET", "198.51.100.0/24"},
		"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']": Comparison{"file", "hashes.SHA-256", "=", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']":                                       Comparison{"file", "hashes.MD5", "=", "d41d8cd98f00b204e9800998ecf8427e"},
		"[domain-name:value = 'c2.example' OR domain-name:value = 'c3.example']": Or{
			Comparison{"domain-name", "value", "=", "c2.example"}, Comparison{"domain-name", "value", "=", "c3.example"}},
		"[url:value = 'http://a.example/it\\'s'] OR ([email-addr:value = 'x@bad.example'])": Or{
			Comparison{"url", "value", "=", "http://a.example/it's"}, Comparison{"email-addr", "value", "=", "x@bad.example"}},
		"[ipv6-addr:value = '2001:db8::1' AND autonomous-system:number = 4134]": And{
			Comparison{"ipv6-addr", "value", "=", "2001:db8::1"}, Comparison{"autonomous-system", "number", "=", "4134"}},
	}
	for src, want := range ok {
		got, err := ParsePattern(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", src, got, want)
		}
		again, err := ParsePattern(String(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%s: String gives %q, which reads as %#v, %v", src, String(got), again, err)
		}
	}

	bad := map[string]struct {
		unsupported bool
		says        string
	}{
		"":                                          {false, "expected '['"},
		"[ipv4-addr:value = '198.51.100.7'":         {false, "expected ']'"},
		"[ipv4-addr:value = '198.51.100.7]":         {false, "string not closed"},
		"[ipv4-addr:value = '999.1.1.1']":           {false, "999.1.1.1"},
		"[ipv4-addr:value = '2001:db8::1']":         {false, "is an IPv6 address"},
		"[ipv4-addr:value ISSUBSET '198.51.100.7']": {false, "ISSUBSET needs an address range"},
		"[ipv4-addr:value = 7]":                     {false, "expected a constant"},
		"[ipv4-addr:value = '1.2.3.4'] extra":       {false, "after the end"},
		"[process:name = 'evil.exe']":               {true, `object type "process"`},
		"[file:name = 'evil.exe']":                  {true, `property "name" of file`},
		"[ipv4-addr:value != '1.2.3.4']":            {true, "operator '!='"},
		"[ipv4-addr:value LIKE '1.2.%']":            {true, "operator 'LIKE'"},
		"[ipv4-addr:value NOT = '1.2.3.4']":         {true, "NOT"},
		"[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']":            {true, "FOLLOWEDBY"},
		"[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS":                                  {true, "WITHIN"},
		"[domain-name:value ISSUBSET 'a.example']":                                          {true, "ISSUBSET on domain-name"},
		"[ipv4-addr:value = t'2020-01-01T00:00:00Z']":                                       {true, "typed constant"},
		"[ipv4-addr:value = '\\n']":                                                         {false, `only \' and \\`},
		strings.Repeat("(", 40) + "[ipv4-addr:value = '1.2.3.4']" + strings.Repeat(")", 40): {false, "nested more than"},
		strings.Repeat("x", MaxPatternLen+1):                                                {false, "more than the 8192 allowed"},
	}
	for src, want := range bad {
		_, err := ParsePattern(src)
		if err == nil {
			t.Errorf("%.60s: accepted", src)
			continue
		}
		var pe *PatternError
		if !errors.As(err, &pe) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%.60s: error %T is not a PatternError", src, err)
		}
		if errors.Is(err, ErrUnsupported) != want.unsupported || !strings.Contains(err.Error(), want.says) {
			t.Errorf("%.60s: %v; want unsupported=%v and %q", src, err, want.unsupported, want.says)
		}
	}
}

func TestPatternObservables(t *testing.T) {
	e, err := ParsePattern("[ipv4-addr:value = '198.51.100.7'] OR [ipv4-addr:value ISSUBSET '203.0.113.9/24' OR url:value = 'HTTP://A.example']")
	if err != nil {
		t.Fatal(err)
	}
	got, err := PatternObservables(e)
	want := []observable.Observable{{Type: observable.IPv4, Value: "198.51.100.7"}, {Type: observable.CIDR, Value: "203.0.113.0/24"}, {Type: observable.URL, Value: "http://a.example/"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v %v, want %v", got, err, want)
	}
	e, _ = ParsePattern("[ipv4-addr:value = '198.51.100.7' AND ipv4-addr:value = '198.51.100.8']")
	if _, err := PatternObservables(e); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a conjunction: %v", err)
	}
	// Every observable's own pattern reads back to it.
	for _, o := range []observable.Observable{{Type: observable.IPv6, Value: "2001:db8::1"}, {Type: observable.SHA1, Value: "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{Type: observable.Domain, Value: "c2.example"}, {Type: observable.CIDR, Value: "2001:db8::/32"}, {Type: observable.Email, Value: "o'brien@bad.example"}} {
		p, err := PatternFor(o)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParsePattern(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got, err := PatternObservables(e); err != nil || len(got) != 1 || got[0] != o {
			t.Errorf("%s reads as %v %v, want %v", p, got, err, o)
		}
	}
}

// FuzzParsePattern: no input panics, errors are PatternErrors, and what parses writes
// back to a pattern that parses to the same expression.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.7']", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
		"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
		"([domain-name:value = 'a.example'] OR [url:value = 'http://a.example/x\\'y']) AND [autonomous-system:number = 1]",
		"[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", "[process:name = 'x']", "[(ipv6-addr:value = '::1')]", "[", "'", "[a:b = '",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParsePattern(s)
		if err != nil {
			var pe *PatternError
			var ue *unsupportedError
			if !errors.As(err, &pe) && !errors.As(err, &ue) {
				t.Fatalf("%q: error of type %T: %v", s, err, err)
			}
			return
		}
		out := String(e)
		again, err := ParsePattern(out)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("%q → %q → %#v, %v", s, out, again, err)
		}
	})
}
