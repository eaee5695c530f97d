package taxii

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/stix"
	"csirtlink/internal/tlp"
)

// maxEnvelopeObjects bounds the objects of one envelope.
const maxEnvelopeObjects = 10000

// Entry is one object of an envelope, as read: its raw bytes and what the store indexes.
type Entry struct {
	ID, Type, SpecVersion string
	// Version is the object's modified (else created) time; zero for an object with
	// neither (a cyber-observable), whose id already names its content.
	Version     time.Time
	VersionText string
	Markings    []string
	Raw         json.RawMessage
	// Err says why the object cannot be taken; the others of the envelope still are.
	Err error
}

// Label is the strictest TLP marking of the object, or def when it has none.
func (e Entry) Label(def tlp.Label) tlp.Label {
	if l, ok := stix.StrictestMarking(e.Markings); ok {
		return l
	}
	return def
}

// DecodeEnvelope reads a TAXII envelope ({"objects": [...]}, with more and next
// ignored). A malformed envelope is an error; a malformed object is an Entry with Err.
func DecodeEnvelope(b []byte) ([]Entry, error) {
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if dec.More() {
		return nil, errors.New("envelope: data after the JSON object")
	}
	if len(env.Objects) > maxEnvelopeObjects {
		return nil, fmt.Errorf("envelope: objects: at most %d", maxEnvelopeObjects)
	}
	out := make([]Entry, len(env.Objects))
	for i, raw := range env.Objects {
		out[i] = readEntry(raw)
	}
	return out, nil
}

func readEntry(raw json.RawMessage) Entry {
	var o struct {
		Type        string   `json:"type"`
		ID          string   `json:"id"`
		SpecVersion string   `json:"spec_version"`
		Modified    string   `json:"modified"`
		Created     string   `json:"created"`
		Markings    []string `json:"object_marking_refs"`
	}
	e := Entry{Raw: raw}
	if err := json.Unmarshal(raw, &o); err != nil {
		e.Err = fmt.Errorf("object: %w", err)
		return e
	}
	e.ID, e.Type, e.SpecVersion, e.Markings = o.ID, o.Type, o.SpecVersion, o.Markings
	switch {
	case !typePattern.MatchString(o.Type):
		e.Err = fmt.Errorf("type: %.80q is not a STIX type", o.Type)
		return e
	case !stixIDPattern.MatchString(o.ID) || !stix.ValidID(o.Type, o.ID):
		e.Err = fmt.Errorf("id: %.80q is not a STIX identifier of type %s", o.ID, o.Type)
		return e
	}
	if e.SpecVersion == "" {
		e.SpecVersion = stix.SpecVersion // a 2.1 cyber-observable may leave it out
	}
	if e.SpecVersion != stix.SpecVersion {
		e.Err = fmt.Errorf("spec_version: %.20q; this collection holds STIX 2.1", e.SpecVersion)
		return e
	}
	v := o.Modified
	if v == "" {
		v = o.Created
	}
	if v != "" {
		t, err := parseTimestamp("modified", v)
		if err != nil {
			e.Err = err
			return e
		}
		e.Version, e.VersionText = t, v
	}
	return e
}

func uuid4() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// EntryOf reads one object as a POST would (what the store indexes, or why a
// collection cannot take it): other ways in, such as a STIX import whose unmapped
// objects the collection serves, index objects alike.
func EntryOf(raw json.RawMessage) Entry { return readEntry(raw) }
