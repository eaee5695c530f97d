package stix

import (
	"encoding/json"
	"slices"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

// Plan is what an import makes of a bundle: the fields of one new incident, its
// observables and notes, the teams it names that we know, and every object it does
// not map, kept as it came. Each object of the bundle is counted once: mapped or kept.
type Plan struct {
	BundleID string
	// Title and the rest come from the bundle's incident (or, without one, its first
	// report); empty when it has neither.
	Title, Description, Category, Severity string
	// Label is the incident's TLP marking; Labeled is false when it had none.
	Label   tlp.Label
	Labeled bool
	// Source is the id of the object the incident's fields came from.
	Source      string
	Observables []Item
	Notes       []Item
	Teams       []string
	Raw         []Object
	Mapped      int
}

// Item is an observable or a note to add to the new incident, with its own TLP
// marking if it had one.
type Item struct {
	Observable observable.Observable
	Text       string
	Label      tlp.Label
	Labeled    bool
	From       string // the STIX id it came from
}

// Kept is how many objects the import keeps unmapped.
func (p Plan) Kept() int { return len(p.Raw) }

// generic are the properties we may see on any object we map and do not lose by
// mapping it: who made it and when are the import's own, its markings become labels.
var generic = []string{"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs"}

// onlyProps reports whether obj has no properties but generic and extra.
func onlyProps(obj map[string]json.RawMessage, extra ...string) bool {
	for k := range obj {
		if !slices.Contains(generic, k) && !slices.Contains(extra, k) {
			return false
		}
	}
	return true
}

// PlanImport decides, for each object of b, whether we map it or keep it raw.
// knownTeam says whether an identity id is one of the teams we know (and which).
//
// Mapped: TLP marking definitions (2.0, and 1.0 read as 2.0); identities of known
// teams; the first incident (or, with no incident, the first report) when it has no
// properties we would lose; a report that lists that incident; SCOs of our observable
// types (ipv4-addr, ipv6-addr, domain-name, url, email-addr, file hashes) with nothing
// else in them; notes about the incident. Everything else (indicators and sightings,
// which an import as shared indicators maps instead, relationships, other SDOs, extensions, unknown
// identities, objects with properties we do not hold) is kept as it came.
func PlanImport(b Bundle, knownTeam func(identityID string) (string, bool)) Plan {
	p := Plan{BundleID: b.ID}
	props := make([]map[string]json.RawMessage, len(b.Objects))
	for i, o := range b.Objects {
		json.Unmarshal(o.Raw, &props[i])
	}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		json.Unmarshal(m[k], &s)
		return s
	}
	refsOf := func(m map[string]json.RawMessage, k string) []string {
		var s []string
		json.Unmarshal(m[k], &s)
		return s
	}
	label := func(m map[string]json.RawMessage) (tlp.Label, bool) {
		return StrictestMarking(refsOf(m, "object_marking_refs"))
	}

	// The incident's fields: the first incident, else the first report.
	source := -1
	for _, want := range []string{"incident", "report"} {
		for i, o := range b.Objects {
			if o.Type == want {
				source = i
				break
			}
		}
		if source >= 0 {
			break
		}
	}
	incidentID := ""
	if source >= 0 {
		m := props[source]
		p.Source, p.Title, p.Description = b.Objects[source].ID, str(m, "name"), str(m, "description")
		p.Category, p.Severity = str(m, "x_csirtlink_category"), str(m, "x_csirtlink_severity")
		p.Label, p.Labeled = label(m)
		if b.Objects[source].Type == "incident" {
			incidentID = b.Objects[source].ID
		}
	}
	mapped := func(i int, ok bool) {
		if ok {
			p.Mapped++
		} else {
			p.Raw = append(p.Raw, b.Objects[i])
		}
	}
	for i, o := range b.Objects {
		m := props[i]
		switch {
		case o.Type == "marking-definition":
			_, ok := isTLPMarking(o.Raw)
			mapped(i, ok)
		case o.Type == "identity":
			team, ok := knownTeam(o.ID)
			if ok && !slices.Contains(p.Teams, team) {
				p.Teams = append(p.Teams, team)
			}
			mapped(i, ok)
		case i == source && o.Type == "incident":
			mapped(i, onlyProps(m, "name", "description", "external_references", "x_csirtlink_category", "x_csirtlink_severity", "x_csirtlink_status"))
		case i == source && o.Type == "report":
			mapped(i, onlyProps(m, "name", "description", "report_types", "published", "object_refs", "external_references"))
		case o.Type == "report" && incidentID != "" && slices.Contains(refsOf(m, "object_refs"), incidentID):
			// The container of the incident we map (our own exports carry one).
			mapped(i, onlyProps(m, "name", "description", "report_types", "published", "object_refs"))
		case o.Type == "note" && p.Source != "" && onlyProps(m, "content", "authors", "object_refs") && str(m, "content") != "" && onlyAbout(refsOf(m, "object_refs"), p.Source):
			l, ok := label(m)
			p.Notes = append(p.Notes, Item{Text: str(m, "content"), Label: l, Labeled: ok, From: o.ID})
			p.Mapped++
		default:
			obs, ok := ObservablesOf(o.Raw)
			if !ok {
				p.Raw = append(p.Raw, o)
				continue
			}
			l, labeled := label(m)
			for _, ob := range obs {
				p.Observables = append(p.Observables, Item{Observable: ob, Label: l, Labeled: labeled, From: o.ID})
			}
			p.Mapped++
		}
	}
	return p
}

// onlyAbout reports whether refs name the one object id and nothing else.
func onlyAbout(refs []string, id string) bool {
	return len(refs) > 0 && !slices.ContainsFunc(refs, func(r string) bool { return r != id })
}
