package wire

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sameAsReference decodes b into a T with the reference decoder (strict_ref_test.go) and
// the current one, and fails unless both accept with equal values or both refuse. A
// refusal for a key is worded the same by both.
func sameAsReference[T any](t *testing.T, b []byte) {
	t.Helper()
	var old, cur T
	errOld := refDecodeStrict("x", b, &old)
	errNew := decodeStrict("x", b, &cur)
	switch {
	case (errOld == nil) != (errNew == nil):
		t.Fatalf("%T of %q: reference says %v, current says %v", old, b, errOld, errNew)
	case errOld == nil && !reflect.DeepEqual(old, cur):
		t.Fatalf("%T of %q: reference decodes %#v, current %#v", old, b, old, cur)
	case errOld != nil && isKeyError(errOld) && !strings.Contains(errNew.Error(), "nested deeper") &&
		errOld.Error() != errNew.Error():
		t.Fatalf("%T of %q: reference says %v, current says %v", old, b, errOld, errNew)
	}
}

func isKeyError(err error) bool {
	return strings.HasSuffix(err.Error(), ": repeated") || strings.HasSuffix(err.Error(), ": not a lower-case name")
}

// strictSeeds are inputs at the edges of the rule, for the fuzzer and the table test.
var strictSeeds = []string{
	``, ` `, "\t\n\r ", `{}`, ` {} `, "{}\n", `{}{}`, `{} {}`, `{}x`, `{} 1`, `{}1x`, `{} "`, `{}]`, `{},`,
	`[]`, `null`, `"s"`, `1`, `x`, `]`, `}`, `{`, `{"`, `{"v"`, `{"v":`, `{"v":1`, `{"v":1,`, `{"v":1,}`,
	`{"v":1 "a":2}`, `{"v" 1}`, `{,"v":1}`, `{"v":1}` + "\x00", "\xef\xbb\xbf{}",
	`{"v":1,"v":1}`, `{"v":1,"\u0076":1}`, `{"\u0076":1}`, `{"\u0056":1}`, `{"V":1}`, `{"ſ":1}`,
	`{"\u017f":1}`, `{"\u0161":1}`, `{"a":1,"\u0161":1}`, `{"\ud800":1}`, `{"\ud83d\ude00":1}`, `{"\u0000":1}`, `{"a\/b":1}`, `{"\n":1}`,
	`{"\u00":1}`, `{"\x":1}`, `{"\u005f":1}`, `{"_":1}`, `{"1a":1}`, `{"a1":1}`, `{"":1}`, `{"a b":1}`,
	`{"` + strings.Repeat("a", 64) + `":1}`, `{"` + strings.Repeat("a", 65) + `":1}`,
	`{"` + strings.Repeat(`\u0061`, 64) + `":1}`, `{"` + strings.Repeat(`\u0061`, 65) + `":1}`,
	"{\"\xff\":1}", "{\"a\":\"\xff\xfe\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\x7f\"}",
	`{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":2}]}`, `{"a":[{"b":1,"b":2}]}`, `{"a":{"a":1},"b":{"a":1}}`,
	`{"a":{"b":1},"a":{"b":1}}`, `{"a":[{"B":1}]}`, `{"a":[[[{"c":{"C":1}}]]]}`, `{"b":1,"a":{},"b":2}`,
	`{"a":"}{\"b\":1,\"b\":2}","a2":"{"}`, `{"a":"\"","b":"\\"}`, `{"a":"\\\"}`, `{"a":"[[[","b":"]]]"}`,
	`{"a":-0,"b":1.5e+3,"c":-1E-2,"d":0.0,"e":1e999}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.1}`,
	`{"a":1e}`, `{"a":1e+}`, `{"a":+1}`, `{"a":0x1}`, `{"a":Infinity}`, `{"a":NaN}`,
	`{"a":true,"b":false,"c":null}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":True}`,
	" {\n\t\"a\" :\r 1 ,\n\"b\"\t:[ 1 , 2 ] }\n", "{\"a\":1}\v", "{\"a\":1}\u00a0",
	`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":[]}`, `{"a":[ ]}`, `{"a":{ }}`,
	`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`,
	`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":3}`,
	`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k17":3}`,
	`{"v":1,"kind":"status","id":"x","team":"cn","Team":"jp"}`, `{"v":1,"participants":[{"team":"cn","Team":"jp"}]}`,
	`{"status":"open","status":"closed"}`, `{"status":"open"}`, `{"Status":"open"}`,
}

// deepSeeds are at encoding/json's nesting limit (10,000) and one past it. They are left
// out of the fuzzer's corpus, where their size would slow every mutation.
var deepSeeds = []string{
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, 9998) + "1" + strings.Repeat("}", 9998) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, 9999) + "1" + strings.Repeat("}", 9999) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + `{"A":1}` + strings.Repeat("]", 10000) + `}`,
	`{"a":[` + strings.Repeat(`{"a":[`, 5000) + strings.Repeat("]}", 5000) + `]}`,
}

// strictCheck runs b through every kind of target: any (which takes every well-formed
// document, so only the rule refuses), and payload types, flat and nested.
func strictCheck(t *testing.T, b []byte) {
	sameAsReference[any](t, b)
	sameAsReference[FeedEvent](t, b)
	sameAsReference[Entry](t, b)
	sameAsReference[Incident](t, b)
	sameAsReference[BulkChunk](t, b)
	sameAsReference[StatusData](t, b)
	sameAsReference[MetricsAggregate](t, b)
	sameAsReference[CVDCase](t, b)
}

func TestStrictMatchesReference(t *testing.T) {
	for _, s := range append(strictSeeds, deepSeeds...) {
		strictCheck(t, []byte(s))
	}
	for _, b := range goldenFiles(t) {
		strictCheck(t, b)
	}
}

func goldenFiles(t testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b, b[:len(b)-1])
	}
	return out
}

// FuzzStrictMatchesReference is the proof that the one-pass key check changed nothing:
// on any input, the current decoder and the reference one (the token walk it replaced)
// both accept, with equal values, or both refuse.
func FuzzStrictMatchesReference(f *testing.F) {
	for _, b := range goldenFiles(f) {
		f.Add(b)
	}
	for _, s := range strictSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(strictCheck)
}

// BenchmarkStrictDecode compares the current decoder with the reference (the token walk)
// on the two payloads that arrive in bulk: a feed event (up to 10,000 per chunk) and a
// timeline entry.
func BenchmarkStrictDecode(b *testing.B) {
	event, err := os.ReadFile(filepath.Join("testdata", TypeFeedEvent+".golden"))
	if err != nil {
		b.Fatal(err)
	}
	entry, err := os.ReadFile(filepath.Join("testdata", TypeEntryAppend+".golden"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("FeedEvent/old", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e FeedEvent
			if err := refDecode(TypeFeedEvent, event, &e, FeedEventVersion); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FeedEvent/new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeFeedEvent(event); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Entry/old", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e Entry
			if err := refDecode("entry", entry, &e, EntryVersion); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Entry/new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeEntry(entry); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KeyCheck/FeedEvent/old", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := refCheckKeys(event); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KeyCheck/FeedEvent/new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := checkKeys(event); err != nil {
				b.Fatal(err)
			}
		}
	})
}
