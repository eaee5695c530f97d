package hotline

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactAddress(t *testing.T) {
	tests := []struct{ channel, in, want string }{
		{ChannelEmail, "duty@jp.example", "d***@jp.example"},
		{ChannelEmail, "田中@例え.jp", "田***@例え.jp"},
		{ChannelEmail, "not-an-address", "***"},
		{ChannelEmail, "@jp.example", "***"},
		{ChannelEmail, "a@b@c", "***"},
		{ChannelWebhook, "https://hooks.example/services/T0KEN?key=T0KEN", "https://hooks.example/…"},
		{ChannelWebhook, "https://user:pass@hooks.example:8443/x", "https://hooks.example:8443/…"},
		{ChannelWebhook, "hooks.example/x", "***"},
		{ChannelConsole, "tanaka", "***"},
	}
	for _, tc := range tests {
		if got := RedactAddress(tc.channel, tc.in); got != tc.want {
			t.Errorf("RedactAddress(%s, %q) = %q, want %q", tc.channel, tc.in, got, tc.want)
		}
	}
	addr, errText := redact(ChannelEmail, "duty@jp.example", "RCPT TO <duty@jp.example>: 550 no such user")
	if addr != "d***@jp.example" || strings.Contains(errText, "duty@") {
		t.Errorf("redact: %q, %q", addr, errText)
	}
}

// FuzzRedactAddress: whatever an address holds, its redacted form keeps nothing after
// the first character of an e-mail's local part, and nothing of a URL's path, query,
// fragment or credentials.
func FuzzRedactAddress(f *testing.F) {
	for _, s := range []string{"duty@jp.example", "https://hooks.example/T0KEN?k=v#f", "https://u:p@h/x", "", "@", "x@", "\x00@\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := RedactAddress(ChannelEmail, s)
		if e != "***" {
			local, domain, _ := strings.Cut(s, "@")
			if !strings.HasSuffix(e, "***@"+domain) || len(e) > len(local)+len("***@"+domain) {
				t.Fatalf("e-mail %q redacted to %q", s, e)
			}
		}
		w := RedactAddress(ChannelWebhook, s)
		if w == "***" {
			return
		}
		u, err := url.Parse(s)
		if err != nil || w != u.Scheme+"://"+u.Host+"/…" {
			t.Fatalf("webhook %q redacted to %q", s, w)
		}
	})
}
