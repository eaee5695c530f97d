package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"csirtlink/internal/problem"
)

// DecodeError is a document we refuse, naming the field.
type DecodeError struct {
	Field string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "misp: " + e.Msg
	}
	return "misp: " + e.Field + ": " + e.Msg
}

func decodeErr(field, format string, args ...any) error {
	return &DecodeError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidUUID reports whether s is a UUID in its text form.
func ValidUUID(s string) bool { return uuidRE.MatchString(s) }

// Members of an event we map, and those that are one MISP instance's own bookkeeping
// (database ids, locks, counters), which mean nothing to another instance and which
// MISP itself does not carry in a feed.
var (
	eventMapped = []string{"uuid", "info", "date", "threat_level_id", "analysis", "distribution", "SharingGroup",
		"published", "timestamp", "publish_timestamp", "Orgc", "Tag", "Attribute", "Object"}
	eventLocal = []string{"id", "org_id", "orgc_id", "sharing_group_id", "attribute_count", "proposal_email_lock",
		"locked", "disable_correlation", "event_creator_email", "Org", "protected", "sighting_timestamp", "ShadowAttribute"}
	attrMapped = []string{"uuid", "type", "category", "value", "to_ids", "comment", "timestamp", "distribution",
		"SharingGroup", "deleted", "object_relation", "first_seen", "last_seen", "Tag", "Sighting"}
	attrLocal = []string{"id", "event_id", "object_id", "sharing_group_id", "disable_correlation", "ShadowAttribute"}
	objMapped = []string{"uuid", "name", "meta-category", "description", "template_uuid", "template_version",
		"timestamp", "distribution", "comment", "deleted", "Attribute"}
	objLocal = []string{"id", "event_id", "sharing_group_id", "ObjectReference", "first_seen", "last_seen"}
)

// Decoded is an event as read, with what each part holds that we do not map.
type Decoded struct {
	Event
	// Unmapped names, per attribute uuid, the members of an attribute we do not map;
	// and the same for objects. An attribute with any cannot be mapped whole.
	Unmapped map[string][]string
}

// Decode reads one MISP event document: {"Event": {…}} as MISP writes feed files and
// exports, or the bare event object. Numbers are read as MISP writes them (strings) or
// as numbers. An error names the field.
func Decode(data []byte) (Decoded, error) {
	var d Decoded
	if len(data) > MaxBytes {
		return d, decodeErr("", "document of %d bytes is larger than the %d accepted", len(data), MaxBytes)
	}
	if !utf8.Valid(data) {
		return d, decodeErr("", "not UTF-8")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return d, decodeErr("", "not a JSON object: %v", jsonMsg(err))
	}
	if ev, ok := top["Event"]; ok {
		if len(top) != 1 {
			return d, decodeErr("", "an event document has one member, Event")
		}
		top = nil
		if err := json.Unmarshal(ev, &top); err != nil || top == nil {
			return d, decodeErr("Event", "not a JSON object")
		}
	}
	d.Unmapped = map[string][]string{}
	d.Extra = map[string]json.RawMessage{}
	for k, v := range top {
		if !slices.Contains(eventMapped, k) && !slices.Contains(eventLocal, k) {
			d.Extra[k] = v
		}
	}
	e := &d.Event
	fields := []struct {
		name string
		dst  any
	}{{"uuid", &e.UUID}, {"info", &e.Info}, {"date", &e.Date}, {"threat_level_id", &e.ThreatLevelID},
		{"analysis", &e.Analysis}, {"distribution", &e.Distribution}, {"SharingGroup", &e.SharingGroup},
		{"published", &e.Published}, {"timestamp", &e.Timestamp}, {"publish_timestamp", &e.PublishTimestamp},
		{"Orgc", &e.Orgc}, {"Tag", &e.rawTags}}
	for _, f := range fields {
		if err := member(top, "Event.", f.name, f.dst); err != nil {
			return d, err
		}
	}
	switch {
	case !ValidUUID(e.UUID):
		return d, decodeErr("Event.uuid", "%q is not a UUID", clip(e.UUID))
	case strings.TrimSpace(e.Info) == "":
		return d, decodeErr("Event.info", "required")
	case len(e.Info) > maxInfo:
		return d, decodeErr("Event.info", "longer than %d bytes", maxInfo)
	case e.Distribution < OrgOnly || e.Distribution > SharingGroupDist:
		return d, decodeErr("Event.distribution", "%d is not 0 to 4", e.Distribution)
	case e.ThreatLevelID < 0 || e.ThreatLevelID > 4:
		return d, decodeErr("Event.threat_level_id", "%d is not 1 to 4", e.ThreatLevelID)
	case e.Analysis < 0 || e.Analysis > 2:
		return d, decodeErr("Event.analysis", "%d is not 0 to 2", e.Analysis)
	case e.Timestamp < 0:
		return d, decodeErr("Event.timestamp", "negative")
	}
	if e.Date != "" {
		if _, err := time.Parse(DateLayout, e.Date); err != nil {
			return d, decodeErr("Event.date", "%q is not a date (YYYY-MM-DD)", clip(e.Date))
		}
	}
	for i, raw := range e.rawTags {
		var t Tag
		if err := json.Unmarshal(raw, &t); err != nil {
			return d, decodeErr(fmt.Sprintf("Event.Tag[%d]", i), "%s", jsonMsg(err))
		}
		e.Tags = append(e.Tags, t)
	}
	if err := checkTags("Event.Tag", e.Tags); err != nil {
		return d, err
	}
	if err := checkSharingGroup("Event.SharingGroup", e.SharingGroup); err != nil {
		return d, err
	}
	var rawAttrs, rawObjs []json.RawMessage
	if err := member(top, "Event.", "Attribute", &rawAttrs); err != nil {
		return d, err
	}
	if err := member(top, "Event.", "Object", &rawObjs); err != nil {
		return d, err
	}
	if len(rawObjs) > maxObjects {
		return d, decodeErr("Event.Object", "more than %d objects", maxObjects)
	}
	count := len(rawAttrs)
	seen := map[string]bool{strings.ToLower(e.UUID): true}
	for i, raw := range rawAttrs {
		a, err := d.attribute(fmt.Sprintf("Event.Attribute[%d]", i), raw, seen)
		if err != nil {
			return d, err
		}
		e.Attributes = append(e.Attributes, a)
	}
	for i, raw := range rawObjs {
		field := fmt.Sprintf("Event.Object[%d]", i)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return d, decodeErr(field, "not a JSON object")
		}
		o := Object{Raw: raw}
		ofields := []struct {
			name string
			dst  any
		}{{"uuid", &o.UUID}, {"name", &o.Name}, {"meta-category", &o.MetaCategory}, {"description", &o.Description},
			{"template_uuid", &o.TemplateUUID}, {"template_version", (*flexString)(&o.TemplateVersion)}, {"timestamp", &o.Timestamp},
			{"distribution", &o.Distribution}, {"comment", &o.Comment}, {"deleted", &o.Deleted}}
		for _, f := range ofields {
			if err := member(m, field+".", f.name, f.dst); err != nil {
				return d, err
			}
		}
		if !ValidUUID(o.UUID) {
			return d, decodeErr(field+".uuid", "%q is not a UUID", clip(o.UUID))
		}
		if seen[strings.ToLower(o.UUID)] {
			return d, decodeErr(field+".uuid", "%s appears twice", o.UUID)
		}
		seen[strings.ToLower(o.UUID)] = true
		if strings.TrimSpace(o.Name) == "" {
			return d, decodeErr(field+".name", "required")
		}
		if o.Distribution < OrgOnly || o.Distribution > Inherit {
			return d, decodeErr(field+".distribution", "%d is not 0 to 5", o.Distribution)
		}
		var oattrs []json.RawMessage
		if err := member(m, field+".", "Attribute", &oattrs); err != nil {
			return d, err
		}
		if count += len(oattrs); count > maxAttributes {
			return d, decodeErr(field+".Attribute", "more than %d attributes in the event", maxAttributes)
		}
		for j, raw := range oattrs {
			a, err := d.attribute(fmt.Sprintf("%s.Attribute[%d]", field, j), raw, seen)
			if err != nil {
				return d, err
			}
			o.Attributes = append(o.Attributes, a)
		}
		if u := unknownKeys(m, objMapped, objLocal); len(u) > 0 {
			d.Unmapped[o.UUID] = u
		}
		e.Objects = append(e.Objects, o)
	}
	if count > maxAttributes {
		return d, decodeErr("Event.Attribute", "more than %d attributes", maxAttributes)
	}
	return d, nil
}

// attribute reads one attribute, of the event or of an object.
func (d *Decoded) attribute(field string, raw json.RawMessage, seen map[string]bool) (Attribute, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Attribute{}, decodeErr(field, "not a JSON object")
	}
	a := Attribute{Raw: raw}
	fields := []struct {
		name string
		dst  any
	}{{"uuid", &a.UUID}, {"type", &a.Type}, {"category", &a.Category}, {"value", &a.Value}, {"to_ids", &a.ToIDS},
		{"comment", &a.Comment}, {"timestamp", &a.Timestamp}, {"distribution", &a.Distribution}, {"SharingGroup", &a.SharingGroup},
		{"deleted", &a.Deleted}, {"object_relation", &a.ObjectRelation}, {"first_seen", &a.FirstSeen}, {"last_seen", &a.LastSeen},
		{"Tag", &a.Tags}, {"Sighting", &a.Sightings}}
	for _, f := range fields {
		if err := member(m, field+".", f.name, f.dst); err != nil {
			return a, err
		}
	}
	switch {
	case !ValidUUID(a.UUID):
		return a, decodeErr(field+".uuid", "%q is not a UUID", clip(a.UUID))
	case seen[strings.ToLower(a.UUID)]:
		return a, decodeErr(field+".uuid", "%s appears twice", a.UUID)
	case strings.TrimSpace(a.Type) == "" || len(a.Type) > 100:
		return a, decodeErr(field+".type", "required, at most 100 bytes")
	case a.Value == "" && !a.Deleted:
		return a, decodeErr(field+".value", "required")
	case len(a.Value) > maxValue:
		return a, decodeErr(field+".value", "longer than %d bytes", maxValue)
	case a.Distribution < OrgOnly || a.Distribution > Inherit:
		return a, decodeErr(field+".distribution", "%d is not 0 to 5", a.Distribution)
	case a.Timestamp < 0:
		return a, decodeErr(field+".timestamp", "negative")
	case len(a.Sightings) > maxSightings:
		return a, decodeErr(field+".Sighting", "more than %d sightings", maxSightings)
	}
	seen[strings.ToLower(a.UUID)] = true
	if err := checkTags(field+".Tag", a.Tags); err != nil {
		return a, err
	}
	if err := checkSharingGroup(field+".SharingGroup", a.SharingGroup); err != nil {
		return a, err
	}
	for i, s := range a.Sightings {
		if s.Type < SightingSeen || s.Type > SightingExpiration {
			return a, decodeErr(fmt.Sprintf("%s.Sighting[%d].type", field, i), "%d is not 0, 1 or 2", s.Type)
		}
		if s.DateSighting < 0 {
			return a, decodeErr(fmt.Sprintf("%s.Sighting[%d].date_sighting", field, i), "negative")
		}
	}
	if u := unknownKeys(m, attrMapped, attrLocal); len(u) > 0 {
		d.Unmapped[a.UUID] = u
	}
	return a, nil
}

// member decodes m[name] into dst when present, naming the field on error.
func member(m map[string]json.RawMessage, prefix, name string, dst any) error {
	v, ok := m[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return decodeErr(prefix+name, "%s", jsonMsg(err))
	}
	return nil
}

// jsonMsg is a decoding error without the Go type names a person cannot act on.
func jsonMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "a JSON " + te.Value + " where another kind of value belongs"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// flexString reads a string or a number as text (template_version is either).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("not a string or number")
	}
	*f = flexString(n.String())
	return nil
}

func checkTags(field string, tags []Tag) error {
	if len(tags) > maxTags {
		return decodeErr(field, "more than %d tags", maxTags)
	}
	for i, t := range tags {
		if strings.TrimSpace(t.Name) == "" || len(t.Name) > 255 {
			return decodeErr(fmt.Sprintf("%s[%d].name", field, i), "required, at most 255 bytes")
		}
	}
	return nil
}

func checkSharingGroup(field string, g *SharingGroup) error {
	if g == nil {
		return nil
	}
	if len(g.Orgs) > 1000 {
		return decodeErr(field+".SharingGroupOrg", "more than 1000 organisations")
	}
	return nil
}

func unknownKeys(m map[string]json.RawMessage, mapped, local []string) []string {
	var out []string
	for k := range m {
		if !slices.Contains(mapped, k) && !slices.Contains(local, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func clip(s string) string { return problem.Clip(s, 60) }
