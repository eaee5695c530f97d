package indicator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"csirtlink/internal/bulk"
	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Indicators in bulk. An import writes its versions with an unsent mark
// (store.PutUnsent) in the transactions that write them; the Sender, an engine module,
// reads the marks oldest first and, in one transaction per SendBatch of them, builds one
// run of bulk chunks per peer — each version asked of egress.Decide for that peer, with
// its own audience, before it is written into a chunk — queues the chunks, records the
// holders and deletes the marks. A crash before that commit leaves the marks (the next
// cycle sends them); after it, nothing is left to send twice. The receiver applies a
// chunk's versions one by one with the rules of a single version (applyVersion), in the
// transaction that records the envelope: the whole chunk or, when one object breaks a
// rule, none of it.

// SendBatch is the most versions one Sender transaction queues.
const SendBatch = 2000

// sendRounds bounds the batches one engine cycle sends (a few seconds' work, under the
// engine's stuck warning), so that other modules get their turn during a large import;
// the Sender wakes the engine again when more wait.
const sendRounds = 5

// HandleBulk registers the chunk kind of indicator versions with the node's bulk receiver.
func (s *Service) HandleBulk(recv *bulk.Receiver) {
	recv.Handle(wire.TypeIndicatorUpsert, s.applyChunk)
}

// Sender is the engine module that queues imported versions for partners in bulk.
type Sender struct{ s *Service }

// Sender returns the engine module.
func (s *Service) Sender() *Sender { return &Sender{s: s} }

// Name names the module.
func (*Sender) Name() string { return "indicator-bulk-send" }

// UpdateAll queues what waits, up to sendRounds batches.
func (m *Sender) UpdateAll(ctx context.Context) error {
	for range sendRounds {
		n, err := m.s.sendUnsent(ctx, SendBatch)
		if err != nil {
			return fmt.Errorf("indicator bulk send: %w", err)
		}
		if n < SendBatch {
			return nil
		}
	}
	m.s.wakeSender()
	return nil
}

// sendUnsent queues up to limit unsent versions in one transaction and reports how many
// marks it took.
func (s *Service) sendUnsent(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		us, err := tx.Unsent(ctx, limit)
		if err != nil {
			return err
		}
		n = len(us)
		if n == 0 {
			return nil
		}
		c := &chunker{s: s, tx: tx, group: "ind-" + NewID(), builders: map[string]*bulk.Builder{}, parts: map[string]int{}}
		ids := make([]string, 0, n)
		for _, u := range us {
			ids = append(ids, u.IndicatorID)
		}
		// One read (and lock) for the batch, in id order: marks are taken oldest first,
		// but a chunk's order matters to no one.
		inds, err := tx.GetIndicators(ctx, ids)
		if err != nil {
			return err
		}
		for _, ind := range inds {
			if ind.Author != s.Self() || ind.State != store.IndicatorActive {
				// Revoked since it was written: the tombstone went to every team that
				// held an earlier version, and the others need nothing.
				continue
			}
			if err := c.add(ctx, ind); err != nil {
				return err
			}
		}
		if err := c.finish(ctx); err != nil {
			return err
		}
		return tx.DeleteUnsent(ctx, ids)
	})
	return n, err
}

// chunker builds the chunks of one send for every active peer.
type chunker struct {
	s        *Service
	tx       store.Tx
	group    string
	builders map[string]*bulk.Builder
	parts    map[string]int
	holders  []store.Holder // written by finish, in one go
}

func (c *chunker) builder(peer string) (*bulk.Builder, error) {
	if b, ok := c.builders[peer]; ok {
		return b, nil
	}
	b, err := bulk.NewBuilder(wire.TypeIndicatorUpsert, egress.NewContext(c.s.dir, nil), egress.Destination{Kind: egress.Federation, Team: peer})
	if err != nil {
		return nil, err
	}
	c.builders[peer] = b
	return b, nil
}

// add writes a version into the chunk of every peer the rule lets hold it, and queues a
// withdrawal for each team that held an earlier version and may no longer (as send).
func (c *chunker) add(ctx context.Context, ind store.Indicator) error {
	obj, err := wire.EncodeIndicator(toWire(ind))
	if err != nil {
		return err
	}
	// A first version was never sent (an object written here with a mark is sent only
	// by this module): no team holds it, and the lookup is saved.
	var holders []string
	if ind.Version > 1 {
		if holders, err = c.tx.Holders(ctx, ind.ID); err != nil {
			return err
		}
	}
	it, ectx := itemOf(ind), egress.NewContext(c.s.dir, ind.Audience)
	var gone []string
	for _, p := range c.s.dir.Peers() {
		if p.Revoked {
			continue
		}
		b, err := c.builder(p.ID)
		if err != nil {
			return err
		}
		ok, err := b.AddIn(ectx, it, obj)
		if errors.Is(err, bulk.ErrFull) {
			if err := c.emit(ctx, p.ID, false); err != nil {
				return err
			}
			ok, err = b.AddIn(ectx, it, obj)
		}
		if err != nil {
			return err
		}
		if !ok {
			if slices.Contains(holders, p.ID) {
				gone = append(gone, p.ID)
			}
			continue
		}
		c.holders = append(c.holders, store.Holder{IndicatorID: ind.ID, Team: p.ID, Version: ind.Version, At: ind.Modified})
	}
	if len(gone) == 0 {
		return nil
	}
	return c.s.tombstone(ctx, c.tx, ind, store.IndicatorWithdrawn, ind.Version, gone)
}

// emit queues the chunk being built for peer. The envelope carries the strictest label
// of its objects and names the peer as its only recipient: every object in it was
// decided for that peer on its own.
func (c *chunker) emit(ctx context.Context, peer string, last bool) error {
	c.parts[peer]++
	part := c.parts[peer]
	ch, err := c.builders[peer].Take(c.group, part, last)
	if err != nil {
		return err
	}
	payload, err := ch.Payload()
	if err != nil {
		return err
	}
	return c.s.fed.Enqueue(ctx, c.tx, federation.Message{To: peer, Type: wire.TypeBulkChunk,
		ObjectID: fmt.Sprintf("%s/%d", c.group, part), Item: tlp.Item{Label: ch.Label, Author: c.s.Self(), Recipients: []string{peer}},
		Participants: []string{peer}, Payload: payload})
}

// finish queues every peer's last chunk; a peer that may hold none of the versions gets
// nothing, not even an empty chunk.
func (c *chunker) finish(ctx context.Context) error {
	if err := c.tx.PutHolders(ctx, c.holders); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(c.builders)) {
		if c.builders[p].Len() == 0 {
			continue
		}
		if err := c.emit(ctx, p, true); err != nil {
			return err
		}
	}
	return nil
}

// applyChunk takes a chunk of an author's versions: each object checked and applied as a
// single version would be, all in the envelope's transaction, so that one object that
// breaks a rule rejects the whole chunk and none of it is kept. The chunk is decoded and
// checked whole first (at most bulk.MaxObjects versions), so that what is held of its
// objects is read in one statement per 500 rather than one each.
func (s *Service) applyChunk(ctx context.Context, tx store.Tx, env *envelope.Envelope, c wire.BulkChunk) error {
	label := tlp.Label(env.TLP)
	var checkErr error
	inds := make([]store.Indicator, 0, min(c.Count, bulk.MaxObjects))
	err := bulk.Decode(c, func(i int, obj []byte) error {
		ind, err := decodeIndicator(obj)
		switch {
		case err != nil:
			return federation.Rejectf("bulk chunk: object %d: %v", i, err)
		case ind.ID == "":
			return federation.Rejectf("bulk chunk: object %d: no id", i)
		case ind.Author != env.Origin:
			return federation.Rejectf("bulk chunk: indicator %s: written by %s, sent by %s: only the author sends its versions", ind.ID, ind.Author, env.Origin)
		case !tlp.Label(ind.TLP).Valid() || tlp.Stricter(label, tlp.Label(ind.TLP)) != label:
			return federation.Rejectf("bulk chunk: indicator %s: TLP:%s is stricter than the envelope's TLP:%s", ind.ID, ind.TLP, env.TLP)
		}
		if checkErr = s.checkVersion(ind); checkErr != nil {
			return checkErr
		}
		inds = append(inds, ind)
		return nil
	})
	if err != nil {
		var rej *federation.Reject
		if errors.As(err, &rej) || (checkErr != nil && errors.Is(err, checkErr)) {
			return err
		}
		return federation.Rejectf("%v", err) // the chunk itself is malformed
	}
	ids := make([]string, len(inds))
	for i, ind := range inds {
		ids[i] = ind.ID
	}
	olds, err := tx.GetIndicators(ctx, ids)
	if err != nil {
		return err
	}
	have := make(map[string]store.Indicator, len(olds))
	for _, o := range olds {
		have[o.ID] = o
	}
	var changed []string
	for _, ind := range inds {
		old, ok := have[ind.ID]
		if ok && old.Author != ind.Author {
			// As held: an id is its author's for good.
			return federation.Rejectf("indicator %s is %s's, not %s's", ind.ID, old.Author, ind.Author)
		}
		put, err := s.storeVersion(ctx, tx, ind, old, ok)
		if err != nil {
			return err
		}
		if put {
			have[ind.ID] = ind // a later version of it in the same chunk sees this one
			changed = append(changed, ind.ID)
		}
	}
	s.notifyAll(tx, changed)
	return nil
}
