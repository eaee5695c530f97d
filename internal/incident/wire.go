package incident

import (
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// The one place where this package's envelope payloads meet its records: an incident
// snapshot ("incident.upsert") and a timeline entry ("entry.submit", "entry.append").

func encodeIncident(in store.Incident) ([]byte, error) {
	w := wire.Incident{ID: in.ID, Coordinator: in.Coordinator, Title: in.Title, Description: in.Description,
		Category: in.Category, Severity: in.Severity, TLP: in.TLP, Status: in.Status, CreatedBy: in.CreatedBy,
		CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt, Participants: make([]wire.Participant, len(in.Participants))}
	for i, p := range in.Participants {
		w.Participants[i] = wire.Participant{Team: p.Team, Status: p.Status, AcknowledgedAt: p.AcknowledgedAt, UpdatedAt: p.UpdatedAt}
	}
	return wire.EncodeIncident(w)
}

func decodeIncident(env *envelope.Envelope) (store.Incident, error) {
	w, err := wire.DecodeIncident(env.Payload)
	if err != nil {
		return store.Incident{}, federation.Rejectf("%v", err)
	}
	in := store.Incident{ID: w.ID, Coordinator: w.Coordinator, Title: w.Title, Description: w.Description,
		Category: w.Category, Severity: w.Severity, TLP: w.TLP, Status: w.Status, CreatedBy: w.CreatedBy,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Participants: make([]store.Participant, len(w.Participants))}
	for i, p := range w.Participants {
		in.Participants[i] = store.Participant{Team: p.Team, Status: p.Status, AcknowledgedAt: p.AcknowledgedAt, UpdatedAt: p.UpdatedAt}
	}
	return in, nil
}

func encodeEntry(e store.Entry) ([]byte, error) {
	return wire.EncodeEntry(wire.Entry{ID: e.ID, IncidentID: e.IncidentID, Position: e.Position, Team: e.Team,
		Author: e.Author, Kind: e.Kind, Body: e.Body, TLP: e.TLP, Recipients: e.Recipients, Data: e.Data,
		CreatedAt: e.CreatedAt, Signature: e.Signature})
}

func decodeEntry(env *envelope.Envelope) (store.Entry, error) {
	w, err := wire.DecodeEntry(env.Payload)
	if err != nil {
		return store.Entry{}, federation.Rejectf("%v", err)
	}
	e := store.Entry{ID: w.ID, IncidentID: w.IncidentID, Position: w.Position, Team: w.Team, Author: w.Author,
		Kind: w.Kind, Body: w.Body, TLP: w.TLP, Recipients: w.Recipients, Data: w.Data, CreatedAt: w.CreatedAt,
		Signature: w.Signature}
	if e.IncidentID != env.ObjectID {
		return e, federation.Rejectf("entry %s: envelope names incident %s", e.ID, env.ObjectID)
	}
	return e, nil
}
