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
	"errors"
	"fmt"
	"io"
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

// frame is one open object or array while checkKeys walks a document.
type frame struct {
	object  bool
	wantKey bool
	keys    map[string]bool
}

// checkKeys walks a document's tokens and refuses what encoding/json would let
// through: a top level that is not one object, keys that are not lower-case ASCII
// names, and repeated keys.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				endValue(stack)
				continue
			}
			k, _ := tok.(string)
			if !validKey(k) {
				return fmt.Errorf("key %q: not a lower-case name", k)
			}
			if top.keys[k] {
				return fmt.Errorf("key %q: repeated", k)
			}
			top.keys[k] = true
			top.wantKey = false
			continue
		}
		if len(stack) == 0 {
			values++
			if values > 1 {
				return errors.New("data after the object")
			}
			if tok != json.Delim('{') {
				return errors.New("not a JSON object")
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			endValue(stack)
		default:
			endValue(stack)
		}
	}
	if values == 0 {
		return errors.New("empty")
	}
	return nil
}

// endValue notes that a value ended inside the innermost open object or array.
func endValue(stack []*frame) {
	if len(stack) > 0 && stack[len(stack)-1].object {
		stack[len(stack)-1].wantKey = true
	}
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
