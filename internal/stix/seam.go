package stix

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

// The seam for shared indicators and sightings (internal/indicator). Their store types
// map to IndicatorData and SightingData (indicator.STIXData, STIXSighting);
// these functions make and read the STIX objects, so that the TAXII server and the
// bundle export and import share one STIX mapping. An incident import (PlanImport)
// keeps indicators as they came.

// IndicatorData is what the STIX mapping needs of one of our indicators.
type IndicatorData struct {
	ID          string // our id, which the STIX id derives from
	Owner       string // the owning team
	Name        string
	Description string
	Types       []string // indicator-type-ov, e.g. malicious-activity
	Category    string   // our taxonomy's category ("" when the producer gave none)
	Confidence  *int
	Tags        []string // STIX labels
	Observables []observable.Observable
	Label       tlp.Label
	Created     time.Time
	Modified    time.Time
	ValidFrom   time.Time
	ValidUntil  *time.Time
	Revoked     bool
}

// IndicatorID is the STIX id of one of our indicators.
func IndicatorID(id string) string { return DerivedID("indicator", id) }

// IndicatorFrom makes the STIX indicator: its pattern is the observables' comparisons
// joined by OR, its marking its label; a revoked indicator is a new version with
// revoked set.
func IndicatorFrom(d IndicatorData) (Indicator, error) {
	if len(d.Observables) == 0 {
		return Indicator{}, fmt.Errorf("stix: indicator %s has no observables", d.ID)
	}
	if !d.Label.Valid() {
		return Indicator{}, fmt.Errorf("stix: indicator %s: label %q", d.ID, d.Label)
	}
	parts := make([]string, len(d.Observables))
	for i, o := range d.Observables {
		p, err := PatternFor(o)
		if err != nil {
			return Indicator{}, fmt.Errorf("stix: indicator %s: %w", d.ID, err)
		}
		parts[i] = p
	}
	ind := Indicator{
		Common: Common{Type: "indicator", SpecVersion: SpecVersion, ID: IndicatorID(d.ID), CreatedByRef: TeamIdentityID(d.Owner),
			Created: At(d.Created), Modified: At(d.Modified), ObjectMarkingRefs: Markings(d.Label),
			ExternalReferences: []ExternalReference{{SourceName: "csirtlink", ExternalID: d.ID}}},
		Name: d.Name, Description: d.Description, IndicatorTypes: d.Types,
		Pattern: strings.Join(parts, " OR "), PatternType: "stix", ValidFrom: At(d.ValidFrom),
		Category: d.Category, Confidence: d.Confidence,
	}
	ind.Labels = d.Tags
	if d.ValidUntil != nil {
		u := At(*d.ValidUntil)
		ind.ValidUntil = &u
	}
	if d.Revoked {
		ind.Revoked = true
	}
	return ind, nil
}

// ReadIndicator reads a STIX indicator whose pattern we support into IndicatorData
// (the owner and our id are the importer's to set). An indicator with another pattern
// language, or a pattern we do not support, is an error that says why: the importer
// keeps such an indicator as it came.
func ReadIndicator(raw json.RawMessage) (IndicatorData, error) {
	var in struct {
		Indicator
		Revoked bool `json:"revoked"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return IndicatorData{}, fmt.Errorf("stix: indicator: %w", err)
	}
	if in.Type != "indicator" || in.PatternType != "stix" {
		return IndicatorData{}, fmt.Errorf("stix: %s: pattern type %q is not supported (only stix)", in.ID, in.PatternType)
	}
	e, err := ParsePattern(in.Pattern)
	if err != nil {
		return IndicatorData{}, fmt.Errorf("stix: %s: %w", in.ID, err)
	}
	obs, err := PatternObservables(e)
	if err != nil {
		return IndicatorData{}, fmt.Errorf("stix: %s: %w", in.ID, err)
	}
	d := IndicatorData{Name: in.Name, Description: in.Description, Types: in.IndicatorTypes, Observables: obs,
		Created: in.Created.Time, Modified: in.Modified.Time, ValidFrom: in.ValidFrom.Time, Revoked: in.Revoked,
		Category: in.Category, Confidence: in.Confidence, Tags: in.Labels}
	if in.ValidUntil != nil {
		v := in.ValidUntil.Time
		d.ValidUntil = &v
	}
	d.Label, _ = StrictestMarking(in.ObjectMarkingRefs)
	return d, nil
}

// SightingData is what the STIX mapping needs of a sighting: which team saw which of
// our indicators, when and how often.
type SightingData struct {
	ID          string
	Team        string // the team that saw it, which owns the sighting
	IndicatorID string // our id of the indicator
	Label       tlp.Label
	Created     time.Time
	FirstSeen   time.Time
	LastSeen    time.Time
	Count       int
}

// SightingFrom makes the STIX sighting of one of our indicators.
func SightingFrom(d SightingData) (Sighting, error) {
	if !d.Label.Valid() {
		return Sighting{}, fmt.Errorf("stix: sighting %s: label %q", d.ID, d.Label)
	}
	first, last := At(d.FirstSeen), At(d.LastSeen)
	return Sighting{
		Common: Common{Type: "sighting", SpecVersion: SpecVersion, ID: DerivedID("sighting", d.ID), CreatedByRef: TeamIdentityID(d.Team),
			Created: At(d.Created), Modified: At(d.Created), ObjectMarkingRefs: Markings(d.Label)},
		SightingOfRef: IndicatorID(d.IndicatorID), FirstSeen: &first, LastSeen: &last, Count: d.Count,
		WhereSightedRefs: []string{TeamIdentityID(d.Team)},
	}, nil
}
