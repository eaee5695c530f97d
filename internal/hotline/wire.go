package hotline

import (
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// The one place where the hotline's envelope payloads meet its records: a page
// ("page.send"), a delivery's state and a resolution ("page.state", "page.resolve"),
// and an on-call summary ("oncall.summary").

func encodePage(p store.Page, to []string) ([]byte, error) {
	return wire.EncodePage(wire.Page{ID: p.ID, From: p.From, To: to, Severity: p.Severity, Summary: p.Summary,
		Details: p.Details, IncidentID: p.IncidentID, TLP: p.TLP, Drill: p.Drill, CommCheckID: p.CommCheckID,
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt})
}

// decodePage returns the page as a receiver creates it (no deliveries, not resolved)
// and whom it was sent to.
func decodePage(env *envelope.Envelope) (store.Page, []string, error) {
	w, err := wire.DecodePage(env.Payload)
	if err != nil {
		return store.Page{}, nil, federation.Rejectf("%v", err)
	}
	return store.Page{ID: w.ID, From: w.From, Severity: w.Severity, Summary: w.Summary, Details: w.Details,
		IncidentID: w.IncidentID, TLP: w.TLP, Drill: w.Drill, CommCheckID: w.CommCheckID, CreatedBy: w.CreatedBy,
		CreatedAt: w.CreatedAt}, w.To, nil
}

func encodeState(c stateChange) ([]byte, error) {
	return wire.EncodePageState(wire.PageState{PageID: c.PageID, Team: c.Team, State: c.State, At: c.At,
		Channel: c.Channel, By: c.By, Via: c.Via, Statement: c.Statement})
}

func decodeState(env *envelope.Envelope) (stateChange, error) {
	w, err := wire.DecodePageState(env.Payload)
	if err != nil {
		return stateChange{}, federation.Rejectf("%v", err)
	}
	return stateChange{PageID: w.PageID, Team: w.Team, State: w.State, At: w.At, Channel: w.Channel, By: w.By,
		Via: w.Via, Statement: w.Statement}, nil
}

func encodeSummary(sum OnCallSummary) ([]byte, error) {
	w := wire.OnCallSummary{Team: sum.Team, At: sum.At, HotlineEmail: sum.HotlineEmail,
		Rotations: make([]wire.OnCallRotation, len(sum.Rotations))}
	for i, r := range sum.Rotations {
		w.Rotations[i] = wire.OnCallRotation{ID: r.ID, Name: r.Name, Timezone: r.Timezone,
			Current: wire.OnCallShift(r.Current), Next: wire.OnCallShift(r.Next)}
	}
	return wire.EncodeOnCallSummary(w)
}

func decodeSummary(env *envelope.Envelope) (OnCallSummary, error) {
	w, err := wire.DecodeOnCallSummary(env.Payload)
	if err != nil {
		return OnCallSummary{}, federation.Rejectf("%v", err)
	}
	sum := OnCallSummary{Team: w.Team, At: w.At, HotlineEmail: w.HotlineEmail, Rotations: make([]SummaryRotation, len(w.Rotations))}
	for i, r := range w.Rotations {
		sum.Rotations[i] = SummaryRotation{ID: r.ID, Name: r.Name, Timezone: r.Timezone,
			Current: SummaryShift(r.Current), Next: SummaryShift(r.Next)}
	}
	return sum, nil
}
