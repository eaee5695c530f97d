package bulk

import (
	"context"
	"fmt"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// Apply takes one chunk of its kind inside the transaction that records the envelope:
// the whole chunk, or (returning an error) none of it.
type Apply func(ctx context.Context, tx store.Tx, env *envelope.Envelope, c wire.BulkChunk) error

// Receiver dispatches bulk.chunk envelopes by the kind of object they carry.
type Receiver struct{ kinds map[string]Apply }

// NewReceiver makes a receiver and registers it for bulk.chunk envelopes with fed.
func NewReceiver(fed *federation.Federation) *Receiver {
	r := &Receiver{kinds: map[string]Apply{}}
	fed.Handle(wire.TypeBulkChunk, r.apply)
	return r
}

// Handle registers the function that applies chunks of kind.
func (r *Receiver) Handle(kind string, a Apply) { r.kinds[kind] = a }

func (r *Receiver) apply(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	c, err := wire.DecodeBulkChunk(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	a, ok := r.kinds[c.Kind]
	if !ok {
		return federation.Rejectf("bulk chunk: unknown kind %q", c.Kind)
	}
	if err := a(ctx, tx, env, c); err != nil {
		return fmt.Errorf("bulk chunk %s part %d: %w", c.Group, c.Part, err)
	}
	return nil
}
