package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
)

// A range receipt proves each envelope of its range through its digest list. One that
// leaves an envelope's digest out, or names another digest under its number, proves
// nothing: the sender refuses it whole — even signed by the receiver's real key —
// stores no receipt from it, records the refusal, and sends the batch again. Once the
// receiver answers truly, the sender keeps its original receipts, and nothing was
// applied twice.
func TestRangeReceiptThatOmitsOrAltersADigestIsRefused(t *testing.T) {
	for name, tamper := range map[string]func(k identity.Key, rr *envelope.RangeReceipt) *envelope.RangeReceipt{
		"omits one digest": func(k identity.Key, rr *envelope.RangeReceipt) *envelope.RangeReceipt {
			items := append(append([]envelope.RangeItem{}, rr.Items[:1]...), rr.Items[2:]...)
			out := envelope.NewRangeReceipt(k, rr.Origin, rr.Receiver, rr.First, items, rr.ReceivedAt)
			out.Last = rr.Last // still claims the whole range
			return out
		},
		"omits one digest, the rest shifted up": func(k identity.Key, rr *envelope.RangeReceipt) *envelope.RangeReceipt {
			items := append(append([]envelope.RangeItem{}, rr.Items[:1]...), rr.Items[2:]...)
			return envelope.NewRangeReceipt(k, rr.Origin, rr.Receiver, rr.First, items, rr.ReceivedAt)
		},
		"alters one digest": func(k identity.Key, rr *envelope.RangeReceipt) *envelope.RangeReceipt {
			items := append([]envelope.RangeItem{}, rr.Items...)
			items[1].Digest = bytes.Repeat([]byte{7}, 32)
			return envelope.NewRangeReceipt(k, rr.Origin, rr.Receiver, rr.First, items, rr.ReceivedAt)
		},
	} {
		t.Run(name, func(t *testing.T) {
			opts := quiet
			opts.RetryMin, opts.RetryMax = 10*time.Millisecond, 50*time.Millisecond
			nodes := startTestNet(t, clock.Real{}, opts, "cn", "jp")
			cn, jp := nodes["cn"], nodes["jp"]
			waitHeartbeats(t, cn, jp)
			tampered := 0
			jp.mu.Lock()
			jp.rewrite = func(rs *envelope.Receipts) {
				for i, rr := range rs.Ranges {
					if len(rr.Items) >= 3 {
						rs.Ranges[i] = tamper(jp.key, rr)
						tampered++
					}
				}
				// The original receipts of a resend would prove the envelopes too;
				// while the receiver lies, it gives none.
				rs.Receipts = nil
			}
			jp.mu.Unlock()
			// One transaction, so the three go in one batch.
			queueMany(t, cn, "jp", "note 0", "note 1", "note 2")
			eventually(t, "cn refuses jp's receipt", func() error {
				if l := cn.link(t, "jp"); !strings.Contains(l.LastError, "bad receipt") {
					return fmt.Errorf("last error %q", l.LastError)
				}
				return nil
			})
			for seq := uint64(1); seq <= 3; seq++ {
				if cn.delivered("jp", seq) == nil {
					t.Fatalf("seq %d marked delivered on a receipt that does not prove it", seq)
				}
			}
			refused, err := cn.st.Refusals(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(refused) == 0 || refused[0].Reason != "bad receipt" || refused[0].Peer != "jp" {
				t.Fatalf("cn's refusals: %+v", refused)
			}
			jp.mu.Lock()
			jp.rewrite = nil
			n := tampered
			jp.mu.Unlock()
			if n == 0 {
				t.Fatal("no answer was tampered with; the test proves nothing")
			}
			eventually(t, "cn holds a true receipt for every note", func() error {
				for seq := uint64(1); seq <= 3; seq++ {
					if err := cn.delivered("jp", seq); err != nil {
						return err
					}
				}
				return nil
			})
			sent, _ := cn.st.Sent(context.Background(), "jp")
			pub, _ := identity.ParsePublic(jp.key.Public())
			for _, it := range sent {
				var r envelope.Receipt
				json.Unmarshal(it.Receipt, &r)
				e, _ := envelope.Unmarshal(it.Envelope)
				if err := r.Verify(pub, e); err != nil || r.Range == nil {
					t.Errorf("seq %d: the stored receipt does not prove the envelope alone: %v", it.Seq, err)
				}
			}
			for i := range 3 {
				if n := jp.applied(t, "cn", fmt.Sprintf("note %d", i)); n != 1 {
					t.Errorf("note %d applied %d times", i, n)
				}
			}
		})
	}
}
