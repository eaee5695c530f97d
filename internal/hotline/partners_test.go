package hotline

import (
	"strings"
	"testing"
	"time"
)

func TestValidateSummary(t *testing.T) {
	now := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	shift := func(from, to int) SummaryShift {
		return SummaryShift{User: "Tanaka Hiro", Start: now.Add(time.Duration(from) * time.Hour), End: now.Add(time.Duration(to) * time.Hour)}
	}
	good := func() OnCallSummary {
		return OnCallSummary{Team: "jp", At: now, HotlineEmail: "hotline@jp.example", Rotations: []SummaryRotation{
			{ID: "primary", Name: "Primary duty", Timezone: "Asia/Tokyo", Current: shift(-16, 8), Next: shift(8, 32)}}}
	}
	if err := ValidateSummary(good(), "jp", now); err != nil {
		t.Fatalf("a good summary: %v", err)
	}
	long := strings.Repeat("名", maxSummaryString+1)
	for name, c := range map[string]struct {
		edit func(*OnCallSummary)
		want string
	}{
		"another team's":      {func(s *OnCallSummary) { s.Team = "kr" }, `team "kr" sent by jp`},
		"from the future":     {func(s *OnCallSummary) { s.At = now.Add(time.Hour) }, "dated"},
		"undated":             {func(s *OnCallSummary) { s.At = time.Time{} }, "dated"},
		"too many rotations":  {func(s *OnCallSummary) { s.Rotations = make([]SummaryRotation, maxSummaryRotations+1) }, "rotations, more than"},
		"a long name":         {func(s *OnCallSummary) { s.Rotations[0].Name = long }, "name"},
		"a long person":       {func(s *OnCallSummary) { s.Rotations[0].Next.User = long }, "next user"},
		"a long address":      {func(s *OnCallSummary) { s.HotlineEmail = long }, "hotline_email"},
		"bad UTF-8":           {func(s *OnCallSummary) { s.Rotations[0].Timezone = "\xff" }, "timezone"},
		"an override":         {func(s *OnCallSummary) { s.Rotations[0].Current.User = "\u202Eotas" }, "current user"},
		"an escape sequence":  {func(s *OnCallSummary) { s.Rotations[0].Name = "\x1b[2J" }, "name"},
		"a backwards shift":   {func(s *OnCallSummary) { s.Rotations[0].Current = shift(8, -16) }, "current: bad times"},
		"a shift with no end": {func(s *OnCallSummary) { s.Rotations[0].Next.End = time.Time{} }, "next: bad times"},
	} {
		s := good()
		c.edit(&s)
		err := ValidateSummary(s, "jp", now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	// A summary at the limits is good; a little clock skew is tolerated.
	s := good()
	s.At = now.Add(time.Minute)
	s.Rotations[0].Name = strings.Repeat("名", maxSummaryString)
	for len(s.Rotations) < maxSummaryRotations {
		s.Rotations = append(s.Rotations, s.Rotations[0])
	}
	if err := ValidateSummary(s, "jp", now); err != nil {
		t.Errorf("a summary at the limits: %v", err)
	}
}

func TestSummaryDigestIgnoresWhenItWasMade(t *testing.T) {
	a := OnCallSummary{Team: "jp", At: time.Unix(1, 0), Rotations: []SummaryRotation{{ID: "r", Current: SummaryShift{User: "A"}}}}
	b := a
	b.At = time.Unix(2, 0)
	if a.digest() != b.digest() {
		t.Error("digest depends on At")
	}
	b.Rotations = []SummaryRotation{{ID: "r", Current: SummaryShift{User: "B"}}}
	if a.digest() == b.digest() {
		t.Error("digest ignores who is on call")
	}
}
