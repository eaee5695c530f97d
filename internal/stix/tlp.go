package stix

import (
	"encoding/json"
	"time"

	"csirtlink/internal/tlp"
)

// TLP2Extension is the extension definition OASIS published for TLP 2.0 markings
// (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
const TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlp2Created is the created time of the published TLP 2.0 marking objects; it is part
// of those fixed objects, like their ids.
var tlp2Created = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)

// The fixed ids of the OASIS TLP 2.0 marking definitions.
var tlp2IDs = map[tlp.Label]string{
	tlp.Clear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	tlp.Green:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	tlp.Amber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	tlp.AmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	tlp.Red:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// tlp1IDs are the TLP 1.0 markings STIX 2.1 itself predefines (section 7.2.1.4).
// We never write them; a bundle marked with them is read as the nearest TLP 2.0
// label (WHITE is CLEAR).
var tlp1IDs = map[string]tlp.Label{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": tlp.Clear,
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": tlp.Green,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": tlp.Amber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": tlp.Red,
}

// MarkingDefinition is a STIX marking definition; we write only the TLP 2.0 ones.
type MarkingDefinition struct {
	Type        string                  `json:"type"`
	SpecVersion string                  `json:"spec_version"`
	ID          string                  `json:"id"`
	Created     Timestamp               `json:"created"`
	Name        string                  `json:"name"`
	Extensions  map[string]TLPExtension `json:"extensions"`
}

// TLPExtension is the property extension that carries the TLP 2.0 level.
type TLPExtension struct {
	ExtensionType string `json:"extension_type"`
	TLP           string `json:"tlp_2_0"`
}

// MarkingID is the id of the OASIS TLP 2.0 marking definition for l ("" for an
// invalid label).
func MarkingID(l tlp.Label) string { return tlp2IDs[l] }

// Marking is the OASIS TLP 2.0 marking definition object for l, as published.
func Marking(l tlp.Label) MarkingDefinition {
	return MarkingDefinition{
		Type: "marking-definition", SpecVersion: SpecVersion, ID: tlp2IDs[l], Created: At(tlp2Created),
		Name:       "TLP:" + string(l),
		Extensions: map[string]TLPExtension{TLP2Extension: {ExtensionType: "property-extension", TLP: lower(string(l))}},
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// LabelOf is the TLP label a marking definition id stands for: the TLP 2.0 ones, and
// the TLP 1.0 ones STIX predefines. ok is false for any other marking.
func LabelOf(markingID string) (l tlp.Label, ok bool) {
	for l, id := range tlp2IDs {
		if id == markingID {
			return l, true
		}
	}
	l, ok = tlp1IDs[markingID]
	return l, ok
}

// isTLPMarking reports whether raw is a marking definition we know: one of the TLP
// markings by its fixed id, with nothing in it that contradicts the id.
func isTLPMarking(raw json.RawMessage) (tlp.Label, bool) {
	var m struct {
		ID         string                  `json:"id"`
		Name       string                  `json:"name"`
		Extensions map[string]TLPExtension `json:"extensions"`
		Definition struct {
			TLP string `json:"tlp"`
		} `json:"definition"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return "", false
	}
	l, ok := LabelOf(m.ID)
	if !ok {
		return "", false
	}
	if e, has := m.Extensions[TLP2Extension]; has {
		return l, e.TLP == lower(string(l))
	}
	// TLP 1.0: definition.tlp is white/green/amber/red.
	want := lower(string(l))
	if l == tlp.Clear {
		want = "white"
	}
	return l, m.Definition.TLP == want
}

// TLPMarking reports whether raw is one of the TLP marking definitions we read (as
// PlanImport does), and its label.
func TLPMarking(raw json.RawMessage) (tlp.Label, bool) { return isTLPMarking(raw) }

// Markings returns the marking refs for an object labelled l.
func Markings(l tlp.Label) []string {
	if id := MarkingID(l); id != "" {
		return []string{id}
	}
	return nil
}

// StrictestMarking is the strictest TLP label among refs; ok is false if none of them
// is a TLP marking.
func StrictestMarking(refs []string) (l tlp.Label, ok bool) {
	for _, r := range refs {
		if x, known := LabelOf(r); known {
			if !ok {
				l, ok = x, true
			} else {
				l = tlp.Stricter(l, x)
			}
		}
	}
	return l, ok
}
