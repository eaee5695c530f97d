package wire

import "time"

// EntryVersion is the version of the "entry.submit" and "entry.append" payloads this
// node speaks.
const EntryVersion = 1

// Entry is the "entry.submit" payload (a participant's signed entry for the coordinator
// to sequence; Position 0) and the "entry.append" payload (the same entry, positioned,
// relayed by the coordinator). Data is signed as the bytes it holds: for the kinds that
// carry data it is the JSON of StatusData, InvitationData or ObservableData, encoded by
// their Encode functions.
type Entry struct {
	Version    int       `json:"v"`
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Position   int64     `json:"position,omitempty"`
	Team       string    `json:"team"`
	Author     string    `json:"author"`
	Kind       string    `json:"kind"`
	Body       string    `json:"body"`
	TLP        string    `json:"tlp"`
	Recipients []string  `json:"recipients,omitempty"`
	Data       string    `json:"data,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Signature  []byte    `json:"signature"`
}

func (e *Entry) version() int { return e.Version }

// EncodeEntry encodes an entry payload at the current version.
func EncodeEntry(e Entry) ([]byte, error) {
	e.Version = EntryVersion
	return encode("entry", e)
}

// DecodeEntry decodes an "entry.submit" or "entry.append" payload from a peer.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	err := decode("entry", b, &e, EntryVersion)
	return e, err
}

// StatusData is the data of a status entry (the incident's status) and of a
// participation entry (the author team's own status).
type StatusData struct {
	Status string `json:"status"`
}

// InvitationData is the data of an invitation entry: the team that joins.
type InvitationData struct {
	Team string `json:"team"`
}

// ObservableData is the data of an observable entry: its type and canonical value (the
// entry's body).
type ObservableData struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// EncodeData encodes an entry's data (it has no version of its own: it is part of the
// entry's). The encoding is canonical: a receiver requires an entry's data to be
// exactly what this function makes of the data it decodes.
func EncodeData[T StatusData | InvitationData | ObservableData](d T) string {
	// Structs of plain strings cannot fail to encode.
	b, _ := encode("entry data", d)
	return string(b)
}

// DecodeData decodes an entry's data strictly.
func DecodeData[T StatusData | InvitationData | ObservableData](s string) (T, error) {
	var d T
	err := decodeStrict("entry data", []byte(s), &d)
	return d, err
}
