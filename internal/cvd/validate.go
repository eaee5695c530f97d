package cvd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/cvss"
	"csirtlink/internal/envelope"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

var (
	caseIDPattern  = regexp.MustCompile(`^([a-z0-9][a-z0-9_-]{0,63})-(20[0-9]{2})-v([0-9]{4,9})$`)
	vulnIDPattern  = regexp.MustCompile(`^v[0-9]{1,4}$`)
	prodIDPattern  = regexp.MustCompile(`^p[0-9]{1,4}$`)
	cvePattern     = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)
	cwePattern     = regexp.MustCompile(`^CWE-[1-9][0-9]{0,5}$`)
	entryIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	refPattern     = regexp.MustCompile(`^[a-z0-9]{1,64}$`)
)

// validCase checks a case's own fields: Create runs it on a new case, applyCase on
// every snapshot an owner sends. holder is the team that is to hold it, which must take
// part. It also computes the scores from the vectors, so a peer's scores are never
// taken on trust.
func validCase(c Case, holder string, now time.Time) error {
	switch {
	case len(c.Participants) == 0:
		return problem.Invalid("participants", "required")
	case len(c.Participants) > maxParticipants:
		return problem.Invalid("participants", "more than %d teams", maxParticipants)
	case !envelope.ValidTeamID(c.Owner):
		return problem.Invalid("owner", "%q is not a team id", c.Owner)
	}
	m := caseIDPattern.FindStringSubmatch(c.ID)
	if m == nil || !slices.Contains(c.Participants, m[1]) {
		return problem.Invalid("id", "%q is not a case id", c.ID)
	}
	for i, p := range c.Participants {
		switch {
		case !envelope.ValidTeamID(p):
			return problem.Invalid("participants", "%q is not a team id", p)
		case slices.Contains(c.Participants[:i], p):
			return problem.Invalid("participants", "%q is listed twice", p)
		}
	}
	if !slices.Contains(c.Participants, c.Owner) {
		return problem.Invalid("participants", "does not include %s", c.Owner)
	}
	if !slices.Contains(c.Participants, holder) {
		return problem.Invalid("participants", "does not include %s", holder)
	}
	if err := problem.CheckLine("title", c.Title, maxTitle, true); err != nil {
		return err
	}
	if err := problem.CheckText("description", c.Description, maxDescription, false); err != nil {
		return err
	}
	if !tlp.Label(c.TLP).Valid() {
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if !tlp.Label(c.AdvisoryTLP).Valid() {
		return problem.Invalid("advisory_tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if err := problem.CheckLine("created_by", c.CreatedBy, maxName, true); err != nil {
		return err
	}
	latest := now.Add(envelope.Window)
	if err := problem.CheckTime("created_at", c.CreatedAt, latest); err != nil {
		return err
	}
	if err := problem.CheckTime("updated_at", c.UpdatedAt, latest); err != nil {
		return err
	}
	if err := validVulnerabilities(c.Vulnerabilities); err != nil {
		return err
	}
	return validProducts(c.Products)
}

func validVulnerabilities(vs []Vulnerability) error {
	switch {
	case len(vs) == 0:
		return problem.Invalid("vulnerabilities", "required")
	case len(vs) > maxVulns:
		return problem.Invalid("vulnerabilities", "more than %d entries", maxVulns)
	}
	for i, v := range vs {
		f := func(name string) string { return fmt.Sprintf("vulnerabilities[%d].%s", i, name) }
		if !vulnIDPattern.MatchString(v.ID) || slices.ContainsFunc(vs[:i], func(o Vulnerability) bool { return o.ID == v.ID }) {
			return problem.Invalid(f("id"), "%q is listed twice or not an id", v.ID)
		}
		if err := problem.CheckLine(f("title"), v.Title, maxTitle, true); err != nil {
			return err
		}
		if err := problem.CheckText(f("description"), v.Description, maxDescription, false); err != nil {
			return err
		}
		if v.CWE != "" && !cwePattern.MatchString(v.CWE) {
			return problem.Invalid(f("cwe"), "must be CWE-<number>")
		}
		if v.CVE != "" {
			if !cvePattern.MatchString(v.CVE) {
				return problem.Invalid(f("cve"), "must be CVE-<year>-<number>")
			}
			if slices.ContainsFunc(vs[:i], func(o Vulnerability) bool { return o.CVE == v.CVE }) {
				return problem.Invalid(f("cve"), "%q is listed twice", v.CVE)
			}
		}
		if err := validVector(f("cvss_v3"), v.CVSSv3, "3.1"); err != nil {
			return err
		}
		if err := validVector(f("cvss_v4"), v.CVSSv4, "4.0"); err != nil {
			return err
		}
	}
	return nil
}

func validVector(field, vec, version string) error {
	if vec == "" {
		return nil
	}
	v, err := cvss.Parse(vec)
	if err != nil {
		return problem.Invalid(field, "%v", err)
	}
	if v.Version != version {
		return problem.Invalid(field, "must be a CVSS %s vector", version)
	}
	return nil
}

// score sets each vulnerability's CVSS 3.1 and 4.0 scores from its vectors.
func score(c *Case) {
	for i := range c.Vulnerabilities {
		v := &c.Vulnerabilities[i]
		v.ScoreV3, v.SeverityV3, v.ScoreV4, v.SeverityV4 = 0, "", 0, ""
		if p, err := cvss.Parse(v.CVSSv3); err == nil {
			v.ScoreV3, v.SeverityV3, _ = p.BaseScore()
		}
		if p, err := cvss.Parse(v.CVSSv4); err == nil {
			v.ScoreV4, v.SeverityV4, _ = p.Score40()
		}
	}
}

func validProducts(ps []Product) error {
	if len(ps) > maxProducts {
		return problem.Invalid("products", "more than %d entries", maxProducts)
	}
	for i, p := range ps {
		f := func(name string) string { return fmt.Sprintf("products[%d].%s", i, name) }
		if !prodIDPattern.MatchString(p.ID) || slices.ContainsFunc(ps[:i], func(o Product) bool { return o.ID == p.ID }) {
			return problem.Invalid(f("id"), "%q is listed twice or not an id", p.ID)
		}
		for name, v := range map[string]string{"vendor": p.Vendor, "product": p.Product, "versions": p.Versions} {
			if err := problem.CheckLine(f(name), v, maxName, true); err != nil {
				return err
			}
		}
		if p.PURL != "" && (!strings.HasPrefix(p.PURL, "pkg:") || problem.CheckLine(f("purl"), p.PURL, 1000, true) != nil || strings.ContainsAny(p.PURL, " \"<>")) {
			return problem.Invalid(f("purl"), "must be a package URL (pkg:type/namespace/name)")
		}
		if p.CPE != "" && (!strings.HasPrefix(p.CPE, "cpe:2.3:") && !strings.HasPrefix(p.CPE, "cpe:/") || problem.CheckLine(f("cpe"), p.CPE, 1000, true) != nil || strings.ContainsAny(p.CPE, " \"<>")) {
			return problem.Invalid(f("cpe"), "must be a CPE 2.3 name (cpe:2.3:…)")
		}
	}
	return nil
}

// validEntry checks an entry of a case's timeline: a local write and a peer's copy
// alike.
func validEntry(e store.CVDEntry, c Case, now time.Time) error {
	switch {
	case !entryIDPattern.MatchString(e.ID):
		return problem.Invalid("id", "must be 32 hexadecimal digits")
	case e.CaseID != c.ID:
		return problem.Invalid("case_id", "%q is not a case id", e.CaseID)
	case !slices.Contains(c.Participants, e.Team):
		return problem.Invalid("team", "%s is not a participant", e.Team)
	case !slices.Contains(kinds, e.Kind):
		return problem.Invalid("kind", "unknown kind %q", e.Kind)
	case !tlp.Label(e.TLP).Valid():
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	case !e.CreatedAt.Equal(e.CreatedAt.Truncate(time.Microsecond)):
		return problem.Invalid("created_at", "finer than a microsecond")
	}
	if err := problem.CheckLine("author", e.Author, maxName, true); err != nil {
		return err
	}
	if err := problem.CheckText("body", e.Body, maxBody, false); err != nil {
		return err
	}
	if err := problem.CheckTime("created_at", e.CreatedAt, now.Add(envelope.Window)); err != nil {
		return err
	}
	if e.Data != "" {
		d, err := wire.DecodeCVDData(e.Data)
		if err != nil || wire.EncodeCVDData(d) != e.Data {
			return problem.Invalid("data", "not in canonical form")
		}
		if d.PublishAt != nil && d.PublishAt.Year() < 2000 {
			return problem.Invalid("publish_at", "must be a time between 2000 and now")
		}
	}
	return nil
}

// validStatus checks a vendor status against the case it is about.
func validStatus(c Case, st Status) error {
	switch {
	case !slices.ContainsFunc(c.Vulnerabilities, func(v Vulnerability) bool { return v.ID == st.Vulnerability }):
		return problem.Invalid("vulnerability", "%q is not in case %s", st.Vulnerability, c.ID)
	case !slices.ContainsFunc(c.Products, func(p Product) bool { return p.ID == st.Product }):
		return problem.Invalid("product", "%q is not in case %s", st.Product, c.ID)
	case !slices.Contains(Statuses, st.Status):
		return problem.Invalid("status", "must be one of %s", strings.Join(Statuses, ", "))
	case (st.Status == NotAffected) != (st.Justification != ""):
		return problem.Invalid("justification", "required for not_affected, and only for it")
	case st.Justification != "" && !slices.Contains(Justifications, st.Justification):
		return problem.Invalid("justification", "must be one of %s", strings.Join(Justifications, ", "))
	case (st.Status == Fixed) != (st.FixedVersion != ""):
		return problem.Invalid("fixed_version", "required for fixed, and only for it")
	case !refPattern.MatchString(st.VendorRef):
		return problem.Invalid("vendor_ref", "%q is not an id", st.VendorRef)
	}
	if err := problem.CheckLine("fixed_version", st.FixedVersion, maxName, false); err != nil {
		return err
	}
	return problem.CheckLine("vendor", st.Vendor, maxName, false)
}
