package csvmap

import (
	"fmt"
	"slices"
	"strings"
)

// Keys are the event fields a mapping can fill.
var Keys = []string{
	"time", "ip", "port", "asn", "country", "hostname", "domain", "url", "protocol", "classification", "identifier",
}

// Limits on a mapping, which comes from outside (a flag, an API parameter).
const (
	maxSpecBytes   = 4096
	maxColumnBytes = 200
)

// MappingError is a bad mapping, by the key at fault.
type MappingError struct {
	Key string // the mapping key; for an entry without one, the entry
	Msg string
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("map: key %q: %s", e.Key, e.Msg)
}

// Spec is a parsed mapping: event field key → column name.
type Spec struct {
	cols map[string]string
}

// Column is the column mapped to key, or "".
func (s Spec) Column(key string) string { return s.cols[key] }

// ParseSpec reads a mapping such as "ip=src,time=ts,port=dport": comma-separated
// key=column pairs, the keys from Keys, the columns named as in the header.
// An address is needed: ip, or domain or url for events about names.
func ParseSpec(spec string) (Spec, error) {
	if len(spec) > maxSpecBytes {
		return Spec{}, &MappingError{Key: "", Msg: fmt.Sprintf("mapping longer than %d bytes", maxSpecBytes)}
	}
	if strings.TrimSpace(spec) == "" {
		return Spec{}, &MappingError{Key: "ip", Msg: "required: the mapping is empty (e.g. ip=src,time=ts)"}
	}
	s := Spec{cols: make(map[string]string)}
	for _, entry := range strings.Split(spec, ",") {
		k, col, ok := strings.Cut(entry, "=")
		k, col = strings.TrimSpace(k), strings.TrimSpace(col)
		switch {
		case !ok:
			return Spec{}, &MappingError{Key: clip(strings.TrimSpace(entry)), Msg: "want key=column"}
		case !slices.Contains(Keys, k):
			return Spec{}, &MappingError{Key: clip(k), Msg: "unknown key (valid: " + strings.Join(Keys, ", ") + ")"}
		case col == "":
			return Spec{}, &MappingError{Key: k, Msg: "no column named"}
		case len(col) > maxColumnBytes:
			return Spec{}, &MappingError{Key: k, Msg: fmt.Sprintf("column name longer than %d bytes", maxColumnBytes)}
		}
		if _, dup := s.cols[k]; dup {
			return Spec{}, &MappingError{Key: k, Msg: "mapped twice"}
		}
		s.cols[k] = col
	}
	if s.cols["ip"] == "" && s.cols["domain"] == "" && s.cols["url"] == "" {
		return Spec{}, &MappingError{Key: "ip", Msg: "required (or domain or url): events need an address"}
	}
	return s, nil
}

// String writes the mapping back in key order.
func (s Spec) String() string {
	var parts []string
	for _, k := range Keys {
		if c := s.cols[k]; c != "" {
			parts = append(parts, k+"="+c)
		}
	}
	return strings.Join(parts, ",")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
