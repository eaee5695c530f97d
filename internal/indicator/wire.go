package indicator

import (
	"time"

	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// The one place where this package's envelope payloads meet its records: an indicator
// version ("indicator.upsert"), a tombstone ("indicator.tombstone") and a sighting
// ("sighting.report").

func toWire(ind store.Indicator) wire.Indicator {
	return wire.Indicator{ID: ind.ID, Author: ind.Author, Version: ind.Version, Type: ind.Type, Value: ind.Value,
		Category: ind.Category, Confidence: ind.Confidence, TLP: ind.TLP, ShareWith: nonNil(ind.ShareWith),
		Audience: nonNil(ind.Audience), Incidents: nonNil(ind.Incidents), Tags: nonNil(ind.Tags), Description: ind.Description,
		ValidFrom: ind.ValidFrom, ValidUntil: ind.ValidUntil, CreatedBy: ind.CreatedBy, CreatedAt: ind.CreatedAt, Modified: ind.Modified}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func decodeIndicator(b []byte) (store.Indicator, error) {
	w, err := wire.DecodeIndicator(b)
	if err != nil {
		return store.Indicator{}, federation.Rejectf("%v", err)
	}
	return store.Indicator{ID: w.ID, Author: w.Author, Version: w.Version, State: store.IndicatorActive, Type: w.Type,
		Value: w.Value, Category: w.Category, Confidence: w.Confidence, TLP: w.TLP, ShareWith: nilIfEmpty(w.ShareWith),
		Audience: nilIfEmpty(w.Audience), Incidents: nilIfEmpty(w.Incidents), Tags: nilIfEmpty(w.Tags), Description: w.Description,
		ValidFrom: w.ValidFrom.UTC(), ValidUntil: utcPtr(w.ValidUntil), CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt.UTC(),
		Modified: w.Modified.UTC()}, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func sightingToWire(x store.Sighting, author string) wire.Sighting {
	return wire.Sighting{ID: x.ID, IndicatorID: x.IndicatorID, IndicatorAuthor: author, Team: x.Team, Kind: x.Kind,
		Count: x.Count, FirstSeen: x.FirstSeen, LastSeen: x.LastSeen, Constituency: x.Constituency, Note: x.Note,
		TLP: x.TLP, Recipients: nonNil(x.Recipients), ReportedBy: x.ReportedBy, At: x.At}
}

func decodeSighting(b []byte) (store.Sighting, string, error) {
	w, err := wire.DecodeSighting(b)
	if err != nil {
		return store.Sighting{}, "", federation.Rejectf("%v", err)
	}
	return store.Sighting{ID: w.ID, IndicatorID: w.IndicatorID, Team: w.Team, Kind: w.Kind, Count: w.Count,
		FirstSeen: utcPtr(w.FirstSeen), LastSeen: utcPtr(w.LastSeen), Constituency: w.Constituency, Note: w.Note, TLP: w.TLP,
		Recipients: nilIfEmpty(w.Recipients), ReportedBy: w.ReportedBy, At: w.At.UTC()}, w.IndicatorAuthor, nil
}
