package cvd

import (
	"context"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Texts are one language's wording of an advisory's free texts. A field left empty
// falls back to the case's own (the owner's) text, so an untranslated advisory is still
// whole.
//
// They are kept on the node that wrote them, beside the reporter in the case's private
// part, and never federated: only the owner writes a case's shared fields (the
// snapshot is the owner's), while every participant publishes its own advisory in its
// own language at the instant (docs/cvd.md). Translating is that publishing team's
// editorial work; the other languages reach readers through the linked advisories'
// references.
type Texts struct {
	Title   string `json:"title,omitempty"`
	Summary string `json:"summary,omitempty"`
	// Vulnerabilities are the texts per vulnerability, by its id.
	Vulnerabilities map[string]VulnerabilityTexts `json:"vulnerabilities,omitempty"`
	UpdatedBy       string                        `json:"updated_by,omitempty"`
	UpdatedAt       time.Time                     `json:"updated_at,omitzero"`
}

// VulnerabilityTexts are one vulnerability's texts in one language. Remediation is
// added to the generated remediation wording of every product it applies to.
type VulnerabilityTexts struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

// CheckTexts checks one language's texts for a case, naming the field at fault as the
// API's body names it ("vulnerabilities[v1].title").
func CheckTexts(c Case, t Texts) error {
	if err := problem.CheckLine("title", t.Title, maxTitle, false); err != nil {
		return err
	}
	if err := problem.CheckText("summary", t.Summary, maxDescription, false); err != nil {
		return err
	}
	if len(t.Vulnerabilities) > maxVulns {
		return problem.Invalid("vulnerabilities", "more than %d entries", maxVulns)
	}
	ids := make([]string, 0, len(t.Vulnerabilities))
	for id := range t.Vulnerabilities {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := t.Vulnerabilities[id]
		f := "vulnerabilities[" + id + "]"
		if !slices.ContainsFunc(c.Vulnerabilities, func(o Vulnerability) bool { return o.ID == id }) {
			return problem.Invalid(f, "%q is not a vulnerability of %s", id, c.ID)
		}
		if err := problem.CheckLine(f+".title", v.Title, maxTitle, false); err != nil {
			return err
		}
		if err := problem.CheckText(f+".description", v.Description, maxDescription, false); err != nil {
			return err
		}
		if err := problem.CheckText(f+".remediation", v.Remediation, maxBody, false); err != nil {
			return err
		}
	}
	return nil
}

// SetAdvisoryTexts stores the advisory's texts in the given languages (each replacing
// what the language had) on this node, for any participant. They no longer change once
// the case is public: what was published at the instant stays what readers fetched.
func (s *Service) SetAdvisoryTexts(ctx context.Context, a Actor, id string, texts map[string]Texts) (Case, error) {
	if len(texts) == 0 {
		return Case{}, problem.BadRequest("nothing to change")
	}
	langs := make([]string, 0, len(texts))
	for l := range texts {
		if !slices.Contains(Languages, l) {
			return Case{}, problem.Invalid("lang", "must be one of %s", strings.Join(Languages, ", "))
		}
		langs = append(langs, l)
	}
	slices.Sort(langs)
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		c, err := loadLocal(ctx, tx, id)
		if err != nil {
			return err
		}
		if s.State(c) == Public {
			return problem.Conflict("case %s is already public", c.ID)
		}
		if c.Advisories == nil {
			c.Advisories = map[string]Texts{}
		}
		for _, l := range langs {
			t := texts[l]
			t.Title = strings.TrimSpace(t.Title)
			for vid, v := range t.Vulnerabilities {
				v.Title = strings.TrimSpace(v.Title)
				if v == (VulnerabilityTexts{}) {
					delete(t.Vulnerabilities, vid)
				} else {
					t.Vulnerabilities[vid] = v
				}
			}
			if err := CheckTexts(c, t); err != nil {
				return err
			}
			t.UpdatedBy, t.UpdatedAt = a.Name, s.now()
			c.Advisories[l] = t
		}
		if err := s.save(ctx, tx, &c); err != nil {
			return err
		}
		s.notify(tx, id)
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.advisory_texts", id, strings.Join(langs, ","))
	})
	if err != nil {
		return Case{}, err
	}
	return s.Get(ctx, id)
}

// or is s, or else fallback when s is empty.
func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
