// Package misp reads and writes MISP event JSON (the MISP core format,
// draft-dulaunoy-misp-core-format): events, attributes, objects with their attributes,
// tags (the tlp: tags among them), distribution levels, sharing groups and sightings;
// and the files of a MISP feed (manifest.json, hashes.csv, one file per event).
//
// These are wire types for an outside format, apart from the store types. What may
// leave the node is decided in internal/exchange (egress.Decide); this package only
// maps what it is given.
package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on a document from outside.
const (
	// MaxBytes caps one event document.
	MaxBytes = 16 << 20
	// maxAttributes caps the attributes of an event, its objects' included.
	maxAttributes = 100000
	maxObjects    = 20000
	maxTags       = 256
	maxSightings  = 10000
	// maxValue is the most bytes of an attribute's value we accept (MISP's value
	// column is 131,071 characters; anything longer was not written by MISP).
	maxValue = 131072
	maxInfo  = 65535
)

// MediaType is the media type of a MISP event document.
const MediaType = "application/json"

// Distribution levels (the core format's distribution field).
const (
	OrgOnly          = 0 // Your organisation only
	CommunityOnly    = 1 // This community only
	Connected        = 2 // Connected communities
	AllCommunities   = 3 // All communities
	SharingGroupDist = 4 // the event's or attribute's sharing group
	Inherit          = 5 // attributes and objects only: the event's distribution
)

// Num is a MISP number, which MISP writes as a JSON string ("1617875568") and other
// producers as a JSON number; both are read, a string is written.
type Num int64

// MarshalJSON writes the number as MISP does, as a string.
func (n Num) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// UnmarshalJSON reads a string or a number.
func (n *Num) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*n = Num(v)
	return nil
}

// Time is a MISP timestamp: seconds since 1970 as a string.
func Time(t time.Time) Num { return Num(t.Unix()) }

// Org is an organisation: the event's creator (Orgc) or owner (Org), or a sighting's.
type Org struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
}

// Tag is a tag on an event or attribute: "tlp:amber", a taxonomy's machine tag, or
// free text.
type Tag struct {
	Name       string `json:"name"`
	Colour     string `json:"colour,omitempty"`
	Exportable *bool  `json:"exportable,omitempty"`
}

// Sighting is a sighting of an attribute: type 0 seen, 1 false positive, 2 expiration.
type Sighting struct {
	UUID         string `json:"uuid,omitempty"`
	DateSighting Num    `json:"date_sighting"`
	Type         Num    `json:"type"`
	Source       string `json:"source,omitempty"`
	Organisation *Org   `json:"Organisation,omitempty"`
}

// Sighting types.
const (
	SightingSeen          = 0
	SightingFalsePositive = 1
	SightingExpiration    = 2
)

// SharingGroup is a named set of organisations an event or attribute goes to.
type SharingGroup struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
	Orgs []struct {
		Organisation Org `json:"Organisation"`
	} `json:"SharingGroupOrg,omitempty"`
}

// Attribute is one value with its MISP type and category.
type Attribute struct {
	UUID           string        `json:"uuid"`
	Type           string        `json:"type"`
	Category       string        `json:"category"`
	Value          string        `json:"value"`
	ToIDS          bool          `json:"to_ids"`
	Comment        string        `json:"comment,omitempty"`
	Timestamp      Num           `json:"timestamp"`
	Distribution   Num           `json:"distribution"`
	SharingGroup   *SharingGroup `json:"SharingGroup,omitempty"`
	Deleted        bool          `json:"deleted,omitempty"`
	ObjectRelation string        `json:"object_relation,omitempty"`
	FirstSeen      string        `json:"first_seen,omitempty"`
	LastSeen       string        `json:"last_seen,omitempty"`
	Tags           []Tag         `json:"Tag,omitempty"`
	Sightings      []Sighting    `json:"Sighting,omitempty"`
	// Raw is the attribute as it came (decoding only).
	Raw json.RawMessage `json:"-"`
}

// Object is a MISP object: a template's named group of attributes.
type Object struct {
	UUID            string      `json:"uuid"`
	Name            string      `json:"name"`
	MetaCategory    string      `json:"meta-category,omitempty"`
	Description     string      `json:"description,omitempty"`
	TemplateUUID    string      `json:"template_uuid,omitempty"`
	TemplateVersion string      `json:"template_version,omitempty"`
	Timestamp       Num         `json:"timestamp"`
	Distribution    Num         `json:"distribution"`
	Comment         string      `json:"comment,omitempty"`
	Deleted         bool        `json:"deleted,omitempty"`
	Attributes      []Attribute `json:"Attribute"`
	// Raw is the object as it came (decoding only).
	Raw json.RawMessage `json:"-"`
}

// Event is a MISP event: what a MISP instance shares as one unit.
type Event struct {
	UUID             string        `json:"uuid"`
	Info             string        `json:"info"`
	Date             string        `json:"date"`
	ThreatLevelID    Num           `json:"threat_level_id"`
	Analysis         Num           `json:"analysis"`
	Distribution     Num           `json:"distribution"`
	SharingGroup     *SharingGroup `json:"SharingGroup,omitempty"`
	Published        bool          `json:"published"`
	Timestamp        Num           `json:"timestamp"`
	PublishTimestamp Num           `json:"publish_timestamp,omitempty"`
	Orgc             Org           `json:"Orgc"`
	Tags             []Tag         `json:"-"`
	Attributes       []Attribute   `json:"-"`
	Objects          []Object      `json:"-"`
	// Extra is every other event-level member, as it came: galaxies, event reports,
	// whatever a later MISP adds. Its keys are written again after ours.
	Extra map[string]json.RawMessage `json:"-"`
	// RawAttributes and RawObjects are attributes and objects to write as they came,
	// after Attributes and Objects (encoding only).
	RawAttributes []json.RawMessage `json:"-"`
	RawObjects    []json.RawMessage `json:"-"`
	RawTags       []json.RawMessage `json:"-"`
	// rawTags are Tags as they came (decoding only), index for index.
	rawTags []json.RawMessage
}

// Date layout of Event.Date.
const DateLayout = "2006-01-02"

// Marshal encodes v without HTML escaping: MISP values are not HTML, and a URL's "&"
// should stay "&".
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("misp: encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Encode writes an event as a feed file or export: {"Event": {…}}. Kept attributes,
// objects and extra members go out as the bytes they came as.
func Encode(e Event) ([]byte, error) {
	head, err := Marshal(e)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"Event":`)
	b.Write(head[:len(head)-1])
	list := func(name string, made [][]byte, kept []json.RawMessage) {
		b.WriteString(`,"` + name + `":[`)
		n := 0
		for _, m := range made {
			if n > 0 {
				b.WriteByte(',')
			}
			b.Write(m)
			n++
		}
		for _, k := range kept {
			if n > 0 {
				b.WriteByte(',')
			}
			b.Write(k)
			n++
		}
		b.WriteByte(']')
	}
	var tags, attrs, objs [][]byte
	for _, t := range e.Tags {
		m, err := Marshal(t)
		if err != nil {
			return nil, err
		}
		tags = append(tags, m)
	}
	for _, a := range e.Attributes {
		m, err := Marshal(a)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, m)
	}
	for _, o := range e.Objects {
		m, err := Marshal(o)
		if err != nil {
			return nil, err
		}
		objs = append(objs, m)
	}
	list("Tag", tags, e.RawTags)
	list("Attribute", attrs, e.RawAttributes)
	list("Object", objs, e.RawObjects)
	for _, k := range sortedKeys(e.Extra) {
		kb, _ := Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(e.Extra[k])
	}
	b.WriteString("}}\n")
	return b.Bytes(), nil
}
