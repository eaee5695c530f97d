package envelope

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"csirtlink/internal/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the examples")

// The batch seal and the range receipt are the protocol: their exact encoding is fixed
// by golden files made with a fixed test key (Ed25519 signatures are deterministic).
// A change that alters them must be a deliberate new version; `go test
// ./internal/envelope -update` rewrites them after one.
func TestSealAndRangeReceiptEncodingsAreFixed(t *testing.T) {
	k, err := identity.Load(filepath.Join("testdata", "golden-test.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := identity.ParsePublic(k.Public())
	at := time.Date(2026, 12, 2, 14, 0, 0, 123456000, time.UTC)
	envs := make([]*Envelope, 3)
	for i := range envs {
		envs[i] = &Envelope{Origin: "cn", Destination: "jp", Seq: uint64(41 + i), Type: "entry.append", ObjectID: "cn-2026-0007",
			Time: at, TLP: "AMBER", Payload: []byte(`{"v":1,"note":"golden"}`)}
	}
	batch, _ := json.MarshalIndent(Batch{Envelopes: envs, Seal: SealBatch(k, "cn", "jp", at, envs)}, "", "  ")
	items := make([]RangeItem, len(envs))
	for i, e := range envs {
		d := e.Digest()
		items[i] = RangeItem{Digest: d[:], Status: Applied}
	}
	items[1].Status, items[1].Reason = Rejected, "entry x: bad signature by kr"
	rr := NewRangeReceipt(k, "cn", "jp", 41, items, at)
	answer, _ := json.MarshalIndent(Receipts{Ranges: []*RangeReceipt{rr}}, "", "  ")
	share, _ := json.MarshalIndent(rr.Expand()[1], "", "  ")
	for name, got := range map[string][]byte{"sealed-batch": batch, "range-receipt": answer, "receipt-share": share} {
		path := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", name, err)
		}
		if !bytes.Equal(bytes.TrimSpace(want), got) {
			t.Errorf("%s: encoding changed; if deliberate, a new version and -update\ngot:\n%s", name, got)
		}
	}
	// What the files hold verifies with the key that made them.
	bt, err := DecodeBatch(must(os.ReadFile(filepath.Join("testdata", "sealed-batch.golden"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bt.Seal.Verify(pub, bt.Envelopes); err != nil {
		t.Errorf("golden batch: %v", err)
	}
	rs, err := DecodeReceipts(must(os.ReadFile(filepath.Join("testdata", "range-receipt.golden"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Ranges[0].Verify(pub, map[uint64]*Envelope{41: envs[0], 42: envs[1], 43: envs[2]}); err != nil {
		t.Errorf("golden range receipt: %v", err)
	}
	var r Receipt
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join("testdata", "receipt-share.golden"))), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(pub, envs[1]); err != nil {
		t.Errorf("golden receipt share: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
