package wire

import "time"

// PageVersion is the version of the "page.send" payload this node speaks.
const PageVersion = 1

// Page is the "page.send" payload: a page as it travels to each of its recipients,
// with the list of them and without the sender's record of its deliveries.
type Page struct {
	Version     int       `json:"v"`
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          []string  `json:"to"`
	Severity    string    `json:"severity"`
	Summary     string    `json:"summary"`
	Details     string    `json:"details"`
	IncidentID  string    `json:"incident_id,omitempty"`
	TLP         string    `json:"tlp"`
	Drill       bool      `json:"drill"`
	CommCheckID string    `json:"commcheck_id,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

func (p *Page) version() int { return p.Version }

// EncodePage encodes a "page.send" payload at the current version.
func EncodePage(p Page) ([]byte, error) {
	p.Version = PageVersion
	return encode(TypePageSend, p)
}

// DecodePage decodes a "page.send" payload from a peer.
func DecodePage(b []byte) (Page, error) {
	var p Page
	err := decode(TypePageSend, b, &p, PageVersion)
	return p, err
}
