package problem

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckTextAndLine(t *testing.T) {
	for _, c := range []struct {
		name, v    string
		text, line string // the message from CheckText and CheckLine, "" for none
	}{
		{"plain", "C2 at 198.51.100.7", "", ""},
		{"CJK and emoji", "ボットネット 僵尸网络 봇넷 🚨", "", ""},
		{"right-to-left with marks", "שלום\u200fعالم\u200e", "", ""},
		{"lines and tabs", "a\r\nb\tc", "", "contains a control character"},
		{"escape sequence", "ok\x1b[2J", "contains a control character", "contains a control character"},
		{"NUL", "a\x00b", "contains a control character", "contains a control character"},
		{"DEL", "a\x7fb", "contains a control character", "contains a control character"},
		{"C1 control", "a\u0085b", "contains a control character", "contains a control character"},
		{"right-to-left override", "invoice\u202Efdp.exe", "contains a bidirectional formatting character", "contains a bidirectional formatting character"},
		{"left-to-right embedding", "\u202Aa", "contains a bidirectional formatting character", "contains a bidirectional formatting character"},
		{"first strong isolate", "a\u2068b\u2069", "contains a bidirectional formatting character", "contains a bidirectional formatting character"},
		{"bad UTF-8", "\xff", "not valid UTF-8", "not valid UTF-8"},
		{"too long", strings.Repeat("長", 31), "longer than %d characters", "longer than %d characters"},
		{"blank", " \n ", "required", "required"},
	} {
		for _, k := range []struct {
			name  string
			check func(string, string, int, bool) error
			want  string
		}{{"CheckText", CheckText, c.text}, {"CheckLine", CheckLine, c.line}} {
			err := k.check("title", c.v, 30, true)
			if k.want == "" {
				if err != nil {
					t.Errorf("%s %s: %v", k.name, c.name, err)
				}
				continue
			}
			p, ok := As(err)
			if !ok || p.Format != k.want || p.Field != "title" {
				t.Errorf("%s %s: %v, want %q on title", k.name, c.name, err, k.want)
			}
		}
	}
	if err := CheckLine("title", "", 10, false); err != nil {
		t.Errorf("an optional empty line: %v", err)
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{now, true},
		{now.Add(5 * time.Minute), true},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{now.Add(5*time.Minute + time.Nanosecond), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{time.Time{}, false},
	} {
		err := CheckTime("created_at", c.at, now.Add(5*time.Minute))
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.at, err)
		}
	}
}

func TestPrintableAndClip(t *testing.T) {
	if got := Printable("Wang\u202E Li\x1b[31m\n\xff"); got != "Wang Li[31m" {
		t.Errorf("Printable: %q", got)
	}
	if CheckLine("name", Printable("a\u2066b\tc\x00"), 10, true) != nil {
		t.Error("Printable left what CheckLine refuses")
	}
	if got := Clip("日本語", 4); got != "日…" {
		t.Errorf("Clip: %q", got)
	}
	if got := Clip("short", 10); got != "short" {
		t.Errorf("Clip: %q", got)
	}
}

func TestJoinKeepsEveryField(t *testing.T) {
	if Join(nil, nil) != nil {
		t.Error("Join of nothing is not nil")
	}
	one := Invalid("title", "required")
	if Join(nil, one) != one {
		t.Error("Join of one problem is not that problem")
	}
	err := Join(Invalid("title", "required"), nil, Join(Invalid("severity", "bad"), Invalid("tlp", "bad")))
	p, ok := As(err)
	if !ok || p.Field != "title" || len(p.Errors) != 3 {
		t.Fatalf("Join: %#v", err)
	}
	var fields []string
	for _, e := range Each(p) {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, ",") != "title,severity,tlp" {
		t.Errorf("fields %v", fields)
	}
	// A failure that is not the client's wins over the field problems.
	internal := errors.New("database down")
	if got := Join(Invalid("title", "required"), internal); got != internal {
		t.Errorf("Join with an internal error: %v", got)
	}
	if got := Join(Conflict("no"), Invalid("title", "required")); got.(*Error).Code != "conflict" {
		t.Errorf("Join with a conflict: %v", got)
	}
}
