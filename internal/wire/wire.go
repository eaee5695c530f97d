// Package wire is the federation protocol's payloads: one versioned type per envelope
// kind, kept apart from the store's records so that a change to a table can never change
// what nodes say to each other. It imports nothing of csirtlink's; each service maps its
// kinds to and from its own records in one place (internal/incident/wire.go,
// internal/hotline/wire.go).
//
// Decoding is strict, by one documented rule: a payload is exactly one JSON object of
// its kind's current version; unknown fields, keys that are not lower-case ASCII (so
// that encoding/json's case-insensitive matching can never pick a field), repeated keys
// and anything after the object are refused. A change to a kind's fields is therefore a
// new version, never a silent one: a receiver rejects (and receipts as rejected) a
// version it does not know, rather than dropping what it cannot read.
package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Envelope types.
const (
	TypeIncidentUpsert = "incident.upsert"
	TypeEntrySubmit    = "entry.submit"
	TypeEntryAppend    = "entry.append"
	TypePageSend       = "page.send"
	TypePageState      = "page.state"
	TypePageResolve    = "page.resolve"
	TypeOnCallSummary  = "oncall.summary"
)

// versioned is a payload that says which version of its kind it is.
type versioned interface{ version() int }

// encode marshals a payload whose version field is already set.
func encode(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", kind, err)
	}
	return b, nil
}

// decode reads one payload of a kind strictly into v and checks its version.
func decode(kind string, b []byte, v versioned, want int) error {
	if err := decodeStrict(kind, b, v); err != nil {
		return err
	}
	if got := v.version(); got != want {
		return fmt.Errorf("wire: %s: version %d, this node speaks %d", kind, got, want)
	}
	return nil
}

// decodeStrict reads one JSON object into v by the package's rule.
func decodeStrict(kind string, b []byte, v any) error {
	if err := checkKeys(b); err != nil {
		return fmt.Errorf("wire: %s: %w", kind, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("wire: %s: %w", kind, err)
	}
	return nil
}
