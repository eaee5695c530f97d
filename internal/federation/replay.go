package federation

import (
	"errors"
	"sync"
	"time"

	"csirtlink/internal/envelope"
)

// maxNoncesPerPeer bounds the nonces remembered for one peer. A nonce is kept until
// its request's time leaves the window (at most 2×envelope.Window), so this allows a
// peer a sustained 160 requests a second, far above what a node makes, while one
// peer's key can never make the cache grow without bound (a few MB at most).
const maxNoncesPerPeer = 100_000

var (
	errReplayed    = errors.New("request already seen (replayed)")
	errTooManySeen = errors.New("too many requests from this peer within the time window")
)

// nonceCache remembers the nonces of the authenticated requests each peer made within
// the time window, so a captured request cannot be played again. Only requests with a
// valid signature reach it: a forger cannot fill it.
type nonceCache struct {
	mu     sync.Mutex
	byPeer map[string]map[[envelope.NonceSize]byte]int64 // nonce → when it may be forgotten (Unix ns)
	swept  time.Time
}

func newNonceCache() *nonceCache {
	return &nonceCache{byPeer: map[string]map[[envelope.NonceSize]byte]int64{}}
}

// add records a nonce of peer, to be remembered until forget. It fails with
// errReplayed for a nonce already seen and errTooManySeen when the peer is at its cap.
func (c *nonceCache) add(peer string, nonce [envelope.NonceSize]byte, forget, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Sweeping costs a pass over every nonce; once a minute keeps it cheap, and an
	// entry outliving its time by a minute is harmless.
	t := now.UnixNano()
	if now.Sub(c.swept) >= time.Minute {
		for p, seen := range c.byPeer {
			for n, until := range seen {
				if t >= until {
					delete(seen, n)
				}
			}
			if len(seen) == 0 {
				delete(c.byPeer, p)
			}
		}
		c.swept = now
	}
	seen := c.byPeer[peer]
	if seen == nil {
		seen = map[[envelope.NonceSize]byte]int64{}
		c.byPeer[peer] = seen
	}
	if until, ok := seen[nonce]; ok && t < until {
		return errReplayed
	}
	if len(seen) >= maxNoncesPerPeer {
		return errTooManySeen
	}
	seen[nonce] = forget.UnixNano()
	return nil
}
