package record

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, in string, quoted bool, max, per int) []Record {
	t.Helper()
	r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 16), quoted, max)
	var out []Record
	buf := make([]Record, per)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			if n != 0 {
				t.Fatalf("EOF with %d records", n)
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReaderRecords(t *testing.T) {
	in := "\xEF\xBB\xBFa,b\r\n\n\"multi\nline\",x\n  \nlast"
	got := readAll(t, in, true, 100, 2)
	want := []Record{{Text: "a,b", Line: 1}, {Text: "\"multi\nline\",x", Line: 3}, {Text: "  ", Line: 5}, {Text: "last", Line: 6}}
	if !slices.Equal(got, want) {
		t.Fatalf("records = %+v, want %+v", got, want)
	}
	// Unquoted mode: a quote does not join lines.
	got = readAll(t, "{\"a\":\"\n}\n", false, 100, 10)
	if len(got) != 2 || got[0].Text != `{"a":"` || got[1].Line != 2 {
		t.Fatalf("lines = %+v", got)
	}
}

func TestReaderTooLong(t *testing.T) {
	long := strings.Repeat("x", 50)
	// An unbalanced quote makes the record run on; once too long it ends at
	// the next line, and the rows after it are read.
	in := "ok\n" + long + "\n\"" + long + "\nmid\nafter\n"
	got := readAll(t, in, true, 40, 3)
	if len(got) != 5 {
		t.Fatalf("records = %+v", got)
	}
	if got[0].Text != "ok" || !errors.Is(got[1].Err, ErrTooLong) || got[1].Line != 2 ||
		!errors.Is(got[2].Err, ErrTooLong) || got[2].Line != 3 || got[3].Text != "mid" || got[4].Line != 5 {
		t.Fatalf("records = %+v", got)
	}
	// Exactly at the limit is fine, with either line ending.
	got = readAll(t, strings.Repeat("y", 40)+"\r\n", true, 40, 3)
	if len(got) != 1 || got[0].Err != nil || len(got[0].Text) != 40 {
		t.Fatalf("records = %+v", got)
	}
}

func TestSplit(t *testing.T) {
	cases := map[string][]string{
		``:                        {""},
		`a,b,c`:                   {"a", "b", "c"},
		`"a","b,c",`:              {"a", "b,c", ""},
		`"he said ""hi""",2`:      {`he said "hi"`, "2"},
		`"",,""`:                  {"", "", ""},
		"\"x\ny\",z":              {"x\ny", "z"},
		`"2021-03-04 00:00:00",1`: {"2021-03-04 00:00:00", "1"},
	}
	for in, want := range cases {
		got, err := Split(in, nil)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"open`, `a"b`, `"a"b`, `"a",b"`} {
		if _, err := Split(bad, nil); err == nil {
			t.Errorf("Split(%q): no error", bad)
		}
	}
}

// FuzzSplit checks Split against encoding/csv on single-line records: the same
// fields, or an error from both.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a,b`, `"a""b",c`, `"x",`, `a"b`, `"a"b`, `,,`, `"é",ü`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		got, err := Split(rec, nil)
		if rec == "" || strings.ContainsAny(rec, "\r\n") {
			return // multi-line handling is the Reader's; csv drops empty input
		}
		cr := csv.NewReader(strings.NewReader(rec))
		cr.FieldsPerRecord = -1
		want, werr := cr.Read()
		if (err != nil) != (werr != nil) {
			t.Fatalf("Split(%q) err = %v, encoding/csv err = %v", rec, err, werr)
		}
		if err == nil && !slices.Equal(got, want) {
			t.Fatalf("Split(%q) = %q, encoding/csv = %q", rec, got, want)
		}
	})
}

// FuzzReader checks that the reader never loses a line: every non-blank line
// belongs to one record, and records come in line order.
func FuzzReader(f *testing.F) {
	f.Add("a,b\n\"c\nd\",e\n", 64)
	f.Add("\"\n\n\n", 8)
	f.Fuzz(func(t *testing.T, in string, max int) {
		max = 8 + (max&0xff)%200
		r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 16), true, max)
		buf := make([]Record, 3)
		var last int64
		for {
			n, err := r.Read(buf)
			for _, rec := range buf[:n] {
				if rec.Line <= last {
					t.Fatalf("record at line %d after line %d", rec.Line, last)
				}
				if len(rec.Text) > max {
					t.Fatalf("record of %d bytes over limit %d", len(rec.Text), max)
				}
				last = rec.Line
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
		}
		if lines := int64(strings.Count(in, "\n")); r.Line() < lines {
			t.Fatalf("consumed %d lines of %d", r.Line(), lines)
		}
	})
}

func TestReaderMalformedQuoteEndsAtLine(t *testing.T) {
	in := "a,\"bad \"quote\"\nnext,row\n\"open\nstill open\",x\n"
	got := readAll(t, in, true, 1000, 10)
	if len(got) != 3 || got[1].Text != "next,row" || got[2].Line != 3 || got[2].Text != "\"open\nstill open\",x" {
		t.Fatalf("records = %+v", got)
	}
	if _, err := Split(got[0].Text, nil); err == nil {
		t.Fatal("the malformed record split without error")
	}
}

// FuzzReaderCSV runs whole inputs through Reader and Split and through
// encoding/csv: the same records, or an error from both, in the same order.
func FuzzReaderCSV(f *testing.F) {
	f.Add("a,b\n\"c\nd\",e\n")
	f.Add("x,\"y \"z\"\nok\n")
	f.Add("\"unterminated\nline\n")
	f.Fuzz(func(t *testing.T, in string) {
		if strings.ContainsAny(in, "\r") || strings.HasPrefix(in, "\xEF\xBB\xBF") {
			return
		}
		cr := csv.NewReader(strings.NewReader(in))
		cr.FieldsPerRecord = -1
		var want []string
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				want = append(want, "error")
				continue
			}
			want = append(want, strings.Join(rec, "\x00"))
		}
		var src io.Reader = strings.NewReader(in)
		if len(in)%2 == 1 {
			src = iotest.OneByteReader(src) // records cut at every byte
		}
		r := NewReader(src, true, 1<<20)
		var got []string
		buf := make([]Record, 4)
		for {
			n, err := r.Read(buf)
			for _, rec := range buf[:n] {
				fields, err := Split(rec.Text, nil)
				if err != nil {
					got = append(got, "error")
					continue
				}
				got = append(got, strings.Join(fields, "\x00"))
			}
			if err != nil {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("input %q:\n got  %q\n want %q", in, got, want)
		}
	})
}

func TestTooLongResyncsOnTheRightLine(t *testing.T) {
	for _, tail := range []string{"", "\r"} {
		for extra := 1; extra <= 3; extra++ {
			in := strings.Repeat("x", 40+extra) + tail + "\nnext\n"
			got := readAll(t, in, true, 40, 4)
			if len(got) != 2 || !errors.Is(got[0].Err, ErrTooLong) || got[1].Text != "next" || got[1].Line != 2 {
				t.Errorf("%d over, tail %q: %+v", extra, tail, got)
			}
		}
	}
	got := readAll(t, strings.Repeat("y", 40)+"\r\nnext", true, 40, 4)
	if len(got) != 2 || got[0].Err != nil || got[1].Text != "next" || got[1].Line != 2 {
		t.Errorf("at the limit with CRLF: %+v", got)
	}
}

// TestAcrossBuffers reads an input several times the buffer, with records
// straddling every refill, and compares with encoding/csv.
func TestAcrossBuffers(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 3*bufBytes; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "%d,\"multi\nline %d\",x\r\n", i, i)
		case 1:
			fmt.Fprintf(&b, "%d,%s\n", i, strings.Repeat("z", i%3000))
		case 2:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "%d,\"q \"\"%d\"\"\",y\n", i, i)
		}
	}
	in := b.String()
	cr := csv.NewReader(strings.NewReader(in))
	cr.FieldsPerRecord = -1
	r := NewReader(iotest.HalfReader(strings.NewReader(in)), true, 4096)
	buf := make([]Record, 1000)
	var n int
	for {
		k, err := r.Read(buf)
		for _, rec := range buf[:k] {
			want, werr := cr.Read()
			if werr != nil {
				t.Fatalf("record %d: csv: %v", n, werr)
			}
			got, err := Split(rec.Text, nil)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("record %d at line %d: %q, %v; want %q", n, rec.Line, got, err, want)
			}
			if line, _ := cr.FieldPos(0); int64(line) != rec.Line {
				t.Fatalf("record %d: line %d, csv says %d", n, rec.Line, line)
			}
			n++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("csv has more records after %d", n)
	}
}
