package envelope

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"csirtlink/internal/identity"
)

// Receipt outcomes. A rejected envelope was received and will never be applied (its
// content broke a rule); the sender must not resend it.
const (
	Applied   = "applied"
	Duplicate = "duplicate"
	Rejected  = "rejected"
)

// Receipt is the receiver's signed statement that it holds an envelope: evidence, for
// either side, of who was told what and when.
//
// A receipt of this build is one envelope's share of a signed range receipt
// (RangeReceipt): Range gives the range and the path from this envelope's entry to the
// signed root, so it verifies on its own. A receipt without Range is one an earlier
// build signed for the envelope alone; it verifies as it always did.
type Receipt struct {
	Origin     string        `json:"origin"`
	Receiver   string        `json:"receiver"`
	Seq        uint64        `json:"seq"`
	Digest     []byte        `json:"digest"`
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	ReceivedAt time.Time     `json:"received_at"`
	Signature  []byte        `json:"signature"`
	Range      *ReceiptRange `json:"range,omitempty"`
}

// ReceiptRange places a receipt in the range receipt that signed it.
type ReceiptRange struct {
	First uint64   `json:"first"`
	Last  uint64   `json:"last"`
	Path  [][]byte `json:"path"`
}

// signedBytes is what the receipt's signature covers, or nil when its range path does
// not lead to a root.
func (r *Receipt) signedBytes() []byte {
	if r.Range == nil {
		return Canonical("csirtlink/receipt/v1",
			[]byte(r.Origin), []byte(r.Receiver), u64(r.Seq), r.Digest,
			[]byte(r.Status), []byte(r.Reason), FormatTime(r.ReceivedAt))
	}
	g := r.Range
	if r.Seq < g.First || r.Seq > g.Last {
		return nil
	}
	root, ok := rootFromPath(leafHash(itemBytes(r.Seq, RangeItem{Digest: r.Digest, Status: r.Status, Reason: r.Reason})),
		r.Seq-g.First, g.Last-g.First+1, g.Path)
	if !ok {
		return nil
	}
	return rangeBytes(r.Origin, r.Receiver, g.First, g.Last, root, r.ReceivedAt)
}

// NewReceipt makes a receipt an earlier build signed for e alone; receivers now sign
// ranges (NewRangeReceipt). Tests use it to stand for such a peer.
func NewReceipt(k identity.Key, e *Envelope, status, reason string, at time.Time) *Receipt {
	d := e.Digest()
	r := &Receipt{Origin: e.Origin, Receiver: e.Destination, Seq: e.Seq, Digest: d[:],
		Status: status, Reason: reason, ReceivedAt: at.UTC()}
	r.Signature = k.Sign(r.signedBytes())
	return r
}

// RangeReceipt is the receiver's one signed statement for a contiguous range of
// sequence numbers from one origin: for each, the digest of the envelope it holds under
// that number and what it did with it. The signature covers the Merkle root of the
// items, so each item can later be shown alone (Expand).
type RangeReceipt struct {
	Origin     string      `json:"origin"`
	Receiver   string      `json:"receiver"`
	First      uint64      `json:"first"`
	Last       uint64      `json:"last"`
	Items      []RangeItem `json:"items"`
	ReceivedAt time.Time   `json:"received_at"`
	Signature  []byte      `json:"signature"`
}

// RangeItem is one sequence number's entry in a range receipt.
type RangeItem struct {
	Digest []byte `json:"digest"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

func itemBytes(seq uint64, it RangeItem) []byte {
	return Canonical("csirtlink/receipt-item/v1", u64(seq), it.Digest, []byte(it.Status), []byte(it.Reason))
}

func rangeBytes(origin, receiver string, first, last uint64, root [32]byte, at time.Time) []byte {
	return Canonical("csirtlink/receipt-range/v1", []byte(origin), []byte(receiver), u64(first), u64(last), root[:], FormatTime(at))
}

func (rr *RangeReceipt) leaves() [][32]byte {
	leaves := make([][32]byte, len(rr.Items))
	for i, it := range rr.Items {
		leaves[i] = leafHash(itemBytes(rr.First+uint64(i), it))
	}
	return leaves
}

// NewRangeReceipt signs, as receiver, the items for origin's sequence numbers first,
// first+1, ….
func NewRangeReceipt(k identity.Key, origin, receiver string, first uint64, items []RangeItem, at time.Time) *RangeReceipt {
	rr := &RangeReceipt{Origin: origin, Receiver: receiver, First: first, Last: first + uint64(len(items)) - 1,
		Items: items, ReceivedAt: at.UTC()}
	rr.Signature = k.Sign(rangeBytes(origin, receiver, rr.First, rr.Last, merkleRoot(rr.leaves()), rr.ReceivedAt))
	return rr
}

// Verify checks a range receipt against the receiver's key and the envelopes it names,
// by sequence number: it must hold one item for every number of its range, each naming
// the digest of the envelope sent under that number. A receipt that leaves one out or
// names another envelope proves nothing for any of them and is refused whole.
func (rr *RangeReceipt) Verify(pub ed25519.PublicKey, envs map[uint64]*Envelope) error {
	if rr.Last < rr.First || rr.Last-rr.First+1 != uint64(len(rr.Items)) {
		return fmt.Errorf("range receipt %d-%d holds %d items: one per sequence number is required", rr.First, rr.Last, len(rr.Items))
	}
	for i, it := range rr.Items {
		seq := rr.First + uint64(i)
		e, ok := envs[seq]
		if !ok {
			return fmt.Errorf("range receipt names seq %d, which we did not send", seq)
		}
		d := e.Digest()
		switch {
		case rr.Origin != e.Origin || rr.Receiver != e.Destination:
			return fmt.Errorf("range receipt for %s→%s, seq %d went %s→%s", rr.Origin, rr.Receiver, seq, e.Origin, e.Destination)
		case string(it.Digest) != string(d[:]):
			return fmt.Errorf("range receipt: seq %d: digest does not match the envelope", seq)
		case it.Status != Applied && it.Status != Duplicate && it.Status != Rejected:
			return fmt.Errorf("range receipt: seq %d: status %q unknown", seq, it.Status)
		}
	}
	if !identity.Verify(pub, rangeBytes(rr.Origin, rr.Receiver, rr.First, rr.Last, merkleRoot(rr.leaves()), rr.ReceivedAt), rr.Signature) {
		return errors.New("range receipt signature invalid")
	}
	return nil
}

// Expand gives each sequence number of the range its own receipt, which verifies alone.
func (rr *RangeReceipt) Expand() []*Receipt {
	tree := newMerkleTree(rr.leaves())
	out := make([]*Receipt, len(rr.Items))
	for i, it := range rr.Items {
		out[i] = &Receipt{Origin: rr.Origin, Receiver: rr.Receiver, Seq: rr.First + uint64(i), Digest: it.Digest,
			Status: it.Status, Reason: it.Reason, ReceivedAt: rr.ReceivedAt, Signature: rr.Signature,
			Range: &ReceiptRange{First: rr.First, Last: rr.Last, Path: tree.path(i)}}
	}
	return out
}

// Verify checks a receipt for envelope e against the receiver's public key.
func (r *Receipt) Verify(pub ed25519.PublicKey, e *Envelope) error {
	d := e.Digest()
	signed := r.signedBytes()
	switch {
	case r.Origin != e.Origin || r.Receiver != e.Destination || r.Seq != e.Seq:
		return errors.New("receipt names another envelope")
	case string(r.Digest) != string(d[:]):
		return errors.New("receipt digest does not match the envelope")
	case r.Status != Applied && r.Status != Duplicate && r.Status != Rejected:
		return fmt.Errorf("receipt status %q unknown", r.Status)
	case signed == nil || !identity.Verify(pub, signed, r.Signature):
		return errors.New("receipt signature invalid")
	}
	return nil
}

// VerifySignature checks a stored receipt on its own, against the receiver's key: what
// can still be checked once retention has emptied the envelope it names (the digest
// stays in the receipt, signed).
func (r *Receipt) VerifySignature(pub ed25519.PublicKey) error {
	if signed := r.signedBytes(); signed == nil || !identity.Verify(pub, signed, r.Signature) {
		return errors.New("receipt signature invalid")
	}
	return nil
}

// Marshal encodes a receipt for storage.
func (r *Receipt) Marshal() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("envelope: marshal receipt: %v", err))
	}
	return b
}

// Receipts is the answer to a delivery: one signed range receipt for what the batch
// brought that was new, and the original receipts of envelopes received before (a
// resend whose answer was lost, or a replay). Error, when set, says why the receiver
// stopped before the end of the batch (for example a gap in the sequence).
type Receipts struct {
	Receipts []*Receipt      `json:"receipts"`
	Ranges   []*RangeReceipt `json:"ranges,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// All lists every envelope's receipt in the answer, ranges expanded, in sequence order.
func (rs *Receipts) All() []*Receipt {
	out := slices.Clone(rs.Receipts)
	for _, rr := range rs.Ranges {
		out = append(out, rr.Expand()...)
	}
	slices.SortStableFunc(out, func(a, b *Receipt) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// DecodeReceipts decodes a delivery answer from untrusted bytes.
func DecodeReceipts(b []byte) (*Receipts, error) {
	if len(b) > MaxBatchBytes {
		return nil, errors.New("receipts: too large")
	}
	var rs Receipts
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	items := len(rs.Receipts)
	for i, rr := range rs.Ranges {
		if rr == nil {
			return nil, fmt.Errorf("ranges[%d]: null", i)
		}
		if err := rr.Check(); err != nil {
			return nil, fmt.Errorf("ranges[%d].%w", i, err)
		}
		items += len(rr.Items)
	}
	if items > MaxBatch {
		return nil, errors.New("receipts: too many")
	}
	for i, r := range rs.Receipts {
		if r == nil {
			return nil, fmt.Errorf("receipts[%d]: null", i)
		}
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("receipts[%d].%w", i, err)
		}
	}
	return &rs, nil
}

// Check validates the shape of a receipt that came from outside; the message starts
// with the field at fault.
func (r *Receipt) Check() error {
	switch {
	case !ValidTeamID(r.Origin):
		return errors.New("origin: not a team id")
	case !ValidTeamID(r.Receiver):
		return errors.New("receiver: not a team id")
	case r.Seq == 0 || r.Seq > math.MaxInt64:
		return errors.New("seq: must be from 1 to 2^63-1")
	case len(r.Digest) != sha256.Size:
		return fmt.Errorf("digest: must be %d bytes", sha256.Size)
	case r.Status != Applied && r.Status != Duplicate && r.Status != Rejected:
		return fmt.Errorf("status: %q is not applied, duplicate or rejected", r.Status)
	case len(r.Reason) > 1024:
		return errors.New("reason: longer than 1024 bytes")
	case r.ReceivedAt.IsZero():
		return errors.New("received_at: missing")
	case len(r.Signature) != ed25519.SignatureSize:
		return errors.New("signature: wrong length")
	case r.Range != nil && (r.Range.First > r.Seq || r.Range.Last < r.Seq || r.Range.Last-r.Range.First >= MaxBatch || len(r.Range.Path) > maxPath):
		return errors.New("range: not a range of at most 500 holding seq, with a short path")
	}
	return nil
}

// Check validates the shape of a range receipt that came from outside; the message
// starts with the field at fault.
func (rr *RangeReceipt) Check() error {
	switch {
	case !ValidTeamID(rr.Origin):
		return errors.New("origin: not a team id")
	case !ValidTeamID(rr.Receiver):
		return errors.New("receiver: not a team id")
	case rr.First == 0 || rr.Last > math.MaxInt64 || rr.Last < rr.First:
		return errors.New("first: must be from 1 to last, and last at most 2^63-1")
	case len(rr.Items) == 0 || len(rr.Items) > MaxBatch:
		return fmt.Errorf("items: from 1 to %d", MaxBatch)
	case rr.ReceivedAt.IsZero():
		return errors.New("received_at: missing")
	case len(rr.Signature) != ed25519.SignatureSize:
		return errors.New("signature: wrong length")
	}
	for i, it := range rr.Items {
		switch {
		case len(it.Digest) != sha256.Size:
			return fmt.Errorf("items[%d].digest: must be %d bytes", i, sha256.Size)
		case it.Status != Applied && it.Status != Duplicate && it.Status != Rejected:
			return fmt.Errorf("items[%d].status: %q is not applied, duplicate or rejected", i, it.Status)
		case len(it.Reason) > 1024:
			return fmt.Errorf("items[%d].reason: longer than 1024 bytes", i)
		}
	}
	return nil
}
