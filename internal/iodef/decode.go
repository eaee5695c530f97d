package iodef

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

// Limits on a document from outside.
const (
	MaxBytes    = 4 << 20
	maxDepth    = 64
	maxElements = 100000
)

// DecodeError is a document we refuse, naming where.
type DecodeError struct {
	Field string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "iodef: " + e.Msg
	}
	return "iodef: " + e.Field + ": " + e.Msg
}

func decodeErr(field, format string, args ...any) error {
	return &DecodeError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Plan is what an import makes of a document: the fields of one new incident, its
// observables and comments, and the parts we do not map, kept as XML text.
type Plan struct {
	IncidentName, IncidentID               string
	Title, Description, Category, Severity string
	Label                                  tlp.Label
	Observables                            []Item
	Notes                                  []Item
	Raw                                    []string
	Mapped                                 int
}

// Item is an observable or a comment, with the label its restriction gives.
type Item struct {
	Observable observable.Observable
	Text       string
	Label      tlp.Label
}

// Kept is how many parts the import keeps unmapped.
func (p Plan) Kept() int { return len(p.Raw) }

// rawElem is an element we keep as XML text.
type rawElem struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   string     `xml:",innerxml"`
}

func (r rawElem) text() string {
	var b strings.Builder
	b.WriteString("<" + r.XMLName.Local)
	if r.XMLName.Space != "" {
		b.WriteString(` xmlns="`)
		xml.EscapeText(&b, []byte(r.XMLName.Space))
		b.WriteString(`"`)
	}
	for _, a := range r.Attrs {
		if a.Name.Space != "" && a.Name.Space != "xmlns" {
			continue
		}
		b.WriteString(" " + a.Name.Local + `="`)
		xml.EscapeText(&b, []byte(a.Value))
		b.WriteString(`"`)
	}
	b.WriteString(">" + r.Inner + "</" + r.XMLName.Local + ">")
	return b.String()
}

type inDoc struct {
	XMLName   xml.Name
	Version   string       `xml:"version,attr"`
	Incidents []inIncident `xml:"urn:ietf:params:xml:ns:iodef-2.0 Incident"`
	Other     []rawElem    `xml:",any"`
}

type inIncident struct {
	Restriction    string         `xml:"restriction,attr"`
	ExtRestriction string         `xml:"ext-restriction,attr"`
	IncidentID     IncidentID     `xml:"urn:ietf:params:xml:ns:iodef-2.0 IncidentID"`
	GenerationTime string         `xml:"urn:ietf:params:xml:ns:iodef-2.0 GenerationTime"`
	StartTime      string         `xml:"urn:ietf:params:xml:ns:iodef-2.0 StartTime"`
	ReportTime     string         `xml:"urn:ietf:params:xml:ns:iodef-2.0 ReportTime"`
	Descriptions   []MLString     `xml:"urn:ietf:params:xml:ns:iodef-2.0 Description"`
	Assessments    []inAssessment `xml:"urn:ietf:params:xml:ns:iodef-2.0 Assessment"`
	IndicatorData  *inIndicators  `xml:"urn:ietf:params:xml:ns:iodef-2.0 IndicatorData"`
	History        *inHistory     `xml:"urn:ietf:params:xml:ns:iodef-2.0 History"`
	EventData      []inEventData  `xml:"urn:ietf:params:xml:ns:iodef-2.0 EventData"`
	AdditionalData []struct {
		Meaning string     `xml:"meaning,attr"`
		Value   string     `xml:",chardata"`
		Attrs   []xml.Attr `xml:",any,attr"`
		Inner   string     `xml:",innerxml"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 AdditionalData"`
	Other []rawElem `xml:",any"`
}

type inAssessment struct {
	Categories []MLString `xml:"urn:ietf:params:xml:ns:iodef-2.0 IncidentCategory"`
	Impacts    []struct {
		Severity string `xml:"severity,attr"`
		Inner    string `xml:",innerxml"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 SystemImpact"`
	Other []rawElem  `xml:",any"`
	Inner string     `xml:",innerxml"`
	Attrs []xml.Attr `xml:",any,attr"`
}

type inIndicators struct {
	Indicators []inIndicator `xml:"urn:ietf:params:xml:ns:iodef-2.0 Indicator"`
}

type inIndicator struct {
	Restriction    string        `xml:"restriction,attr"`
	ExtRestriction string        `xml:"ext-restriction,attr"`
	Observable     *inObservable `xml:"urn:ietf:params:xml:ns:iodef-2.0 Observable"`
	Inner          string        `xml:",innerxml"`
	Attrs          []xml.Attr    `xml:",any,attr"`
}

type inObservable struct {
	Address    *Address `xml:"urn:ietf:params:xml:ns:iodef-2.0 Address"`
	DomainData *struct {
		Name string `xml:"urn:ietf:params:xml:ns:iodef-2.0 Name"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 DomainData"`
	FileData *struct {
		Files []struct {
			HashData struct {
				Hashes []struct {
					Method DigestMethod `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
					Value  string       `xml:"http://www.w3.org/2000/09/xmldsig# DigestValue"`
				} `xml:"urn:ietf:params:xml:ns:iodef-2.0 Hash"`
			} `xml:"urn:ietf:params:xml:ns:iodef-2.0 HashData"`
		} `xml:"urn:ietf:params:xml:ns:iodef-2.0 File"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 FileData"`
}

type inHistory struct {
	Items []struct {
		Restriction    string     `xml:"restriction,attr"`
		ExtRestriction string     `xml:"ext-restriction,attr"`
		Descriptions   []MLString `xml:"urn:ietf:params:xml:ns:iodef-2.0 Description"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 HistoryItem"`
}

// inEventData reads the addresses and domains of an EventData's systems (where
// IODEF reports usually put them) and keeps the whole element too: it says more (flows,
// roles, counts) than observables do.
type inEventData struct {
	Restriction    string `xml:"restriction,attr"`
	ExtRestriction string `xml:"ext-restriction,attr"`
	Flows          []struct {
		Systems []struct {
			Node struct {
				Addresses []Address `xml:"urn:ietf:params:xml:ns:iodef-2.0 Address"`
				Domains   []struct {
					Name string `xml:"urn:ietf:params:xml:ns:iodef-2.0 Name"`
				} `xml:"urn:ietf:params:xml:ns:iodef-2.0 DomainData"`
			} `xml:"urn:ietf:params:xml:ns:iodef-2.0 Node"`
		} `xml:"urn:ietf:params:xml:ns:iodef-2.0 System"`
	} `xml:"urn:ietf:params:xml:ns:iodef-2.0 Flow"`
	Inner string     `xml:",innerxml"`
	Attrs []xml.Attr `xml:",any,attr"`
}

// scan checks the token stream before anything is decoded: well-formed, no DOCTYPE
// (so no entity declarations, and nothing to expand), bounded depth and size.
func scan(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, elements := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return decodeErr("", "not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth > maxDepth {
				return decodeErr("", "elements nested more than %d deep", maxDepth)
			}
			if elements > maxElements {
				return decodeErr("", "more than %d elements", maxElements)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return decodeErr("", "a <!%s> declaration; IODEF documents have no DTD", firstWord(t))
		case xml.ProcInst:
			if t.Target == "xml" && bytes.Contains(bytes.ToLower(t.Inst), []byte("encoding")) && !bytes.Contains(bytes.ToLower(t.Inst), []byte("utf-8")) {
				return decodeErr("", "only UTF-8 documents are read")
			}
		}
	}
	return nil
}

func firstWord(b []byte) string {
	s := strings.Fields(string(b))
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Decode reads an IODEF 2.0 document of at most MaxBytes and plans its import: the
// first Incident's fields, observables (indicators, and the addresses and domains of
// its EventData) and history; what we do not map (its contacts, methods, event data,
// other incidents, ...) is kept as XML text.
func Decode(r io.Reader) (Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return Plan{}, fmt.Errorf("iodef: read: %w", err)
	}
	return Parse(data)
}

// Parse is Decode over bytes already read.
func Parse(data []byte) (Plan, error) {
	if len(data) > MaxBytes {
		return Plan{}, decodeErr("", "larger than %d bytes", MaxBytes)
	}
	if !utf8.Valid(data) {
		return Plan{}, decodeErr("", "not valid UTF-8")
	}
	if err := scan(data); err != nil {
		return Plan{}, err
	}
	var doc inDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		return Plan{}, decodeErr("", "%v", err)
	}
	switch {
	case doc.XMLName.Local != "IODEF-Document":
		return Plan{}, decodeErr("IODEF-Document", "the root element is %s", doc.XMLName.Local)
	case doc.XMLName.Space != Namespace:
		return Plan{}, decodeErr("IODEF-Document", "namespace %q; only IODEF 2.0 (%s) is read", doc.XMLName.Space, Namespace)
	case len(doc.Incidents) == 0:
		return Plan{}, decodeErr("Incident", "the document has no incident")
	}
	in := doc.Incidents[0]
	if strings.TrimSpace(in.IncidentID.Value) == "" {
		return Plan{}, decodeErr("IncidentID", "required")
	}
	p := Plan{IncidentName: in.IncidentID.Name, IncidentID: strings.TrimSpace(in.IncidentID.Value)}
	p.Label = LabelOf(in.Restriction, in.ExtRestriction, "")
	if len(in.Descriptions) > 0 {
		p.Title = strings.TrimSpace(in.Descriptions[0].Value)
		var rest []string
		for _, d := range in.Descriptions[1:] {
			rest = append(rest, d.Value)
		}
		p.Description = strings.Join(rest, "\n\n")
	}
	p.Mapped++ // the incident's own fields
	for _, a := range in.Assessments {
		for _, c := range a.Categories {
			if p.Category == "" {
				p.Category = strings.TrimSpace(c.Value)
			}
		}
		for _, im := range a.Impacts {
			if p.Severity == "" {
				p.Severity = im.Severity
			}
		}
		if len(a.Other) > 0 || len(a.Categories) > 1 || len(a.Impacts) != 1 || strings.TrimSpace(a.Impacts[0].Inner) != "" {
			p.Raw = append(p.Raw, rawElem{XMLName: xml.Name{Space: Namespace, Local: "Assessment"}, Attrs: a.Attrs, Inner: a.Inner}.text())
		} else {
			p.Mapped++
		}
	}
	if in.IndicatorData != nil {
		for _, ind := range in.IndicatorData.Indicators {
			l := LabelOf(ind.Restriction, ind.ExtRestriction, p.Label)
			obs, ok := ind.Observable.observables()
			if !ok {
				p.Raw = append(p.Raw, rawElem{XMLName: xml.Name{Space: Namespace, Local: "Indicator"}, Attrs: ind.Attrs, Inner: ind.Inner}.text())
				continue
			}
			for _, o := range obs {
				p.Observables = append(p.Observables, Item{Observable: o, Label: l})
			}
			p.Mapped++
		}
	}
	if in.History != nil {
		for _, h := range in.History.Items {
			var text []string
			for _, d := range h.Descriptions {
				text = append(text, d.Value)
			}
			p.Notes = append(p.Notes, Item{Text: strings.Join(text, "\n\n"), Label: LabelOf(h.Restriction, h.ExtRestriction, p.Label)})
			p.Mapped++
		}
	}
	for _, ev := range in.EventData {
		l := LabelOf(ev.Restriction, ev.ExtRestriction, p.Label)
		for _, f := range ev.Flows {
			for _, s := range f.Systems {
				for _, a := range s.Node.Addresses {
					if o, ok := addressObservable(a); ok {
						p.Observables = append(p.Observables, Item{Observable: o, Label: l})
					}
				}
				for _, d := range s.Node.Domains {
					if o, err := observable.Parse(string(observable.Domain), d.Name); err == nil {
						p.Observables = append(p.Observables, Item{Observable: o, Label: l})
					}
				}
			}
		}
		p.Raw = append(p.Raw, rawElem{XMLName: xml.Name{Space: Namespace, Local: "EventData"}, Attrs: ev.Attrs, Inner: ev.Inner}.text())
	}
	for _, ad := range in.AdditionalData {
		// Our own export writes a severity SystemImpact cannot hold (critical) here.
		if ad.Meaning == "csirtlink-severity" && ad.Inner == ad.Value {
			p.Severity = strings.TrimSpace(ad.Value)
			p.Mapped++
			continue
		}
		attrs := append([]xml.Attr{{Name: xml.Name{Local: "meaning"}, Value: ad.Meaning}}, ad.Attrs...)
		if ad.Meaning == "" {
			attrs = ad.Attrs
		}
		p.Raw = append(p.Raw, rawElem{XMLName: xml.Name{Space: Namespace, Local: "AdditionalData"}, Attrs: attrs, Inner: ad.Inner}.text())
	}
	for _, o := range in.Other {
		p.Raw = append(p.Raw, o.text())
	}
	for i := 1; i < len(doc.Incidents); i++ {
		p.Raw = append(p.Raw, fmt.Sprintf("<Incident> %d of %d, with IncidentID %s %q, not imported: one document makes one incident here",
			i+1, len(doc.Incidents), doc.Incidents[i].IncidentID.Name, doc.Incidents[i].IncidentID.Value))
	}
	for _, o := range doc.Other {
		p.Raw = append(p.Raw, o.text())
	}
	return p, nil
}

func (o *inObservable) observables() ([]observable.Observable, bool) {
	switch {
	case o == nil:
		return nil, false
	case o.Address != nil:
		ob, ok := addressObservable(*o.Address)
		return []observable.Observable{ob}, ok
	case o.DomainData != nil:
		ob, err := observable.Parse(string(observable.Domain), o.DomainData.Name)
		return []observable.Observable{ob}, err == nil
	case o.FileData != nil:
		var out []observable.Observable
		for _, f := range o.FileData.Files {
			for _, h := range f.HashData.Hashes {
				ob, err := hashObservable(h.Method.Algorithm, h.Value)
				if err != nil {
					return nil, false
				}
				out = append(out, ob)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

var addressTypes = map[string]observable.Type{"ipv4-addr": observable.IPv4, "ipv6-addr": observable.IPv6, "ipv4-net": observable.CIDR,
	"ipv6-net": observable.CIDR, "e-mail": observable.Email, "site-uri": observable.URL}

func addressObservable(a Address) (observable.Observable, bool) {
	cat := a.Category
	if cat == "" {
		cat = "ipv6-addr" // the schema's default
	}
	t, ok := addressTypes[cat]
	if !ok {
		return observable.Observable{}, false
	}
	o, err := observable.Parse(string(t), strings.TrimSpace(a.Value))
	return o, err == nil
}

func hashObservable(algorithm, value string) (observable.Observable, error) {
	for typ, uri := range digestURIs {
		if uri == algorithm {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
			if err != nil {
				return observable.Observable{}, err
			}
			return observable.Parse(typ, hex.EncodeToString(b))
		}
	}
	return observable.Observable{}, errors.New("unknown digest algorithm")
}
