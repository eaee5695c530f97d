package taxii

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// A pull reads every byte of every page: encoding/json would scan each object three
// times more after the envelope (a copy for json.RawMessage, then the id and version
// for the repeat check). These scanners walk bytes that json.Valid has already
// accepted, so they only need to find where values begin and end; anything unusual
// (an escaped key, a value not of the expected kind) sends the caller back to
// encoding/json, so both ways read the same thing (FuzzScanEnvelope, FuzzObjectKey).

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the string starting at b[i] (a quote): the index after its closing
// quote, and whether it holds an escape.
func scanString(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue is the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _ := scanString(b, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// members calls f with each top-level member of the object b (valid JSON) — its key
// and the bytes of its value — until f says stop. ok is false when b is not an object
// or a key holds an escape (the caller then asks encoding/json).
func members(b []byte, f func(key string, val []byte) bool) (ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		end, esc := scanString(b, i)
		if end < 0 || esc {
			return false
		}
		key := string(b[i+1 : end-1])
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return false
		}
		if !f(key, b[i:vend]) {
			return true
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		return i < len(b) && b[i] == '}'
	}
	return false
}

// plainString is the text of a JSON string value without escapes.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if end, esc := scanString(v, 0); esc || end != len(v) || !utf8.Valid(v) {
		// encoding/json replaces invalid UTF-8 with U+FFFD: leave those to it.
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// scanEnvelope reads a TAXII envelope as json.Unmarshal into envelope would, each
// object a slice of body rather than a copy. ok is false when the caller should ask
// encoding/json instead (invalid JSON, an escaped key or next, repeated members).
func scanEnvelope(body []byte) (env envelope, ok bool) {
	if !json.Valid(body) {
		return env, false
	}
	seen := map[string]bool{}
	good := true
	ok = members(body, func(key string, val []byte) bool {
		if seen[key] {
			good = false
			return false
		}
		seen[key] = true
		switch key {
		default:
			if foldsTo(key, "more", "next", "objects") {
				good = false // encoding/json matches keys regardless of case
			}
		case "more":
			switch string(val) {
			case "true":
				env.More = true
			case "false", "null":
			default:
				good = false
			}
		case "next":
			if string(val) == "null" {
				break
			}
			env.Next, good = plainString(val)
		case "objects":
			if string(val) == "null" {
				break
			}
			if val[0] != '[' {
				good = false
				break
			}
			env.Objects = make([]json.RawMessage, 0, 1000)
			i := skipSpace(val, 1)
			for i < len(val) && val[i] != ']' {
				end := skipValue(val, i)
				if end < 0 {
					good = false
					break
				}
				env.Objects = append(env.Objects, json.RawMessage(val[i:end]))
				i = skipSpace(val, end)
				if i < len(val) && val[i] == ',' {
					i = skipSpace(val, i+1)
				}
			}
		}
		return good
	})
	return env, ok && good
}

// objectKey is an object's id and version: what a repeat repeats.
func objectKey(raw json.RawMessage) string {
	var id, modified, created string
	good := true
	ok := members(raw, func(key string, val []byte) bool {
		var s *string
		switch key {
		case "id":
			s = &id
		case "modified":
			s = &modified
		case "created":
			s = &created
		default:
			if foldsTo(key, "id", "modified", "created") {
				good = false // encoding/json matches keys regardless of case
				return false
			}
			return true
		}
		*s, good = plainString(val)
		return good
	})
	if ok && good && id != "" {
		return id + "\x00" + modified + "\x00" + created
	}
	return objectKeySlow(raw)
}

// objectKeySlow is objectKey through encoding/json.
func objectKeySlow(raw json.RawMessage) string {
	var o struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
		Created  string `json:"created"`
	}
	if json.Unmarshal(raw, &o) != nil || o.ID == "" {
		return "raw:" + string(raw)
	}
	return o.ID + "\x00" + o.Modified + "\x00" + o.Created
}

// foldsTo reports whether key is one of names in another case (Unicode simple
// folding, as encoding/json matches keys to fields).
func foldsTo(key string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}
