// Package envelope defines the signed messages nodes exchange and their canonical encoding.
//
// A signature covers a canonical byte string, never JSON: each field is written as a
// length-prefixed byte string after a domain tag, so two encoders can never disagree
// about what was signed, and a signature for one kind of message cannot be replayed as
// another. The payload travels as opaque bytes (base64 in JSON) for the same reason.
package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"csirtlink/internal/identity"
)

// Limits on what a peer may send; a peer is trusted to sign, not to be well-behaved.
const (
	MaxPayload    = 1 << 20 // one envelope's payload
	MaxBatch      = 500     // envelopes in one delivery
	MaxBatchBytes = 16 << 20
)

var teamIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)

// ValidTeamID reports whether s is a well-formed team id such as "jp".
func ValidTeamID(s string) bool { return teamIDPattern.MatchString(s) }

// Envelope is one message from one node to another. It is authenticated by the seal of
// the batch it travels in (Seal); an envelope of an earlier build carries a signature
// of its own instead, which is checked as before.
type Envelope struct {
	Origin      string    `json:"origin"`
	Destination string    `json:"destination"`
	Seq         uint64    `json:"seq"`
	Type        string    `json:"type"`
	ObjectID    string    `json:"object_id"`
	Time        time.Time `json:"time"`
	TLP         string    `json:"tlp"`
	Payload     []byte    `json:"payload"`
	Signature   []byte    `json:"signature,omitempty"`
	// Sealed is set by the receiver on the copy it keeps: the envelope's share of the
	// batch seal. It is not part of the digest.
	Sealed *Sealed `json:"sealed,omitempty"`
}

// Canonical writes fields as a domain-separated, length-prefixed byte string.
func Canonical(domain string, fields ...[]byte) []byte {
	var b bytes.Buffer
	writeField(&b, []byte(domain))
	for _, f := range fields {
		writeField(&b, f)
	}
	return b.Bytes()
}

func writeField(b *bytes.Buffer, f []byte) {
	var n [binary.MaxVarintLen64]byte
	b.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
	b.Write(f)
}

// FormatTime is the one textual form of a timestamp inside signed data.
func FormatTime(t time.Time) []byte { return []byte(t.UTC().Format(time.RFC3339Nano)) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func (e *Envelope) signedBytes() []byte {
	return Canonical("csirtlink/envelope/v1",
		[]byte(e.Origin), []byte(e.Destination), u64(e.Seq), []byte(e.Type),
		[]byte(e.ObjectID), FormatTime(e.Time), []byte(e.TLP), e.Payload)
}

// Sign sets a signature on the envelope itself, as builds before batch seals did; such an
// envelope is authentic in any batch.
func (e *Envelope) Sign(k identity.Key) {
	e.Time = e.Time.UTC()
	e.Signature = k.Sign(e.signedBytes())
}

// Verify checks the signature against the origin's public key.
func (e *Envelope) Verify(pub ed25519.PublicKey) error {
	if !identity.Verify(pub, e.signedBytes(), e.Signature) {
		return errors.New("bad signature")
	}
	return nil
}

// Digest identifies the exact envelope, signature included; receipts name it.
func (e *Envelope) Digest() [32]byte {
	return sha256.Sum256(Canonical("csirtlink/envelope-digest/v1", e.signedBytes(), e.Signature))
}

// Check validates the shape of an envelope that came from outside.
func (e *Envelope) Check() error {
	switch {
	case !ValidTeamID(e.Origin):
		return errors.New("origin: not a team id")
	case !ValidTeamID(e.Destination):
		return errors.New("destination: not a team id")
	case e.Seq == 0:
		return errors.New("seq: must be positive")
	case e.Type == "" || len(e.Type) > 64:
		return errors.New("type: empty or too long")
	case len(e.ObjectID) > 128:
		return errors.New("object_id: too long")
	case len(e.TLP) > 16:
		return errors.New("tlp: too long")
	case len(e.Payload) > MaxPayload:
		return fmt.Errorf("payload: larger than %d bytes", MaxPayload)
	case len(e.Signature) != 0 && len(e.Signature) != ed25519.SignatureSize:
		return errors.New("signature: wrong length")
	case e.Sealed != nil && (len(e.Sealed.Path) > maxPath || e.Sealed.Count > MaxBatch):
		return errors.New("sealed: path too long")
	case e.Time.IsZero():
		return errors.New("time: missing")
	}
	return nil
}

// Marshal encodes an envelope for storage or transport.
func (e *Envelope) Marshal() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Every field is a plain value; failure here is a programming error.
		panic(fmt.Sprintf("envelope: marshal: %v", err))
	}
	return b
}

// Unmarshal decodes and checks one envelope.
func Unmarshal(b []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if err := e.Check(); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return &e, nil
}

// maxPath bounds a Merkle path: a tree of MaxBatch leaves is 9 levels deep.
const maxPath = 16

// Batch is what a push delivers and a pull returns: envelopes in sequence order and the
// origin's seal over them.
type Batch struct {
	Envelopes []*Envelope `json:"envelopes"`
	Seal      *Seal       `json:"seal,omitempty"`
}

// DecodeBatch decodes a batch from untrusted bytes and checks each envelope's shape.
func DecodeBatch(b []byte) (*Batch, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("batch: larger than %d bytes", MaxBatchBytes)
	}
	var bt Batch
	if err := json.Unmarshal(b, &bt); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	if len(bt.Envelopes) > MaxBatch {
		return nil, fmt.Errorf("batch: more than %d envelopes", MaxBatch)
	}
	if bt.Seal != nil {
		if err := bt.Seal.check(); err != nil {
			return nil, fmt.Errorf("batch: seal.%w", err)
		}
	}
	for i, e := range bt.Envelopes {
		if e == nil {
			return nil, fmt.Errorf("batch: envelope %d: null", i)
		}
		if err := e.Check(); err != nil {
			return nil, fmt.Errorf("batch: envelope %d: %w", i, err)
		}
	}
	return &bt, nil
}
