package misp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// AttributeOf maps one of our shared indicators to an attribute with the indicator's id
// as its uuid, so that MISP updates it in place on every new version. A revoked or
// withdrawn indicator is the same attribute with deleted set, which makes MISP drop it;
// a tombstone we hold without content goes as a comment attribute that says so.
func AttributeOf(ind store.Indicator, sightings []store.Sighting) Attribute {
	a := Attribute{UUID: ind.ID, Timestamp: Time(ind.Modified), Distribution: DistributionOf(tlp.Label(ind.TLP)), Comment: ind.Description}
	if ind.State != store.IndicatorActive {
		a.Deleted = true
		a.Distribution = Inherit
		if ind.Value == "" {
			a.Type, a.Category, a.Value, a.Comment = "comment", "Other", "revoked", ""
			return a
		}
	}
	a.Type, a.Category = AttributeType(observable.Type(ind.Type))
	a.Value, a.ToIDS = ind.Value, true
	if l := tlp.Label(ind.TLP); l.Valid() {
		a.Tags = append(a.Tags, TLPTag(l))
	}
	if t, ok := CategoryTag(ind.Category); ok {
		a.Tags = append(a.Tags, t)
	}
	a.Tags = append(a.Tags, machineTag(tagConfidence, strconv.Itoa(ind.Confidence)), tsTag(tagValidFrom, ind.ValidFrom))
	if ind.ValidUntil != nil {
		a.Tags = append(a.Tags, tsTag(tagValidUntil, *ind.ValidUntil))
	}
	for _, t := range ind.Tags {
		a.Tags = append(a.Tags, Tag{Name: t})
	}
	for _, x := range sightings {
		typ := Num(SightingSeen)
		switch x.Kind {
		case store.SightingFalsePositive:
			typ = SightingFalsePositive
		case store.SightingSeen:
		default:
			continue // taken down and blocked have no MISP sighting type
		}
		at := x.At
		if x.LastSeen != nil {
			at = *x.LastSeen
		}
		a.Sightings = append(a.Sightings, Sighting{UUID: x.ID, DateSighting: Time(at), Type: typ, Source: x.Team})
	}
	return a
}

// IndicatorEvent is an event holding indicators of one author: the feed groups them by
// author and day so that an event stays a size MISP handles and changes only when one
// of its indicators does. Its timestamp is its newest attribute's; its distribution the
// widest of its attributes' (MISP narrows each attribute to its event's).
func IndicatorEvent(uuid, info string, org Org, date time.Time, attrs []Attribute) Event {
	e := Event{UUID: uuid, Info: info, Date: date.UTC().Format(DateLayout), ThreatLevelID: 4, Distribution: OrgOnly,
		Published: true, Orgc: org, Attributes: attrs}
	for _, a := range attrs {
		if a.Timestamp > e.Timestamp {
			e.Timestamp = a.Timestamp
		}
		if d := a.Distribution; d != Inherit && d <= AllCommunities && d > e.Distribution {
			e.Distribution = d
		}
	}
	e.PublishTimestamp = e.Timestamp
	return e
}

// IndicatorItem is one indicator an import makes of an attribute.
type IndicatorItem struct {
	UUID        string
	Observable  observable.Observable
	Category    string
	Confidence  *int
	Label       tlp.Label
	ShareWith   []string // sharing group organisations, by name
	Tags        []string
	Description string
	ValidFrom   *time.Time
	ValidUntil  *time.Time
}

// Skipped is an attribute an indicator import does not make an indicator of, and why.
type Skipped struct {
	UUID string `json:"uuid"`
	Type string `json:"type"`
	Why  string `json:"why"`
}

// IndicatorsPlan is what an import makes of an event as shared indicators.
type IndicatorsPlan struct {
	Items   []IndicatorItem
	Skipped []Skipped
	// Sightings counts the MISP sightings on mapped attributes: they are other
	// organisations' observations, which we do not report as ours.
	Sightings int
}

// PlanIndicators maps every attribute of an event and of its objects whose type we map
// to an indicator; the event's tags give what an attribute's own do not (category,
// label). Deleted attributes and those of other types are skipped, each with its reason.
func PlanIndicators(d Decoded) IndicatorsPlan {
	var p IndicatorsPlan
	e := d.Event
	ev := eventLabel(e)
	evCategory := ""
	var evTags []string
	for _, t := range e.Tags {
		switch c, ok := categoryOf(t.Name); {
		case ok:
			if evCategory == "" {
				evCategory = c
			}
		case IsTLPTag(t.Name), strings.HasPrefix(t.Name, "csirtlink:"):
		default:
			evTags = append(evTags, t.Name)
		}
	}
	add := func(a Attribute, label tlp.Label, group *SharingGroup) {
		if a.Deleted {
			p.Skipped = append(p.Skipped, Skipped{UUID: a.UUID, Type: a.Type, Why: "deleted"})
			return
		}
		o, err := ObservableOf(a.Type, a.Value)
		if err != nil {
			p.Skipped = append(p.Skipped, Skipped{UUID: a.UUID, Type: a.Type, Why: err.Error()})
			return
		}
		it := IndicatorItem{UUID: a.UUID, Observable: o, Category: evCategory, Label: attrLabel(a, label),
			Description: a.Comment, Tags: slices.Clone(evTags)}
		if a.SharingGroup != nil {
			group = a.SharingGroup
		}
		if a.Distribution == SharingGroupDist || a.Distribution == Inherit && e.Distribution == SharingGroupDist {
			it.ShareWith = orgNames(group)
		}
		for _, t := range a.Tags {
			name := strings.TrimSpace(t.Name)
			if c, ok := categoryOf(name); ok {
				it.Category = c
				continue
			}
			if v, ok := readMachineTag(name, tagConfidence); ok {
				if n, err := strconv.Atoi(v); err == nil {
					it.Confidence = &n
				}
				continue
			}
			if v, ok := readMachineTag(name, tagValidFrom); ok {
				if t, ok := readTS(v); ok {
					it.ValidFrom = &t
				}
				continue
			}
			if v, ok := readMachineTag(name, tagValidUntil); ok {
				if t, ok := readTS(v); ok {
					it.ValidUntil = &t
				}
				continue
			}
			if IsTLPTag(name) || strings.HasPrefix(name, "csirtlink:") {
				continue
			}
			if !slices.Contains(it.Tags, name) {
				it.Tags = append(it.Tags, name)
			}
		}
		p.Sightings += len(a.Sightings)
		p.Items = append(p.Items, it)
	}
	for _, a := range e.Attributes {
		add(a, ev, e.SharingGroup)
	}
	for _, o := range e.Objects {
		l := ev
		if o.Distribution != Inherit {
			l = tlp.Stricter(l, DistributionLabel(o.Distribution))
		}
		for _, a := range o.Attributes {
			if o.Deleted {
				a.Deleted = true
			}
			add(a, l, e.SharingGroup)
		}
	}
	return p
}

// Describe is a short account of an item for errors: its uuid and value.
func (it IndicatorItem) Describe() string {
	return fmt.Sprintf("attribute %s (%s %s)", it.UUID, it.Observable.Type, it.Observable.Value)
}
