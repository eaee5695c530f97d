package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// checkKeys refuses what encoding/json would let through: a top level that is not one
// object followed by nothing but white space, keys that are not lower-case ASCII names
// (compared as encoding/json unescapes them, so "\u0076" is "v"), and a key repeated in
// one object, at any depth. It reads the bytes once, as a JSON structural scanner, and
// refuses any syntax error it meets; what it lets through is still decoded by
// encoding/json. It replaced a walk over json.Decoder tokens that cost a third of a bulk
// receiver's CPU; FuzzStrictMatchesReference holds it to that walk's answers.
func checkKeys(b []byte) error {
	s := scanners.Get().(*keyScanner)
	s.b, s.arena, s.keys, s.scopes = b, s.arena[:0], s.keys[:0], s.scopes[:0]
	err := s.check()
	// A scanner that grew for an unusual document is left to the collector rather than
	// kept for ever.
	if cap(s.arena) <= 4096 && cap(s.keys) <= 256 && cap(s.scopes) <= 64 {
		clear(s.scopes[:cap(s.scopes)])
		s.b = nil
		scanners.Put(s)
	}
	return err
}

// scanners are reused: a bulk chunk checks up to 10,000 objects, and the scanner's
// buffers would otherwise be allocated for each.
var scanners = sync.Pool{New: func() any { return new(keyScanner) }}

// maxDepth is encoding/json's nesting limit; a deeper document is refused by it anyway.
const maxDepth = 10000

// manyKeys is how many keys an object may have before repeats are found through a map
// rather than by comparing each new key with every earlier one.
const manyKeys = 16

// keySpan is one key of an open object, unescaped, in the scanner's arena.
type keySpan struct{ off, end int }

// scope is one open object or array.
type scope struct {
	object bool
	first  int                 // index in keys of the object's first key
	seen   map[string]struct{} // its keys, once it has more than manyKeys
}

type keyScanner struct {
	b      []byte
	arena  []byte
	keys   []keySpan
	scopes []scope
}

// The scanner's states: where it is in the grammar.
const (
	atValue    = iota // a value starts at i
	afterValue        // a value ended before i
	atKey             // a key starts at i
)

func (s *keyScanner) check() error {
	b := s.b
	i := skipSpace(b, 0)
	if i == len(b) {
		return errors.New("empty")
	}
	if b[i] != '{' {
		return errors.New("not a JSON object")
	}
	for state := atValue; ; {
		switch state {
		case atValue:
			if i == len(b) {
				return errUnexpectedEnd
			}
			switch c := b[i]; {
			case c == '{' || c == '[':
				if len(s.scopes) == maxDepth {
					return fmt.Errorf("offset %d: nested deeper than %d", i, maxDepth)
				}
				s.scopes = append(s.scopes, scope{object: c == '{', first: len(s.keys)})
				i = skipSpace(b, i+1)
				switch {
				case i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']'):
					s.pop()
					i++
					state = afterValue
				case c == '{':
					state = atKey
				}
			case c == '"':
				end, _, err := scanString(b, i)
				if err != nil {
					return err
				}
				i, state = end, afterValue
			case c == '-' || '0' <= c && c <= '9':
				end, err := scanNumber(b, i)
				if err != nil {
					return err
				}
				i, state = end, afterValue
			case c == 't':
				i, state = i+4, afterValue
				if !bytes.HasPrefix(b[i-4:], []byte("true")) {
					return syntaxError(b, i-4)
				}
			case c == 'f':
				i, state = i+5, afterValue
				if !bytes.HasPrefix(b[i-5:], []byte("false")) {
					return syntaxError(b, i-5)
				}
			case c == 'n':
				i, state = i+4, afterValue
				if !bytes.HasPrefix(b[i-4:], []byte("null")) {
					return syntaxError(b, i-4)
				}
			default:
				return syntaxError(b, i)
			}
		case afterValue:
			i = skipSpace(b, i)
			if len(s.scopes) == 0 {
				if i != len(b) {
					return errors.New("data after the object")
				}
				return nil
			}
			if i == len(b) {
				return errUnexpectedEnd
			}
			top := &s.scopes[len(s.scopes)-1]
			switch c := b[i]; {
			case c == ',':
				i = skipSpace(b, i+1)
				state = atValue
				if top.object {
					state = atKey
				}
			case top.object && c == '}', !top.object && c == ']':
				s.pop()
				i++
			default:
				return syntaxError(b, i)
			}
		case atKey:
			if i == len(b) {
				return errUnexpectedEnd
			}
			if b[i] != '"' {
				return syntaxError(b, i)
			}
			end, escaped, err := scanString(b, i)
			if err != nil {
				return err
			}
			if err := s.key(b[i:end], escaped); err != nil {
				return err
			}
			i = skipSpace(b, end)
			if i == len(b) {
				return errUnexpectedEnd
			}
			if b[i] != ':' {
				return syntaxError(b, i)
			}
			i = skipSpace(b, i+1)
			state = atValue
		}
	}
}

// key takes one key of the innermost object, quoted as it is in the document.
func (s *keyScanner) key(quoted []byte, escaped bool) error {
	off := len(s.arena)
	raw := quoted[1 : len(quoted)-1]
	if !escaped {
		// Checked before it is copied, so that a long key is not.
		if !validKey(raw) {
			return badKey(quoted)
		}
		s.arena = append(s.arena, raw...)
	} else if !s.unescapeASCII(raw) {
		s.arena = s.arena[:off]
		return badKey(quoted)
	}
	k := s.arena[off:]
	if !validKey(k) {
		s.arena = s.arena[:off]
		return badKey(quoted)
	}
	top := &s.scopes[len(s.scopes)-1]
	if top.seen == nil {
		for _, e := range s.keys[top.first:] {
			if bytes.Equal(s.arena[e.off:e.end], k) {
				return fmt.Errorf("key %q: repeated", k)
			}
		}
		if len(s.keys)-top.first == manyKeys {
			top.seen = make(map[string]struct{}, 2*manyKeys)
			for _, e := range s.keys[top.first:] {
				top.seen[string(s.arena[e.off:e.end])] = struct{}{}
			}
		}
	}
	if top.seen != nil {
		if _, ok := top.seen[string(k)]; ok {
			return fmt.Errorf("key %q: repeated", k)
		}
		top.seen[string(k)] = struct{}{}
	}
	s.keys = append(s.keys, keySpan{off, len(s.arena)})
	return nil
}

// unescapeASCII appends a key's unescaped bytes to the arena, or reports false if an
// escape stands for anything but ASCII, which no valid key holds. The escapes are
// already known to be well formed.
func (s *keyScanner) unescapeASCII(raw []byte) bool {
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if c != '\\' {
			s.arena = append(s.arena, c)
			continue
		}
		if raw[j+1] != 'u' {
			// \" \\ \/ \b \f \n \r \t: none is a key's character.
			return false
		}
		r := hexValue(raw[j+2])<<12 | hexValue(raw[j+3])<<8 | hexValue(raw[j+4])<<4 | hexValue(raw[j+5])
		if r >= 0x80 {
			return false
		}
		s.arena = append(s.arena, byte(r))
		j += 5
	}
	return true
}

// pop closes the innermost object or array, forgetting an object's keys.
func (s *keyScanner) pop() {
	top := s.scopes[len(s.scopes)-1]
	if top.object && top.first < len(s.keys) {
		s.arena = s.arena[:s.keys[top.first].off]
		s.keys = s.keys[:top.first]
	}
	s.scopes = s.scopes[:len(s.scopes)-1]
}

// badKey is the error for a key that is not a lower-case name, naming the key as
// encoding/json reads it.
func badKey(quoted []byte) error {
	var k string
	// quoted is a well-formed JSON string: it cannot fail to decode.
	_ = json.Unmarshal(quoted, &k)
	return fmt.Errorf("key %q: not a lower-case name", k)
}

var errUnexpectedEnd = errors.New("unexpected end of JSON input")

func syntaxError(b []byte, i int) error {
	if i >= len(b) {
		return errUnexpectedEnd
	}
	return fmt.Errorf("offset %d: invalid character %q", i, b[i])
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads the string that starts with the quote at b[i] and returns the offset
// after its closing quote, and whether it holds an escape. Bytes from 0x80 up are taken
// as they come, well-formed UTF-8 or not, as encoding/json takes them.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 == len(b) {
				return 0, false, errUnexpectedEnd
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k == len(b) {
						return 0, false, errUnexpectedEnd
					}
					if hexValue(b[k]) < 0 {
						return 0, false, syntaxError(b, k)
					}
				}
				j += 5
			default:
				return 0, false, syntaxError(b, j+1)
			}
		case c < 0x20:
			return 0, false, syntaxError(b, j)
		}
	}
	return 0, false, errUnexpectedEnd
}

func hexValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// scanNumber reads the number that starts at b[i] by JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the offset after it.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return 0, errUnexpectedEnd
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return 0, syntaxError(b, i)
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, syntaxError(b, j)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, syntaxError(b, j)
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// validKey reports whether k is a lower-case name: a letter or underscore, then
// letters, digits and underscores, 64 bytes at most.
func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for i, c := range k {
		if !('a' <= c && c <= 'z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
