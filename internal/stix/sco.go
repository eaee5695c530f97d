package stix

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"csirtlink/internal/observable"
)

// SCO is a STIX cyber-observable object of the types we produce: ipv4-addr,
// ipv6-addr, domain-name, url, email-addr (value), file (hashes) and
// autonomous-system (number).
type SCO struct {
	Type              string            `json:"type"`
	SpecVersion       string            `json:"spec_version"`
	ID                string            `json:"id"`
	Value             string            `json:"value,omitempty"`
	Number            int64             `json:"number,omitempty"`
	Name              string            `json:"name,omitempty"`
	Hashes            map[string]string `json:"hashes,omitempty"`
	ObjectMarkingRefs []string          `json:"object_marking_refs,omitempty"`
}

// hashNames are STIX's hash algorithm names (hash-algorithm-ov) for our hash types.
var hashNames = map[observable.Type]string{observable.MD5: "MD5", observable.SHA1: "SHA-1", observable.SHA256: "SHA-256"}

// SCOFor maps one of our observables to its SCO, with the deterministic id STIX
// 2.1 section 2.9 prescribes (UUIDv5 over the canonical JSON of the id-contributing
// properties), so that two producers of the same address name it alike.
func SCOFor(o observable.Observable) (SCO, error) {
	s := SCO{SpecVersion: SpecVersion}
	switch o.Type {
	case observable.IPv4, observable.IPv6:
		s.Type, s.Value = "ipv4-addr", o.Value
		if o.Type == observable.IPv6 {
			s.Type = "ipv6-addr"
		}
	case observable.CIDR:
		p, err := netip.ParsePrefix(o.Value)
		if err != nil {
			return SCO{}, fmt.Errorf("stix: cidr %q: %w", o.Value, err)
		}
		s.Type, s.Value = "ipv4-addr", o.Value
		if p.Addr().Is6() {
			s.Type = "ipv6-addr"
		}
	case observable.Domain:
		s.Type, s.Value = "domain-name", o.Value
	case observable.URL:
		s.Type, s.Value = "url", o.Value
	case observable.Email:
		s.Type, s.Value = "email-addr", o.Value
	case observable.MD5, observable.SHA1, observable.SHA256:
		s.Type, s.Hashes = "file", map[string]string{hashNames[o.Type]: o.Value}
	default:
		return SCO{}, fmt.Errorf("stix: no cyber-observable for observable type %q", o.Type)
	}
	s.ID = scoID(s)
	return s, nil
}

// ASN is the autonomous-system SCO for number n (feeds and owners carry ASNs).
func ASN(n uint32) SCO {
	s := SCO{Type: "autonomous-system", SpecVersion: SpecVersion, Number: int64(n)}
	s.ID = scoID(s)
	return s
}

// scoID is type--UUIDv5(STIX namespace, canonical JSON of the contributing properties).
func scoID(s SCO) string {
	var name string
	switch {
	case s.Type == "file":
		// Contributing property: hashes (and name, which we do not set). Canonical JSON
		// sorts keys; json.Marshal sorts map keys too.
		name = `{"hashes":` + canonicalMap(s.Hashes) + `}`
	case s.Type == "autonomous-system":
		name = fmt.Sprintf(`{"number":%d}`, s.Number)
	default:
		name = `{"value":` + canonicalString(s.Value) + `}`
	}
	return s.Type + "--" + uuid5(scoNamespace, name)
}

// canonicalString is a JSON string as RFC 8785 (JCS) writes it: only ", \ and the
// control characters escaped, nothing else (encoding/json also escapes <, >, & and
// U+2028/9).
func canonicalString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func canonicalMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// JCS orders by UTF-16 code units; our keys are ASCII, where that is byte order.
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(canonicalString(k) + ":" + canonicalString(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// ObservablesOf maps an SCO we received to our observables. ok is false when the
// SCO is of a type we do not hold, or carries properties we would lose (a file with
// a name or size, an address with resolves_to_refs): such an object is kept raw.
func ObservablesOf(raw json.RawMessage) (obs []observable.Observable, ok bool) {
	var props map[string]json.RawMessage
	if json.Unmarshal(raw, &props) != nil {
		return nil, false
	}
	var typ, value string
	if json.Unmarshal(props["type"], &typ) != nil {
		return nil, false
	}
	allowed := map[string]bool{"type": true, "spec_version": true, "id": true, "object_marking_refs": true}
	switch typ {
	case "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr":
		allowed["value"] = true
	case "file":
		allowed["hashes"] = true
	default:
		return nil, false
	}
	for k := range props {
		if !allowed[k] {
			return nil, false
		}
	}
	if typ == "file" {
		var hashes map[string]string
		if json.Unmarshal(props["hashes"], &hashes) != nil || len(hashes) == 0 {
			return nil, false
		}
		for name, v := range hashes {
			t, known := hashType(name)
			if !known {
				return nil, false
			}
			o, err := observable.Parse(string(t), v)
			if err != nil {
				return nil, false
			}
			obs = append(obs, o)
		}
		slices.SortFunc(obs, func(a, b observable.Observable) int { return strings.Compare(string(a.Type), string(b.Type)) })
		return obs, true
	}
	if json.Unmarshal(props["value"], &value) != nil {
		return nil, false
	}
	o, err := observable.Parse(ourType(typ, value), value)
	if err != nil {
		return nil, false
	}
	return []observable.Observable{o}, true
}

// hashType reads a STIX hash algorithm name; STIX allows the quoted forms with or
// without the hyphen in practice ("SHA256" appears in the wild).
func hashType(name string) (observable.Type, bool) {
	switch strings.ToUpper(strings.ReplaceAll(name, "-", "")) {
	case "MD5":
		return observable.MD5, true
	case "SHA1":
		return observable.SHA1, true
	case "SHA256":
		return observable.SHA256, true
	}
	return "", false
}

// ourType is our observable type for a value of a STIX SCO type.
func ourType(stixType, value string) string {
	switch stixType {
	case "ipv4-addr", "ipv6-addr":
		if strings.Contains(value, "/") {
			return string(observable.CIDR)
		}
		if stixType == "ipv4-addr" {
			return string(observable.IPv4)
		}
		return string(observable.IPv6)
	case "domain-name":
		return string(observable.Domain)
	case "url":
		return string(observable.URL)
	case "email-addr":
		return string(observable.Email)
	}
	return ""
}
