package misp

import (
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

// tlpTags are the tlp: taxonomy's labels, TLP 2.0 and the TLP 1.0 white that older
// instances still write (it reads as CLEAR).
var tlpTags = map[string]tlp.Label{
	"tlp:clear": tlp.Clear, "tlp:white": tlp.Clear, "tlp:green": tlp.Green, "tlp:amber": tlp.Amber,
	"tlp:amber+strict": tlp.AmberStrict, "tlp:red": tlp.Red,
}

var tlpColours = map[tlp.Label]string{tlp.Clear: "#ffffff", tlp.Green: "#33ff00", tlp.Amber: "#ffc000",
	tlp.AmberStrict: "#ffc000", tlp.Red: "#ff2b2b"}

// TLPTag is the MISP tag of a label: tlp:clear, tlp:green, tlp:amber, tlp:amber+strict
// or tlp:red (the TLP 2.0 names of MISP's tlp taxonomy).
func TLPTag(l tlp.Label) Tag {
	t := true
	return Tag{Name: "tlp:" + strings.ToLower(string(l)), Colour: tlpColours[l], Exportable: &t}
}

// LabelOfTags is the strictest TLP label among tags (tlp:white counts as CLEAR); ok is
// false when none is a TLP label. Other tlp: tags (tlp:ex:chr, tlp:unclear) are not
// labels and stay ordinary tags.
func LabelOfTags(tags []Tag) (l tlp.Label, ok bool) {
	for _, t := range tags {
		if x, is := tlpTags[strings.ToLower(strings.TrimSpace(t.Name))]; is {
			if !ok || x.Rank() > l.Rank() {
				l = x
			}
			ok = true
		}
	}
	return l, ok
}

// IsTLPTag reports whether a tag is a TLP label.
func IsTLPTag(name string) bool {
	_, ok := tlpTags[strings.ToLower(strings.TrimSpace(name))]
	return ok
}

// DistributionLabel is the label a distribution level stands for: an event for our
// organisation only is AMBER (it stays with the receiving team and those it serves who
// need it), one for the community or the connected communities GREEN, one for all
// communities CLEAR, and one for a sharing group AMBER to the group's teams.
func DistributionLabel(d Num) tlp.Label {
	switch d {
	case AllCommunities:
		return tlp.Clear
	case CommunityOnly, Connected:
		return tlp.Green
	}
	return tlp.Amber
}

// DistributionOf is the distribution level we write for a label: CLEAR to all
// communities, GREEN to this community, stricter labels to the receiving organisation
// only. MISP's own levels are wider than TLP's, so a stricter label never widens.
func DistributionOf(l tlp.Label) Num {
	switch l {
	case tlp.Clear:
		return AllCommunities
	case tlp.Green:
		return CommunityOnly
	}
	return OrgOnly
}

// Our tags for fields MISP has no member for. A MISP instance keeps them as tags.
const (
	tagSeverity   = "csirtlink:severity"
	tagConfidence = "csirtlink:confidence"
	tagValidFrom  = "csirtlink:valid-from"
	tagValidUntil = "csirtlink:valid-until"
	tagAuthor     = "csirtlink:author"
	rsitPrefix    = "rsit:"
)

// machineTag is namespace:predicate="value", the form of MISP taxonomy tags.
func machineTag(pred, v string) Tag { return Tag{Name: pred + `="` + v + `"`} }

// readMachineTag returns the value of a namespace:predicate="value" tag for pred.
func readMachineTag(name, pred string) (string, bool) {
	v, ok := strings.CutPrefix(name, pred+"=")
	if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	return v[1 : len(v)-1], true
}

// CategoryTag is the RSIT taxonomy tag of one of our categories
// ("malicious-code/c2-server" is rsit:malicious-code="c2-server").
func CategoryTag(category string) (Tag, bool) {
	class, typ, ok := strings.Cut(category, "/")
	if !ok || class == "" || typ == "" {
		return Tag{}, false
	}
	return machineTag(rsitPrefix+class, typ), true
}

// categoryOf reads an RSIT tag back into our category.
func categoryOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, rsitPrefix)
	if !ok {
		return "", false
	}
	class, v, ok := strings.Cut(rest, "=")
	if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	return class + "/" + v[1:len(v)-1], true
}

// Severity and threat level: MISP's 1 High, 2 Medium, 3 Low, 4 Undefined. critical has
// no level of its own, so it goes as High with our severity tag beside it.
func threatLevel(severity string) Num {
	switch severity {
	case "critical", "high":
		return 1
	case "medium":
		return 2
	case "low":
		return 3
	}
	return 4
}

func severityOf(level Num) string {
	switch level {
	case 1:
		return "high"
	case 2:
		return "medium"
	case 3:
		return "low"
	}
	return ""
}

// attrTypes maps MISP attribute types to ours (the IP types by their content).
var attrTypes = map[string][]observable.Type{
	"ip-src": {observable.IPv4, observable.IPv6, observable.CIDR}, "ip-dst": {observable.IPv4, observable.IPv6, observable.CIDR},
	"domain": {observable.Domain}, "hostname": {observable.Domain}, "url": {observable.URL},
	"email": {observable.Email}, "email-src": {observable.Email}, "email-dst": {observable.Email},
	"md5": {observable.MD5}, "sha1": {observable.SHA1}, "sha256": {observable.SHA256},
}

// ObservableOf maps an attribute's type and value to one of our observables; ok is
// false for a type we do not map or a value that is not what its type says.
func ObservableOf(typ, value string) (observable.Observable, error) {
	want, ok := attrTypes[typ]
	if !ok {
		return observable.Observable{}, fmt.Errorf("attribute type %q is not one we map", typ)
	}
	t := ""
	if len(want) == 1 {
		t = string(want[0])
	}
	o, err := observable.Parse(t, value)
	if err != nil {
		return o, err
	}
	for _, w := range want {
		if o.Type == w {
			return o, nil
		}
	}
	return o, fmt.Errorf("%q is a %s, not a value for an attribute of type %s", value, o.Type, typ)
}

// AttributeType is the MISP type and category we write for one of our observables.
func AttributeType(t observable.Type) (typ, category string) {
	switch t {
	case observable.IPv4, observable.IPv6, observable.CIDR:
		return "ip-dst", "Network activity"
	case observable.Domain:
		return "domain", "Network activity"
	case observable.URL:
		return "url", "Network activity"
	case observable.Email:
		return "email", "Payload delivery"
	}
	return string(t), "Payload delivery"
}

// tsTag and readTS write and read a time in our tags.
func tsTag(pred string, t time.Time) Tag { return machineTag(pred, t.UTC().Format(time.RFC3339Nano)) }

func readTS(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err == nil
}
