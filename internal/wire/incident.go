package wire

import "time"

// IncidentVersion is the version of the "incident.upsert" payload this node speaks.
const IncidentVersion = 1

// Incident is the "incident.upsert" payload: the coordinator's snapshot of an
// incident's own fields and its participants, never its timeline.
type Incident struct {
	Version      int           `json:"v"`
	ID           string        `json:"id"`
	Coordinator  string        `json:"coordinator"`
	Title        string        `json:"title"`
	Description  string        `json:"description"`
	Category     string        `json:"category"`
	Severity     string        `json:"severity"`
	TLP          string        `json:"tlp"`
	Status       string        `json:"status"`
	CreatedBy    string        `json:"created_by"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Participants []Participant `json:"participants"`
}

// Participant is a team taking part, with its status as the coordinator knows it.
type Participant struct {
	Team           string     `json:"team"`
	Status         string     `json:"status"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func (in *Incident) version() int { return in.Version }

// EncodeIncident encodes an "incident.upsert" payload at the current version.
func EncodeIncident(in Incident) ([]byte, error) {
	in.Version = IncidentVersion
	return encode(TypeIncidentUpsert, in)
}

// DecodeIncident decodes an "incident.upsert" payload from a peer.
func DecodeIncident(b []byte) (Incident, error) {
	var in Incident
	err := decode(TypeIncidentUpsert, b, &in, IncidentVersion)
	return in, err
}
