package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"csirtlink/internal/envelope"
	"csirtlink/internal/store"
)

// apply applies a batch from origin in one transaction, in sequence order, exactly once,
// and returns a signed receipt for every envelope it now holds. It stops at the first
// envelope it cannot take and says why in stop; the sender retries from there.
func (f *Federation) apply(ctx context.Context, origin, remote string, envs []*envelope.Envelope) (receipts []*envelope.Receipt, stop string, err error) {
	var refusals [][2]string
	err = f.st.InTx(ctx, func(tx store.Tx) error {
		receipts, stop, refusals = nil, "", nil
		link, err := tx.LockLink(ctx, origin)
		if err != nil {
			return err
		}
		last := link.LastInSeq
		now := f.clock.Now()
		for _, e := range envs {
			pub := f.envelopeKey(origin, e, now)
			if reason, detail := f.check(e, origin, pub, now); reason != "" {
				refusals = append(refusals, [2]string{reason, detail})
				stop = reason + ": " + detail
				break
			}
			if e.Seq <= last {
				r, why, err := f.duplicate(ctx, tx, e)
				if err != nil {
					return err
				}
				if r == nil {
					refusals = append(refusals, [2]string{"seq reused", why})
					stop = "seq reused: " + why
					break
				}
				refusals = append(refusals, [2]string{"replay", fmt.Sprintf("seq %d already applied; original receipt returned", e.Seq)})
				receipts = append(receipts, r)
				continue
			}
			if e.Seq != last+1 {
				stop = fmt.Sprintf("gap: expected seq %d, got %d", last+1, e.Seq)
				break
			}
			status, reason := envelope.Applied, ""
			if err := tx.Within(ctx, func() error { return f.dispatch(ctx, tx, e) }); err != nil {
				var rej *Reject
				if !errors.As(err, &rej) {
					return fmt.Errorf("apply %s seq %d from %s: %w", e.Type, e.Seq, origin, err)
				}
				status, reason = envelope.Rejected, truncate(rej.Reason, maxReason)
				f.log.Warn("rejected envelope", "peer", origin, "seq", e.Seq, "type", e.Type, "reason", reason)
			}
			r := envelope.NewReceipt(f.key, e, status, reason, now)
			d := e.Digest()
			if err := tx.PutInbox(ctx, store.InboxItem{Origin: origin, Seq: e.Seq, Digest: d[:], Type: e.Type, ObjectID: e.ObjectID,
				Status: status, ReceivedAt: now, Envelope: e.Marshal(), Receipt: r.Marshal()}); err != nil {
				return err
			}
			receipts = append(receipts, r)
			last = e.Seq
		}
		if last != link.LastInSeq {
			if err := tx.SetLastInSeq(ctx, origin, last); err != nil {
				return err
			}
		}
		return tx.LinkContact(ctx, origin, now, store.LinkEvent{Received: true})
	})
	for _, r := range refusals {
		f.refuse(ctx, origin, remote, r[0], r[1])
	}
	if err != nil {
		return nil, "", err
	}
	return receipts, stop, nil
}

// check finds what makes an envelope unacceptable whatever the state of the link.
func (f *Federation) check(e *envelope.Envelope, origin string, pub ed25519.PublicKey, now time.Time) (reason, detail string) {
	switch {
	case e.Origin != origin:
		return "origin mismatch", fmt.Sprintf("envelope from %q in a request from %q", e.Origin, origin)
	case e.Destination != f.Self():
		return "misdirected", fmt.Sprintf("envelope for %q", e.Destination)
	case e.Verify(pub) != nil:
		return "tampered", fmt.Sprintf("bad signature on %s seq %d", e.Type, e.Seq)
	case e.Time.After(now.Add(envelope.Window)):
		return "out of window", fmt.Sprintf("seq %d dated %s, in the future", e.Seq, e.Time.Format(time.RFC3339))
	}
	return "", ""
}

// duplicate handles an envelope whose sequence number was already applied: the same
// envelope again (a retry whose receipt was lost, or a replay) gets the original
// receipt and changes nothing; a different one under a used number is refused.
func (f *Federation) duplicate(ctx context.Context, tx store.Tx, e *envelope.Envelope) (*envelope.Receipt, string, error) {
	prev, err := tx.GetInbox(ctx, e.Origin, e.Seq)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Sprintf("seq %d is below the applied sequence but unknown", e.Seq), nil
	}
	if err != nil {
		return nil, "", err
	}
	d := e.Digest()
	if !bytes.Equal(prev.Digest, d[:]) {
		return nil, fmt.Sprintf("seq %d already used by a different envelope", e.Seq), nil
	}
	r, err := decodeReceipt(prev.Receipt)
	if err != nil {
		return nil, "", err
	}
	return r, "", nil
}

// maxReason bounds a rejection reason in a receipt; the sender refuses receipts with
// longer ones (envelope.Receipt.Check).
const maxReason = 1024

// truncate shortens s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (f *Federation) dispatch(ctx context.Context, tx store.Tx, e *envelope.Envelope) error {
	h, ok := f.handlers[e.Type]
	if !ok {
		return Rejectf("unknown envelope type %q", e.Type)
	}
	return h(ctx, tx, e)
}

// envelopeKey is the key of origin that verifies e: its current key, or after a key
// rotation the former one while its grace period lasts (envelopes signed before the
// peer switched). When none does, the current key, whose check then fails.
func (f *Federation) envelopeKey(origin string, e *envelope.Envelope, now time.Time) ed25519.PublicKey {
	keys := f.dir.Keys(origin, now)
	if len(keys) == 1 {
		return keys[0] // the usual case: check verifies it, once
	}
	for _, k := range keys {
		if e.Verify(k) == nil {
			return k
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return keys[0]
}
