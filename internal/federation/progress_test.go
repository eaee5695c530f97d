package federation

import (
	"context"
	"fmt"
	"testing"

	"csirtlink/internal/clock"
)

// The time to catch up is what waits at the rate of the last minute: none with nothing
// waiting, and unknown (absent) with no receipt in the last minute to tell a rate from.
func TestProgressEstimatesTheTimeToCatchUp(t *testing.T) {
	for _, c := range []struct {
		queued, acked int
		rate          float64
		eta           *float64
	}{
		{0, 0, 0, new(float64)},
		{0, 30, 0.5, new(float64)},
		{10, 0, 0, nil},
		{120, 60, 1, ptrTo(120.0)},
	} {
		p := progress(c.queued, c.acked)
		if p.RatePerSecond != c.rate || (p.ETASeconds == nil) != (c.eta == nil) || p.ETASeconds != nil && *p.ETASeconds != *c.eta {
			t.Errorf("queued %d, acknowledged %d in the last minute: %+v", c.queued, c.acked, p)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// A link's progress counts each kind of envelope it carries.
func TestLinksShowProgressByKind(t *testing.T) {
	nodes := startTestNet(t, clock.Real{}, quiet, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	waitHeartbeats(t, cn, jp)
	jp.downInbox.Store(true)
	queueMany(t, cn, "jp", "a", "b", "c")
	eventually(t, "three notes wait, sent once without a receipt", func() error {
		l := cn.link(t, "jp")
		if len(l.Kinds) != 1 || l.Kinds[0] != (KindState{Type: noteType, Queued: 3, Sent: 3}) || l.ETASeconds != nil {
			return fmt.Errorf("kinds %+v, eta %v", l.Kinds, l.ETASeconds)
		}
		return nil
	})
	jp.downInbox.Store(false)
	if err := cn.f.Retry(context.Background(), "jp", "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "caught up", func() error {
		l := cn.link(t, "jp")
		if len(l.Kinds) != 1 || l.Kinds[0].Acknowledged != 3 || l.Kinds[0].Queued != 0 || l.ETASeconds == nil || *l.ETASeconds != 0 ||
			l.RatePerSecond != 3.0/60 {
			return fmt.Errorf("kinds %+v, rate %v", l.Kinds, l.RatePerSecond)
		}
		return nil
	})
}
