package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/egress"
	"csirtlink/internal/indicator"
	"csirtlink/internal/problem"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// MaxSTIXIndicators bounds the indicators one STIX export reads.
const MaxSTIXIndicators = MaxFeedIndicators

// IndicatorsExport is what a STIX export of shared indicators produced.
type IndicatorsExport struct {
	Body       []byte
	Indicators int
	Sightings  int
	// Kept counts the objects imports kept as they came (in an export of all).
	Kept int
	// Withheld counts the indicators, sightings and kept objects egress held back.
	Withheld int
}

// ExportSTIXIndicators is a STIX 2.1 bundle of the indicators listed (all we hold when
// all is set) for an audience: each indicator egress lets it have (revoked ones with
// revoked set), the sightings of them egress lets go (kind seen: STIX has no object for
// feedback such as a false positive), the identities of their authors and sighting
// teams and the TLP 2.0 marking definitions used. It is written to the audit log.
func (s *Service) ExportSTIXIndicators(ctx context.Context, actor string, ids []string, all bool, a Audience) (IndicatorsExport, error) {
	var ex IndicatorsExport
	var list []store.Indicator
	switch {
	case all && len(ids) > 0:
		return ex, problem.Invalid("ids", "name indicators or ask for all, not both")
	case all:
		l, err := s.st.ListIndicators(ctx, store.IndicatorFilter{Revoked: true, Now: s.clock.Now(), Limit: MaxSTIXIndicators})
		if err != nil {
			return ex, fmt.Errorf("stix export: %w", err)
		}
		for _, ind := range l {
			// A tombstone of something we never held whole never left with us.
			if tlp.Label(ind.TLP).Valid() && ind.Value != "" {
				list = append(list, ind)
			}
		}
	case len(ids) == 0 || len(ids) > 5000:
		return ex, problem.Invalid("ids", "name from 1 to 5000 indicators, or ask for all")
	default:
		for _, id := range ids {
			ind, err := s.st.GetIndicator(ctx, strings.TrimSpace(id))
			if errors.Is(err, store.ErrNotFound) || err == nil && ind.State == store.IndicatorWithdrawn {
				return ex, problem.NotFound("indicator %q not found", id)
			}
			if err != nil {
				return ex, err
			}
			list = append(list, ind)
		}
	}
	to := egress.Destination{Kind: egress.Export, Team: a.Team, Ceiling: a.Ceiling}
	var keep []store.Indicator
	byID := map[string]store.Indicator{}
	for _, ind := range list {
		if _, dup := byID[ind.ID]; dup {
			continue
		}
		if !egress.Decide(egress.Request{Item: indicator.ItemOf(ind), Context: egress.NewContext(s.dir, ind.Audience), To: to}).Full() {
			ex.Withheld++
			continue
		}
		keep = append(keep, ind)
		byID[ind.ID] = ind
	}
	var sightings []store.Sighting
	if len(keep) > 0 {
		ids := make([]string, len(keep))
		for i, ind := range keep {
			ids[i] = ind.ID
		}
		got, err := s.st.SightingsOf(ctx, ids)
		if err != nil {
			return ex, fmt.Errorf("stix export: %w", err)
		}
		for _, x := range got {
			if x.Kind != store.SightingSeen {
				continue
			}
			it, parts := indicator.SightingItem(x, byID[x.IndicatorID])
			if !egress.Decide(egress.Request{Item: it, Context: egress.NewContext(s.dir, parts), To: to}).Full() {
				ex.Withheld++
				continue
			}
			sightings = append(sightings, x)
		}
	}

	used := map[tlp.Label]bool{}
	var teams []string
	team := func(t string) {
		if !slices.Contains(teams, t) {
			teams = append(teams, t)
		}
	}
	var body []json.RawMessage
	for _, ind := range keep {
		d, err := indicator.STIXData(ind)
		if err != nil {
			return ex, fmt.Errorf("stix export: %w", err)
		}
		si, err := stix.IndicatorFrom(d)
		if err != nil {
			return ex, err
		}
		b, err := stix.Marshal(si)
		if err != nil {
			return ex, err
		}
		body = append(body, b)
		used[d.Label] = true
		team(ind.Author)
	}
	for _, x := range sightings {
		ss, err := stix.SightingFrom(indicator.STIXSighting(x))
		if err != nil {
			return ex, err
		}
		b, err := stix.Marshal(ss)
		if err != nil {
			return ex, err
		}
		body = append(body, b)
		used[tlp.Label(x.TLP)] = true
		team(x.Team)
	}
	var objs []json.RawMessage
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		if used[l] {
			b, err := stix.Marshal(stix.Marking(l))
			if err != nil {
				return ex, err
			}
			objs = append(objs, b)
		}
	}
	known := s.stixTeams()
	for _, t := range teams {
		tm, ok := known[t]
		if !ok {
			tm = stix.Team{ID: t}
		}
		b, err := stix.Marshal(stix.IdentityFor(tm))
		if err != nil {
			return ex, err
		}
		objs = append(objs, b)
	}
	if all {
		// What imports kept as it came goes out with everything we hold, each object
		// decided on its own label, its bytes unchanged.
		kept, withheld, err := s.keptFor(ctx, to, MaxSTIXIndicators)
		if err != nil {
			return ex, err
		}
		body = append(body, kept...)
		ex.Kept, ex.Withheld = len(kept), ex.Withheld+withheld
	}
	ex.Body = stix.EncodeBundle(stix.NewBundleID(), append(objs, body...))
	ex.Indicators, ex.Sightings = len(keep), len(sightings)
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, s.clock.Now(), actor, "indicator.export", "",
			fmt.Sprintf("stix for %s: %d indicators, %d sightings, %d kept objects, %d withheld", a, ex.Indicators, ex.Sightings, ex.Kept, ex.Withheld))
	})
	return ex, err
}

// STIXSkipped is an object of a bundle the indicator import did not map, and why.
type STIXSkipped struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Why  string `json:"why"`
}

// maxSkipped bounds the skipped objects listed (all are counted).
const maxSkipped = 1000

// STIXIndicatorsImported is what a STIX import as shared indicators did.
type STIXIndicatorsImported struct {
	indicator.ImportResult
	// Mapped counts the bundle's objects we mapped: indicators that became ours,
	// sightings recorded, TLP markings and identities read.
	Mapped int `json:"mapped"`
	// Sightings counts the sightings recorded (on indicators we hold).
	Sightings int `json:"sightings"`
	// NotMapped counts every other object; Skipped lists them (the first 1,000).
	NotMapped int           `json:"not_mapped"`
	Skipped   []STIXSkipped `json:"skipped,omitempty"`
	// Kept counts the objects kept as they came: every one not mapped, and every
	// indicator mapped with properties ours cannot hold (Partly). KeptNew counts those
	// not held already from an earlier import.
	Kept    int `json:"kept"`
	Partly  int `json:"partly_mapped"`
	KeptNew int `json:"kept_new"`
}

// STIXProvenanceTag is the tag an imported indicator carries.
const STIXProvenanceTag = "stix"

// ImportSTIXIndicators shares the bundle's indicators whose pattern is simple
// comparisons on observables we support as this team's indicators (one per
// observable; all in one transaction, none if any is refused), a value we share
// already getting a new version; and records the bundle's sightings of indicators we
// hold as this team's sightings, saying where they came from. label is the label of an
// object the bundle marks with no TLP ("" for DefaultLabel). Whatever else the bundle
// holds, and every indicator with properties ours cannot hold, is kept byte for byte
// (keepObjects) once the indicators are in: nothing is written if any is refused.
func (s *Service) ImportSTIXIndicators(ctx context.Context, a indicator.Actor, data []byte, label string) (STIXIndicatorsImported, error) {
	var res STIXIndicatorsImported
	if s.indicators == nil {
		return res, errors.New("exchange: shared indicators are not set up")
	}
	b, err := stix.ParseBundle(data)
	if err != nil {
		return res, problem.Invalid("document", "%v", err)
	}
	fallback := DefaultLabel
	if label != "" {
		if fallback, err = tlp.Parse(label); err != nil {
			return res, problem.Invalid("tlp", "%v", err)
		}
	}
	var kept []keep
	skip := func(o stix.Object, why string) {
		res.NotMapped++
		if len(res.Skipped) < maxSkipped {
			res.Skipped = append(res.Skipped, STIXSkipped{ID: o.ID, Type: o.Type, Why: why})
		}
		kept = append(kept, keep{obj: o, why: why})
	}
	known := map[string]bool{}
	for t := range s.stixTeams() {
		known[stix.TeamIdentityID(t)] = true
	}
	names := map[string]string{}    // identity id → name, for the sightings' provenance
	values := map[string][]string{} // indicator STIX id → the values it became
	ourIDs := map[string]string{}   // indicator STIX id → our id, for indicators that came from us
	var rows []indicator.Row
	var sightings []stix.Object
	for _, o := range b.Objects {
		switch o.Type {
		case "marking-definition":
			if _, ok := stix.TLPMarking(o.Raw); ok {
				res.Mapped++
			} else {
				skip(o, "not a TLP marking definition")
			}
		case "identity":
			var id struct {
				Name string `json:"name"`
			}
			json.Unmarshal(o.Raw, &id)
			names[o.ID] = id.Name
			res.Mapped++
			if !known[o.ID] {
				// Its name says who sighted; the organisation itself is not one we hold.
				res.Partly++
				kept = append(kept, keep{obj: o, why: "partly mapped: an organisation that is not a team of the federation, kept as it came"})
			}
		case "indicator":
			var ext struct {
				Refs []stix.ExternalReference `json:"external_references"`
			}
			json.Unmarshal(o.Raw, &ext)
			for _, r := range ext.Refs {
				if r.SourceName == "csirtlink" && stix.IndicatorID(r.ExternalID) == o.ID {
					ourIDs[o.ID] = r.ExternalID
				}
			}
			d, err := stix.ReadIndicator(o.Raw)
			if err != nil {
				skip(o, err.Error())
				continue
			}
			if d.Revoked {
				skip(o, "revoked")
				continue
			}
			l, ok := stix.StrictestMarking(markingRefs(o))
			if !ok {
				l = fallback
			}
			if l == tlp.Red {
				skip(o, "TLP:RED names no team an indicator could go to")
				continue
			}
			cat := d.Category
			if cat == "" || taxonomy.Valid(cat) != nil {
				cat = DefaultCategory
			}
			tags := slices.Clone(d.Tags)
			if !slices.Contains(tags, STIXProvenanceTag) {
				tags = append(tags, STIXProvenanceTag)
			}
			for _, ob := range d.Observables {
				in := indicator.Input{Type: string(ob.Type), Value: ob.Value, Category: cat, Confidence: d.Confidence, TLP: string(l),
					Tags: tags, Description: d.Description, ValidUntil: d.ValidUntil}
				if !d.ValidFrom.IsZero() {
					from := d.ValidFrom
					in.ValidFrom = &from
				}
				rows = append(rows, indicator.Row{Line: len(rows) + 1, Input: in})
				values[o.ID] = append(values[o.ID], ob.Value)
			}
			res.Mapped++
			if lost := lostProps(o.Raw); len(lost) > 0 {
				res.Partly++
				kept = append(kept, keep{obj: o, why: "partly mapped: " + strings.Join(lost, ", ") + " kept as it came"})
			}
		case "sighting":
			sightings = append(sightings, o)
		default:
			skip(o, "type "+o.Type+" is not mapped to shared indicators")
		}
	}
	r, err := s.indicators.ImportRows(ctx, a, rows, "indicator.import.stix")
	res.ImportResult = r
	if err != nil || !r.Imported && len(rows) > 0 {
		return res, err
	}
	for _, o := range sightings {
		ok, why, err := s.importSighting(ctx, a, b.ID, o, fallback, names, values, ourIDs)
		if err != nil {
			return res, err
		}
		if !ok {
			skip(o, why)
			continue
		}
		res.Mapped++
		res.Sightings++
	}
	if len(rows) == 0 {
		res.Imported = true
	}
	res.Kept = len(kept)
	if res.KeptNew, err = s.keepObjects(ctx, a.Name, b.ID, kept, fallback); err != nil {
		return res, err
	}
	return res, nil
}

// importSighting records one STIX sighting as this team's sighting of the indicator it
// is of, when we hold that indicator: ours exported earlier (its csirtlink external
// reference), or one this import made. The note says which bundle, sighting and teams
// it came from, and holds the id that makes a second import of it a no-op.
func (s *Service) importSighting(ctx context.Context, a indicator.Actor, bundle string, o stix.Object, fallback tlp.Label,
	names map[string]string, values map[string][]string, ourIDs map[string]string) (bool, string, error) {
	var sg stix.Sighting
	if err := json.Unmarshal(o.Raw, &sg); err != nil {
		return false, "not a sighting: " + err.Error(), nil
	}
	if sg.Revoked {
		return false, "revoked", nil
	}
	ours := map[string]bool{}
	for t := range s.stixTeams() {
		ours[stix.TeamIdentityID(t)] = true
	}
	fromFederation := len(sg.WhereSightedRefs) > 0
	for _, r := range sg.WhereSightedRefs {
		fromFederation = fromFederation && ours[r]
	}
	if fromFederation {
		// A team of ours reports its sightings through the federation itself: recorded
		// here, it would come back as a second observation by this team.
		return false, "sighted by teams of the federation, whose sightings travel through it", nil
	}
	var target []string
	if id, ok := ourIDs[sg.SightingOfRef]; ok {
		ind, err := s.st.GetIndicator(ctx, id)
		switch {
		case err == nil && ind.State == store.IndicatorActive:
			target = append(target, id)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return false, "", fmt.Errorf("stix import: %w", err)
		}
	}
	for _, v := range values[sg.SightingOfRef] {
		held, err := s.st.IndicatorsByValue(ctx, []string{v}, 10)
		if err != nil {
			return false, "", fmt.Errorf("stix import: %w", err)
		}
		for _, ind := range held {
			if ind.Author == s.dir.Self.ID && ind.State == store.IndicatorActive && !slices.Contains(target, ind.ID) {
				target = append(target, ind.ID)
			}
		}
	}
	if len(target) == 0 {
		return false, "of " + sg.SightingOfRef + ", which is no indicator we hold", nil
	}
	l, ok := stix.StrictestMarking(markingRefs(o))
	if !ok {
		l = fallback
	}
	var where []string
	for _, r := range sg.WhereSightedRefs {
		if n := names[r]; n != "" {
			where = append(where, n)
		} else {
			where = append(where, r)
		}
	}
	note := fmt.Sprintf("STIX %s from %s", o.ID, bundle)
	if len(where) > 0 {
		note += ", sighted by " + strings.Join(where, ", ")
	}
	in := indicator.SightingInput{Kind: store.SightingSeen, Count: int64(max(sg.Count, 1)), Note: note, TLP: string(l)}
	if sg.FirstSeen != nil {
		t := sg.FirstSeen.Time
		in.FirstSeen = &t
	}
	if sg.LastSeen != nil {
		t := sg.LastSeen.Time
		in.LastSeen = &t
	}
	recorded, why := false, ""
	for _, id := range target {
		had, err := s.st.SightingsOf(ctx, []string{id})
		if err != nil {
			return false, "", fmt.Errorf("stix import: %w", err)
		}
		if slices.ContainsFunc(had, func(x store.Sighting) bool { return strings.HasPrefix(x.Note, "STIX "+o.ID+" ") }) {
			recorded = true
			continue
		}
		if _, err := s.indicators.Report(ctx, a, id, in); err != nil {
			if p, ok := problem.As(err); ok {
				why = p.Message
				continue
			}
			return false, "", err
		}
		recorded = true
	}
	return recorded, why, nil
}
