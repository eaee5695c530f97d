package web

import (
	"fmt"
	"testing"
	"time"

	"csirtlink/internal/clock"
)

// The delay grows exponentially past the free failures, up to the ceiling, and is
// counted from the last failure: never a lockout longer than the ceiling.
func TestThrottleGrowsAndIsCapped(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC))
	th := newThrottle(clk, throttleRule{free: 3, base: time.Second, max: 10 * time.Second, forget: time.Hour})
	for i := range 3 {
		if w := th.Wait("duty"); w != 0 {
			t.Fatalf("wait %v after %d failures, want none", w, i)
		}
		th.Fail("duty")
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if w := th.Wait("duty"); w != want {
			t.Fatalf("wait %v, want %v", w, want)
		}
		if w := th.Wait("other"); w != 0 {
			t.Fatalf("another key waits %v", w)
		}
		clk.Advance(want - time.Millisecond)
		if w := th.Wait("duty"); w != time.Millisecond {
			t.Fatalf("a millisecond before the end: wait %v", w)
		}
		clk.Advance(time.Millisecond)
		if w := th.Wait("duty"); w != 0 {
			t.Fatalf("at the end of the delay: wait %v", w)
		}
		th.Fail("duty")
	}
	// The ceiling holds however many failures come.
	for range 200 {
		clk.Advance(10 * time.Second)
		th.Fail("duty")
	}
	if w := th.Wait("duty"); w != 10*time.Second {
		t.Fatalf("after 200 more failures: wait %v, want the ceiling", w)
	}
	th.Reset("duty")
	if w := th.Wait("duty"); w != 0 {
		t.Errorf("wait %v after reset", w)
	}
	// A key left alone for the forget time starts afresh.
	for range 5 {
		th.Fail("duty")
	}
	clk.Advance(time.Hour)
	th.Fail("duty")
	if w := th.Wait("duty"); w != 0 {
		t.Errorf("wait %v after one failure an hour after the last", w)
	}
}

func TestThrottleBoundedMemory(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	th := newThrottle(clk, accountRule)
	for i := range maxKeys + 500 {
		th.Fail(fmt.Sprint("ip", i))
	}
	if len(th.keys) > maxKeys {
		t.Errorf("%d keys kept, more than %d", len(th.keys), maxKeys)
	}
}

// A flood of one-off keys does not evict a key with several failures: an attacker
// cannot reset an account's count by failing with many junk names.
func TestThrottleKeepsTheKeyUnderAttack(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	th := newThrottle(clk, throttleRule{free: 5, base: time.Minute, max: time.Hour, forget: time.Hour})
	for range 3 {
		th.Fail("duty")
	}
	for i := range 3 * maxKeys {
		th.Fail(fmt.Sprint("junk", i))
	}
	th.Fail("duty")
	th.Fail("duty")
	if w := th.Wait("duty"); w == 0 {
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
