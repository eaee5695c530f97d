package web

import (
	"sync"
	"time"

	"csirtlink/internal/clock"
)

// limiter counts failures per key (an account name, a client address) in a sliding
// window and blocks a key that reached max. It reads time from an injected clock, so
// tests move time instead of sleeping. Memory is bounded: past maxKeys, keys whose
// failures all left the window are dropped.
type limiter struct {
	mu     sync.Mutex
	clock  clock.Clock
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

const maxKeys = 10000

func newLimiter(clk clock.Clock, max int, window time.Duration) *limiter {
	return &limiter{clock: clk, max: max, window: window, fails: map[string][]time.Time{}}
}

// recent drops failures that left the window; the caller holds mu.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fs
	return fs
}

// Blocked reports whether key is blocked, and for how long.
func (l *limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	fs := l.recent(key, now)
	if len(fs) < l.max {
		return false, 0
	}
	return true, fs[len(fs)-l.max].Add(l.window).Sub(now)
}

// Fail records a failure for key.
func (l *limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.fails) >= maxKeys {
		// Clean down to 90 %, so that the scan happens once per thousand new keys, not
		// on every failure of a flood.
		const target = maxKeys * 9 / 10
		for k := range l.fails {
			l.recent(k, now)
		}
		// Still full of live keys: forget those with the fewest failures first, so that
		// a flood of one-off junk keys cannot evict a key being guessed at.
		for n := 1; n <= l.max && len(l.fails) > target; n++ {
			for k, fs := range l.fails {
				if len(l.fails) <= target {
					break
				}
				if len(fs) <= n {
					delete(l.fails, k)
				}
			}
		}
	}
	fs := append(l.recent(key, now), now)
	if len(fs) > l.max {
		fs = fs[len(fs)-l.max:]
	}
	l.fails[key] = fs
}

// Reset forgets key's failures (after a successful sign-in).
func (l *limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}
