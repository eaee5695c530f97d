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

// apply applies a batch from origin in one transaction, in sequence order, exactly once.
// It answers with one signed range receipt for the envelopes it took now, and the
// original receipts of those it held already. It stops at the first envelope it cannot
// take and says why in the answer's Error; the sender retries from there.
func (f *Federation) apply(ctx context.Context, origin, remote string, bt *envelope.Batch) (answer envelope.Receipts, err error) {
	var refusals [][2]string
	now := f.clock.Now()
	envs := bt.Envelopes
	pub := f.batchKey(origin, bt, now)
	// One signature authenticates every envelope the seal covers; an envelope of an
	// earlier build carries its own.
	var shares []*envelope.Sealed
	var sealErr error
	switch {
	case bt.Seal == nil:
		sealErr = errors.New("no seal")
	case bt.Seal.Origin != origin || bt.Seal.Destination != f.Self():
		sealErr = fmt.Errorf("seal for %s→%s", bt.Seal.Origin, bt.Seal.Destination)
	default:
		shares, sealErr = bt.Seal.Verify(pub, envs)
	}
	authentic := func(i int) bool {
		if e := envs[i]; len(e.Signature) > 0 {
			return e.Verify(pub) == nil
		}
		return sealErr == nil
	}
	// Envelopes are applied one after the other without a savepoint each: a savepoint
	// costs two statements and a copy of every page the envelope changes. An envelope
	// the handler rejects may have written part of itself by then, so the first
	// rejection undoes the whole batch, which is applied once more with each envelope
	// in a savepoint of its own (careful), where a rejection undoes only its envelope.
	careful := false
	body := func(tx store.Tx) error {
		answer, refusals = envelope.Receipts{}, nil
		link, err := tx.LockLink(ctx, origin)
		if err != nil {
			return err
		}
		last := link.LastInSeq
		var items []envelope.RangeItem
		var taken []*envelope.Envelope
		stop := func(reason, detail string) {
			refusals = append(refusals, [2]string{reason, detail})
			answer.Error = reason + ": " + detail
		}
		for i, e := range envs {
			if reason, detail := f.check(e, origin, now); reason != "" {
				stop(reason, detail)
				break
			}
			if e.Seq <= last {
				// The same envelope again needs no signature: its bytes were
				// authenticated when it was first taken.
				r, why, err := f.duplicate(ctx, tx, e)
				if err != nil {
					return err
				}
				if r != nil {
					refusals = append(refusals, [2]string{"replay", fmt.Sprintf("seq %d already applied; original receipt returned", e.Seq)})
					answer.Receipts = append(answer.Receipts, r)
					continue
				}
				if !authentic(i) {
					stop("tampered", fmt.Sprintf("%s seq %d: not signed by %s (%v)", e.Type, e.Seq, origin, sealErr))
					break
				}
				stop("seq reused", why)
				break
			}
			if !authentic(i) {
				stop("tampered", fmt.Sprintf("%s seq %d: not signed by %s (%v)", e.Type, e.Seq, origin, sealErr))
				break
			}
			if e.Seq != last+1 {
				answer.Error = fmt.Sprintf("gap: expected seq %d, got %d", last+1, e.Seq)
				break
			}
			status, reason := envelope.Applied, ""
			run := func() error { return f.dispatch(ctx, tx, e) }
			var err error
			if careful {
				err = tx.Within(ctx, run)
			} else {
				err = run()
			}
			if err != nil {
				var rej *Reject
				if !errors.As(err, &rej) {
					return fmt.Errorf("apply %s seq %d from %s: %w", e.Type, e.Seq, origin, err)
				}
				if !careful {
					return errRejectedInBatch
				}
				status, reason = envelope.Rejected, truncate(rej.Reason, maxReason)
				f.log.Warn("rejected envelope", "peer", origin, "seq", e.Seq, "type", e.Type, "reason", reason)
			}
			d := e.Digest()
			items = append(items, envelope.RangeItem{Digest: d[:], Status: status, Reason: reason})
			if shares != nil && len(e.Signature) == 0 {
				e.Sealed = shares[i]
			}
			taken = append(taken, e)
			last = e.Seq
		}
		if len(taken) > 0 {
			rr := envelope.NewRangeReceipt(f.key, origin, f.Self(), taken[0].Seq, items, now)
			answer.Ranges = []*envelope.RangeReceipt{rr}
			for i, r := range rr.Expand() {
				e := taken[i]
				if err := tx.PutInbox(ctx, store.InboxItem{Origin: origin, Seq: e.Seq, Digest: r.Digest, Type: e.Type, ObjectID: e.ObjectID,
					Status: r.Status, ReceivedAt: now, Envelope: e.Marshal(), Receipt: r.Marshal()}); err != nil {
					return err
				}
			}
			if err := tx.SetLastInSeq(ctx, origin, last); err != nil {
				return err
			}
		}
		return tx.LinkContact(ctx, origin, now, store.LinkEvent{Received: true})
	}
	err = f.st.InTx(ctx, body)
	if errors.Is(err, errRejectedInBatch) {
		careful = true
		err = f.st.InTx(ctx, body)
	}
	for _, r := range refusals {
		f.refuse(ctx, origin, remote, r[0], r[1])
	}
	if err != nil {
		return envelope.Receipts{}, err
	}
	return answer, nil
}

// errRejectedInBatch undoes a batch applied without a savepoint per envelope, in which
// a handler rejected an envelope: the batch is applied again, carefully.
var errRejectedInBatch = errors.New("federation: an envelope of the batch was rejected")

// check finds what makes an envelope unacceptable whatever the state of the link and
// whoever signed it.
func (f *Federation) check(e *envelope.Envelope, origin string, now time.Time) (reason, detail string) {
	switch {
	case e.Origin != origin:
		return "origin mismatch", fmt.Sprintf("envelope from %q in a request from %q", e.Origin, origin)
	case e.Destination != f.Self():
		return "misdirected", fmt.Sprintf("envelope for %q", e.Destination)
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

// batchKey is the key of origin that authenticates a batch: its current key or,
// after a key rotation, the former one while its grace period lasts (a node keeps
// signing with its old key until every partner has its rotation statement). When
// none does, the current key, whose check then fails.
func (f *Federation) batchKey(origin string, bt *envelope.Batch, now time.Time) ed25519.PublicKey {
	keys := f.dir.Keys(origin, now)
	if len(keys) == 0 {
		return nil
	}
	if len(keys) == 1 {
		return keys[0] // the usual case: verified once, below
	}
	for _, k := range keys {
		if bt.Seal != nil {
			if _, err := bt.Seal.Verify(k, bt.Envelopes); err == nil {
				return k
			}
		} else if len(bt.Envelopes) > 0 && bt.Envelopes[0].Verify(k) == nil {
			return k
		}
	}
	return keys[0]
}
