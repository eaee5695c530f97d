package wire

import "time"

// OnCallVersion is the version of the "oncall.summary" payload this node speaks.
const OnCallVersion = 1

// OnCallSummary is the "oncall.summary" payload: who is on call in each of a team's
// rotations, by display name only (no contact details).
type OnCallSummary struct {
	Version      int              `json:"v"`
	Team         string           `json:"team"`
	At           time.Time        `json:"at"`
	Rotations    []OnCallRotation `json:"rotations"`
	HotlineEmail string           `json:"hotline_email,omitempty"`
}

// OnCallRotation is one rotation in a summary.
type OnCallRotation struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Timezone string      `json:"timezone"`
	Current  OnCallShift `json:"current"`
	Next     OnCallShift `json:"next"`
}

// OnCallShift is one shift: the person's display name and its times.
type OnCallShift struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (s *OnCallSummary) version() int { return s.Version }

// EncodeOnCallSummary encodes an "oncall.summary" payload at the current version.
func EncodeOnCallSummary(s OnCallSummary) ([]byte, error) {
	s.Version = OnCallVersion
	return encode(TypeOnCallSummary, s)
}

// DecodeOnCallSummary decodes an "oncall.summary" payload from a peer.
func DecodeOnCallSummary(b []byte) (OnCallSummary, error) {
	var s OnCallSummary
	err := decode(TypeOnCallSummary, b, &s, OnCallVersion)
	return s, err
}
