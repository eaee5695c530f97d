package web

import (
	"sync"
	"time"

	"csirtlink/internal/clock"
)

// throttle slows down guessing without locking anyone out. Each key (an account name,
// a client address, a known device) may fail a few times freely; after that every
// further attempt must wait, after the key's last failure, a delay that doubles with
// each failure up to a ceiling. The owner of an account a stranger is guessing at is
// never shut out for long, and a known device or an authenticator code gets them in at
// once (see signin).
//
// A throttled attempt is answered at once with the time left (429 with Retry-After),
// never by sleeping: a goroutine held per attempt would be an attacker's lever on the
// server. Attempts refused while waiting are not failures, so the wait never grows past
// the ceiling from the last real guess. Time comes from the injected clock, so tests
// move time instead of sleeping. Memory is bounded (maxKeys).
type throttle struct {
	mu    sync.Mutex
	clock clock.Clock
	rule  throttleRule
	keys  map[string]strikes
}

// throttleRule is how fast a throttle slows a key down.
type throttleRule struct {
	free   int           // failures without delay
	base   time.Duration // the delay after the first failure beyond free
	max    time.Duration // the ceiling of the delay
	forget time.Duration // a key with no failure for this long starts afresh
}

// The rules of the console's throttles. An attacker guessing one account from many
// addresses gets about 12 guesses an hour (one per 5 minutes); the real owner on a new
// browser waits at most 5 minutes, and not at all on a known one.
var (
	accountRule = throttleRule{free: 5, base: 2 * time.Second, max: 5 * time.Minute, forget: time.Hour}
	addressRule = throttleRule{free: 20, base: time.Second, max: 15 * time.Minute, forget: time.Hour}
	deviceRule  = throttleRule{free: 5, base: 2 * time.Second, max: 5 * time.Minute, forget: time.Hour}
	// Codes: six digits with a step either side are 3 in a million per guess, so the
	// ceiling is higher.
	codeRule = throttleRule{free: 5, base: 2 * time.Second, max: 15 * time.Minute, forget: time.Hour}
)

// strikes are a key's failures: how many, and the last one's time.
type strikes struct {
	n    int
	last time.Time
}

const maxKeys = 10000

func newThrottle(clk clock.Clock, rule throttleRule) *throttle {
	return &throttle{clock: clk, rule: rule, keys: map[string]strikes{}}
}

// delay is the wait after n failures.
func (r throttleRule) delay(n int) time.Duration {
	if n < r.free {
		return 0
	}
	d := r.base
	for i := r.free; i < n && d < r.max; i++ {
		d *= 2
	}
	return min(d, r.max)
}

// Wait returns how long key must wait before its next attempt; 0 if it may try now.
func (t *throttle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	s, ok := t.keys[key]
	if !ok {
		return 0
	}
	if now.Sub(s.last) >= t.rule.forget {
		delete(t.keys, key)
		return 0
	}
	return max(s.last.Add(t.rule.delay(s.n)).Sub(now), 0)
}

// Fail records a failure for key.
func (t *throttle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if _, ok := t.keys[key]; !ok && len(t.keys) >= maxKeys {
		t.shrink(now)
	}
	s := t.keys[key]
	if now.Sub(s.last) >= t.rule.forget {
		s.n = 0
	}
	// Past the ceiling more failures change nothing; the bound keeps the count small.
	s.n = min(s.n+1, t.rule.free+64)
	s.last = now
	t.keys[key] = s
}

// shrink makes room, down to 90 % so that the scan happens once per thousand new keys
// and not on every failure of a flood: first keys that are forgotten anyway, then those
// with the fewest failures, so that a flood of one-off junk keys cannot evict a key
// being guessed at. The caller holds mu.
func (t *throttle) shrink(now time.Time) {
	const target = maxKeys * 9 / 10
	for k, s := range t.keys {
		if now.Sub(s.last) >= t.rule.forget {
			delete(t.keys, k)
		}
	}
	for n := 1; len(t.keys) > target; n++ {
		for k, s := range t.keys {
			if len(t.keys) <= target {
				break
			}
			if s.n <= n {
				delete(t.keys, k)
			}
		}
	}
}

// Reset forgets key's failures (after a success).
func (t *throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}
