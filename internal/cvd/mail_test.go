package cvd

import (
	"strings"
	"testing"
)

func TestParseMail(t *testing.T) {
	raw := "From: =?UTF-8?B?6Yi05pyo?= <suzuki@oem.example>\r\nSubject: Re: [cn-2026-v0001]\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n5L+u5q2j5riI44G/\r\n--b--\r\n"
	from, subject, text, err := ParseMail([]byte(raw))
	if err != nil || from != "suzuki@oem.example" || subject != "Re: [cn-2026-v0001]" || text != "修正済み" {
		t.Fatalf("%q %q %q %v", from, subject, text, err)
	}
	for name, bad := range map[string]string{
		"no From":     "Subject: x\r\n\r\nbody",
		"Shift_JIS":   "From: a@b.example\r\nContent-Type: text/plain; charset=shift_jis\r\n\r\nbody",
		"html only":   "From: a@b.example\r\nContent-Type: text/html\r\n\r\n<p>",
		"not UTF-8":   "From: a@b.example\r\n\r\n\xff\xfe",
		"not a mail":  "",
		"deep nested": "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" + strings.Repeat("--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n", 8),
	} {
		if _, _, _, err := ParseMail([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseMail: no reply handed back by the relay panics the parser, and what it
// accepts is UTF-8.
func FuzzParseMail(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: =?UTF-8?Q?Re=3A_x?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nstatus v1 p1 fixed 1=2E2\r\n"))
	f.Add([]byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, subject, text, err := ParseMail(raw)
		if err == nil && !(utf8Valid(subject) && utf8Valid(text)) {
			t.Fatalf("accepted text that is not UTF-8: %q %q", subject, text)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
