package cvd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/csaf"
	"csirtlink/internal/problem"
)

// Languages are the advisory languages: CSAF's document.lang for each console
// language.
var Languages = []string{"en", "zh", "ja", "ko"}

// advisoryLang is the advisory language of a team's first console language.
func advisoryLang(langs []string) string {
	if len(langs) > 0 {
		l := strings.ToLower(langs[0])
		for _, a := range Languages {
			if l == a || strings.HasPrefix(l, a+"-") {
				return a
			}
		}
	}
	return "en"
}

// ParseLang reads a language a client asks for: en, zh (or zh-Hans), ja, ko.
func ParseLang(s string) (string, error) {
	if s == "" {
		return "en", nil
	}
	l := advisoryLang([]string{s})
	if l == "en" && !strings.HasPrefix(strings.ToLower(s), "en") {
		return "", problem.Invalid("lang", "unknown language")
	}
	return l, nil
}

// Published lists the advisories a team publishes for a case: one in the team's own
// language, and the owner's in English too.
func (s *Service) published(c Case, teamID string) []string {
	t, ok := s.dir.Team(teamID)
	if !ok {
		return nil
	}
	langs := []string{advisoryLang(t.Languages)}
	if teamID == c.Owner && langs[0] != "en" {
		langs = append(langs, "en")
	}
	return langs
}

// MyLanguages are the languages this node publishes the case's advisory in.
func (s *Service) MyLanguages(c Case) []string { return s.published(c, s.Self()) }

// TrackingID is the tracking id of the case's advisory in a language (a VEX document
// has its own).
func TrackingID(c Case, lang, category string) string {
	id := c.ID + "-" + lang
	if category == csaf.VEX {
		id += "-vex"
	}
	return strings.ToUpper(id)
}

// releaseDate is when the advisory is (or is to be) released: the emergency's time,
// the agreed instant, or the case's last change while nothing is agreed.
func releaseDate(c Case) time.Time {
	switch {
	case c.Embargo.Emergency != nil:
		return c.Embargo.Emergency.At
	case c.Embargo.PublishAt != nil:
		return *c.Embargo.PublishAt
	}
	return c.UpdatedAt
}

// tlpFolder is the provider folder a label's advisories are in (section 7.1.9).
func tlpFolder(label string) string { return strings.ToLower(csaf.Label(label).Label) }

// AdvisoryPath is where a team's node publishes the case's advisory in a language,
// under its /.well-known/csaf/.
func AdvisoryPath(c Case, lang, category string) string {
	return fmt.Sprintf("%s/%d/%s", tlpFolder(c.AdvisoryTLP), releaseDate(c).Year(), csaf.FileName(TrackingID(c, lang, category)))
}

// text is the advisory's fixed wording in each language.
var text = map[string]map[string]string{
	"en": {"summary": "Summary", "linked": "This advisory in %s, published by %s", "unassessed": "Not yet assessed by its vendor: %s",
		"statement": "Vendor statement", "fix": "Update to %s or later.", "nofix": "No fix is available yet; contact the vendor.",
		"coordination": "Coordinated by %s with %s.", "description": "Description", "en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean"},
	"zh": {"summary": "摘要", "linked": "本公告的%s版本，由%s发布", "unassessed": "厂商尚未评估：%s",
		"statement": "厂商声明", "fix": "请更新到%s或更高版本。", "nofix": "暂无修复；请联系厂商。",
		"coordination": "由%s与%s协调。", "description": "描述", "en": "英文", "zh": "中文", "ja": "日文", "ko": "韩文"},
	"ja": {"summary": "概要", "linked": "%sによる本アドバイザリ（%s）", "unassessed": "ベンダー未評価：%s",
		"statement": "ベンダーの声明", "fix": "%s 以降に更新してください。", "nofix": "修正はまだありません。ベンダーに問い合わせてください。",
		"coordination": "%sが%sと調整しました。", "description": "説明", "en": "英語", "zh": "中国語", "ja": "日本語", "ko": "韓国語"},
	"ko": {"summary": "요약", "linked": "%s 본 권고문, %s 발행", "unassessed": "벤더 미평가: %s",
		"statement": "벤더 성명", "fix": "%s 이상으로 업데이트하십시오.", "nofix": "아직 수정이 없습니다. 벤더에 문의하십시오.",
		"coordination": "%s이(가) %s와(과) 조정했습니다.", "description": "설명", "en": "영어", "zh": "중국어", "ja": "일본어", "ko": "한국어"},
}

// Advisory is the case as a CSAF 2.0 document in lang: csaf_security_advisory, or
// csaf_vex for the product statuses. It links the advisories every participant
// publishes in the other languages (references), so that a reader finds them all.
//
// The free texts are the language's own (Texts) where this node wrote them, the case's
// otherwise.
func (s *Service) Advisory(c Case, lang, category string) csaf.Document {
	t := text[lang]
	own := c.Advisories[lang]
	owner, _ := s.dir.Team(c.Owner)
	self := s.dir.Self
	namespace := self.URL
	if namespace == "" {
		namespace = "https://" + self.ID + ".invalid"
	}
	at := releaseDate(c).UTC().Truncate(time.Second)
	doc := csaf.Document{Document: csaf.Meta{Category: category, CSAFVersion: "2.0", Distribution: csaf.Distribution{TLP: csaf.Label(c.AdvisoryTLP)},
		Lang: lang, Publisher: csaf.Publisher{Category: "coordinator", Name: self.Name, Namespace: namespace, Contact: self.HotlineEmail},
		Title: or(own.Title, c.Title),
		Tracking: csaf.Tracking{ID: TrackingID(c, lang, category), Status: "final", Version: "1", InitialReleaseDate: at, CurrentReleaseDate: at,
			Generator:       &csaf.Generator{Engine: csaf.Engine{Name: "csirtlink"}},
			RevisionHistory: []csaf.Revision{{Date: at, Number: "1", Summary: "Initial version"}}}}}
	others := slices.DeleteFunc(slices.Clone(c.Participants), func(p string) bool { return p == c.Owner })
	summary := fmt.Sprintf(t["coordination"], owner.Name, strings.Join(others, ", "))
	if d := or(own.Summary, c.Description); d != "" {
		summary = d + "\n\n" + summary
	}
	doc.Document.Notes = []csaf.Note{{Category: "summary", Title: t["summary"], Text: summary}}
	for _, p := range c.Participants {
		pt, ok := s.dir.Team(p)
		if !ok || pt.URL == "" {
			continue
		}
		for _, l := range s.published(c, p) {
			if p == self.ID && l == lang {
				continue
			}
			doc.Document.References = append(doc.Document.References, csaf.Reference{Category: "external",
				Summary: fmt.Sprintf(t["linked"], t[l], pt.Name),
				URL:     strings.TrimSuffix(pt.URL, "/") + "/.well-known/csaf/" + AdvisoryPath(c, l, category)})
		}
	}
	// The product tree: vendor → product → version range, and each fixed version.
	pid := func(p string) string { return "CSAFPID-" + p }
	matrix := Matrix(c)
	var vendors []csaf.Branch
	for _, p := range c.Products {
		prod := csaf.Product{Name: p.Vendor + " " + p.Product + " " + p.Versions, ProductID: pid(p.ID)}
		if p.PURL != "" || p.CPE != "" {
			prod.Helper = &csaf.Helper{PURL: p.PURL, CPE: p.CPE}
		}
		versions := []csaf.Branch{{Category: "product_version_range", Name: p.Versions, Product: &prod}}
		for _, fv := range fixedVersions(matrix, p.ID) {
			versions = append(versions, csaf.Branch{Category: "product_version", Name: fv,
				Product: &csaf.Product{Name: p.Vendor + " " + p.Product + " " + fv, ProductID: fixedID(p.ID, fv)}})
		}
		name := csaf.Branch{Category: "product_name", Name: p.Product, Branches: versions}
		i := slices.IndexFunc(vendors, func(b csaf.Branch) bool { return b.Name == p.Vendor })
		if i < 0 {
			vendors = append(vendors, csaf.Branch{Category: "vendor", Name: p.Vendor})
			i = len(vendors) - 1
		}
		if j := slices.IndexFunc(vendors[i].Branches, func(b csaf.Branch) bool { return b.Name == p.Product }); j >= 0 {
			vendors[i].Branches[j].Branches = append(vendors[i].Branches[j].Branches, versions...)
		} else {
			vendors[i].Branches = append(vendors[i].Branches, name)
		}
	}
	if len(vendors) > 0 {
		doc.ProductTree = &csaf.ProductTree{Branches: vendors}
	}
	for _, v := range c.Vulnerabilities {
		vt := own.Vulnerabilities[v.ID]
		cv := csaf.Vulnerability{CVE: v.CVE, Title: or(vt.Title, v.Title), ProductStatus: &csaf.ProductStatus{}}
		if v.CVE == "" {
			cv.IDs = []csaf.ID{{SystemName: "csirtlink", Text: c.ID + "/" + v.ID}}
		}
		if name, ok := csaf.CWEName(v.CWE); ok {
			cv.CWE = &csaf.CWE{ID: v.CWE, Name: name}
		}
		desc := or(vt.Description, or(v.Description, cv.Title))
		cv.Notes = []csaf.Note{{Category: "description", Title: t["description"], Text: desc}}
		var scored, unassessed []string
		flags := map[string][]string{}
		for _, p := range c.Products {
			st := matrix[v.ID][p.ID]
			ps := cv.ProductStatus
			switch st.Status {
			case Affected:
				ps.KnownAffected = append(ps.KnownAffected, pid(p.ID))
				cv.Remediations = append(cv.Remediations, csaf.Remediation{Category: "none_available", Details: remedy(t["nofix"], vt.Remediation), ProductIDs: []string{pid(p.ID)}})
				scored = append(scored, pid(p.ID))
			case Fixed:
				ps.KnownAffected = append(ps.KnownAffected, pid(p.ID))
				ps.Fixed = append(ps.Fixed, fixedID(p.ID, st.FixedVersion))
				cv.Remediations = append(cv.Remediations, csaf.Remediation{Category: "vendor_fix", Details: remedy(fmt.Sprintf(t["fix"], st.FixedVersion), vt.Remediation), ProductIDs: []string{pid(p.ID)}})
				scored = append(scored, pid(p.ID))
			case NotAffected:
				ps.KnownNotAffected = append(ps.KnownNotAffected, pid(p.ID))
				flags[st.Justification] = append(flags[st.Justification], pid(p.ID))
			case UnderInvestigation:
				ps.UnderInvestigation = append(ps.UnderInvestigation, pid(p.ID))
			default:
				// Silence is not "not affected": a product nobody assessed is listed
				// as under investigation and named as unassessed in a note.
				ps.UnderInvestigation = append(ps.UnderInvestigation, pid(p.ID))
				unassessed = append(unassessed, p.Vendor+" "+p.Product)
			}
			if st.Statement != "" {
				cv.Notes = append(cv.Notes, csaf.Note{Category: "details", Title: t["statement"] + ": " + p.Vendor + " " + p.Product, Text: st.Statement})
			}
		}
		for _, j := range Justifications {
			if ids := flags[j]; len(ids) > 0 {
				cv.Flags = append(cv.Flags, csaf.Flag{Label: j, ProductIDs: ids})
			}
		}
		if len(unassessed) > 0 {
			cv.Notes = append(cv.Notes, csaf.Note{Category: "other", Title: Unassessed, Text: fmt.Sprintf(t["unassessed"], strings.Join(unassessed, ", "))})
		}
		if v.CVSSv3 != "" && len(scored) > 0 && v.SeverityV3 != "" {
			cv.Scores = []csaf.Score{{Products: scored, CVSSv3: csaf.CVSSv3{Version: "3.1", VectorString: v.CVSSv3, BaseScore: v.ScoreV3, BaseSeverity: v.SeverityV3}}}
		}
		if v.CVSSv4 != "" {
			// CSAF 2.0 has no cvss_v4 score object (CSAF 2.1 adds it): the vector and
			// its score travel as a note, which readers of either version show.
			text := v.CVSSv4
			if v.SeverityV4 != "" {
				text = fmt.Sprintf("%s (%.1f %s)", v.CVSSv4, v.ScoreV4, v.SeverityV4)
			}
			cv.Notes = append(cv.Notes, csaf.Note{Category: "other", Title: "CVSS v4.0", Text: text})
		}
		doc.Vulnerabilities = append(doc.Vulnerabilities, cv)
	}
	return doc
}

// fixedVersions are the fixed versions any vendor reported for a product.
func fixedVersions(matrix map[string]map[string]Status, product string) []string {
	var out []string
	for _, st := range matrix {
		if s := st[product]; s.Status == Fixed && !slices.Contains(out, s.FixedVersion) {
			out = append(out, s.FixedVersion)
		}
	}
	slices.Sort(out)
	return out
}

func fixedID(product, version string) string {
	return "CSAFPID-" + product + "-fixed-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, version)
}

// remedy is a remediation's generated wording followed by the team's own, if any.
func remedy(generated, own string) string {
	if own == "" {
		return generated
	}
	return generated + "\n\n" + own
}
