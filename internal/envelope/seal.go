package envelope

import (
	"crypto/ed25519"
	"errors"
	"time"

	"csirtlink/internal/identity"
)

// Seal is the origin node's one signature over a batch: over the Merkle root of the
// digests of its envelopes, in batch order. It replaces a signature per envelope (an
// Ed25519 signature and verification per envelope and peer were a third of the CPU a
// timeline entry cost). It travels with the batch, so a pulled batch is as authentic
// as a pushed one, and the receiver keeps each envelope's path to the root beside the
// envelope (Sealed): evidence, for as long as the copy is kept, that the origin sent it.
type Seal struct {
	Origin      string    `json:"origin"`
	Destination string    `json:"destination"`
	Time        time.Time `json:"time"`
	Signature   []byte    `json:"signature"`
}

// Sealed is one envelope's share of a seal: where it stood in the batch and the path
// from its digest to the signed root.
type Sealed struct {
	Time      time.Time `json:"time"`
	Index     uint64    `json:"index"`
	Count     uint64    `json:"count"`
	Path      [][]byte  `json:"path"`
	Signature []byte    `json:"signature"`
}

func sealBytes(origin, destination string, at time.Time, count uint64, root [32]byte) []byte {
	return Canonical("csirtlink/seal/v1", []byte(origin), []byte(destination), FormatTime(at), u64(count), root[:])
}

func digestLeaves(envs []*Envelope) [][32]byte {
	leaves := make([][32]byte, len(envs))
	for i, e := range envs {
		d := e.Digest()
		leaves[i] = leafHash(d[:])
	}
	return leaves
}

// SealBatch signs a batch from origin to destination.
func SealBatch(k identity.Key, origin, destination string, at time.Time, envs []*Envelope) *Seal {
	at = at.UTC()
	root := merkleRoot(digestLeaves(envs))
	return &Seal{Origin: origin, Destination: destination, Time: at,
		Signature: k.Sign(sealBytes(origin, destination, at, uint64(len(envs)), root))}
}

// Verify checks the seal over envs, in order, against the origin's key, and returns
// each envelope's share of it.
func (s *Seal) Verify(pub ed25519.PublicKey, envs []*Envelope) ([]*Sealed, error) {
	if len(s.Signature) != ed25519.SignatureSize {
		return nil, errors.New("seal: signature: wrong length")
	}
	tree := newMerkleTree(digestLeaves(envs))
	if !identity.Verify(pub, sealBytes(s.Origin, s.Destination, s.Time, uint64(len(envs)), tree.root()), s.Signature) {
		return nil, errors.New("seal: bad signature")
	}
	out := make([]*Sealed, len(envs))
	for i := range envs {
		out[i] = &Sealed{Time: s.Time, Index: uint64(i), Count: uint64(len(envs)), Path: tree.path(i), Signature: s.Signature}
	}
	return out, nil
}

func (s *Seal) check() error {
	switch {
	case !ValidTeamID(s.Origin):
		return errors.New("origin: not a team id")
	case !ValidTeamID(s.Destination):
		return errors.New("destination: not a team id")
	case s.Time.IsZero():
		return errors.New("time: missing")
	case len(s.Signature) != ed25519.SignatureSize:
		return errors.New("signature: wrong length")
	}
	return nil
}

// VerifySealed checks an envelope's kept share of its batch's seal: that its origin
// sent it, sealed, to its destination.
func (e *Envelope) VerifySealed(pub ed25519.PublicKey) error {
	s := e.Sealed
	if s == nil {
		return errors.New("not sealed")
	}
	d := e.Digest()
	root, ok := rootFromPath(leafHash(d[:]), s.Index, s.Count, s.Path)
	if !ok || !identity.Verify(pub, sealBytes(e.Origin, e.Destination, s.Time, s.Count, root), s.Signature) {
		return errors.New("seal does not verify")
	}
	return nil
}
