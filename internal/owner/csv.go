package owner

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"csirtlink/internal/store"
)

// Limits on an import file.
const (
	MaxImportBytes = 32 << 20
	MaxImportRows  = 100000
)

// CSVColumns are an import file's columns; the header names them, in any order, and
// only id, name and email are required. Lists (networks, asns, domains) are separated
// by spaces, commas inside the quoted cell or semicolons. Rows with the same id add
// contacts and networks to one owner, so an owner with two contacts takes two rows.
var CSVColumns = []string{"id", "name", "networks", "asns", "domains", "email", "pgp_key", "language", "format",
	"schedule", "digest_at", "timezone", "business_days"}

// ParseCSV reads owners from an import file. It only reads (Normalize checks what it
// read): an error names the line and the column. It reads at most MaxImportBytes.
func ParseCSV(r io.Reader) ([]store.NetOwner, error) {
	lr := &io.LimitedReader{R: r, N: MaxImportBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("line 1: empty file; a header row naming the columns is needed")
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(CSVColumns, h) {
			return nil, fmt.Errorf("line 1: column %q is not one of %s", h, strings.Join(CSVColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("line 1: column %q twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"id", "name", "email"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("line 1: column %q is required", need)
		}
	}
	var out []store.NetOwner
	byID := map[string]int{}
	for rows := 0; ; rows++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("larger than %d bytes", MaxImportBytes)
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("line %d: %w", rows+2, err)
		}
		line, _ := cr.FieldPos(0)
		if rows >= MaxImportRows {
			return nil, fmt.Errorf("line %d: more than %d rows", line, MaxImportRows)
		}
		if len(rec) != len(head) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", line, len(rec), len(head))
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		id := get("id")
		if id == "" {
			return nil, fmt.Errorf("line %d: id: required", line)
		}
		var asns []uint32
		for _, a := range splitList(get("asns")) {
			v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(a), "AS"), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("line %d: asns: %q is not an AS number", line, a)
			}
			asns = append(asns, uint32(v))
		}
		bd := false
		if v := get("business_days"); v != "" {
			if bd, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("line %d: business_days: %q is not true or false", line, v)
			}
		}
		c := store.OwnerContact{Email: get("email"), PGPKey: get("pgp_key"), Language: get("language"), Format: get("format"),
			Schedule: get("schedule"), DigestAt: get("digest_at"), Timezone: get("timezone"), BusinessDays: bd}
		i, known := byID[id]
		if !known {
			byID[id] = len(out)
			out = append(out, store.NetOwner{ID: id, Name: get("name")})
			i = len(out) - 1
		} else if n := get("name"); n != "" && n != out[i].Name {
			return nil, fmt.Errorf("line %d: name: %q differs from the name given to %s before (%q)", line, n, id, out[i].Name)
		}
		o := &out[i]
		o.Networks = appendNew(o.Networks, splitList(get("networks"))...)
		o.ASNs = appendNew(o.ASNs, asns...)
		o.Domains = appendNew(o.Domains, splitList(get("domains"))...)
		o.Contacts = append(o.Contacts, c)
		if len(o.Contacts) > MaxContacts || len(o.Networks) > MaxNetworks || len(o.ASNs) > MaxASNs || len(o.Domains) > MaxDomains {
			return nil, fmt.Errorf("line %d: owner %s has too many contacts, networks, AS numbers or domains", line, id)
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("larger than %d bytes", MaxImportBytes)
	}
	return out, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' || r == '\r' })
}

func appendNew[T comparable](list []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
