package hotline

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// RedactAddress shows a contact's address without what makes it usable by someone
// else: an e-mail address keeps its first character and its domain ("d***@jp.example");
// a webhook URL keeps its scheme and host ("https://hooks.example/…"), since its path
// and query often hold the access token. Anything else becomes "***".
func RedactAddress(channel, addr string) string {
	switch channel {
	case ChannelEmail:
		local, domain, ok := strings.Cut(addr, "@")
		if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
			return "***"
		}
		first := ""
		if r, _ := utf8.DecodeRuneInString(local); r != utf8.RuneError {
			first = string(r)
		}
		return first + "***@" + domain
	case ChannelWebhook:
		u, err := url.Parse(addr)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return "***"
		}
		return u.Scheme + "://" + u.Host + "/…"
	}
	return "***"
}

// redact redacts a notification's address and every copy of it in its error (an SMTP
// error names the recipient: "RCPT TO <d@jp.example>").
func redact(channel, addr, errText string) (string, string) {
	r := RedactAddress(channel, addr)
	if addr != "" {
		errText = strings.ReplaceAll(errText, addr, r)
	}
	return r, errText
}
