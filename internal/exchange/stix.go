package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"csirtlink/internal/incident"
	"csirtlink/internal/problem"
	"csirtlink/internal/stix"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// Defaults for an imported incident whose document does not say.
const (
	DefaultCategory = "other/undetermined"
	DefaultSeverity = "medium"
	// DefaultLabel is the label of an imported document that has none: TLP:AMBER, the
	// usual label of a report between teams, which keeps it among this incident's
	// participants until a person decides otherwise.
	DefaultLabel = tlp.Amber
	// maxEntryText is the most characters a timeline entry holds (the incident
	// service's limit); an object kept raw must fit in one.
	maxEntryText = 20000
)

// stixFormat is STIX 2.1 bundles.
type stixFormat struct{}

func (stixFormat) Name() string                                     { return STIX }
func (stixFormat) MediaType() string                                { return stix.MediaType }
func (stixFormat) MaxBytes() int64                                  { return stix.MaxBundleBytes }
func (stixFormat) Render(s *Service, sel Selection) ([]byte, error) { return s.stixBundle(sel) }
func (stixFormat) Import(ctx context.Context, s *Service, a incident.Actor, data []byte, opt ImportOptions) (Imported, error) {
	return s.ImportSTIX(ctx, a, data, opt.Label)
}

// stixBundle maps a selection to a STIX 2.1 bundle.
func (s *Service) stixBundle(sel Selection) ([]byte, error) {
	ex, err := stix.FromIncident(sel.Incident, s.stixTeams())
	if err != nil {
		return nil, err
	}
	return stix.EncodeBundle(stix.NewBundleID(), ex.Objects), nil
}

func (s *Service) stixTeams() map[string]stix.Team {
	teams := map[string]stix.Team{s.dir.Self.ID: {ID: s.dir.Self.ID, Name: s.dir.Self.Name, Email: s.dir.Self.HotlineEmail}}
	for _, p := range s.dir.Peers() {
		teams[p.ID] = stix.Team{ID: p.ID, Name: p.Name, Email: p.HotlineEmail}
	}
	return teams
}

// ImportSTIX makes a new incident, coordinated by this team, from a STIX bundle: its
// incident (or report) gives the title and fields, its SCOs the observables, its notes
// the comments; every object it does not map is kept, byte for byte, as a comment that
// an export serves again as the object it was. label is the incident's label when the
// bundle marks none ("" for DefaultLabel). Nothing is written if any part is refused.
func (s *Service) ImportSTIX(ctx context.Context, a incident.Actor, data []byte, label string) (Imported, error) {
	b, err := stix.ParseBundle(data)
	if err != nil {
		return Imported{}, problem.Invalid("document", "%v", err)
	}
	known := map[string]string{}
	for id := range s.stixTeams() {
		known[stix.TeamIdentityID(id)] = id
	}
	p := stix.PlanImport(b, func(id string) (string, bool) { t, ok := known[id]; return t, ok })

	fallback := DefaultLabel
	if label != "" {
		if fallback, err = tlp.Parse(label); err != nil {
			return Imported{}, problem.Invalid("tlp", "%v", err)
		}
	}
	n := incident.NewIncident{Title: p.Title, Description: p.Description, Category: p.Category, Severity: p.Severity, TLP: string(fallback)}
	if p.Labeled {
		n.TLP = string(p.Label)
	}
	if n.Title == "" || utf8.RuneCountInString(n.Title) > 200 || problem.CheckLine("title", n.Title, 200, true) != nil {
		n.Title = "STIX " + b.ID
	}
	if problem.CheckText("description", n.Description, maxEntryText, false) != nil {
		n.Description = ""
	}
	if taxonomy.Valid(n.Category) != nil {
		n.Category = DefaultCategory
	}
	if !slices.Contains(incident.Severities, n.Severity) {
		n.Severity = DefaultSeverity
	}
	own := func(l tlp.Label, labeled bool) tlp.Label {
		if labeled {
			return l
		}
		return tlp.Label(n.TLP)
	}
	var entries []entryFor
	for _, o := range p.Observables {
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindObservable, Type: string(o.Observable.Type), Body: o.Observable.Value}, own(o.Label, o.Labeled)})
	}
	kept := len(p.Raw)
	for _, nt := range p.Notes {
		if problem.CheckText("body", nt.Text, maxEntryText, true) != nil {
			// A note we cannot hold as a comment is kept as the object it was.
			for _, o := range b.Objects {
				if o.ID == nt.From {
					p.Raw = append(p.Raw, o)
				}
			}
			continue
		}
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: nt.Text}, own(nt.Label, nt.Labeled)})
	}
	for _, o := range p.Raw {
		body := stix.RawPrefix + string(o.Raw)
		if err := problem.CheckText("body", body, maxEntryText, true); err != nil {
			return Imported{}, problem.Invalid("document", "%v", fmt.Errorf("%s cannot be kept as it came (%d characters in a timeline entry of at most %d, or characters an entry may not hold): %w",
				o.ID, utf8.RuneCountInString(body), maxEntryText, err))
		}
		l, ok := stix.StrictestMarking(markingRefs(o))
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: body}, own(l, ok)})
	}
	in, err := s.create(ctx, a, n, entries)
	if err != nil {
		return Imported{}, err
	}
	obs, notes := len(p.Observables), len(entries)-len(p.Observables)-len(p.Raw)
	return Imported{Incident: in, Mapped: p.Mapped - (len(p.Raw) - kept), Kept: len(p.Raw), Observables: obs, Notes: notes}, nil
}

// markingRefs lists every marking an object carries, on the whole object or on some
// of its properties: a kept object is as restricted as the strictest part of it.
func markingRefs(o stix.Object) []string {
	var m struct {
		Refs     []string `json:"object_marking_refs"`
		Granular []struct {
			Ref string `json:"marking_ref"`
		} `json:"granular_markings"`
	}
	json.Unmarshal(o.Raw, &m)
	for _, g := range m.Granular {
		m.Refs = append(m.Refs, g.Ref)
	}
	return m.Refs
}
