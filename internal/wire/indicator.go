package wire

import "time"

// Envelope types of shared indicators and sightings.
const (
	// TypeIndicatorUpsert is a version of an indicator, from its author to each team
	// its label allows.
	TypeIndicatorUpsert = "indicator.upsert"
	// TypeIndicatorTombstone is the author's revocation of an indicator (or its
	// withdrawal from a team no longer in the audience), to every team that got it.
	TypeIndicatorTombstone = "indicator.tombstone"
	// TypeSightingReport is a sighting or feedback, from the team that saw to the
	// author, and from the author on to other holders when the sighting's label allows.
	TypeSightingReport = "sighting.report"
)

// Versions of the indicator payloads this node speaks.
const (
	IndicatorVersion          = 1
	IndicatorTombstoneVersion = 1
	SightingVersion           = 1
)

// Indicator is the "indicator.upsert" payload: one version of an indicator, whole.
type Indicator struct {
	V           int        `json:"v"`
	ID          string     `json:"id"`
	Author      string     `json:"author"`
	Version     int64      `json:"version"`
	Type        string     `json:"type"`
	Value       string     `json:"value"`
	Category    string     `json:"category"`
	Confidence  int        `json:"confidence"`
	TLP         string     `json:"tlp"`
	ShareWith   []string   `json:"share_with"`
	Audience    []string   `json:"audience"`
	Incidents   []string   `json:"incidents"`
	Tags        []string   `json:"tags"`
	Description string     `json:"description"`
	ValidFrom   time.Time  `json:"valid_from"`
	ValidUntil  *time.Time `json:"valid_until"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	Modified    time.Time  `json:"modified"`
}

func (i *Indicator) version() int { return i.V }

// EncodeIndicator encodes an "indicator.upsert" payload at the current version.
func EncodeIndicator(i Indicator) ([]byte, error) {
	i.V = IndicatorVersion
	return encode(TypeIndicatorUpsert, i)
}

// DecodeIndicator decodes an "indicator.upsert" payload from a peer.
func DecodeIndicator(b []byte) (Indicator, error) {
	var i Indicator
	err := decode(TypeIndicatorUpsert, b, &i, IndicatorVersion)
	return i, err
}

// IndicatorTombstone is the "indicator.tombstone" payload: the indicator's id, author
// and the version that ends it; state is revoked (final) or withdrawn (the holder is
// no longer in the audience).
type IndicatorTombstone struct {
	V       int       `json:"v"`
	ID      string    `json:"id"`
	Author  string    `json:"author"`
	Version int64     `json:"version"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
}

func (t *IndicatorTombstone) version() int { return t.V }

// EncodeIndicatorTombstone encodes an "indicator.tombstone" payload.
func EncodeIndicatorTombstone(t IndicatorTombstone) ([]byte, error) {
	t.V = IndicatorTombstoneVersion
	return encode(TypeIndicatorTombstone, t)
}

// DecodeIndicatorTombstone decodes an "indicator.tombstone" payload from a peer.
func DecodeIndicatorTombstone(b []byte) (IndicatorTombstone, error) {
	var t IndicatorTombstone
	err := decode(TypeIndicatorTombstone, b, &t, IndicatorTombstoneVersion)
	return t, err
}

// Sighting is the "sighting.report" payload.
type Sighting struct {
	V               int        `json:"v"`
	ID              string     `json:"id"`
	IndicatorID     string     `json:"indicator_id"`
	IndicatorAuthor string     `json:"indicator_author"`
	Team            string     `json:"team"`
	Kind            string     `json:"kind"`
	Count           int64      `json:"count"`
	FirstSeen       *time.Time `json:"first_seen"`
	LastSeen        *time.Time `json:"last_seen"`
	Constituency    string     `json:"constituency"`
	Note            string     `json:"note"`
	TLP             string     `json:"tlp"`
	Recipients      []string   `json:"recipients"`
	ReportedBy      string     `json:"reported_by"`
	At              time.Time  `json:"at"`
}

func (s *Sighting) version() int { return s.V }

// EncodeSighting encodes a "sighting.report" payload.
func EncodeSighting(s Sighting) ([]byte, error) {
	s.V = SightingVersion
	return encode(TypeSightingReport, s)
}

// DecodeSighting decodes a "sighting.report" payload from a peer.
func DecodeSighting(b []byte) (Sighting, error) {
	var s Sighting
	err := decode(TypeSightingReport, b, &s, SightingVersion)
	return s, err
}
