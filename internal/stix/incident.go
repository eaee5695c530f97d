package stix

import (
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

// RawPrefix starts the body of a timeline comment that holds a STIX object kept as it
// was imported (until shared objects have a store of their own: internal/indicator).
// An export serves the object after it again, byte for byte, instead of a note.
const RawPrefix = "STIX object kept as imported:\n"

// Team is what an export says about a team: its id, name and published address.
type Team struct {
	ID, Name, Email string
}

// identityEpoch is the created and modified time of team identities: a team's STIX
// identity is the same object in every export, whatever incident it comes with.
var identityEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// IdentityFor is the STIX identity of a team.
func IdentityFor(t Team) Identity {
	id := Identity{
		Common: Common{Type: "identity", SpecVersion: SpecVersion, ID: TeamIdentityID(t.ID),
			Created: At(identityEpoch), Modified: At(identityEpoch),
			ExternalReferences: []ExternalReference{{SourceName: "csirtlink", ExternalID: "team:" + t.ID}}},
		Name: t.Name, IdentityClass: "organization",
	}
	if id.Name == "" {
		id.Name = t.ID
	}
	if t.Email != "" {
		id.ContactInformation = t.Email
	}
	return id
}

// TeamIdentityID is the STIX id of a team's identity.
func TeamIdentityID(team string) string { return DerivedID("identity", "team:"+team) }

// IncidentID is the STIX id of one of our incidents.
func IncidentID(id string) string { return DerivedID("incident", id) }

// Export is what FromIncident produced: the objects in bundle order, and counts.
type Export struct {
	Objects     []json.RawMessage
	Observables int // SCOs
	Notes       int
	Raw         int // objects kept as imported, served unchanged
}

// FromIncident maps an incident, with the timeline entries the export's audience may
// see (the caller has asked egress; nothing here decides who sees what), to STIX: the
// incident, a report whose object_refs list everything about it, the teams'
// identities, its observables as SCOs, its comments as notes, the objects kept from an
// import as they came, and the TLP 2.0 marking definitions used. Every object carries
// the marking of its own label.
func FromIncident(in store.Incident, teams map[string]Team) (Export, error) {
	var ex Export
	incLabel := tlp.Label(in.TLP)
	if !incLabel.Valid() {
		return ex, fmt.Errorf("stix: incident %s: label %q", in.ID, in.TLP)
	}
	used := map[tlp.Label]bool{incLabel: true}
	ident := func(team string) string { return TeamIdentityID(team) }
	incID := IncidentID(in.ID)
	inc := Incident{
		Common: Common{Type: "incident", SpecVersion: SpecVersion, ID: incID, CreatedByRef: ident(in.Coordinator),
			Created: At(in.CreatedAt), Modified: At(in.UpdatedAt), ObjectMarkingRefs: Markings(incLabel),
			ExternalReferences: []ExternalReference{{SourceName: "csirtlink", ExternalID: in.ID}}},
		Name: in.Title, Description: in.Description, Category: in.Category, Severity: in.Severity, Status: in.Status,
	}
	if inc.Modified.Before(inc.Created.Time) {
		inc.Modified = inc.Created
	}
	var (
		scos     []SCO
		scoIndex = map[string]int{}
		notes    []Note
		raws     []json.RawMessage
		refs     = []string{incID}
		teamRefs = []string{in.Coordinator}
	)
	for _, e := range in.Timeline {
		label := tlp.Label(e.TLP)
		if !label.Valid() {
			return ex, fmt.Errorf("stix: entry %s: label %q", e.ID, e.TLP)
		}
		switch e.Kind {
		case "observable":
			d, err := wire.DecodeData[wire.ObservableData](e.Data)
			if err != nil {
				return ex, fmt.Errorf("stix: entry %s: %w", e.ID, err)
			}
			s, err := SCOFor(observable.Observable{Type: observable.Type(d.Type), Value: d.Value})
			if err != nil {
				return ex, fmt.Errorf("stix: entry %s: %w", e.ID, err)
			}
			if i, dup := scoIndex[s.ID]; dup {
				// The same observable twice: one SCO, under the stricter label.
				prev, _ := StrictestMarking(scos[i].ObjectMarkingRefs)
				label = tlp.Stricter(prev, label)
				scos[i].ObjectMarkingRefs = Markings(label)
			} else {
				s.ObjectMarkingRefs = Markings(label)
				scoIndex[s.ID] = len(scos)
				scos = append(scos, s)
				refs = append(refs, s.ID)
			}
		case "comment":
			if raw, ok := RawObject(e.Body); ok {
				raws = append(raws, raw)
				refs = append(refs, rawID(raw))
				break
			}
			n := Note{
				Common: Common{Type: "note", SpecVersion: SpecVersion, ID: DerivedID("note", e.ID), CreatedByRef: ident(e.Team),
					Created: At(e.CreatedAt), Modified: At(e.CreatedAt), ObjectMarkingRefs: Markings(label)},
				Content: e.Body, ObjectRefs: []string{incID},
			}
			if e.Author != "" {
				n.Authors = []string{e.Author}
			}
			notes = append(notes, n)
			refs = append(refs, n.ID)
		default:
			// Status and participation changes are the incident's own fields (status)
			// or csirtlink's workflow; they have no STIX object.
			continue
		}
		used[label] = true
		if !slices.Contains(teamRefs, e.Team) {
			teamRefs = append(teamRefs, e.Team)
		}
	}
	for _, p := range in.Participants {
		if !slices.Contains(teamRefs, p.Team) {
			teamRefs = append(teamRefs, p.Team)
		}
	}
	add := func(v any) error {
		b, err := Marshal(v)
		if err == nil {
			ex.Objects = append(ex.Objects, b)
		}
		return err
	}
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		if used[l] {
			if err := add(Marking(l)); err != nil {
				return ex, err
			}
		}
	}
	for _, t := range teamRefs {
		tm, ok := teams[t]
		if !ok {
			tm = Team{ID: t}
		}
		if err := add(IdentityFor(tm)); err != nil {
			return ex, err
		}
		refs = append(refs, TeamIdentityID(t))
	}
	if err := add(inc); err != nil {
		return ex, err
	}
	for _, s := range scos {
		if err := add(s); err != nil {
			return ex, err
		}
	}
	for _, n := range notes {
		if err := add(n); err != nil {
			return ex, err
		}
	}
	ex.Objects = append(ex.Objects, raws...)
	rep := Report{
		Common: Common{Type: "report", SpecVersion: SpecVersion, ID: DerivedID("report", in.ID), CreatedByRef: ident(in.Coordinator),
			Created: inc.Created, Modified: inc.Modified, ObjectMarkingRefs: Markings(incLabel)},
		Name: in.Title, ReportTypes: []string{"incident"}, Published: inc.Modified, ObjectRefs: refs,
	}
	if err := add(rep); err != nil {
		return ex, err
	}
	ex.Observables, ex.Notes, ex.Raw = len(scos), len(notes), len(raws)
	return ex, nil
}

// RawObject returns the STIX object a comment body keeps, if it is one (RawPrefix
// followed by a JSON object with a type and an id).
func RawObject(body string) (json.RawMessage, bool) {
	rest, ok := strings.CutPrefix(body, RawPrefix)
	if !ok {
		return nil, false
	}
	raw := json.RawMessage(rest)
	if !json.Valid(raw) || rawID(raw) == "" {
		return nil, false
	}
	return raw, true
}

func rawID(raw json.RawMessage) string {
	var h struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(raw, &h) != nil || !ValidID(h.Type, h.ID) {
		return ""
	}
	return h.ID
}
