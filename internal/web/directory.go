package web

import (
	"html/template"
	"net/http"
	"strings"

	"csirtlink/internal/federation"
	directory "csirtlink/internal/partner"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// The partner directory's screens (docs/partners.md): the list with search and
// filters, and each partner's page. Only admins see the forms that change it.

type directoryRow struct {
	directory.View
	Health string
}

type directoryPage struct {
	Rows     []directoryRow
	Filter   directory.Filter
	Verified string // "", "yes", "no"
	Filtered bool
	Statuses []string
	Tasks    []directory.Task
}

func (c *Console) linkHealth(r *http.Request) (map[string]federation.LinkState, error) {
	links, err := c.d.Fed.Links(r.Context())
	if err != nil {
		return nil, err
	}
	out := map[string]federation.LinkState{}
	for _, l := range links {
		out[l.Peer] = l
	}
	return out, nil
}

func (c *Console) directory(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	page := directoryPage{Filter: directory.Filter{Query: q.Get("q"), Country: strings.ToUpper(q.Get("country")), Status: q.Get("status")},
		Verified: q.Get("verified"), Statuses: []string{team.StatusPending, team.StatusActive, team.StatusSuspended, team.StatusRevoked}}
	if page.Filter.Status != "" && !team.ValidStatus(page.Filter.Status) {
		page.Filter.Status = ""
	}
	switch page.Verified {
	case "yes", "no":
		b := page.Verified == "no"
		page.Filter.Unverified = &b
	default:
		page.Verified = ""
	}
	page.Filtered = page.Filter.Query != "" || page.Filter.Country != "" || page.Filter.Status != "" || page.Verified != ""
	health, err := c.linkHealth(r)
	if err != nil {
		return err
	}
	for _, p := range c.d.Partners.List(page.Filter) {
		page.Rows = append(page.Rows, directoryRow{View: p, Health: health[p.ID].Health})
	}
	if page.Tasks, err = c.d.Partners.Tasks(r.Context()); err != nil {
		return err
	}
	v.Nav = "directory"
	return c.render(w, v, http.StatusOK, "directory", v.T("directory.title"), page)
}

type partnerPage struct {
	P      directory.View
	Keys   []store.PartnerKey
	Link   federation.LinkState
	OnCall []partnerOnCall
}

type partnerOnCall struct{ Rotation, Current, Next string }

func (c *Console) directoryPartner(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showPartner(w, r, v, http.StatusOK)
}

// showPartner renders a partner's page, with status (a form's mistakes are 422).
func (c *Console) showPartner(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	p, ok := c.d.Partners.Get(r.PathValue("id"))
	if !ok {
		return problem.NotFound("no partner %q", r.PathValue("id"))
	}
	keys, err := c.d.Partners.Keys(r.Context(), p.ID)
	if err != nil {
		return err
	}
	health, err := c.linkHealth(r)
	if err != nil {
		return err
	}
	withHotline, err := c.d.Partners.WithHotline(r.Context(), []directory.View{p})
	if err != nil {
		return err
	}
	page := partnerPage{P: withHotline[0], Keys: keys, Link: health[p.ID]}
	if c.d.Hotline != nil {
		sums, err := c.d.Hotline.PartnersOnCall(r.Context())
		if err == nil {
			for _, s := range sums {
				if s.Team != p.ID {
					continue
				}
				for _, rot := range s.Rotations {
					page.OnCall = append(page.OnCall, partnerOnCall{Rotation: rot.Name, Current: rot.Current.User, Next: rot.Next.User})
				}
			}
		}
	}
	v.Nav = "directory"
	return c.render(w, v, status, "directory_partner", p.Name, page)
}

// directoryHotlineCheck mails a new code to the partner's published hotline address:
// the same service as POST /api/v1/partners/{id}/hotline-check.
func (c *Console) directoryHotlineCheck(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.Partners.SendHotlineCode(r.Context(), id, v.User().Name); err != nil {
		return c.partnerFailed(w, r, v, "hotlinecheck", err)
	}
	c.flash(w, "ok", "flash.hotlineCodeSent")
	http.Redirect(w, r, "/directory/"+id+"#hotline-h", http.StatusSeeOther)
	return nil
}

// directoryHotlineCode takes the code the partner read out to us over the hotline: the
// same service as POST /api/v1/directory/hotline-code.
func (c *Console) directoryHotlineCode(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.Partners.EnterHotlineCode(r.Context(), id, r.PostFormValue("code"), v.User().Name); err != nil {
		return c.partnerFailed(w, r, v, "hotlinecode", err)
	}
	c.flash(w, "ok", "flash.hotlineVerified")
	http.Redirect(w, r, "/directory/"+id+"#hotline-h", http.StatusSeeOther)
	return nil
}

// partnerFailed shows the partner's page again with the service's message beside the
// field it names, or over the form.
func (c *Console) partnerFailed(w http.ResponseWriter, r *http.Request, v *view, form string, err error) error {
	v.Form = r.PostForm
	p, ok := problem.As(err)
	if !ok || p.Status == http.StatusNotFound || !v.fieldErrors(form, err, nil) {
		return err
	}
	return c.showPartner(w, r, v, p.Status)
}

func (c *Console) directoryAdd(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := c.d.Partners.Add(r.Context(), strings.TrimSpace(r.PostFormValue("url")), v.User().Name)
	if err != nil {
		return err
	}
	c.flash(w, "ok", "flash.partnerAdded")
	http.Redirect(w, r, "/directory/"+p.ID, http.StatusSeeOther)
	return nil
}

func (c *Console) directoryApprove(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.Partners.Approve(r.Context(), id, r.PostFormValue("fingerprint"), v.User().Name); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.partnerApproved")
	http.Redirect(w, r, "/directory/"+id, http.StatusSeeOther)
	return nil
}

func (c *Console) directoryStatus(status string) func(w http.ResponseWriter, r *http.Request, v *view) error {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		id := r.PathValue("id")
		if _, err := c.d.Partners.SetStatus(r.Context(), id, status, v.User().Name); err != nil {
			return err
		}
		c.flash(w, "ok", "flash.partner."+status)
		http.Redirect(w, r, "/directory/"+id, http.StatusSeeOther)
		return nil
	}
}

func (c *Console) directoryConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.Partners.Confirm(r.Context(), v.User().Name); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.directoryConfirmed")
	http.Redirect(w, r, "/directory", http.StatusSeeOther)
	return nil
}

// Unverified is the chip put beside a partner wherever it is used (paging, routing,
// sharing) when it has not confirmed its directory entry within the re-verification
// period: whoever sends to it sees the entry may be stale. Empty for a verified
// partner, our own team, or an unknown one.
func (v *view) Unverified(id string) template.HTML {
	if v.c.d.Partners == nil || id == v.c.dir.Self.ID {
		return ""
	}
	p, ok := v.c.d.Partners.Get(id)
	if !ok || !p.Unverified {
		return ""
	}
	text := v.T("directory.neverVerified")
	if p.VerifiedAt != nil {
		text = v.T("directory.unverifiedSince", v.Time(*p.VerifiedAt))
	}
	return template.HTML(`<span class="chip unverified-chip" data-unverified="` + template.HTMLEscapeString(id) + `">` + template.HTMLEscapeString(text) + `</span>`)
}
