package indicator

import (
	"fmt"

	"csirtlink/internal/observable"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// The STIX mapping of shared indicators and sightings: the one place where their store
// types meet stix.IndicatorData and stix.SightingData (the TAXII collection, the bundle
// export).

// maxSTIXCount is the largest count a STIX sighting may carry.
const maxSTIXCount = 999999999

// STIXData is what the STIX mapping needs of one of our indicators. Every
// category of ours is a kind of abuse or attack: STIX's malicious-activity. A revoked
// or withdrawn indicator is a version with revoked set, modified at its revocation.
func STIXData(ind store.Indicator) (stix.IndicatorData, error) {
	o, err := observable.Parse(ind.Type, ind.Value)
	if err != nil {
		return stix.IndicatorData{}, fmt.Errorf("indicator %s: %w", ind.ID, err)
	}
	conf := ind.Confidence
	d := stix.IndicatorData{ID: ind.ID, Owner: ind.Author, Name: ind.Value, Description: ind.Description,
		Types: []string{"malicious-activity"}, Category: ind.Category, Confidence: &conf, Tags: ind.Tags,
		Observables: []observable.Observable{o}, Label: tlp.Label(ind.TLP), Created: ind.CreatedAt, Modified: ind.Modified,
		ValidFrom: ind.ValidFrom, ValidUntil: ind.ValidUntil, Revoked: ind.State != store.IndicatorActive}
	if d.Revoked && ind.RevokedAt != nil && ind.RevokedAt.After(d.Modified) {
		d.Modified = *ind.RevokedAt
	}
	if d.Modified.Before(d.Created) {
		d.Modified = d.Created
	}
	return d, nil
}

// STIXSighting is what the STIX mapping needs of a sighting. A sighting without
// times was seen when it was reported.
func STIXSighting(x store.Sighting) stix.SightingData {
	first, last := x.At, x.At
	if x.FirstSeen != nil {
		first = *x.FirstSeen
		last = first
	}
	if x.LastSeen != nil && !x.LastSeen.Before(first) {
		last = *x.LastSeen
	}
	return stix.SightingData{ID: x.ID, Team: x.Team, IndicatorID: x.IndicatorID, Label: tlp.Label(x.TLP), Created: x.At,
		FirstSeen: first, LastSeen: last, Count: int(min(x.Count, maxSTIXCount))}
}
