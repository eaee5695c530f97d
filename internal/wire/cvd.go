package wire

import "time"

// Vulnerability coordination (internal/cvd): the case's own fields from its owning
// coordinator, and its signed timeline entries (embargo, vendor statuses, hand-off).
const (
	TypeCVDCase   = "cvd.case"
	TypeCVDSubmit = "cvd.submit"
	TypeCVDAppend = "cvd.append"
)

// CVDCaseVersion is the version of the "cvd.case" payload this node speaks;
// CVDEntryVersion that of "cvd.submit" and "cvd.append".
const (
	CVDCaseVersion  = 1
	CVDEntryVersion = 1
)

// CVDCase is the "cvd.case" payload: the owning coordinator's snapshot of a case's own
// fields. It never carries the reporter (kept at the owner), vendors (kept at each
// vendor's coordinator) or the timeline (entries travel on their own).
type CVDCase struct {
	Version         int                `json:"v"`
	ID              string             `json:"id"`
	Owner           string             `json:"owner"`
	Title           string             `json:"title"`
	Description     string             `json:"description"`
	TLP             string             `json:"tlp"`
	AdvisoryTLP     string             `json:"advisory_tlp"`
	Participants    []string           `json:"participants"`
	Vulnerabilities []CVDVulnerability `json:"vulnerabilities"`
	Products        []CVDProduct       `json:"products"`
	CreatedBy       string             `json:"created_by"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
}

// CVDVulnerability is one vulnerability of a case; scores are computed by each node
// from the vectors, never sent.
type CVDVulnerability struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	CWE         string `json:"cwe,omitempty"`
	CVE         string `json:"cve,omitempty"`
	CVSSv3      string `json:"cvss_v3,omitempty"`
	CVSSv4      string `json:"cvss_v4,omitempty"`
}

// CVDProduct is one affected product: its vendor's public name, the product, the
// versions as a range, and identifiers where known.
type CVDProduct struct {
	ID       string `json:"id"`
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Versions string `json:"versions"`
	PURL     string `json:"purl,omitempty"`
	CPE      string `json:"cpe,omitempty"`
}

func (c *CVDCase) version() int { return c.Version }

// EncodeCVDCase encodes a "cvd.case" payload at the current version.
func EncodeCVDCase(c CVDCase) ([]byte, error) {
	c.Version = CVDCaseVersion
	return encode(TypeCVDCase, c)
}

// DecodeCVDCase decodes a "cvd.case" payload from a peer.
func DecodeCVDCase(b []byte) (CVDCase, error) {
	var c CVDCase
	err := decode(TypeCVDCase, b, &c, CVDCaseVersion)
	return c, err
}

// CVDEntry is the "cvd.submit" payload (a participating coordinator's signed entry for
// the owner to sequence; Position 0) and the "cvd.append" payload (the same entry,
// positioned, relayed by the owner). Data is signed as the bytes it holds: the JSON of
// CVDData, exactly as EncodeCVDData makes it.
type CVDEntry struct {
	Version   int       `json:"v"`
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	Position  int64     `json:"position,omitempty"`
	Team      string    `json:"team"`
	Author    string    `json:"author"`
	Kind      string    `json:"kind"`
	Body      string    `json:"body"`
	TLP       string    `json:"tlp"`
	Data      string    `json:"data,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Signature []byte    `json:"signature"`
}

func (e *CVDEntry) version() int { return e.Version }

// EncodeCVDEntry encodes a "cvd.submit" or "cvd.append" payload at the current version.
func EncodeCVDEntry(e CVDEntry) ([]byte, error) {
	e.Version = CVDEntryVersion
	return encode("cvd entry", e)
}

// DecodeCVDEntry decodes a "cvd.submit" or "cvd.append" payload from a peer.
func DecodeCVDEntry(b []byte) (CVDEntry, error) {
	var e CVDEntry
	err := decode("cvd entry", b, &e, CVDEntryVersion)
	return e, err
}

// CVDData is the data of a case's timeline entry; each kind sets its own fields: an
// embargo proposal, agreement or objection the instant it is about; a hand-off the team
// it goes to; a vendor status the vulnerability and product, the status, its
// justification or fixed version, and the vendor's name only when the vendor or its
// coordinator shares it (otherwise an opaque reference).
type CVDData struct {
	PublishAt     *time.Time `json:"publish_at,omitempty"`
	Team          string     `json:"team,omitempty"`
	Vulnerability string     `json:"vulnerability,omitempty"`
	Product       string     `json:"product,omitempty"`
	Status        string     `json:"status,omitempty"`
	Justification string     `json:"justification,omitempty"`
	FixedVersion  string     `json:"fixed_version,omitempty"`
	VendorRef     string     `json:"vendor_ref,omitempty"`
	Vendor        string     `json:"vendor,omitempty"`
}

// EncodeCVDData encodes an entry's data canonically: a receiver requires an entry's
// data to be exactly what this function makes of the data it decodes.
func EncodeCVDData(d CVDData) string {
	b, _ := encode("cvd entry data", d)
	return string(b)
}

// DecodeCVDData decodes an entry's data strictly.
func DecodeCVDData(s string) (CVDData, error) {
	var d CVDData
	err := decodeStrict("cvd entry data", []byte(s), &d)
	return d, err
}
