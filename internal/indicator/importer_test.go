package indicator

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

// ParseImport reads an import file into rows and the lines it cannot read, as the
// import's two passes see it.
func ParseImport(r io.Reader, opt ImportOptions) ([]Row, []LineError, int, error) {
	var rows []Row
	bad, err := scanImport(r, opt, func(row Row) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return rows, bad.errs, bad.count, nil
}

func TestParseImportCSVWithMapping(t *testing.T) {
	in := "\ufeffIndicator,Kind,category,tlp,Share,tags,notes\n" +
		"198.51.100.7,ipv4,malicious-code/c2-server,AMBER,jp;kr,mirai|c2,x\n" +
		"\"evil.example\",,fraud/phishing,GREEN,,,\n" +
		"too,few\n" +
		"203.0.113.9,ipv4,,,,,\n"
	rows, bad, n, err := ParseImport(strings.NewReader(in), ImportOptions{
		Map:      map[string]string{"indicator": "value", "kind": "type", "share": "share_with", "notes": "-"},
		Defaults: Input{Category: "other/other", TLP: "AMBER"}})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(bad) != 1 || bad[0].Line != 4 {
		t.Fatalf("invalid lines: %d %+v", n, bad)
	}
	if len(rows) != 3 {
		t.Fatalf("rows: %+v", rows)
	}
	r := rows[0]
	if r.Line != 2 || r.Input.Value != "198.51.100.7" || r.Input.Type != "ipv4" || !reflect.DeepEqual(r.Input.ShareWith, []string{"jp", "kr"}) ||
		!reflect.DeepEqual(r.Input.Tags, []string{"mirai", "c2"}) {
		t.Errorf("row 2: %+v", r)
	}
	if rows[1].Input.TLP != "GREEN" || rows[2].Line != 5 || rows[2].Input.Category != "other/other" || rows[2].Input.TLP != "AMBER" {
		t.Errorf("defaults: %+v %+v", rows[1], rows[2])
	}
}

func TestParseImportRefusesUnknownColumns(t *testing.T) {
	_, bad, n, err := ParseImport(strings.NewReader("value,colour\n1.2.3.4,red\n"), ImportOptions{Format: FormatCSV})
	if err != nil || n != 1 || !strings.Contains(bad[0].Reason, `"colour"`) || bad[0].Line != 1 {
		t.Fatalf("%d %+v %v", n, bad, err)
	}
}

func TestParseImportLines(t *testing.T) {
	rows, bad, n, err := ParseImport(strings.NewReader("# C2 list\n198.51.100.7\n\n  evil[.]example  \n"),
		ImportOptions{Defaults: Input{Category: "malicious-code/c2-server", TLP: "GREEN"}})
	if err != nil || n != 0 || len(bad) != 0 {
		t.Fatal(err, n, bad)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[1].Line != 4 || rows[1].Input.Value != "evil[.]example" || rows[1].Input.TLP != "GREEN" {
		t.Fatalf("%+v", rows)
	}
}

func TestCandidates(t *testing.T) {
	for q, want := range map[string][]string{
		"198.51.100.9":                   {"198.51.100.9", "198.51.100.0/24", "198.51.100.8/29", "0.0.0.0/0"},
		"2001:db8::1":                    {"2001:db8::1", "2001:db8::/32", "::/0"},
		"www.c2.evil.example":            {"www.c2.evil.example", "c2.evil.example", "evil.example"},
		"http://a.evil.example:8080/x?y": {"http://a.evil.example:8080/x?y", "a.evil.example", "evil.example"},
		"bot@mail.evil.example":          {"bot@mail.evil.example", "mail.evil.example", "evil.example"},
	} {
		_, c, err := Candidates(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, w := range want {
			if _, ok := c[w]; !ok {
				t.Errorf("%s: no candidate %s in %v", q, w, c)
			}
		}
		if _, ok := c["example"]; ok {
			t.Errorf("%s: a top-level domain is a candidate", q)
		}
	}
	if _, c, _ := Candidates("198.51.100.9"); len(c) != 34 {
		t.Errorf("an IPv4 address has %d candidates, want itself and 33 networks", len(c))
	}
}

// FuzzParseImport: the import parser never panics on a file, keeps line numbers within
// the file, and every row it returns has a value.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte("value,type,tlp\n198.51.100.7,ipv4,AMBER\n"), "")
	f.Add([]byte("indicator,kind\n\"a,b\",x\n\"unterminated\n"), "csv")
	f.Add([]byte("198.51.100.7\n# comment\nevil.example\n"), "lines")
	f.Add([]byte("value,valid_until,confidence\nx,2026-13-01,abc\n"), "csv")
	f.Fuzz(func(t *testing.T, b []byte, format string) {
		rows, bad, n, err := ParseImport(bytes.NewReader(b), ImportOptions{Format: format, Map: map[string]string{"indicator": "value"}})
		if err != nil {
			return
		}
		lines := bytes.Count(b, []byte("\n")) + 1
		if n < len(bad) {
			t.Fatalf("%d errors counted, %d kept", n, len(bad))
		}
		for _, r := range rows {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("row line %d of %d", r.Line, lines)
			}
			if strings.TrimSpace(r.Input.Value) == "" && format == FormatLines {
				t.Fatalf("empty value on line %d", r.Line)
			}
		}
		for _, e := range bad {
			if e.Line < 1 || e.Line > lines+1 {
				t.Fatalf("error line %d of %d", e.Line, lines)
			}
		}
	})
}

func FuzzCandidates(f *testing.F) {
	for _, s := range []string{"198.51.100.9", "2001:db8::1", "a.b.example", "http://x.example/", "a@b.example", "10.0.0.0/8", "d41d8cd98f00b204e9800998ecf8427e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		o, c, err := Candidates(q)
		if err != nil {
			return
		}
		if c[o.Value] != MatchExact {
			t.Fatalf("%q: the value itself is not an exact candidate", q)
		}
	})
}
