package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
type Receipt struct {
	Origin     string    `json:"origin"`
	Receiver   string    `json:"receiver"`
	Seq        uint64    `json:"seq"`
	Digest     []byte    `json:"digest"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Signature  []byte    `json:"signature"`
}

func (r *Receipt) signedBytes() []byte {
	return Canonical("csirtlink/receipt/v1",
		[]byte(r.Origin), []byte(r.Receiver), u64(r.Seq), r.Digest,
		[]byte(r.Status), []byte(r.Reason), FormatTime(r.ReceivedAt))
}

// NewReceipt makes the receiver's signed receipt for e.
func NewReceipt(k identity.Key, e *Envelope, status, reason string, at time.Time) *Receipt {
	d := e.Digest()
	r := &Receipt{Origin: e.Origin, Receiver: e.Destination, Seq: e.Seq, Digest: d[:],
		Status: status, Reason: reason, ReceivedAt: at.UTC()}
	r.Signature = k.Sign(r.signedBytes())
	return r
}

// Verify checks a receipt for envelope e against the receiver's public key.
func (r *Receipt) Verify(pub ed25519.PublicKey, e *Envelope) error {
	d := e.Digest()
	switch {
	case r.Origin != e.Origin || r.Receiver != e.Destination || r.Seq != e.Seq:
		return errors.New("receipt names another envelope")
	case string(r.Digest) != string(d[:]):
		return errors.New("receipt digest does not match the envelope")
	case r.Status != Applied && r.Status != Duplicate && r.Status != Rejected:
		return fmt.Errorf("receipt status %q unknown", r.Status)
	case !identity.Verify(pub, r.signedBytes(), r.Signature):
		return errors.New("receipt signature invalid")
	}
	return nil
}

// VerifySignature checks a stored receipt on its own, against the receiver's key: what
// can still be checked once retention has emptied the envelope it names (the digest
// stays in the receipt, signed).
func (r *Receipt) VerifySignature(pub ed25519.PublicKey) error {
	if !identity.Verify(pub, r.signedBytes(), r.Signature) {
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

// Receipts is the answer to a delivery. Error, when set, says why the receiver stopped
// before the end of the batch (for example a gap in the sequence).
type Receipts struct {
	Receipts []*Receipt `json:"receipts"`
	Error    string     `json:"error,omitempty"`
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
	if len(rs.Receipts) > MaxBatch {
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
	}
	return nil
}
