package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// This file keeps the strict decoder as it was before the one-pass key check, unchanged
// but for its names, as the reference the differential fuzz target (FuzzStrictMatchesReference) and
// the benchmarks compare the current one with. It must not change.

// refDecode is decode with the reference check.
func refDecode(kind string, b []byte, v versioned, want int) error {
	if err := refDecodeStrict(kind, b, v); err != nil {
		return err
	}
	if got := v.version(); got != want {
		return fmt.Errorf("wire: %s: version %d, this node speaks %d", kind, got, want)
	}
	return nil
}

func refDecodeStrict(kind string, b []byte, v any) error {
	if err := refCheckKeys(b); err != nil {
		return fmt.Errorf("wire: %s: %w", kind, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("wire: %s: %w", kind, err)
	}
	return nil
}

type refFrame struct {
	object  bool
	wantKey bool
	keys    map[string]bool
}

func refCheckKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*refFrame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var top *refFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				refEndValue(stack)
				continue
			}
			k, _ := tok.(string)
			if !refValidKey(k) {
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
			stack = append(stack, &refFrame{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &refFrame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			refEndValue(stack)
		default:
			refEndValue(stack)
		}
	}
	if values == 0 {
		return errors.New("empty")
	}
	return nil
}

func refEndValue(stack []*refFrame) {
	if len(stack) > 0 && stack[len(stack)-1].object {
		stack[len(stack)-1].wantKey = true
	}
}

func refValidKey(k string) bool {
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
