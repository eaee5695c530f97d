package exchange

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"csirtlink/internal/incident"
	"csirtlink/internal/iodef"
	"csirtlink/internal/problem"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// IODEFMediaType is the media type we serve IODEF documents as (RFC 7970 registers
// none; RFC 7203's application/xml family is what tools expect).
const IODEFMediaType = "application/xml; charset=utf-8"

// MaxIODEFBytes caps an uploaded IODEF document.
const MaxIODEFBytes = iodef.MaxBytes

// iodefFormat is IODEF 2.0 documents.
type iodefFormat struct{}

func (iodefFormat) Name() string                                     { return IODEF }
func (iodefFormat) MediaType() string                                { return IODEFMediaType }
func (iodefFormat) MaxBytes() int64                                  { return MaxIODEFBytes }
func (iodefFormat) Render(s *Service, sel Selection) ([]byte, error) { return s.iodefDocument(sel) }
func (iodefFormat) Import(ctx context.Context, s *Service, a incident.Actor, data []byte, _ ImportOptions) (Imported, error) {
	return s.ImportIODEF(ctx, a, data)
}

// iodefDocument maps a selection to an IODEF 2.0 document.
func (s *Service) iodefDocument(sel Selection) ([]byte, error) {
	doc, err := iodef.FromIncident(sel.Incident, s.iodefTeams(), s.clock.Now())
	if err != nil {
		return nil, err
	}
	return iodef.Encode(doc)
}

func (s *Service) iodefTeams() map[string]iodef.Team {
	of := func(t team.Team) iodef.Team {
		it := iodef.Team{ID: t.ID, Name: t.Name, Email: t.HotlineEmail}
		if u, err := url.Parse(t.URL); err == nil && u.Hostname() != "" {
			it.Domain = u.Hostname()
		}
		if z, err := time.LoadLocation(t.Timezone); err == nil && t.Timezone != "" {
			it.Zone = z
		}
		return it
	}
	teams := map[string]iodef.Team{s.dir.Self.ID: of(s.dir.Self)}
	for _, p := range s.dir.Peers() {
		teams[p.ID] = of(p.Team)
	}
	return teams
}

// ImportIODEF makes a new incident, coordinated by this team, from an IODEF 2.0
// document: its first incident's descriptions, category, severity and restriction, its
// indicators' and event data's addresses, domains and hashes as observables, its
// history as comments. What we do not map (contacts, methods, the event data as a
// whole, further incidents) is kept as XML text in comments, which an IODEF export
// carries again as AdditionalData. Nothing is written if any part is refused.
func (s *Service) ImportIODEF(ctx context.Context, a incident.Actor, data []byte) (Imported, error) {
	p, err := iodef.Parse(data)
	if err != nil {
		return Imported{}, problem.Invalid("document", "%v", err)
	}
	n := incident.NewIncident{Title: p.Title, Description: p.Description, Category: p.Category, Severity: p.Severity, TLP: string(p.Label)}
	if problem.CheckLine("title", n.Title, 200, true) != nil {
		n.Title = fmt.Sprintf("IODEF %s %s", p.IncidentName, p.IncidentID)
		if problem.CheckLine("title", n.Title, 200, true) != nil {
			n.Title = "IODEF import"
		}
	}
	ref := fmt.Sprintf("IODEF IncidentID %s from %s", p.IncidentID, p.IncidentName)
	if n.Description == "" {
		n.Description = ref
	} else {
		n.Description += "\n\n" + ref
	}
	if problem.CheckText("description", n.Description, maxEntryText, false) != nil {
		n.Description = ref
		p.Raw = append(p.Raw, "Description (too long or unprintable for an incident description): not kept")
	}
	if taxonomy.Valid(n.Category) != nil {
		n.Category = DefaultCategory
	}
	if !slices.Contains(incident.Severities, n.Severity) {
		n.Severity = DefaultSeverity
	}
	var entries []entryFor
	for _, o := range p.Observables {
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindObservable, Type: string(o.Observable.Type), Body: o.Observable.Value}, o.Label})
	}
	for _, nt := range p.Notes {
		if err := problem.CheckText("body", nt.Text, maxEntryText, true); err != nil {
			return Imported{}, problem.Invalid("document", "%v", fmt.Errorf("a HistoryItem cannot be a comment: %w", err))
		}
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: nt.Text}, nt.Label})
	}
	for _, raw := range p.Raw {
		body := iodef.RawPrefix + raw
		if err := problem.CheckText("body", body, maxEntryText, true); err != nil {
			return Imported{}, problem.Invalid("document", "%v", fmt.Errorf("a part we do not map cannot be kept as it came: %w", err))
		}
		// Kept parts carry the incident's label: their own restrictions are inside them.
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: body}, tlp.Label(n.TLP)})
	}
	in, err := s.create(ctx, a, n, entries)
	if err != nil {
		return Imported{}, err
	}
	return Imported{Incident: in, Mapped: p.Mapped, Kept: p.Kept(), Observables: len(p.Observables), Notes: len(p.Notes)}, nil
}
