package iodef

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Version is the IODEF version we write (the schema fixes it).
const Version = "2.00"

// RawPrefix starts the body of a timeline comment that keeps a part of an imported
// IODEF document we could not map; an export carries it again as AdditionalData.
const RawPrefix = "IODEF element kept as imported:\n"

// Team is what a document says about a team: its id, name, the name IODEF identifies
// it by (a domain), its hotline address and time zone.
type Team struct {
	ID, Name, Domain, Email string
	Zone                    *time.Location
}

// timeLayout is xs:dateTime in UTC.
const timeLayout = "2006-01-02T15:04:05Z"

// statuses maps our incident status to IODEF's.
var statuses = map[string]string{"open": "new", "in_progress": "in-progress", "mitigated": "resolved", "closed": "resolved"}

// severities maps ours to SystemImpact's (low, medium, high): critical is high.
var severities = map[string]string{"critical": "high", "high": "high", "medium": "medium", "low": "low"}

// FromIncident maps an incident, with the timeline entries its audience may see (the
// caller has asked egress), to an IODEF document: the incident with its TLP as the
// restriction, its title and description, category and severity as an Assessment, the
// coordinator as the creating contact and the other participants as cc-irt contacts,
// its observables as indicators (each with its own restriction), its comments as
// history items. now is the document's generation time.
func FromIncident(in store.Incident, teams map[string]Team, now time.Time) (Document, error) {
	label := tlp.Label(in.TLP)
	if !label.Valid() {
		return Document{}, fmt.Errorf("iodef: incident %s: label %q", in.ID, in.TLP)
	}
	team := func(id string) Team {
		if t, ok := teams[id]; ok {
			return t
		}
		return Team{ID: id}
	}
	coord := team(in.Coordinator)
	inc := Incident{
		Purpose: "reporting", Status: statuses[in.Status],
		IncidentID:     IncidentID{Name: nameOf(coord), Value: in.ID},
		StartTime:      in.CreatedAt.UTC().Format(timeLayout),
		ReportTime:     in.UpdatedAt.UTC().Format(timeLayout),
		GenerationTime: now.UTC().Format(timeLayout),
		Descriptions:   []MLString{{Value: in.Title}},
		Assessments: []Assessment{{Categories: []MLString{{Value: in.Category}},
			SystemImpact: []SystemImpact{{Severity: severities[in.Severity], Type: "unknown"}}}},
		Contacts: []Contact{contactOf(coord, "creator", now)},
	}
	inc.Restriction, inc.ExtRestriction = Restriction(label)
	if in.Description != "" {
		inc.Descriptions = append(inc.Descriptions, MLString{Value: in.Description})
	}
	if in.Severity == "critical" {
		inc.AdditionalData = append(inc.AdditionalData, Extension{DType: "string", Meaning: "csirtlink-severity", Value: in.Severity})
	}
	for _, p := range in.Participants {
		if p.Team != in.Coordinator {
			inc.Contacts = append(inc.Contacts, contactOf(team(p.Team), "cc-irt", now))
		}
	}
	for _, e := range in.Timeline {
		el := tlp.Label(e.TLP)
		if !el.Valid() {
			return Document{}, fmt.Errorf("iodef: entry %s: label %q", e.ID, e.TLP)
		}
		r, ext := Restriction(el)
		switch e.Kind {
		case "observable":
			d, err := wire.DecodeData[wire.ObservableData](e.Data)
			if err != nil {
				return Document{}, fmt.Errorf("iodef: entry %s: %w", e.ID, err)
			}
			obs, err := observableFor(d.Type, d.Value)
			if err != nil {
				return Document{}, fmt.Errorf("iodef: entry %s: %w", e.ID, err)
			}
			if inc.IndicatorData == nil {
				inc.IndicatorData = &IndicatorData{}
			}
			inc.IndicatorData.Indicators = append(inc.IndicatorData.Indicators, Indicator{Restriction: r, ExtRestriction: ext,
				ID: IndicatorID{Name: nameOf(coord), Version: "1", Value: "o-" + e.ID}, Observable: obs})
		case "comment":
			if raw, ok := strings.CutPrefix(e.Body, RawPrefix); ok {
				inc.AdditionalData = append(inc.AdditionalData, Extension{DType: "string", Meaning: "iodef-xml-kept-as-imported", Value: raw})
				continue
			}
			if inc.History == nil {
				inc.History = &History{}
			}
			author := contactOf(team(e.Team), "irt", now)
			if e.Author != "" {
				author.Names = append(author.Names, MLString{Value: e.Author})
			}
			inc.History.Items = append(inc.History.Items, HistoryItem{Action: "status-new-info", Restriction: r, ExtRestriction: ext,
				DateTime: e.CreatedAt.UTC().Format(timeLayout), Contact: &author, Descriptions: []MLString{{Value: e.Body}}})
		}
	}
	return Document{Version: Version, Lang: "en", Incidents: []Incident{inc}}, nil
}

// Encode writes the document as XML with its declaration.
func Encode(d Document) ([]byte, error) {
	out, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("iodef: encode: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// nameOf is the name IODEF identifies a team by: its domain, else its id.
func nameOf(t Team) string {
	if t.Domain != "" {
		return t.Domain
	}
	return t.ID
}

func contactOf(t Team, role string, now time.Time) Contact {
	c := Contact{Role: role, Type: "organization"}
	name := t.Name
	if name == "" {
		name = t.ID
	}
	c.Names = []MLString{{Value: name}}
	if t.Email != "" {
		c.Emails = []Email{{Type: "hotline", To: t.Email}}
	}
	if t.Zone != nil {
		c.Timezone = now.In(t.Zone).Format("Z07:00") // TimezoneType: Z or ±hh:mm
	}
	return c
}

// observableFor maps one of our observables to an IODEF Observable.
func observableFor(typ, value string) (Observable, error) {
	addr := func(cat string) (Observable, error) {
		return Observable{Address: &Address{Category: cat, Value: value}}, nil
	}
	switch typ {
	case "ipv4":
		return addr("ipv4-addr")
	case "ipv6":
		return addr("ipv6-addr")
	case "cidr":
		if slices.Contains([]byte(value), ':') {
			return addr("ipv6-net")
		}
		return addr("ipv4-net")
	case "email":
		return addr("e-mail")
	case "url":
		return addr("site-uri")
	case "domain":
		return Observable{DomainData: &DomainData{Name: value}}, nil
	case "md5", "sha1", "sha256":
		b, err := hex.DecodeString(value)
		if err != nil {
			return Observable{}, fmt.Errorf("hash %q: %w", value, err)
		}
		return Observable{FileData: &FileData{Files: []File{{HashData: HashData{Scope: "file-contents",
			Hashes: []Hash{{Method: DigestMethod{Algorithm: digestURIs[typ]}, Value: base64.StdEncoding.EncodeToString(b)}}}}}}}, nil
	}
	return Observable{}, fmt.Errorf("no IODEF observable for type %q", typ)
}
