package misp

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// RawPrefix starts the body of a timeline comment that holds a part of a MISP event we
// do not map: the line after it names the part (Attribute, Object, Tag, or Event.<member>),
// the rest is its JSON as it came, which an export writes again unchanged.
const RawPrefix = "MISP part kept as imported: "

// namespace is our UUIDv5 namespace for MISP uuids derived from our ids.
var namespace = [16]byte{0x6f, 0x1c, 0x2e, 0x5a, 0x93, 0x4b, 0x4e, 0x0d, 0xa4, 0x1f, 0x7e, 0x22, 0x8c, 0x35, 0x90, 0x11}

// DerivedUUID is the UUIDv5 of kind and key in our namespace, so that exporting the same
// thing again gives the same uuid and MISP updates instead of duplicating.
func DerivedUUID(kind, key string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(kind + "\x00" + key))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// OrgOf is the MISP organisation of one of our teams: its name, and a uuid derived
// from its id.
func OrgOf(teamID, name string) Org {
	if name == "" {
		name = teamID
	}
	return Org{Name: name, UUID: DerivedUUID("org", teamID)}
}

// analysisOf maps our incident status to MISP's analysis: 0 initial, 1 ongoing, 2 completed.
func analysisOf(status string) Num {
	switch status {
	case "in_progress":
		return 1
	case "mitigated", "closed":
		return 2
	}
	return 0
}

// FromIncident maps an incident (already reduced to what its audience may have) to a
// MISP event: the title as info, the label as a tlp: tag and a distribution level, the
// category as an RSIT tag, the description as a text attribute, each observable entry
// as an attribute with its own tlp: tag, each comment as a comment attribute, and
// every part kept from a MISP import as it came. Workflow entries (status,
// participation) have no MISP form.
func FromIncident(in store.Incident, org Org) (Event, error) {
	label := tlp.Label(in.TLP)
	if !label.Valid() {
		return Event{}, fmt.Errorf("misp: incident %s: label %q", in.ID, in.TLP)
	}
	e := Event{UUID: DerivedUUID("incident", in.ID), Info: in.Title, Date: in.CreatedAt.UTC().Format(DateLayout),
		ThreatLevelID: threatLevel(in.Severity), Analysis: analysisOf(in.Status), Distribution: DistributionOf(label),
		Timestamp: Time(in.UpdatedAt), Orgc: org, Tags: []Tag{TLPTag(label)}, Extra: map[string]json.RawMessage{}}
	if t, ok := CategoryTag(in.Category); ok {
		e.Tags = append(e.Tags, t)
	}
	if in.Severity != "" {
		e.Tags = append(e.Tags, machineTag(tagSeverity, in.Severity))
	}
	if in.Description != "" {
		e.Attributes = append(e.Attributes, Attribute{UUID: DerivedUUID("description", in.ID), Type: "text", Category: "Other",
			Value: in.Description, Comment: "description", Timestamp: Time(in.UpdatedAt), Distribution: Inherit})
	}
	for _, en := range in.Timeline {
		el := tlp.Label(en.TLP)
		a := Attribute{UUID: DerivedUUID("entry", in.ID+"/"+en.ID), Timestamp: Time(en.CreatedAt), Distribution: Inherit, Tags: []Tag{TLPTag(el)}}
		if el != label {
			a.Distribution = DistributionOf(el)
		}
		switch en.Kind {
		case "observable":
			var d wire.ObservableData
			if err := json.Unmarshal([]byte(en.Data), &d); err != nil || d.Type == "" {
				d.Type, d.Value = "", en.Body
			}
			o, err := observable.Parse(d.Type, d.Value)
			if err != nil {
				return Event{}, fmt.Errorf("misp: incident %s entry %s: %w", in.ID, en.ID, err)
			}
			a.Type, a.Category = AttributeType(o.Type)
			a.Value, a.ToIDS = o.Value, true
			e.Attributes = append(e.Attributes, a)
		case "comment":
			if kind, raw, ok := strings.Cut(strings.TrimPrefix(en.Body, RawPrefix), "\n"); ok && strings.HasPrefix(en.Body, RawPrefix) && json.Valid([]byte(raw)) {
				e.keep(kind, json.RawMessage(raw))
				continue
			}
			a.Type, a.Category, a.Value = "comment", "Other", en.Body
			e.Attributes = append(e.Attributes, a)
		}
	}
	return e, nil
}

// keep puts a part kept from an import back where it came from.
func (e *Event) keep(kind string, raw json.RawMessage) {
	switch kind {
	case "Attribute":
		e.RawAttributes = append(e.RawAttributes, raw)
	case "Object":
		e.RawObjects = append(e.RawObjects, raw)
	case "Tag":
		e.RawTags = append(e.RawTags, raw)
	default:
		if m, ok := strings.CutPrefix(kind, "Event."); ok && !slices.Contains(eventMapped, m) {
			e.Extra[m] = raw
		}
	}
}

// Kept is a part of an event we do not map, to keep as it came.
type Kept struct {
	Kind  string // Attribute, Object, Tag, or Event.<member>
	Raw   json.RawMessage
	Label tlp.Label
	Why   string
}

// Body is the timeline comment that holds it.
func (k Kept) Body() string { return RawPrefix + k.Kind + "\n" + string(k.Raw) }

// Entry is an observable or comment an import adds, with its label.
type Entry struct {
	Observable observable.Observable
	Text       string
	Label      tlp.Label
}

// IncidentPlan is what an import makes of an event as an incident.
type IncidentPlan struct {
	Title, Description, Category, Severity string
	Label                                  tlp.Label
	ShareWith                              []string // sharing group organisations, by name
	Observables                            []Entry
	Notes                                  []Entry
	Raw                                    []Kept
	Mapped                                 int
}

// eventLabel is the label an event's tags and distribution give: the strictest of its
// tlp: tag and its distribution's label.
func eventLabel(e Event) tlp.Label {
	l := DistributionLabel(e.Distribution)
	if t, ok := LabelOfTags(e.Tags); ok {
		l = tlp.Stricter(l, t)
	}
	return l
}

// attrLabel is an attribute's label: its own tlp: tag, else its event's; narrowed by
// its own distribution unless it inherits the event's.
func attrLabel(a Attribute, event tlp.Label) tlp.Label {
	l := event
	if t, ok := LabelOfTags(a.Tags); ok {
		l = t
	}
	if a.Distribution != Inherit {
		l = tlp.Stricter(l, DistributionLabel(a.Distribution))
	}
	return l
}

// orgNames lists a sharing group's organisations.
func orgNames(g *SharingGroup) []string {
	if g == nil {
		return nil
	}
	var out []string
	for _, o := range g.Orgs {
		out = append(out, o.Organisation.Name)
	}
	return out
}

// PlanIncident maps an event to a new incident. An attribute is mapped when nothing but
// its identity would be lost (its uuid, timestamp, category and to_ids are derived again
// on export): a type we map with a valid value, no tags but a tlp: one, no comment,
// sightings, sharing group or members we do not know. Everything else — those
// attributes, every object, other event tags, other event members — is kept as it came.
func PlanIncident(d Decoded) IncidentPlan {
	e := d.Event
	p := IncidentPlan{Title: e.Info, Severity: severityOf(e.ThreatLevelID), Label: eventLabel(e), ShareWith: orgNames(e.SharingGroup)}
	p.Mapped++ // the event itself
	for i, t := range e.Tags {
		name := strings.TrimSpace(t.Name)
		if IsTLPTag(name) {
			continue
		}
		if c, ok := categoryOf(name); ok && p.Category == "" {
			p.Category = c
			continue
		}
		if v, ok := readMachineTag(name, tagSeverity); ok {
			p.Severity = v
			continue
		}
		p.Raw = append(p.Raw, Kept{Kind: "Tag", Raw: e.rawTag(i), Label: p.Label, Why: "an event tag"})
	}
	for _, k := range sortedKeys(e.Extra) {
		p.Raw = append(p.Raw, Kept{Kind: "Event." + k, Raw: e.Extra[k], Label: p.Label, Why: "an event member we do not map"})
	}
	for _, a := range e.Attributes {
		l := attrLabel(a, p.Label)
		if why := unmappable(a, d.Unmapped[a.UUID]); why != "" {
			if a.Type == "text" && a.Comment == "description" && p.Description == "" && plainAttr(a, d.Unmapped[a.UUID]) {
				p.Description = a.Value
				p.Mapped++
				continue
			}
			if (a.Type == "comment" || a.Type == "text") && a.Comment == "" && plainAttr(a, d.Unmapped[a.UUID]) {
				p.Notes = append(p.Notes, Entry{Text: a.Value, Label: l})
				p.Mapped++
				continue
			}
			p.Raw = append(p.Raw, Kept{Kind: "Attribute", Raw: a.Raw, Label: l, Why: why})
			continue
		}
		o, _ := ObservableOf(a.Type, a.Value)
		p.Observables = append(p.Observables, Entry{Observable: o, Label: l})
		p.Mapped++
	}
	for _, o := range e.Objects {
		l := p.Label
		if o.Distribution != Inherit {
			l = tlp.Stricter(l, DistributionLabel(o.Distribution))
		}
		for _, a := range o.Attributes {
			l = tlp.Stricter(l, attrLabel(a, l))
		}
		p.Raw = append(p.Raw, Kept{Kind: "Object", Raw: o.Raw, Label: l, Why: "an object (" + o.Name + ")"})
	}
	return p
}

// plainAttr reports whether an attribute holds nothing but its type, value and label.
func plainAttr(a Attribute, unknown []string) bool {
	if len(unknown) > 0 || a.Deleted || len(a.Sightings) > 0 || a.SharingGroup != nil || a.FirstSeen != "" || a.LastSeen != "" {
		return false
	}
	for _, t := range a.Tags {
		if !IsTLPTag(t.Name) {
			return false
		}
	}
	return true
}

// unmappable says why an attribute cannot become an observable entry whole ("" when it can).
func unmappable(a Attribute, unknown []string) string {
	if !plainAttr(a, unknown) {
		return "it carries more than a type, a value and a label"
	}
	if a.Comment != "" {
		return "it has a comment"
	}
	if _, err := ObservableOf(a.Type, a.Value); err != nil {
		return err.Error()
	}
	return ""
}

// rawTag is event tag i as it came, or as we write it when the event was not decoded.
func (e Event) rawTag(i int) json.RawMessage {
	if i < len(e.rawTags) {
		return e.rawTags[i]
	}
	b, _ := Marshal(e.Tags[i])
	return b
}

// EventTime is the time of a MISP timestamp.
func EventTime(n Num) time.Time { return time.Unix(int64(n), 0).UTC() }
