package bulk

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"csirtlink/internal/egress"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

var ctxCN = egress.Context{Self: "cn", Peers: []string{"jp", "kr"}, Community: []string{"jp", "kr"}, Participants: []string{"jp"}}

func toJP() egress.Destination { return egress.Destination{Kind: egress.PartnerReport, Team: "jp"} }

func newBuilder(t testing.TB) *Builder {
	t.Helper()
	b, err := NewBuilder("test.object", ctxCN, toJP())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAll(t testing.TB, c wire.BulkChunk) []string {
	t.Helper()
	var out []string
	if err := Decode(c, func(_ int, obj []byte) error { out = append(out, string(obj)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChunkRoundTrip(t *testing.T) {
	b := newBuilder(t)
	var want []string
	for i := range 2500 {
		obj := fmt.Sprintf(`{"n":%d,"ip":"192.0.2.%d"}`, i, i%256)
		if ok, err := b.Add(tlp.Item{Label: tlp.Amber, Author: "cn"}, []byte(obj)); !ok || err != nil {
			t.Fatalf("add %d: %v %v", i, ok, err)
		}
		want = append(want, obj)
	}
	c, err := b.Take("run-1", 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Count != 2500 || c.Label != tlp.Amber || c.Group != "run-1" || !c.Last {
		t.Fatalf("chunk %+v", c.BulkChunk)
	}
	p, err := c.Payload()
	if err != nil {
		t.Fatal(err)
	}
	back, err := wire.DecodeBulkChunk(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeAll(t, back); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("objects differ: %d of %d", len(got), len(want))
	}
	if b.Len() != 0 {
		t.Fatal("Take did not start a new chunk")
	}
}

// The egress rule runs per object before the chunk is built: an object its label keeps
// from the destination is in no chunk for it, not even compressed.
func TestForbiddenObjectIsNeverBuilt(t *testing.T) {
	b := newBuilder(t)
	items := []struct {
		item tlp.Item
		obj  string
		goes bool
	}{
		{tlp.Item{Label: tlp.Amber, Author: "cn"}, `{"id":"amber-ok"}`, true},
		{tlp.Item{Label: tlp.Red, Author: "cn", Recipients: []string{"kr"}}, `{"id":"red-for-kr"}`, false},
		{tlp.Item{Label: tlp.AmberStrict, Author: "cn"}, `{"id":"amber-strict"}`, false},
		{tlp.Item{Label: tlp.Green, Author: "cn"}, `{"id":"green-ok"}`, true},
		{tlp.Item{Label: "PURPLE", Author: "cn"}, `{"id":"bad-label"}`, false},
	}
	for _, it := range items {
		ok, err := b.Add(it.item, []byte(it.obj))
		if err != nil || ok != it.goes {
			t.Fatalf("%s: added %v (%v), want %v", it.obj, ok, err, it.goes)
		}
	}
	c, err := b.Take("g", 1, true)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(decodeAll(t, c.BulkChunk), "\n")
	if got != `{"id":"amber-ok"}`+"\n"+`{"id":"green-ok"}` || b.Refused() != 3 || c.Label != tlp.Amber {
		t.Fatalf("chunk holds %q, refused %d, label %s", got, b.Refused(), c.Label)
	}
	// And a destination that is no active peer gets nothing at all.
	nb, _ := NewBuilder("x", ctxCN, egress.Destination{Kind: egress.PartnerReport, Team: "us"})
	if ok, _ := nb.Add(tlp.Item{Label: tlp.Clear, Author: "cn"}, []byte(`{}`)); ok {
		t.Fatal("an object was built for a team that is not a peer")
	}
}

func TestCapsOnBuild(t *testing.T) {
	b := newBuilder(t)
	item := tlp.Item{Label: tlp.Clear, Author: "cn"}
	for i := range MaxObjects {
		if ok, err := b.Add(item, []byte(fmt.Sprint(i))); !ok || err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if _, err := b.Add(item, []byte("one more")); !errors.Is(err, ErrFull) {
		t.Fatalf("object %d: %v, want ErrFull", MaxObjects+1, err)
	}
	if _, err := b.Add(item, []byte("a\nb")); err == nil {
		t.Fatal("an object with a line break was taken")
	}
	// Incompressible objects fill a chunk by compressed size, never past the cap.
	b = newBuilder(t)
	rnd := make([]byte, 0, 40<<10)
	x := uint64(88172645463325252)
	n := 0
	for {
		rnd = rnd[:0]
		for range 40 << 10 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			rnd = append(rnd, 'a'+byte(x%26))
		}
		ok, err := b.Add(item, rnd)
		if errors.Is(err, ErrFull) {
			break
		}
		if !ok || err != nil {
			t.Fatal(err)
		}
		n++
	}
	c, err := b.Take("g", 1, false)
	if err != nil || len(c.Data) > MaxCompressed || c.Count != n {
		t.Fatalf("%d objects, %d bytes (cap %d): %v", c.Count, len(c.Data), MaxCompressed, err)
	}
	p, _ := c.Payload()
	if len(p) > 1<<20 {
		t.Fatalf("payload %d bytes does not fit an envelope", len(p))
	}
}

func compress(t testing.TB, raw []byte) []byte {
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(raw, nil)
}

// A chunk that lies about what it holds, or that decompresses to more than the caps
// allow, is refused — after reading at most one byte past what it declared.
func TestDecodeRefusesLiesAndBombs(t *testing.T) {
	good := []byte("{\"a\":1}\n{\"b\":2}\n")
	bomb := compress(t, bytes.Repeat([]byte("x"), 200<<20)) // 200 MiB of one byte: a few KiB compressed
	cases := map[string]wire.BulkChunk{
		"more objects than declared": {Count: 1, Size: int64(len(good)), Data: compress(t, good)},
		"fewer objects":              {Count: 3, Size: int64(len(good)), Data: compress(t, good)},
		"more bytes than declared":   {Count: 2, Size: 8, Data: compress(t, good)},
		"no final line break":        {Count: 1, Size: 7, Data: compress(t, []byte(`{"a":1}`))},
		"not zstd":                   {Count: 1, Size: 8, Data: []byte("{\"a\":1}\n")},
		"count over the cap":         {Count: MaxObjects + 1, Size: 8, Data: compress(t, good)},
		"size over the cap":          {Count: 1, Size: MaxSize + 1, Data: compress(t, good)},
		"bomb":                       {Count: 1, Size: MaxSize, Data: bomb},
		"empty object":               {Count: 1, Size: 1, Data: compress(t, []byte("\n"))},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := Decode(c, func(int, []byte) error { return nil }); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if err := Decode(wire.BulkChunk{Count: 2, Size: int64(len(good)), Data: compress(t, good)}, func(int, []byte) error { return nil }); err != nil {
		t.Fatalf("a good chunk: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	b := newBuilder(f)
	b.Add(tlp.Item{Label: tlp.Clear, Author: "cn"}, []byte(`{"ip":"192.0.2.1"}`))
	b.Add(tlp.Item{Label: tlp.Clear, Author: "cn"}, []byte(`{"ip":"2001:db8::1"}`))
	c, _ := b.Take("g", 1, true)
	f.Add(c.Data, c.Count, c.Size)
	f.Add(compress(f, []byte("x\n")), 1, int64(2))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd}, 0, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, count int, size int64) {
		total := int64(0)
		n := 0
		err := Decode(wire.BulkChunk{Count: count, Size: size, Data: data}, func(i int, obj []byte) error {
			if i != n || len(obj) == 0 || len(obj) > MaxObjectBytes || bytes.IndexByte(obj, '\n') >= 0 {
				t.Fatalf("object %d: %d bytes", i, len(obj))
			}
			n++
			total += int64(len(obj)) + 1
			return nil
		})
		if err == nil && (n != count || total != size) {
			t.Fatalf("accepted %d objects in %d bytes, declared %d in %d", n, total, count, size)
		}
	})
}
