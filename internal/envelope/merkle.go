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

// merkleTree computes a tree's inner hashes once each: paths for every leaf of a batch
// would otherwise hash the tree again for each leaf (n² hashes, a sixth of the CPU a
// propagated entry cost in batches of 200).
type merkleTree struct {
	leaves [][32]byte
	memo   map[[2]int][32]byte
}

func newMerkleTree(leaves [][32]byte) *merkleTree {
	return &merkleTree{leaves: leaves, memo: make(map[[2]int][32]byte, len(leaves))}
}

// hash is the tree hash of leaves[lo:hi] (hi > lo).
func (t *merkleTree) hash(lo, hi int) [32]byte {
	if hi-lo == 1 {
		return t.leaves[lo]
	}
	key := [2]int{lo, hi}
	if h, ok := t.memo[key]; ok {
		return h
	}
	k := lo + split(hi-lo)
	h := nodeHash(t.hash(lo, k), t.hash(k, hi))
	t.memo[key] = h
	return h
}

// root is the tree hash of all leaves.
func (t *merkleTree) root() [32]byte {
	if len(t.leaves) == 0 {
		return sha256.Sum256(nil)
	}
	return t.hash(0, len(t.leaves))
}

// path is the inclusion path of leaf m.
func (t *merkleTree) path(m int) [][]byte {
	var out [][]byte
	lo, hi := 0, len(t.leaves)
	// Walk down from the root, then list the siblings from the leaf up.
	var sibs [][2]int
	for hi-lo > 1 {
		k := lo + split(hi-lo)
		if m < k {
			sibs = append(sibs, [2]int{k, hi})
			hi = k
		} else {
			sibs = append(sibs, [2]int{lo, k})
			lo = k
		}
	}
	for i := len(sibs) - 1; i >= 0; i-- {
		h := t.hash(sibs[i][0], sibs[i][1])
		out = append(out, h[:])
	}
	return out
}

func merkleRoot(leaves [][32]byte) [32]byte { return newMerkleTree(leaves).root() }

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
