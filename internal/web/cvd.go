package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/cvd"
	"csirtlink/internal/problem"
)

// Vulnerability coordination (issue 13): the cases list and a case's page.

type cvdCasePage struct {
	Case     cvd.Case
	Matrix   map[string]map[string]cvd.Status
	IsOwner  bool
	Agreed   bool // this team agreed to the proposed instant
	Statuses []string
	// Joinable are the active peers not yet in the case, whom the owner may add.
	Joinable []string
	// Mailable are this team's vendors of the case that have an e-mail address.
	Mailable []cvd.Vendor
	// ItemForms edit each vulnerability and product, and add one of each (owner).
	ItemForms []cvdItemForm
	// For a vendor's person: its vendor's id and products, for its status form.
	Vendor         string
	VendorProducts []string
	Justifications []string
	// Advisory is the editor of the advisory's texts, languages side by side (nil: not
	// editable here).
	Advisory []cvdAdvGroup
	// Removable are the items the owner may remove (vulnerability:v2, product:p1,
	// participant:kr), with their labels; CutOff: this team was removed from the case.
	Removable []cvdOption
	CutOff    bool
}

// cvdOption is one choice of a select: its value and its label.
type cvdOption struct{ Value, Label string }

// cvdAdvGroup is one part of the advisory's texts — the document, or one
// vulnerability — as rows of fields, each with a cell per language.
type cvdAdvGroup struct {
	ID     string // "" for the document, else the vulnerability's
	Legend string
	Lang   string // the legend's language
	Rows   []cvdAdvRow
}

type cvdAdvRow struct {
	Label string // catalog key
	Cells []cvdAdvCell
}

// cvdAdvCell is one field in one language. Name is the form field, the control's id
// and the key of its error: "ja.title", "ja.vulnerabilities[v1].remediation".
type cvdAdvCell struct {
	Lang, HTMLLang, LangName string
	Name, Value              string
	Multiline                bool
}

// advLanguages pairs each advisory language (CSAF's document.lang) with the console's
// language it is written in.
var advLanguages = []struct{ Code, HTML string }{{"en", "en"}, {"zh", "zh-Hans"}, {"ja", "ja"}, {"ko", "ko"}}

// cvdAdvisoryForm lays out the editor for a case: stored texts, or what the person
// typed when the form comes back with errors.
func cvdAdvisoryForm(v *view, k cvd.Case) []cvdAdvGroup {
	value := func(name, stored string) string {
		if v.IsForm("advisory") {
			return v.Val(name)
		}
		return stored
	}
	row := func(label, prefix, field string, multiline bool, stored func(cvd.Texts) string) cvdAdvRow {
		r := cvdAdvRow{Label: label}
		for i, l := range advLanguages {
			name := l.Code + "." + prefix + field
			r.Cells = append(r.Cells, cvdAdvCell{Lang: l.Code, HTMLLang: l.HTML, LangName: languages[i].Name, Name: name,
				Value: value(name, stored(k.Advisories[l.Code])), Multiline: multiline})
		}
		return r
	}
	groups := []cvdAdvGroup{{Legend: v.T("cvd.advDocument"), Lang: v.Lang, Rows: []cvdAdvRow{
		row("field.title", "", "title", false, func(t cvd.Texts) string { return t.Title }),
		row("field.summary", "", "summary", true, func(t cvd.Texts) string { return t.Summary }),
	}}}
	for _, x := range k.Vulnerabilities {
		p := "vulnerabilities[" + x.ID + "]."
		vt := func(t cvd.Texts) cvd.VulnerabilityTexts { return t.Vulnerabilities[x.ID] }
		groups = append(groups, cvdAdvGroup{ID: x.ID, Legend: x.Title, Lang: v.UL(x.Title, k.Owner), Rows: []cvdAdvRow{
			row("field.title", p, "title", false, func(t cvd.Texts) string { return vt(t).Title }),
			row("field.description", p, "description", true, func(t cvd.Texts) string { return vt(t).Description }),
			row("field.remediation", p, "remediation", true, func(t cvd.Texts) string { return vt(t).Remediation }),
		}})
	}
	return groups
}

// cvdAdvisory saves the advisory's texts in every language the form carries. Each
// language is checked first, so that every column's mistakes show at once and nothing
// is saved while one is wrong.
func (c *Console) cvdAdvisory(w http.ResponseWriter, r *http.Request, v *view) error {
	k, err := c.d.CVD.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := r.PostFormValue
	texts := map[string]cvd.Texts{}
	bad := map[string]*problem.Error{}
	for _, l := range advLanguages {
		t := cvd.Texts{Title: f(l.Code + ".title"), Summary: f(l.Code + ".summary"), Vulnerabilities: map[string]cvd.VulnerabilityTexts{}}
		for _, x := range k.Vulnerabilities {
			p := l.Code + ".vulnerabilities[" + x.ID + "]."
			if vt := (cvd.VulnerabilityTexts{Title: f(p + "title"), Description: f(p + "description"), Remediation: f(p + "remediation")}); vt != (cvd.VulnerabilityTexts{}) {
				t.Vulnerabilities[x.ID] = vt
			}
		}
		if _, had := k.Advisories[l.Code]; !had && t.Title == "" && t.Summary == "" && len(t.Vulnerabilities) == 0 {
			continue // a column nobody wrote in
		}
		if err := cvd.CheckTexts(k, t); err != nil {
			p, ok := problem.As(err)
			if !ok {
				return err
			}
			bad[l.Code+"."+p.Field] = p
		}
		texts[l.Code] = t
	}
	if len(bad) > 0 {
		v.Form, v.FormName = r.PostForm, "advisory"
		for field, p := range bad {
			v.Errors[field] = v.problemText(p)
		}
		return c.showCase(w, r, v, http.StatusUnprocessableEntity)
	}
	_, err = c.d.CVD.SetAdvisoryTexts(r.Context(), v.cvdActor(), k.ID, texts)
	return c.afterCase(w, r, v, "advisory", err, "flash.cvdAdvisory")
}

// cvdItemForm is the form that replaces one vulnerability or product (ID set) or adds
// one (ID empty).
type cvdItemForm struct {
	V      *view
	Name   string // the form's name: "vuln-v1", "product-" for a new product
	Case   string
	ID     string
	Action string // vulnerabilities or products
	Add    string // the summary's catalog key when adding
	Fields []cvdItemField
}

type cvdItemField struct {
	Name, Label, Value string
	Required           bool
}

func cvdItemForms(v *view, k cvd.Case) []cvdItemForm {
	vuln := func(x cvd.Vulnerability) cvdItemForm {
		return cvdItemForm{V: v, Name: "vuln-" + x.ID, Case: k.ID, ID: x.ID, Action: "vulnerabilities", Add: "cvd.addVuln", Fields: []cvdItemField{
			{"title", "field.title", x.Title, true}, {"cve", "field.cve", x.CVE, false}, {"cwe", "field.cwe", x.CWE, false},
			{"cvss_v3", "field.cvss", x.CVSSv3, false}, {"cvss_v4", "field.cvss4", x.CVSSv4, false},
			{"description", "field.description", x.Description, false}}}
	}
	product := func(x cvd.Product) cvdItemForm {
		return cvdItemForm{V: v, Name: "product-" + x.ID, Case: k.ID, ID: x.ID, Action: "products", Add: "cvd.addProduct", Fields: []cvdItemField{
			{"vendor", "field.vendor", x.Vendor, true}, {"product", "field.product", x.Product, true},
			{"versions", "field.versions", x.Versions, true}, {"purl", "field.purl", x.PURL, false}, {"cpe", "field.cpe", x.CPE, false}}}
	}
	var out []cvdItemForm
	for _, x := range k.Vulnerabilities {
		out = append(out, vuln(x))
	}
	out = append(out, vuln(cvd.Vulnerability{}))
	for _, x := range k.Products {
		out = append(out, product(x))
	}
	return append(out, product(cvd.Product{}))
}

func (c *Console) cvdList(w http.ResponseWriter, r *http.Request, v *view) error {
	list, err := c.d.CVD.List(r.Context())
	if v.IsVendor() {
		list, err = c.d.CVD.VendorCases(r.Context(), v.User().Name)
	}
	if err != nil {
		return err
	}
	v.Nav = "cvd"
	return c.render(w, v, http.StatusOK, "cvd", v.T("cvd.title"), list)
}

func (c *Console) cvdShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showCase(w, r, v, http.StatusOK)
}

func (c *Console) showCase(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	if v.IsVendor() {
		// A vendor's person sees its own cases only, cut to what its vendor may see.
		k, vd, err := c.d.CVD.VendorCase(r.Context(), r.PathValue("id"), v.User().Name)
		if err != nil {
			return err
		}
		v.Nav = "cvd"
		return c.render(w, v, status, "cvd_case", k.Title, cvdCasePage{Case: k, Matrix: cvd.Matrix(k), Statuses: cvd.Statuses,
			Vendor: vd.ID, VendorProducts: vd.Products, Justifications: cvd.Justifications})
	}
	k, err := c.d.CVD.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	page := cvdCasePage{Case: k, Matrix: cvd.Matrix(k), IsOwner: k.Owner == c.dir.Self.ID, Statuses: cvd.Statuses}
	for _, t := range k.Embargo.Agreed {
		page.Agreed = page.Agreed || t == c.dir.Self.ID
	}
	for _, p := range c.dir.ActivePeers() {
		if !slices.Contains(k.Participants, p) {
			page.Joinable = append(page.Joinable, p)
		}
	}
	page.CutOff = !slices.Contains(k.Participants, c.dir.Self.ID)
	for _, vd := range k.Vendors {
		if vd.Email != "" && c.d.CVD.CanMail() && !vd.Removed {
			page.Mailable = append(page.Mailable, vd)
		}
	}
	if page.IsOwner {
		page.ItemForms = cvdItemForms(v, k)
		page.Removable = cvdRemovable(v, k)
	}
	if k.Embargo.State != cvd.Public {
		page.Advisory = cvdAdvisoryForm(v, k)
	}
	v.Nav = "cvd"
	return c.render(w, v, status, "cvd_case", k.Title, page)
}

// cvdAgree records this team's agreement to the proposed instant; cvdObject its
// objection, with the reason.
func (c *Console) cvdAgree(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.CVD.AgreeEmbargo(r.Context(), v.cvdActor(), r.PathValue("id"))
	return c.afterCase(w, r, v, "embargo", err, "flash.cvdAgreed")
}

func (c *Console) cvdObject(w http.ResponseWriter, r *http.Request, v *view) error {
	_, err := c.d.CVD.ObjectEmbargo(r.Context(), v.cvdActor(), r.PathValue("id"), r.PostFormValue("reason"))
	return c.afterCase(w, r, v, "embargo", err, "flash.cvdObjected")
}

// cvdEdit changes the case's title and description, and adds a coordinator (owner).
func (c *Console) cvdEdit(w http.ResponseWriter, r *http.Request, v *view) error {
	title, desc := r.PostFormValue("title"), r.PostFormValue("description")
	e := cvd.CaseEdit{Title: &title, Description: &desc}
	if p := r.PostFormValue("participant"); p != "" {
		e.AddParticipants = []string{p}
	}
	_, err := c.d.CVD.Edit(r.Context(), v.cvdActor(), r.PathValue("id"), e)
	return c.afterCase(w, r, v, "caseedit", err, "flash.cvdEdited")
}

// cvdVuln adds a vulnerability, or replaces the one whose id the form carries.
func (c *Console) cvdVuln(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostFormValue
	vu := cvd.Vulnerability{ID: f("id"), Title: f("title"), Description: f("description"), CWE: f("cwe"), CVE: f("cve"),
		CVSSv3: f("cvss_v3"), CVSSv4: f("cvss_v4")}
	_, err := c.d.CVD.Edit(r.Context(), v.cvdActor(), r.PathValue("id"), cvd.CaseEdit{Vulnerabilities: []cvd.Vulnerability{vu}})
	return c.afterCase(w, r, v, "vuln-"+vu.ID, err, "flash.cvdEdited")
}

// cvdProduct adds a product, or replaces the one whose id the form carries.
func (c *Console) cvdProduct(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostFormValue
	p := cvd.Product{ID: f("id"), Vendor: f("vendor"), Product: f("product"), Versions: f("versions"), PURL: f("purl"), CPE: f("cpe")}
	_, err := c.d.CVD.Edit(r.Context(), v.cvdActor(), r.PathValue("id"), cvd.CaseEdit{Products: []cvd.Product{p}})
	return c.afterCase(w, r, v, "product-"+p.ID, err, "flash.cvdEdited")
}

// cvdVendor records one of this team's vendors for the case.
func (c *Console) cvdVendor(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostFormValue
	_, err := c.d.CVD.AddVendor(r.Context(), v.cvdActor(), r.PathValue("id"), cvd.NewVendor{Name: f("name"), Contact: f("contact"),
		Email: f("email"), Products: r.PostForm["products"], Shared: f("shared") != "", TLP: f("tlp")})
	return c.afterCase(w, r, v, "vendor", err, "flash.cvdVendorAdded")
}

// cvdMail writes to one of this team's vendors from the case's reply address.
func (c *Console) cvdMail(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostFormValue
	_, err := c.d.CVD.MailVendor(r.Context(), v.cvdActor(), r.PathValue("id"), f("vendor"), f("subject"), f("body"))
	return c.afterCase(w, r, v, "vendormail", err, "flash.cvdMailed")
}

// cvdStatus is a vendor's person stating its vendor's status for one vulnerability and
// product.
func (c *Console) cvdStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	if !v.IsVendor() {
		return problem.Forbidden("your role may not do this")
	}
	_, vd, err := c.d.CVD.VendorCase(r.Context(), r.PathValue("id"), v.User().Name)
	if err == nil {
		f := r.PostFormValue
		_, err = c.d.CVD.SetStatus(r.Context(), v.cvdActor(), r.PathValue("id"), cvd.StatusInput{Vendor: vd.ID, Vulnerability: f("vulnerability"),
			Product: f("product"), Status: f("status"), Justification: f("justification"), FixedVersion: f("fixed_version"), Statement: f("statement")})
	}
	return c.afterCase(w, r, v, "vstatus", err, "flash.cvdStatus")
}

// IsVendor reports whether the person is a vendor's person (role vendor).
func (v *view) IsVendor() bool { u := v.User(); return u != nil && u.Role == auth.Vendor }

func (c *Console) afterCase(w http.ResponseWriter, r *http.Request, v *view, form string, err error, flash string) error {
	return c.afterCaseFields(w, r, v, form, err, flash, nil)
}

// afterCaseFields is afterCase for a form whose fields are named otherwise than the
// service's (fields maps the service's name to the form's).
func (c *Console) afterCaseFields(w http.ResponseWriter, r *http.Request, v *view, form string, err error, flash string, fields map[string]string) error {
	if err != nil {
		v.Form = r.PostForm
		var p *problem.Error
		if !v.fieldErrors(form, err, fields) || errors.As(err, &p) && p.Status == http.StatusNotFound {
			return err
		}
		return c.showCase(w, r, v, p.Status)
	}
	c.flash(w, "ok", flash)
	http.Redirect(w, r, "/cvd/"+url.PathEscape(r.PathValue("id"))+"#"+form, http.StatusSeeOther)
	return nil
}

// Countdown says how long until t, in the viewer's language ("" once it passed).
func (v *view) Countdown(t *time.Time) string {
	if t == nil || !t.After(v.Now) {
		return ""
	}
	d := t.Sub(v.Now)
	switch {
	case d < time.Hour:
		return v.T("cvd.inMinutes", int((d+time.Minute-1)/time.Minute))
	case d < 48*time.Hour:
		return v.T("cvd.inHours", int(d/time.Hour))
	}
	return v.T("cvd.inDays", int(d/(24*time.Hour)))
}

func (v *view) cvdActor() cvd.Actor {
	u := v.User()
	return cvd.Actor{Name: u.Name, Role: u.Role}
}

// PartyTime is t at a team, always shown (the embargo's instant in each party's time).
func (v *view) PartyTime(t time.Time, teamID string) string {
	tm, ok := v.c.dir.Team(teamID)
	if !ok {
		return ""
	}
	return v.at(t, tm.Location(), true)
}

// HasCVD reports whether the node runs vulnerability coordination, for the navigation.
func (v *view) HasCVD() bool { return v.session != nil && !v.session.Pending && v.c.d.CVD != nil }

// cvdRemovable are the items the owner may remove: vulnerabilities and products while
// the case has more than one, and every coordinator but the owner.
func cvdRemovable(v *view, k cvd.Case) []cvdOption {
	var out []cvdOption
	if len(k.Vulnerabilities) > 1 {
		for _, x := range k.Vulnerabilities {
			out = append(out, cvdOption{"vulnerability:" + x.ID, v.T("cvd.optVulnerability", x.ID, x.Title)})
		}
	}
	if len(k.Products) > 1 {
		for _, x := range k.Products {
			out = append(out, cvdOption{"product:" + x.ID, v.T("cvd.optProduct", x.ID, x.Vendor+" "+x.Product)})
		}
	}
	for _, t := range k.Participants {
		if t != k.Owner {
			out = append(out, cvdOption{"participant:" + t, v.T("cvd.optParticipant", v.TeamName(t), t)})
		}
	}
	return out
}

// cvdRemove removes one item of the case: a vulnerability, product or coordinator
// (the owner's form), or one of this team's vendors (that vendor's form).
func (c *Console) cvdRemove(w http.ResponseWriter, r *http.Request, v *view) error {
	what, id, _ := strings.Cut(r.PostFormValue("item"), ":")
	rm, form := cvd.Removal{Reason: r.PostFormValue("reason")}, "remove"
	switch what {
	case "vulnerability":
		rm.Vulnerability = id
	case "product":
		rm.Product = id
	case "participant":
		rm.Participant = id
	case "vendor":
		rm.Vendor, form = id, "vchange-"+id
	}
	_, err := c.d.CVD.Remove(r.Context(), v.cvdActor(), r.PathValue("id"), rm)
	fields := map[string]string{"vulnerability": "item", "product": "item", "participant": "item"}
	if form == "remove" {
		fields["vendor"] = "item"
	}
	return c.afterCaseFields(w, r, v, form, err, "flash.cvdRemoved", fields)
}

// cvdVendorTLP changes the label the case is given to one of this team's vendors.
func (c *Console) cvdVendorTLP(w http.ResponseWriter, r *http.Request, v *view) error {
	vendor := r.PathValue("vendor")
	_, err := c.d.CVD.SetVendorTLP(r.Context(), v.cvdActor(), r.PathValue("id"), vendor, r.PostFormValue("tlp"))
	return c.afterCase(w, r, v, "vchange-"+vendor, err, "flash.cvdVendorTLP")
}
