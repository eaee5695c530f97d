// Package stix holds the STIX 2.1 objects a node produces and reads: identities,
// incidents, reports, notes, cyber-observables (SCOs), indicators, sightings,
// relationships and the TLP 2.0 marking definitions; the STIX patterning subset we
// understand; and bundle decoding with size caps.
//
// These are wire types for an outside format. They are mapped from and to the store
// types in one place (incident.go here, and internal/exchange for what may leave the
// node); nothing else builds them.
package stix

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SpecVersion is the STIX version of everything we produce.
const SpecVersion = "2.1"

// MediaType is the media type of a STIX 2.1 bundle.
const MediaType = "application/stix+json;version=2.1"

// Timestamp is a STIX timestamp: UTC, RFC 3339 with millisecond precision, as the
// specification recommends and every TAXII server we know stores.
type Timestamp struct{ time.Time }

// TimestampLayout is how a Timestamp is written.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// At is t as a STIX timestamp, truncated to the millisecond.
func At(t time.Time) Timestamp { return Timestamp{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes the timestamp in the STIX form.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimestampLayout) + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 timestamp; STIX requires UTC ("Z").
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if !strings.HasSuffix(s, "Z") {
		return fmt.Errorf("timestamp %q: must be UTC, ending in Z", s)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// Common holds the properties every STIX domain and relationship object has.
type Common struct {
	Type               string              `json:"type"`
	SpecVersion        string              `json:"spec_version"`
	ID                 string              `json:"id"`
	CreatedByRef       string              `json:"created_by_ref,omitempty"`
	Created            Timestamp           `json:"created"`
	Modified           Timestamp           `json:"modified"`
	Revoked            bool                `json:"revoked,omitempty"`
	Labels             []string            `json:"labels,omitempty"`
	ExternalReferences []ExternalReference `json:"external_references,omitempty"`
	ObjectMarkingRefs  []string            `json:"object_marking_refs,omitempty"`
}

// Revoke marks the object revoked as of at. STIX versions an object by its modified
// time, so the revocation is a new version only if at is later than the last one:
// an earlier or equal time is moved on by a millisecond.
func (c *Common) Revoke(at time.Time) {
	m := At(at)
	if !m.After(c.Modified.Time) {
		m = Timestamp{c.Modified.Add(time.Millisecond)}
	}
	c.Revoked, c.Modified = true, m
}

// ExternalReference points outside STIX: for us, the object's id on the node.
type ExternalReference struct {
	SourceName  string `json:"source_name"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
}

// Identity is a team (or any organisation) in STIX.
type Identity struct {
	Common
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	IdentityClass      string   `json:"identity_class,omitempty"`
	Sectors            []string `json:"sectors,omitempty"`
	ContactInformation string   `json:"contact_information,omitempty"`
}

// Incident is a STIX incident. STIX 2.1 gives it little more than a name; our
// category, severity and status travel as custom properties (x_ prefix), which
// consumers that do not know them ignore.
type Incident struct {
	Common
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Category    string `json:"x_csirtlink_category,omitempty"`
	Severity    string `json:"x_csirtlink_severity,omitempty"`
	Status      string `json:"x_csirtlink_status,omitempty"`
}

// Report groups objects about one topic; we use it to say which objects belong to an
// incident (STIX 2.1's incident has no object_refs).
type Report struct {
	Common
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	ReportTypes []string  `json:"report_types,omitempty"`
	Published   Timestamp `json:"published"`
	ObjectRefs  []string  `json:"object_refs"`
}

// Note is a timeline comment about other objects.
type Note struct {
	Common
	Abstract   string   `json:"abstract,omitempty"`
	Content    string   `json:"content"`
	Authors    []string `json:"authors,omitempty"`
	ObjectRefs []string `json:"object_refs"`
}

// Indicator is a detection pattern. The shared indicators of internal/indicator map to
// it (IndicatorFrom's seam, see seam.go).
type Indicator struct {
	Common
	Name           string     `json:"name,omitempty"`
	Description    string     `json:"description,omitempty"`
	IndicatorTypes []string   `json:"indicator_types,omitempty"`
	Pattern        string     `json:"pattern"`
	PatternType    string     `json:"pattern_type"`
	ValidFrom      Timestamp  `json:"valid_from"`
	ValidUntil     *Timestamp `json:"valid_until,omitempty"`
	// Confidence is STIX's common confidence property (0-100), ours as it is.
	Confidence *int `json:"confidence,omitempty"`
	// Category is our taxonomy's category, which indicator_types cannot hold.
	Category string `json:"x_csirtlink_category,omitempty"`
}

// Sighting says that someone saw what an indicator describes.
type Sighting struct {
	Common
	SightingOfRef    string     `json:"sighting_of_ref"`
	FirstSeen        *Timestamp `json:"first_seen,omitempty"`
	LastSeen         *Timestamp `json:"last_seen,omitempty"`
	Count            int        `json:"count,omitempty"`
	WhereSightedRefs []string   `json:"where_sighted_refs,omitempty"`
}

// Relationship links two objects.
type Relationship struct {
	Common
	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`
}

// Object is any STIX object as it came: its raw bytes, exactly as received, and the
// properties every object has.
type Object struct {
	Type string
	ID   string
	Raw  json.RawMessage
}

var idPattern = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*[a-z0-9])--([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$`)

// ValidID reports whether id is a STIX identifier of the given type.
func ValidID(typ, id string) bool {
	m := idPattern.FindStringSubmatch(id)
	return m != nil && m[1] == typ
}

// namespace is ours for the ids of objects we derive from our own (incidents, teams,
// entries): the same object gets the same STIX id on every export.
var namespace = mustUUID("7b4c1f52-3d0e-4c8a-9b6a-2f0d8e1c5a93")

// scoNamespace is the one STIX 2.1 (section 2.9) fixes for deterministic SCO ids.
var scoNamespace = mustUUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

func mustUUID(s string) [16]byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("stix: bad namespace uuid " + s)
	}
	return [16]byte(b)
}

// uuid5 is RFC 9562's name-based UUID (SHA-1).
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return format(u)
}

func uuid4() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return format(u)
}

func format(u [16]byte) string {
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// DerivedID is the STIX id of type for one of our objects, stable across exports.
func DerivedID(typ, key string) string { return typ + "--" + uuid5(namespace, typ+"\x00"+key) }

// NewBundleID is a fresh bundle id: a bundle is one transmission, not an object.
func NewBundleID() string { return "bundle--" + uuid4() }

// EncodeBundle writes a bundle of objects already encoded. Each object's bytes go out
// exactly as given, so an object kept raw from an import is served again unchanged
// (encoding/json would reformat a RawMessage).
func EncodeBundle(id string, objects []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":`)
	idJSON, _ := json.Marshal(id)
	b.Write(idJSON)
	b.WriteString(`,"objects":[`)
	for i, o := range objects {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(o)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// Marshal encodes one object for a bundle, without HTML escaping (STIX text is not
// HTML, and "<" in a description should stay "<").
func Marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("stix: encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
