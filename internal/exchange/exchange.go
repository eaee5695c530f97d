// Package exchange turns incidents into documents in outside formats (STIX 2.1 bundles,
// IODEF 2.0 documents) and documents into new incidents. What goes into an export is
// decided here, for every format alike, by asking egress.Decide of the incident and of
// each timeline entry for the export's audience; the format packages (stix, iodef) only
// map what they are given.
package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Service exports and imports incidents.
type Service struct {
	incidents *incident.Service
	st        store.Store
	dir       *team.Directory
	clock     clock.Clock
	formats   map[string]Format
	// indicators, when set, receives MISP imports as shared indicators and gives the
	// MISP feeds their content.
	indicators *indicator.Service
	feeds      map[string]Audience
	feedCache  feedCache
}

// New makes the service.
func New(inc *incident.Service, st store.Store, dir *team.Directory, clk clock.Clock) *Service {
	s := &Service{incidents: inc, st: st, dir: dir, clock: clk, formats: map[string]Format{}}
	s.register(stixFormat{}, iodefFormat{}, mispFormat{})
	return s
}

// Audience is who an export is for: one team (ours, or a peer) or, with Team empty,
// people outside the federation; never more than Ceiling.
type Audience struct {
	Team    string    `json:"team,omitempty"`
	Ceiling tlp.Label `json:"ceiling"`
}

// ParseAudience reads an audience as a person gives it: a team id (empty: our own team
// unless outside is set) and a ceiling label (empty: RED for a team, GREEN for
// outsiders). "outside" names an audience outside the federation.
func (s *Service) ParseAudience(teamID, ceiling string) (Audience, error) {
	a := Audience{Team: strings.ToLower(strings.TrimSpace(teamID))}
	switch a.Team {
	case "":
		a.Team = s.dir.Self.ID
	case "outside":
		a.Team = ""
	}
	if strings.TrimSpace(ceiling) == "" {
		a.Ceiling = tlp.Red
		if a.Team == "" {
			a.Ceiling = tlp.Green
		}
		return a, nil
	}
	l, err := tlp.Parse(ceiling)
	if err != nil {
		return a, problem.Invalid("audience", "%v", err)
	}
	a.Ceiling = l
	return a, nil
}

func (a Audience) String() string {
	if a.Team == "" {
		return "outside up to TLP:" + string(a.Ceiling)
	}
	return a.Team + " up to TLP:" + string(a.Ceiling)
}

// Selection is an incident with only what an audience may see.
type Selection struct {
	Incident store.Incident
	// Withheld counts the timeline entries egress kept from the audience.
	Withheld int
}

// Select reads an incident and keeps what egress lets the audience have. An incident
// whose own label keeps it from the audience is refused whole: its title alone says
// too much.
func (s *Service) Select(ctx context.Context, id string, a Audience) (Selection, error) {
	in, err := s.incidents.Get(ctx, id)
	if err != nil {
		return Selection{}, err
	}
	parts := make([]string, len(in.Participants))
	for i, p := range in.Participants {
		parts[i] = p.Team
	}
	ectx := egress.NewContext(s.dir, parts)
	to := egress.Destination{Kind: egress.Export, Team: a.Team, Ceiling: a.Ceiling}
	dec := egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(in.TLP), Author: in.Coordinator, Recipients: parts}, Context: ectx, To: to})
	if !dec.Full() {
		return Selection{}, problem.Forbidden("%s", "incident "+in.ID+": "+dec.Reason())
	}
	sel := Selection{Incident: in}
	sel.Incident.Timeline = nil
	for _, e := range in.Timeline {
		d := egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(e.TLP), Author: e.Team, Recipients: e.Recipients}, Context: ectx, To: to})
		if d.Full() {
			sel.Incident.Timeline = append(sel.Incident.Timeline, e)
		} else {
			sel.Withheld++
		}
	}
	return sel, nil
}

// The formats of Export.
const (
	STIX  = "stix"
	IODEF = "iodef"
	MISP  = "misp"
)

// Format is an outside document format an incident is exported to and imported from.
// Each registers itself in New; Export and Import look it up by name, so a format is
// added without touching them.
type Format interface {
	Name() string
	MediaType() string
	// MaxBytes caps a document to import.
	MaxBytes() int64
	// Render writes a selection, which holds only what egress let the audience have.
	Render(s *Service, sel Selection) ([]byte, error)
	// Import makes a new incident of a document.
	Import(ctx context.Context, s *Service, a incident.Actor, data []byte, opt ImportOptions) (Imported, error)
}

// ImportOptions are the choices a person makes for an import.
type ImportOptions struct {
	// Label is the incident's label when the document gives none ("" for DefaultLabel).
	Label string
}

func (s *Service) register(fs ...Format) {
	for _, f := range fs {
		s.formats[f.Name()] = f
	}
}

// Format returns a registered format.
func (s *Service) Format(name string) (Format, error) {
	f, ok := s.formats[name]
	if !ok {
		return nil, fmt.Errorf("exchange: no format %q", name)
	}
	return f, nil
}

// Document is an export: its bytes as made, its media type, and how many timeline
// entries egress held back.
type Document struct {
	Body      []byte
	MediaType string
	Withheld  int
}

// Export makes a document of an incident in a format for an audience, with only what
// egress lets the audience have, and records it in the audit log.
func (s *Service) Export(ctx context.Context, format, actor, id string, a Audience) (Document, error) {
	f, err := s.Format(format)
	if err != nil {
		return Document{}, err
	}
	sel, err := s.Select(ctx, id, a)
	if err != nil {
		return Document{}, err
	}
	body, err := f.Render(s, sel)
	if err != nil {
		return Document{}, err
	}
	if err := s.record(ctx, actor, format, sel, a); err != nil {
		return Document{}, err
	}
	return Document{Body: body, MediaType: f.MediaType(), Withheld: sel.Withheld}, nil
}

// Import makes a new incident of a document in a format.
func (s *Service) Import(ctx context.Context, format string, a incident.Actor, data []byte, opt ImportOptions) (Imported, error) {
	f, err := s.Format(format)
	if err != nil {
		return Imported{}, err
	}
	return f.Import(ctx, s, a, data, opt)
}

// record writes an export to the audit log: what left, for whom, and what was held back.
func (s *Service) record(ctx context.Context, actor, format string, sel Selection, a Audience) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, s.clock.Now(), actor, "incident.export", sel.Incident.ID,
			fmt.Sprintf("%s for %s: %d entries, %d withheld", format, a, len(sel.Incident.Timeline), sel.Withheld))
	})
}

// Imported is what an import made: the new incident and how many objects of the
// document were mapped and how many kept as they came.
type Imported struct {
	Incident store.Incident `json:"incident"`
	Mapped   int            `json:"mapped"`
	Kept     int            `json:"kept"`
	// Observables and Notes count the timeline entries made.
	Observables int `json:"observables"`
	Notes       int `json:"notes"`
}

// entryFor is one timeline entry an import will add.
type entryFor struct {
	n     incident.NewEntry
	label tlp.Label
}

// create makes the imported incident and its entries. Everything was checked before:
// an entry that fails now is a fault, reported with the incident's id so a person can
// finish by hand.
func (s *Service) create(ctx context.Context, a incident.Actor, n incident.NewIncident, entries []entryFor) (store.Incident, error) {
	in, err := s.incidents.Create(ctx, a, n)
	if err != nil {
		return in, err
	}
	for i, e := range entries {
		e.n.TLP = string(e.label)
		if e.label == tlp.Red {
			e.n.Recipients = []string{s.dir.Self.ID}
		}
		if _, err := s.incidents.AddEntry(ctx, a, in.ID, e.n); err != nil {
			var p *problem.Error
			if errors.As(err, &p) {
				return in, fmt.Errorf("import into %s stopped at entry %d of %d: %w", in.ID, i+1, len(entries), err)
			}
			return in, fmt.Errorf("import into %s: entry %d: %w", in.ID, i+1, err)
		}
	}
	return s.incidents.Get(ctx, in.ID)
}
