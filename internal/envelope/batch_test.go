package envelope

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/identity"
)

func unsigned(n int) []*Envelope {
	envs := make([]*Envelope, n)
	for i := range envs {
		envs[i] = &Envelope{Origin: "cn", Destination: "jp", Seq: uint64(10 + i), Type: "entry.append",
			ObjectID: "cn-2026-0001", Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), TLP: "AMBER",
			Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	return envs
}

func keys(t testing.TB) (identity.Key, ed25519.PublicKey) {
	k, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := identity.ParsePublic(k.Public())
	return k, pub
}

// Every leaf of every tree size proves its place, and no other.
func TestMerklePathsProveEachLeafAlone(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := make([][32]byte, n)
		for i := range leaves {
			leaves[i] = leafHash(fmt.Appendf(nil, "leaf %d", i))
		}
		tree := newMerkleTree(leaves)
		root := tree.root()
		for m := range n {
			path := tree.path(m)
			if got, ok := rootFromPath(leaves[m], uint64(m), uint64(n), path); !ok || got != root {
				t.Fatalf("n=%d m=%d: path does not lead to the root", n, m)
			}
			if n > 1 {
				other := (m + 1) % n
				if got, ok := rootFromPath(leaves[m], uint64(other), uint64(n), path); ok && got == root {
					t.Fatalf("n=%d: leaf %d proves itself at %d", n, m, other)
				}
			}
		}
	}
}

// One signature seals a batch; each envelope keeps its share, which proves it alone,
// and any change to any envelope breaks the seal.
func TestSealCoversEveryEnvelope(t *testing.T) {
	k, pub := keys(t)
	envs := unsigned(7)
	s := SealBatch(k, "cn", "jp", time.Now(), envs)
	shares, err := s.Verify(pub, envs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range envs {
		e.Sealed = shares[i]
		kept, err := Unmarshal(e.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if err := kept.VerifySealed(pub); err != nil {
			t.Fatalf("envelope %d: its kept share does not verify: %v", i, err)
		}
		kept.Payload = append(kept.Payload, ' ')
		if kept.VerifySealed(pub) == nil {
			t.Fatalf("envelope %d: a changed copy still verifies", i)
		}
	}
	for i := range envs {
		changed := unsigned(7)
		changed[i].Payload = []byte(`{"n":"forged"}`)
		if _, err := s.Verify(pub, changed); err == nil {
			t.Fatalf("envelope %d changed under the seal: accepted", i)
		}
	}
	if _, err := s.Verify(pub, unsigned(6)); err == nil {
		t.Fatal("an envelope dropped from the batch: accepted")
	}
	_, other := keys(t)
	if _, err := s.Verify(other, envs); err == nil {
		t.Fatal("seal verified with another node's key")
	}
}

func sent(envs []*Envelope) map[uint64]*Envelope {
	m := map[uint64]*Envelope{}
	for _, e := range envs {
		m[e.Seq] = e
	}
	return m
}

func items(envs []*Envelope) []RangeItem {
	out := make([]RangeItem, len(envs))
	for i, e := range envs {
		d := e.Digest()
		out[i] = RangeItem{Digest: d[:], Status: Applied}
	}
	return out
}

// A range receipt proves each envelope of its range through the digest list; one that
// leaves an envelope out, or names another under its number, is refused whole.
func TestRangeReceiptMustNameEveryEnvelope(t *testing.T) {
	k, pub := keys(t)
	envs := unsigned(5)
	its := items(envs)
	its[2].Status, its[2].Reason = Rejected, "entry 3: bad signature by kr"
	rr := NewRangeReceipt(k, "cn", "jp", envs[0].Seq, its, time.Now())
	if err := rr.Verify(pub, sent(envs)); err != nil {
		t.Fatalf("a good range receipt: %v", err)
	}
	for name, mutate := range map[string]func(*RangeReceipt){
		"omits one digest (re-signed)": func(r *RangeReceipt) {
			*r = *NewRangeReceipt(k, "cn", "jp", envs[0].Seq, append(append([]RangeItem{}, its[:2]...), its[3:]...), r.ReceivedAt)
		},
		"omits one digest, range shortened (re-signed)": func(r *RangeReceipt) {
			*r = *NewRangeReceipt(k, "cn", "jp", envs[0].Seq, its[:4], r.ReceivedAt)
			r.Last = envs[4].Seq
		},
		"alters one digest (re-signed)": func(r *RangeReceipt) {
			bad := append([]RangeItem{}, its...)
			bad[3].Digest = append([]byte{}, bad[3].Digest...)
			bad[3].Digest[0] ^= 1
			*r = *NewRangeReceipt(k, "cn", "jp", envs[0].Seq, bad, r.ReceivedAt)
		},
		"alters a status after signing": func(r *RangeReceipt) {
			r.Items = append([]RangeItem{}, r.Items...)
			r.Items[2].Status = Applied
		},
		"names a seq we did not send": func(r *RangeReceipt) {
			*r = *NewRangeReceipt(k, "cn", "jp", envs[0].Seq+1, its, r.ReceivedAt)
		},
		"signed by another key": func(r *RangeReceipt) {
			other, _ := keys(t)
			*r = *NewRangeReceipt(other, "cn", "jp", envs[0].Seq, its, r.ReceivedAt)
		},
	} {
		c := *rr
		mutate(&c)
		if err := c.Verify(pub, sent(envs)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Each envelope's share of the range verifies alone, as evidence kept per envelope,
	// and a changed share does not.
	for i, r := range rr.Expand() {
		b, _ := json.Marshal(r)
		var kept Receipt
		json.Unmarshal(b, &kept)
		if err := kept.Verify(pub, envs[i]); err != nil {
			t.Fatalf("seq %d: %v", r.Seq, err)
		}
		kept.Status = map[string]string{Applied: Rejected, Rejected: Applied}[kept.Status]
		if kept.VerifySignature(pub) == nil {
			t.Fatalf("seq %d: a share with another status verifies", r.Seq)
		}
	}
}

// Receipts an earlier build signed per envelope still verify, stored or on the wire.
func TestPerEnvelopeReceiptsStillVerify(t *testing.T) {
	k, pub := keys(t)
	e := signed(t, k)
	old := NewReceipt(k, e, Applied, "", time.Now())
	rs, err := DecodeReceipts(fmt.Appendf(nil, `{"receipts":[%s]}`, old.Marshal()))
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.All()[0].Verify(pub, e); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRangesNamesTheField(t *testing.T) {
	k, _ := keys(t)
	envs := unsigned(3)
	good := NewRangeReceipt(k, "cn", "jp", envs[0].Seq, items(envs), time.Now())
	for field, mutate := range map[string]func(*RangeReceipt){
		"ranges[0].first":           func(r *RangeReceipt) { r.First = 0 },
		"ranges[0].items":           func(r *RangeReceipt) { r.Items = nil },
		"ranges[0].items[1].digest": func(r *RangeReceipt) { r.Items = items(envs); r.Items[1].Digest = nil },
		"ranges[0].items[2].status": func(r *RangeReceipt) { r.Items = items(envs); r.Items[2].Status = "maybe" },
		"ranges[0].signature":       func(r *RangeReceipt) { r.Signature = nil },
	} {
		c := *good
		mutate(&c)
		b, _ := json.Marshal(Receipts{Ranges: []*RangeReceipt{&c}})
		if _, err := DecodeReceipts(b); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
