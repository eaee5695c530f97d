package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"
)

// Limits on a bundle from outside (a person's upload, later a TAXII POST).
const (
	MaxBundleBytes = 16 << 20
	MaxObjects     = 10000
	MaxObjectBytes = 1 << 20
)

// DecodeError is a bundle we refuse, naming the part that is wrong as a JSON path
// ("objects[3].id").
type DecodeError struct {
	Field string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "stix bundle: " + e.Msg
	}
	return "stix bundle: " + e.Field + ": " + e.Msg
}

func decodeErr(field, format string, args ...any) error {
	return &DecodeError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Bundle is a decoded bundle: its id and its objects, each as the exact bytes it came as.
type Bundle struct {
	ID      string
	Objects []Object
}

var typeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)

// DecodeBundle reads a STIX 2.1 bundle of at most MaxBundleBytes, MaxObjects objects of
// at most MaxObjectBytes each. Every object must be a JSON object with a type and an id
// of that type; what the objects say is the importer's business. The objects keep
// their bytes exactly, so whatever we do not map can be kept and served unchanged.
func DecodeBundle(r io.Reader) (Bundle, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
	if err != nil {
		return Bundle{}, fmt.Errorf("stix bundle: read: %w", err)
	}
	if len(data) > MaxBundleBytes {
		return Bundle{}, decodeErr("", "larger than %d bytes", MaxBundleBytes)
	}
	return ParseBundle(data)
}

// ParseBundle is DecodeBundle over bytes already read (and capped by the caller).
func ParseBundle(data []byte) (Bundle, error) {
	if len(data) > MaxBundleBytes {
		return Bundle{}, decodeErr("", "larger than %d bytes", MaxBundleBytes)
	}
	if !utf8.Valid(data) {
		return Bundle{}, decodeErr("", "not valid UTF-8")
	}
	var top struct {
		Type    *string           `json:"type"`
		ID      *string           `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return Bundle{}, decodeErr(typeErr.Field, "must be %s", typeErr.Type)
		}
		return Bundle{}, decodeErr("", "malformed JSON: %v", err)
	}
	if dec.More() {
		return Bundle{}, decodeErr("", "data after the bundle")
	}
	switch {
	case top.Type == nil:
		return Bundle{}, decodeErr("type", "required")
	case *top.Type != "bundle":
		return Bundle{}, decodeErr("type", "must be \"bundle\", not %q", *top.Type)
	case top.ID == nil:
		return Bundle{}, decodeErr("id", "required")
	case !ValidID("bundle", *top.ID):
		return Bundle{}, decodeErr("id", "%q is not a bundle id (bundle--<uuid>)", *top.ID)
	case len(top.Objects) > MaxObjects:
		return Bundle{}, decodeErr("objects", "%d objects, more than the %d allowed", len(top.Objects), MaxObjects)
	}
	b := Bundle{ID: *top.ID, Objects: make([]Object, 0, len(top.Objects))}
	seen := make(map[string]bool, len(top.Objects))
	for i, raw := range top.Objects {
		field := fmt.Sprintf("objects[%d]", i)
		if len(raw) > MaxObjectBytes {
			return Bundle{}, decodeErr(field, "%d bytes, more than the %d allowed", len(raw), MaxObjectBytes)
		}
		var head struct {
			Type     *string `json:"type"`
			ID       *string `json:"id"`
			Modified string  `json:"modified"`
		}
		if raw[0] != '{' || json.Unmarshal(raw, &head) != nil {
			return Bundle{}, decodeErr(field, "must be an object with a type and an id")
		}
		switch {
		case head.Type == nil:
			return Bundle{}, decodeErr(field+".type", "required")
		case !typeName.MatchString(*head.Type):
			return Bundle{}, decodeErr(field+".type", "%q is not a STIX type name", *head.Type)
		case head.ID == nil:
			return Bundle{}, decodeErr(field+".id", "required")
		case !ValidID(*head.Type, *head.ID):
			return Bundle{}, decodeErr(field+".id", "%q is not an id of type %s (%s--<uuid>)", *head.ID, *head.Type, *head.Type)
		}
		// Versions of one object may travel together; the same version twice may not.
		key := *head.ID + "\x00" + head.Modified
		if seen[key] {
			return Bundle{}, decodeErr(field+".id", "%s appears twice in the bundle", *head.ID)
		}
		seen[key] = true
		b.Objects = append(b.Objects, Object{Type: *head.Type, ID: *head.ID, Raw: raw})
	}
	return b, nil
}
