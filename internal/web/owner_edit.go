package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"csirtlink/internal/owner"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Owner create and edit in the console (issue 12 item 7): the same owner.Normalize as
// the API and the CLI checks every field, and its errors show beside the field of the
// form, in the viewer's language.

// ownerContactRows is how many contact rows the form shows: the owner's contacts and
// one empty row to add another, up to owner.MaxContacts.
func ownerContactRows(n int) int { return min(n+1, owner.MaxContacts) }

var ownerContactFields = []string{"email", "language", "format", "schedule", "digest_at", "timezone", "business_days", "pgp_key"}

func init() {
	formFields["owner"] = append(formFields["owner"], "id", "name", "networks", "asns", "domains")
	for i := range owner.MaxContacts {
		for _, f := range ownerContactFields {
			formFields["owner"] = append(formFields["owner"], fmt.Sprintf("contact-%d-%s", i, f))
		}
	}
}

// ownerForm is the owner form's page.
type ownerForm struct {
	Edit      bool   // editing an owner (its id is fixed), else creating one
	ID        string // the owner being edited
	Rows      []int  // the contact rows
	Languages []string
	Formats   []string
	Schedules []string
}

func (c *Console) showOwnerForm(w http.ResponseWriter, v *view, status int, id string, contacts int) error {
	v.Nav, v.Back, v.FormName = "feeds", "/owners", "owner"
	page := ownerForm{Edit: id != "", ID: id, Languages: owner.Languages, Formats: []string{"csv", "json"}, Schedules: []string{"immediate", "daily"}}
	for i := range ownerContactRows(contacts) {
		page.Rows = append(page.Rows, i)
	}
	title := v.T("owners.new")
	if id != "" {
		title = v.T("owners.edit")
	}
	return c.render(w, v, status, "owner_form", title, page)
}

// ownerNew shows an empty form.
func (c *Console) ownerNew(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = url.Values{}
	v.Form.Set("contact-0-language", v.Lang)
	return c.showOwnerForm(w, v, http.StatusOK, "", 0)
}

// ownerEdit shows the form filled with an owner.
func (c *Console) ownerEdit(w http.ResponseWriter, r *http.Request, v *view) error {
	o, err := c.d.Owners.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := url.Values{}
	f.Set("id", o.ID)
	f.Set("name", o.Name)
	f.Set("networks", strings.Join(o.Networks, "\n"))
	var asns []string
	for _, a := range o.ASNs {
		asns = append(asns, strconv.FormatUint(uint64(a), 10))
	}
	f.Set("asns", strings.Join(asns, "\n"))
	f.Set("domains", strings.Join(o.Domains, "\n"))
	for i, ct := range o.Contacts {
		p := fmt.Sprintf("contact-%d-", i)
		f.Set(p+"email", ct.Email)
		f.Set(p+"language", ct.Language)
		f.Set(p+"format", ct.Format)
		f.Set(p+"schedule", ct.Schedule)
		f.Set(p+"digest_at", ct.DigestAt)
		f.Set(p+"timezone", ct.Timezone)
		if ct.BusinessDays {
			f.Set(p+"business_days", "on")
		}
		f.Set(p+"pgp_key", ct.PGPKey)
	}
	i := len(o.Contacts)
	f.Set(fmt.Sprintf("contact-%d-language", i), v.Lang)
	f.Set(fmt.Sprintf("contact-%d-format", i), "csv")
	f.Set(fmt.Sprintf("contact-%d-schedule", i), "immediate")
	v.Form = f
	return c.showOwnerForm(w, v, http.StatusOK, o.ID, len(o.Contacts))
}

// listField splits a textarea of values on lines, spaces, commas and semicolons.
func listField(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ' ' || r == '\t' || r == ',' || r == ';' })
}

// ownerSave creates (POST /owners) or changes (POST /owners/{id}) an owner. A contact
// row without an e-mail address is left out; the service names a contact by its place
// among those sent, the form by its row.
func (c *Console) ownerSave(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	v.Form = r.PostForm
	if id != "" {
		v.Form.Set("id", id)
	}
	o := store.NetOwner{ID: strings.TrimSpace(v.Val("id")), Name: strings.TrimSpace(v.Val("name")),
		Networks: listField(v.Val("networks")), Domains: listField(v.Val("domains"))}
	var errs []error
	for _, a := range listField(v.Val("asns")) {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(a), "AS"), 10, 32)
		if err != nil {
			errs = append(errs, problem.Invalid("asns", "%q is not an AS number", a))
			continue
		}
		o.ASNs = append(o.ASNs, uint32(n))
	}
	// "An owner needs a contact" goes beside the first row's address.
	fields := map[string]string{"contacts": "contact-0-email"}
	rows := 0
	for row := range owner.MaxContacts {
		p := fmt.Sprintf("contact-%d-", row)
		if _, shown := v.Form[p+"email"]; shown {
			rows = row + 1
		}
		email := strings.TrimSpace(v.Val(p + "email"))
		if email == "" {
			continue
		}
		n := len(o.Contacts)
		for _, f := range ownerContactFields {
			fields[fmt.Sprintf("contacts[%d].%s", n, f)] = p + f
		}
		o.Contacts = append(o.Contacts, store.OwnerContact{Email: email, Language: v.Val(p + "language"), Format: v.Val(p + "format"),
			Schedule: v.Val(p + "schedule"), DigestAt: strings.TrimSpace(v.Val(p + "digest_at")), Timezone: strings.TrimSpace(v.Val(p + "timezone")),
			BusinessDays: v.Val(p+"business_days") != "", PGPKey: strings.TrimSpace(v.Val(p + "pgp_key"))})
	}
	err := problem.Join(errs...)
	if err == nil {
		if id == "" {
			_, err = c.d.Owners.Create(r.Context(), v.userName(), o)
		} else {
			_, err = c.d.Owners.Update(r.Context(), v.userName(), id, o)
		}
		if err == nil {
			c.flash(w, "ok", "flash.ownerSaved")
			http.Redirect(w, r, "/owners/"+url.PathEscape(o.ID), http.StatusSeeOther)
			return nil
		}
	}
	if !v.fieldErrors("owner", err, fields) {
		return err
	}
	return c.showOwnerForm(w, v, http.StatusUnprocessableEntity, id, max(rows-1, len(o.Contacts)))
}
