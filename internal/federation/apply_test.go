package federation

import (
	"context"
	"encoding/json"
	"testing"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
)

// A batch is applied without a savepoint per envelope; an envelope its handler rejects
// after writing must still leave nothing of itself, and the envelopes around it all of
// theirs.
func TestRejectedEnvelopeLeavesNothingOfItsWrites(t *testing.T) {
	nodes := startTestNet(t, clock.Real{}, quiet, "cn", "jp")
	cn, jp := nodes["cn"], nodes["jp"]
	waitHeartbeats(t, cn, jp)
	envs := queueMany(t, cn, "jp", "before", "poison", "after")
	eventually(t, "cn holds jp's receipts", func() error {
		for _, e := range envs {
			if err := cn.delivered("jp", e.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	for note, want := range map[string]int64{"before": 1, "poison": 0, "after": 1} {
		if n := jp.applied(t, "cn", note); n != want {
			t.Errorf("note %q took effect %d times at jp, want %d", note, n, want)
		}
	}
	sent, err := cn.st.Sent(context.Background(), "jp")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sent {
		var r envelope.Receipt
		if err := json.Unmarshal(it.Receipt, &r); err != nil {
			t.Fatalf("seq %d: %v", it.Seq, err)
		}
		want := envelope.Applied
		if it.Seq == envs[1].Seq {
			want = envelope.Rejected
		}
		if it.Seq >= envs[0].Seq && r.Status != want {
			t.Errorf("seq %d: receipt %s, want %s", it.Seq, r.Status, want)
		}
	}
}
