package cvd

import (
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// The one place where this package's envelope payloads meet its records: a case's own
// fields ("cvd.case") and a timeline entry ("cvd.submit", "cvd.append").

func encodeCase(c Case) ([]byte, error) {
	w := wire.CVDCase{ID: c.ID, Owner: c.Owner, Title: c.Title, Description: c.Description, TLP: c.TLP, AdvisoryTLP: c.AdvisoryTLP,
		Participants: c.Participants, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Vulnerabilities: make([]wire.CVDVulnerability, len(c.Vulnerabilities)), Products: make([]wire.CVDProduct, len(c.Products))}
	for i, v := range c.Vulnerabilities {
		w.Vulnerabilities[i] = wire.CVDVulnerability{ID: v.ID, Title: v.Title, Description: v.Description, CWE: v.CWE, CVE: v.CVE,
			CVSSv3: v.CVSSv3, CVSSv4: v.CVSSv4}
	}
	for i, p := range c.Products {
		w.Products[i] = wire.CVDProduct{ID: p.ID, Vendor: p.Vendor, Product: p.Product, Versions: p.Versions, PURL: p.PURL, CPE: p.CPE}
	}
	return wire.EncodeCVDCase(w)
}

// decodeCase reads a case snapshot; it carries neither reporter, vendors, statuses nor
// embargo: those stay where they are or come from the timeline.
func decodeCase(env *envelope.Envelope) (Case, error) {
	w, err := wire.DecodeCVDCase(env.Payload)
	if err != nil {
		return Case{}, federation.Rejectf("%v", err)
	}
	c := Case{ID: w.ID, Owner: w.Owner, Title: w.Title, Description: w.Description, TLP: w.TLP, AdvisoryTLP: w.AdvisoryTLP,
		Participants: w.Participants, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
		Vulnerabilities: make([]Vulnerability, len(w.Vulnerabilities)), Products: make([]Product, len(w.Products))}
	for i, v := range w.Vulnerabilities {
		c.Vulnerabilities[i] = Vulnerability{ID: v.ID, Title: v.Title, Description: v.Description, CWE: v.CWE, CVE: v.CVE,
			CVSSv3: v.CVSSv3, CVSSv4: v.CVSSv4}
	}
	for i, p := range w.Products {
		c.Products[i] = Product{ID: p.ID, Vendor: p.Vendor, Product: p.Product, Versions: p.Versions, PURL: p.PURL, CPE: p.CPE}
	}
	score(&c)
	return c, nil
}

func encodeEntry(e store.CVDEntry) ([]byte, error) {
	return wire.EncodeCVDEntry(wire.CVDEntry{ID: e.ID, CaseID: e.CaseID, Position: e.Position, Team: e.Team, Author: e.Author,
		Kind: e.Kind, Body: e.Body, TLP: e.TLP, Data: e.Data, CreatedAt: e.CreatedAt, Signature: e.Signature})
}

func decodeEntry(env *envelope.Envelope) (store.CVDEntry, error) {
	w, err := wire.DecodeCVDEntry(env.Payload)
	if err != nil {
		return store.CVDEntry{}, federation.Rejectf("%v", err)
	}
	e := store.CVDEntry{ID: w.ID, CaseID: w.CaseID, Position: w.Position, Team: w.Team, Author: w.Author, Kind: w.Kind,
		Body: w.Body, TLP: w.TLP, Data: w.Data, CreatedAt: w.CreatedAt.UTC(), Signature: w.Signature}
	if e.CaseID != env.ObjectID {
		return e, federation.Rejectf("case entry %s: envelope names case %s", e.ID, env.ObjectID)
	}
	return e, nil
}
