package web

import (
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/clock"
)

func TestLimiter(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC))
	l := newLimiter(clk, 3, 10*time.Minute)
	for i := range 3 {
		if b, _ := l.Blocked("duty"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("duty")
		clk.Advance(time.Minute)
	}
	b, wait := l.Blocked("duty")
	if !b || wait != 7*time.Minute {
		t.Fatalf("after 3 failures: blocked %v, wait %v (want 7m: the first failure leaves the window then)", b, wait)
	}
	if b, _ := l.Blocked("other"); b {
		t.Errorf("another key is blocked")
	}
	clk.Advance(7 * time.Minute)
	if b, _ := l.Blocked("duty"); b {
		t.Errorf("still blocked after the first failure left the window")
	}
	l.Fail("duty")
	if b, _ := l.Blocked("duty"); !b {
		t.Errorf("not blocked with 3 failures in the window")
	}
	l.Reset("duty")
	if b, _ := l.Blocked("duty"); b {
		t.Errorf("blocked after reset")
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	l := newLimiter(clk, 3, time.Minute)
	for i := range maxKeys + 500 {
		l.Fail(fmt.Sprint("ip", i))
	}
	if len(l.fails) > maxKeys {
		t.Errorf("%d keys kept, more than %d", len(l.fails), maxKeys)
	}
}

// A flood of one-off keys does not evict a key with several failures: an attacker
// cannot reset an account's count by failing with many junk names.
func TestLimiterKeepsTheKeyUnderAttack(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	l := newLimiter(clk, 5, time.Hour)
	for range 3 {
		l.Fail("duty")
	}
	for i := range 3 * maxKeys {
		l.Fail(fmt.Sprint("junk", i))
	}
	l.Fail("duty")
	l.Fail("duty")
	if blocked, _ := l.Blocked("duty"); !blocked {
		t.Fatal("the account's failures were forgotten under a flood of junk keys")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/incidents/cn-2026-0001": "/incidents/cn-2026-0001", "//evil.example/": "/", "/\\evil.example": "/",
		"https://evil.example/": "/", "incidents": "/", "/a\r\nSet-Cookie: x": "/",
		"/\t/evil.example": "/", "/\t\\evil.example": "/", "/%09/evil.example": "/%09/evil.example", "/hotline?state=all": "/hotline?state=all",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
