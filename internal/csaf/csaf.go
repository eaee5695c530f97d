// Package csaf is the CSAF 2.0 document (OASIS Common Security Advisory Framework,
// csaf_security_advisory and csaf_vex profiles) as this node writes it, and the
// provider's distribution of its advisories (section 7: provider-metadata.json, the
// folder per year, index.txt, changes.csv, ROLIE feeds, hashes and signatures).
//
// The types hold what the advisories use, not the whole schema; every document made
// from them is run through the validator library in the tests (schema and the
// mandatory tests of section 6.1).
package csaf

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// Document categories this node writes.
const (
	SecurityAdvisory = "csaf_security_advisory"
	VEX              = "csaf_vex"
)

// Document is a CSAF 2.0 document.
type Document struct {
	Document        Meta            `json:"document"`
	ProductTree     *ProductTree    `json:"product_tree,omitempty"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// Meta is the document's "document" object.
type Meta struct {
	Category     string       `json:"category"`
	CSAFVersion  string       `json:"csaf_version"`
	Distribution Distribution `json:"distribution"`
	Lang         string       `json:"lang"`
	Notes        []Note       `json:"notes,omitempty"`
	Publisher    Publisher    `json:"publisher"`
	References   []Reference  `json:"references,omitempty"`
	Title        string       `json:"title"`
	Tracking     Tracking     `json:"tracking"`
}

// Distribution is the document's TLP.
type Distribution struct {
	TLP TLP `json:"tlp"`
}

// TLP is a CSAF 2.0 label: TLP 1.0's words (WHITE, GREEN, AMBER, RED).
type TLP struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Note is a note of the document or a vulnerability.
type Note struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	Title    string `json:"title,omitempty"`
}

// Publisher is who publishes the document.
type Publisher struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Contact   string `json:"contact_details,omitempty"`
}

// Reference is a link to another resource: here, the advisories of the same case in
// other languages.
type Reference struct {
	Category string `json:"category"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

// Tracking is the document's id, status, versions and history.
type Tracking struct {
	CurrentReleaseDate time.Time  `json:"current_release_date"`
	Generator          *Generator `json:"generator,omitempty"`
	ID                 string     `json:"id"`
	InitialReleaseDate time.Time  `json:"initial_release_date"`
	RevisionHistory    []Revision `json:"revision_history"`
	Status             string     `json:"status"`
	Version            string     `json:"version"`
}

// Generator names the program that wrote the document.
type Generator struct {
	Engine Engine `json:"engine"`
}

// Engine is the generator's name.
type Engine struct {
	Name string `json:"name"`
}

// Revision is one entry of the revision history.
type Revision struct {
	Date    time.Time `json:"date"`
	Number  string    `json:"number"`
	Summary string    `json:"summary"`
}

// ProductTree is the products the document speaks of.
type ProductTree struct {
	Branches []Branch `json:"branches"`
}

// Branch is one level of the product tree: vendor, product name, version range.
type Branch struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	Branches []Branch `json:"branches,omitempty"`
	Product  *Product `json:"product,omitempty"`
}

// Product is a leaf of the product tree.
type Product struct {
	Name      string  `json:"name"`
	ProductID string  `json:"product_id"`
	Helper    *Helper `json:"product_identification_helper,omitempty"`
}

// Helper identifies a product by package URL or CPE.
type Helper struct {
	CPE  string `json:"cpe,omitempty"`
	PURL string `json:"purl,omitempty"`
}

// Vulnerability is one vulnerability of the document.
type Vulnerability struct {
	CVE           string         `json:"cve,omitempty"`
	CWE           *CWE           `json:"cwe,omitempty"`
	IDs           []ID           `json:"ids,omitempty"`
	Notes         []Note         `json:"notes,omitempty"`
	ProductStatus *ProductStatus `json:"product_status,omitempty"`
	Flags         []Flag         `json:"flags,omitempty"`
	Remediations  []Remediation  `json:"remediations,omitempty"`
	Scores        []Score        `json:"scores,omitempty"`
	Threats       []Threat       `json:"threats,omitempty"`
	Title         string         `json:"title,omitempty"`
}

// CWE is a weakness by id and its catalog name.
type CWE struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ID is a vulnerability id other than a CVE.
type ID struct {
	SystemName string `json:"system_name"`
	Text       string `json:"text"`
}

// ProductStatus lists products by their status for a vulnerability.
type ProductStatus struct {
	Fixed              []string `json:"fixed,omitempty"`
	KnownAffected      []string `json:"known_affected,omitempty"`
	KnownNotAffected   []string `json:"known_not_affected,omitempty"`
	UnderInvestigation []string `json:"under_investigation,omitempty"`
}

// Flag is a VEX justification for products not affected.
type Flag struct {
	Label      string   `json:"label"`
	ProductIDs []string `json:"product_ids"`
}

// Remediation is what to do about affected products.
type Remediation struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids"`
}

// Threat is a statement of impact.
type Threat struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
}

// Score is a CVSS 3.1 score for products.
type Score struct {
	Products []string `json:"products"`
	CVSSv3   CVSSv3   `json:"cvss_v3"`
}

// CVSSv3 is a CVSS 3.1 base score.
type CVSSv3 struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
	BaseSeverity string  `json:"baseSeverity"`
}

// Label is the CSAF 2.0 word for a TLP 2.0 label. CSAF 2.0 predates TLP 2.0: CLEAR is
// its WHITE, and AMBER+STRICT, which it lacks, becomes RED (the nearer label that
// allows no more).
func Label(tlp string) TLP {
	l := map[string]string{"CLEAR": "WHITE", "GREEN": "GREEN", "AMBER": "AMBER", "AMBER+STRICT": "RED", "RED": "RED"}[tlp]
	if l == "" {
		l = "RED"
	}
	return TLP{Label: l, URL: "https://www.first.org/tlp/"}
}

//go:embed cwe.json
var cweJSON []byte

// cweNames is the CWE catalog the CSAF validator checks names against (mandatory test
// 6.1.11); cwe.json is made from the validator library by testdata/cwe.mjs.
var cweNames = func() map[string]string {
	m := map[string]string{}
	if err := json.Unmarshal(cweJSON, &m); err != nil {
		panic("csaf: cwe.json: " + err.Error())
	}
	return m
}()

// CWEName is a weakness's catalog name, and whether the catalog has it.
func CWEName(id string) (string, bool) {
	n, ok := cweNames[id]
	return n, ok
}

var unsafeName = regexp.MustCompile(`[^+\-a-z0-9]+`)

// FileName is the file a document is published as (section 5.1): its tracking id in
// lower case, every run of other characters than +, -, a-z and 0-9 made one "_".
func FileName(trackingID string) string {
	return unsafeName.ReplaceAllString(strings.ToLower(trackingID), "_") + ".json"
}
