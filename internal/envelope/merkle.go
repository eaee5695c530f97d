package envelope

import (
	"crypto/sha256"
	"math/bits"
)

// A batch is signed once, and acknowledged once, over a Merkle tree of its members
// (RFC 9162, section 2.1): the one signature then proves each member on its own, with
// the few hashes of its path (at most 9 for MaxBatch members), so evidence for one
// envelope does not have to carry the whole batch.

func leafHash(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func nodeHash(l, r [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// split is the largest power of two smaller than n (n > 1).
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// merkleRoot is the tree hash of leaves (already leaf-hashed).
func merkleRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return nodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// merklePath is the inclusion path of leaf m.
func merklePath(m int, leaves [][32]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		r := merkleRoot(leaves[k:])
		return append(merklePath(m, leaves[:k]), r[:])
	}
	l := merkleRoot(leaves[:k])
	return append(merklePath(m-k, leaves[k:]), l[:])
}

// rootFromPath folds leaf m of n with its inclusion path (RFC 9162, 2.1.3.2); ok is
// false when the path cannot be one of such a tree.
func rootFromPath(leaf [32]byte, m, n uint64, path [][]byte) (root [32]byte, ok bool) {
	if m >= n {
		return root, false
	}
	fn, sn := m, n-1
	r := leaf
	for _, p := range path {
		if sn == 0 || len(p) != 32 {
			return root, false
		}
		var ph [32]byte
		copy(ph[:], p)
		if fn&1 == 1 || fn == sn {
			r = nodeHash(ph, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, ph)
		}
		fn >>= 1
		sn >>= 1
	}
	return r, sn == 0
}
