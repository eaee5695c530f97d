package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"csirtlink/internal/envelope"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// Paths of the federation endpoints.
const (
	InboxPath    = "/federation/v1/inbox"
	OutboxPath   = "/federation/v1/outbox"
	ReceiptsPath = "/federation/v1/receipts"
)

// runSender pushes a peer's outbox, in order, until ctx ends. A failure backs off this
// link only; other peers' senders are independent goroutines. When there is nothing
// to send it still sends an empty batch (a heartbeat) every IdlePoll, and once at
// start: so link health is known before it is needed, and a peer that was down hears
// from us as soon as we are back, which wakes its own sender to us.
func (f *Federation) runSender(ctx context.Context, p team.Peer) {
	ps := f.state(p.ID)
	failures := 0
	heartbeat := true
	for ctx.Err() == nil {
		var ok bool
		if p, ok = f.current("send:", p.ID); !ok {
			return
		}
		items, err := f.st.Pending(ctx, p.ID, 0, f.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Error("read outbox", "peer", p.ID, "err", err)
			}
			sleep(ctx, f.opts.RetryMax, nil)
			continue
		}
		if len(items) == 0 && !heartbeat {
			// Only a timer that runs out calls for a heartbeat; a kick means new
			// envelopes.
			heartbeat = !sleep(ctx, f.opts.IdlePoll, ps.kick)
			continue
		}
		heartbeat = false
		// This attempt answers any wake already given; one that comes while it runs
		// is kept for the back-off after it.
		drain(ps.wakeSend)
		if err := f.push(ctx, p, items); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			f.linkError(ctx, p.ID, false, err)
			if len(items) > 0 {
				if aerr := f.st.AddAttempt(ctx, p.ID, items[len(items)-1].Seq); aerr != nil && ctx.Err() == nil {
					f.log.Error("count attempt", "peer", p.ID, "err", aerr)
				}
			}
			if f.backoffSleep(ctx, failures, ps.wakeSend) {
				failures = 0
			}
			// Try again even when the queue is empty, so recovery shows at once.
			heartbeat = true
			continue
		}
		failures = 0
	}
}

// drain empties a signal channel.
func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// push delivers one batch (none for a heartbeat) and stores the receipts it gets back.
func (f *Federation) push(ctx context.Context, p team.Peer, items []store.OutboxItem) error {
	defer f.state(p.ID).inFlight(false, f.clock.Now())()
	envs, body, n, err := f.batchOf(p.ID, items)
	if err != nil {
		return err
	}
	items = items[:n]
	resp, err := f.call(ctx, p, http.MethodPost, InboxPath, body)
	if err != nil {
		return err
	}
	rs, err := envelope.DecodeReceipts(resp)
	if err != nil {
		return fmt.Errorf("push to %s: %w", p.ID, err)
	}
	// Taking everything is a successful send, recorded with the receipts. (The
	// peer's answer is not counted as receiving from it: a peer whose own sends cannot
	// reach us must not look healthy because it answers ours.)
	answered := len(rs.Receipts)
	for _, rr := range rs.Ranges {
		answered += len(rr.Items)
	}
	n, err = f.storeReceipts(ctx, p.ID, envs, rs, store.LinkEvent{Sent: rs.Error == "" && answered == len(items)})
	if errors.Is(err, errBadReceipt) {
		f.refuse(ctx, p.ID, p.URL, "bad receipt", err.Error())
	}
	if err != nil {
		return err
	}
	if rs.Error != "" {
		return fmt.Errorf("push to %s: %d of %d accepted; peer stopped: %s", p.ID, n, len(items), rs.Error)
	}
	if n < len(items) {
		return fmt.Errorf("push to %s: %d of %d accepted", p.ID, n, len(items))
	}
	return nil
}

// batchBudget is the most bytes a batch body takes, well under the receiver's cap: a
// batch over the cap would be refused whole and retried forever, stalling the link.
const batchBudget = envelope.MaxBatchBytes / 2

// batchOf decodes stored envelopes and joins their stored bytes into a batch body for
// peer, sealed with one signature, without re-encoding them. It takes items in order
// while they fit the budget (always at least one; a single envelope is far below it)
// and returns how many it took. A bulk chunk ends its batch: the receiver applies a
// batch in one transaction, and a batch of the 20-odd chunks the budget holds (up to
// 200,000 objects) would keep a peer back from an outage from holding anything for
// tens of seconds; one chunk is a second's work at most.
func (f *Federation) batchOf(peer string, items []store.OutboxItem) (map[uint64]*envelope.Envelope, []byte, int, error) {
	envs := make(map[uint64]*envelope.Envelope, len(items))
	list := make([]*envelope.Envelope, 0, len(items))
	var body bytes.Buffer
	body.WriteString(`{"envelopes":[`)
	for i, it := range items {
		if i > 0 && (body.Len()+len(it.Envelope)+sealBudget > batchBudget || items[i-1].Type == wire.TypeBulkChunk) {
			break
		}
		e, err := envelope.Unmarshal(it.Envelope)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("outbox %s/%d: %w", it.Peer, it.Seq, err)
		}
		envs[it.Seq] = e
		list = append(list, e)
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(it.Envelope)
	}
	body.WriteString(`]`)
	if len(list) > 0 {
		seal, err := json.Marshal(envelope.SealBatch(f.key, f.Self(), peer, f.clock.Now(), list))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("seal batch for %s: %w", peer, err)
		}
		body.WriteString(`,"seal":`)
		body.Write(seal)
	}
	body.WriteString(`}`)
	return envs, body.Bytes(), len(list), nil
}

// sealBudget is room left in a batch for its seal and the JSON around it.
const sealBudget = 512

// errBadReceipt marks a receipt refused: it names an envelope we did not send, or
// does not verify.
var errBadReceipt = errors.New("bad receipt")

// storeReceipts verifies receipts from peer against the envelopes they name and marks
// those envelopes delivered, in one transaction, which also records ev when every
// receipt was good. A range receipt that does not name each envelope of its range by
// its digest, or does not verify, is refused whole: nothing of it is stored, and the
// envelopes are sent again. It returns how many envelopes it marked delivered.
func (f *Federation) storeReceipts(ctx context.Context, peer string, envs map[uint64]*envelope.Envelope, rs *envelope.Receipts, ev store.LinkEvent) (int, error) {
	if len(rs.Receipts) == 0 && len(rs.Ranges) == 0 && ev == (store.LinkEvent{}) {
		return 0, nil
	}
	pub, ok := f.dir.Key(peer)
	if !ok {
		return 0, fmt.Errorf("receipts from %s: not an active peer", peer)
	}
	// Verified before the transaction: signatures take no lock.
	var bad error
	good := make([]*envelope.Receipt, 0, len(rs.Receipts))
	for _, r := range rs.Receipts {
		e, ok := envs[r.Seq]
		if !ok {
			bad = fmt.Errorf("%w from %s for seq %d, which we did not send", errBadReceipt, peer, r.Seq)
			continue
		}
		if err := r.Verify(pub, e); err != nil {
			bad = fmt.Errorf("%w from %s for seq %d: %w", errBadReceipt, peer, r.Seq, err)
			continue
		}
		good = append(good, r)
	}
	for _, rr := range rs.Ranges {
		if err := rr.Verify(pub, envs); err != nil {
			bad = fmt.Errorf("%w from %s for seq %d-%d, refused whole: %w", errBadReceipt, peer, rr.First, rr.Last, err)
			continue
		}
		good = append(good, rr.Expand()...)
	}
	if bad != nil {
		ev = store.LinkEvent{}
	}
	now := f.clock.Now()
	err := f.st.InTx(ctx, func(tx store.Tx) error {
		for _, r := range good {
			e := envs[r.Seq]
			if r.Status == envelope.Rejected {
				f.log.Warn("peer rejected envelope", "peer", peer, "seq", r.Seq, "type", e.Type, "reason", r.Reason)
			}
			if err := tx.MarkDelivered(ctx, peer, r.Seq, now, r.Marshal()); err != nil {
				return err
			}
			for _, h := range f.delivered {
				if err := h(ctx, tx, e, r); err != nil {
					return err
				}
			}
		}
		ev := ev
		ev.Delivered = len(good) > 0
		if ev == (store.LinkEvent{}) {
			return nil
		}
		return tx.LinkContact(ctx, peer, now, ev)
	})
	if err != nil {
		return 0, fmt.Errorf("store receipts from %s: %w", peer, err)
	}
	return len(good), bad
}

// call makes one signed request to a peer and returns the body of a 200 answer.
func (f *Federation) call(ctx context.Context, p team.Peer, method, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(p.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, p.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	envelope.SignRequest(req, f.key, f.Self(), p.ID, f.clock.Now(), body)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, p.ID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, envelope.MaxBatchBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, p.ID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, p.ID, resp.Status, strings.TrimSpace(string(b[:min(len(b), 300)])))
	}
	return b, nil
}

// runPuller fetches what a peer holds for us, for a node that takes no inbound calls.
// A successful pull shows the peer is reachable, so it wakes our sender to it.
func (f *Federation) runPuller(ctx context.Context, p team.Peer) {
	ps := f.state(p.ID)
	failures := 0
	for ctx.Err() == nil {
		var ok bool
		if p, ok = f.current("pull:", p.ID); !ok {
			return
		}
		drain(ps.wakePull)
		more, err := f.pullOnce(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			f.linkError(ctx, p.ID, true, err)
			if f.backoffSleep(ctx, failures, ps.wakePull) {
				failures = 0
			}
			continue
		}
		failures = 0
		signal(ps.wakeSend)
		if !more {
			sleep(ctx, f.opts.PullInterval, nil)
		}
	}
}

// pullOnce fetches one batch, applies it and returns the receipts; more is true when
// the batch was full.
func (f *Federation) pullOnce(ctx context.Context, p team.Peer) (more bool, err error) {
	defer f.state(p.ID).inFlight(true, f.clock.Now())()
	link, err := f.st.GetLink(ctx, p.ID)
	if err != nil {
		return false, err
	}
	q := OutboxPath + "?after=" + strconv.FormatUint(link.LastInSeq, 10) + "&limit=" + strconv.Itoa(f.opts.BatchSize)
	b, err := f.call(ctx, p, http.MethodGet, q, nil)
	if err != nil {
		return false, err
	}
	bt, err := envelope.DecodeBatch(b)
	if err != nil {
		f.refuse(ctx, p.ID, p.URL, "malformed", err.Error())
		return false, fmt.Errorf("pull from %s: %w", p.ID, err)
	}
	if len(bt.Envelopes) > 0 {
		answer, err := f.apply(ctx, p.ID, p.URL, bt)
		if err != nil {
			return false, err
		}
		stop := answer.Error
		if answer.Error = ""; len(answer.Receipts)+len(answer.Ranges) > 0 {
			body, _ := json.Marshal(answer)
			if _, err := f.call(ctx, p, http.MethodPost, ReceiptsPath, body); err != nil {
				return false, err
			}
		}
		if stop != "" {
			return false, fmt.Errorf("pull from %s: stopped: %s", p.ID, stop)
		}
	}
	f.contact(ctx, p.ID, store.LinkEvent{Received: true, Pulled: true})
	return len(bt.Envelopes) == f.opts.BatchSize, nil
}

func decodeReceipt(b []byte) (*envelope.Receipt, error) {
	var r envelope.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("stored receipt: %w", err)
	}
	return &r, nil
}
