// Package iodef reads and writes IODEF 2.0 documents (RFC 7970), the CSIRTs' format for
// exchanging incident reports: an incident with its observables, its TLP as the
// restriction, and the reporting team's contact data. These are wire types for an
// outside format, mapped from the store types in export.go and to an import plan in
// decode.go; what an export may carry is decided before (internal/exchange).
package iodef

import (
	"encoding/xml"

	"csirtlink/internal/tlp"
)

// Namespace is IODEF 2.0's XML namespace.
const Namespace = "urn:ietf:params:xml:ns:iodef-2.0"

// Document is an IODEF-Document.
type Document struct {
	XMLName   xml.Name   `xml:"urn:ietf:params:xml:ns:iodef-2.0 IODEF-Document"`
	Version   string     `xml:"version,attr"`
	Lang      string     `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Incidents []Incident `xml:"Incident"`
}

// Incident is one incident; child elements in the order the schema's sequence wants.
type Incident struct {
	Purpose        string         `xml:"purpose,attr"`
	Status         string         `xml:"status,attr,omitempty"`
	Restriction    string         `xml:"restriction,attr,omitempty"`
	ExtRestriction string         `xml:"ext-restriction,attr,omitempty"`
	IncidentID     IncidentID     `xml:"IncidentID"`
	StartTime      string         `xml:"StartTime,omitempty"`
	ReportTime     string         `xml:"ReportTime,omitempty"`
	GenerationTime string         `xml:"GenerationTime"`
	Descriptions   []MLString     `xml:"Description"`
	Assessments    []Assessment   `xml:"Assessment"`
	Contacts       []Contact      `xml:"Contact"`
	IndicatorData  *IndicatorData `xml:"IndicatorData"`
	History        *History       `xml:"History"`
	AdditionalData []Extension    `xml:"AdditionalData"`
}

// IncidentID names an incident at the team (name) that issued it.
type IncidentID struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// MLString is text with an optional language.
type MLString struct {
	Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Value string `xml:",chardata"`
}

// Assessment says what kind of incident it is and how bad.
type Assessment struct {
	Categories   []MLString     `xml:"IncidentCategory"`
	SystemImpact []SystemImpact `xml:"SystemImpact"`
}

// SystemImpact carries the severity (low, medium, high).
type SystemImpact struct {
	Severity string `xml:"severity,attr,omitempty"`
	Type     string `xml:"type,attr,omitempty"`
}

// Contact is a team (or person) with its addresses.
type Contact struct {
	Role     string     `xml:"role,attr"`
	Type     string     `xml:"type,attr"`
	Names    []MLString `xml:"ContactName"`
	Emails   []Email    `xml:"Email"`
	Timezone string     `xml:"Timezone,omitempty"`
}

// Email is an address to write to.
type Email struct {
	Type string `xml:"type,attr,omitempty"`
	To   string `xml:"EmailTo"`
}

// IndicatorData holds the indicators (our observables).
type IndicatorData struct {
	Indicators []Indicator `xml:"Indicator"`
}

// Indicator is one observable, with its own restriction.
type Indicator struct {
	Restriction    string      `xml:"restriction,attr,omitempty"`
	ExtRestriction string      `xml:"ext-restriction,attr,omitempty"`
	ID             IndicatorID `xml:"IndicatorID"`
	Observable     Observable  `xml:"Observable"`
}

// IndicatorID is an xs:ID (an XML name) unique in the document.
type IndicatorID struct {
	Name    string `xml:"name,attr"`
	Version string `xml:"version,attr"`
	Value   string `xml:",chardata"`
}

// Observable is one of the choices the schema offers; we use Address, DomainData and
// FileData.
type Observable struct {
	Address    *Address    `xml:"Address"`
	DomainData *DomainData `xml:"DomainData"`
	FileData   *FileData   `xml:"FileData"`
}

// Address categories we write: ipv4-addr, ipv6-addr, ipv4-net, ipv6-net, e-mail,
// site-uri.
type Address struct {
	Category string `xml:"category,attr"`
	Value    string `xml:",chardata"`
}

// DomainData names a domain.
type DomainData struct {
	Name string `xml:"Name"`
}

// FileData describes files by hash.
type FileData struct {
	Files []File `xml:"File"`
}

// File is known by its hash.
type File struct {
	HashData HashData `xml:"HashData"`
}

// HashData holds hashes of the file's contents.
type HashData struct {
	Scope  string `xml:"scope,attr"`
	Hashes []Hash `xml:"Hash"`
}

// Hash is an XML Signature digest: method and base64 value.
type Hash struct {
	Method DigestMethod `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
	Value  string       `xml:"http://www.w3.org/2000/09/xmldsig# DigestValue"`
}

// DigestMethod names the algorithm by URI.
type DigestMethod struct {
	Algorithm string `xml:"Algorithm,attr"`
}

// History is the incident's log: our timeline comments.
type History struct {
	Items []HistoryItem `xml:"HistoryItem"`
}

// HistoryItem is one comment.
type HistoryItem struct {
	Action         string     `xml:"action,attr"`
	Restriction    string     `xml:"restriction,attr,omitempty"`
	ExtRestriction string     `xml:"ext-restriction,attr,omitempty"`
	DateTime       string     `xml:"DateTime"`
	Contact        *Contact   `xml:"Contact"`
	Descriptions   []MLString `xml:"Description"`
}

// Extension is AdditionalData: something the schema has no class for.
type Extension struct {
	DType   string `xml:"dtype,attr"`
	Meaning string `xml:"meaning,attr,omitempty"`
	Value   string `xml:",chardata"`
}

// Digest algorithm URIs (RFC 6931, XML Signature) for our hash types.
var digestURIs = map[string]string{
	"md5":    "http://www.w3.org/2001/04/xmldsig-more#md5",
	"sha1":   "http://www.w3.org/2000/09/xmldsig#sha1",
	"sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
}

// Restriction is an IODEF restriction for a TLP label: the TLP values RFC 7970 defines
// (white for CLEAR, as TLP 2.0 renamed it), and ext-value "amber+strict", which RFC
// 7970 predates.
func Restriction(l tlp.Label) (restriction, ext string) {
	switch l {
	case tlp.Clear:
		return "white", ""
	case tlp.Green:
		return "green", ""
	case tlp.Amber:
		return "amber", ""
	case tlp.AmberStrict:
		return "ext-value", "amber+strict"
	default:
		return "red", ""
	}
}

// LabelOf reads a restriction as a TLP label. IODEF's own values map to the label
// that allows no more: public to CLEAR, partner to AMBER (a closed community of
// affected parties), need-to-know to AMBER+STRICT (inside the organisation), private
// to RED. An ext-value we do not know is read as RED. inherited is the label when the
// attribute is absent ("" on an Incident: the schema's default, private).
func LabelOf(restriction, ext string, inherited tlp.Label) tlp.Label {
	switch restriction {
	case "":
		if inherited != "" {
			return inherited
		}
		return tlp.Red
	case "default":
		if inherited != "" {
			return inherited
		}
		return tlp.Red
	case "white", "public":
		return tlp.Clear
	case "green":
		return tlp.Green
	case "amber", "partner":
		return tlp.Amber
	case "need-to-know":
		return tlp.AmberStrict
	case "ext-value":
		if l, err := tlp.Parse(ext); err == nil {
			return l
		}
	}
	return tlp.Red
}
