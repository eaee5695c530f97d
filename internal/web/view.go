package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/message"

	"csirtlink/internal/auth"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageTemplate is one screen: the layout, the shared partials and the page's own file.
type pageTemplate struct{ t *template.Template }

var templateFuncs = template.FuncMap{
	"join": strings.Join,
	"has": func(list []string, s string) bool {
		return slices.Contains(list, s)
	},
	"lower": strings.ToLower,
	"inc":   func(n int) int { return n + 1 },
	// path escapes an id for a URL path segment: page ids come from peers, and one
	// with a "/" or ".." must not lead a form elsewhere.
	"path": url.PathEscape,
}

func mustParsePages() map[string]*pageTemplate {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*pageTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t := template.Must(template.New(name).Funcs(templateFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", f))
		pages[name] = &pageTemplate{t: t}
	}
	return pages
}

// view is what every template gets: the person, their language and time zone, the
// form token, and the page's own data in Data.
type view struct {
	c       *Console
	r       *http.Request
	p       *message.Printer
	session *session

	Lang      string
	Languages []struct{ Code, Name string }
	Loc       *time.Location
	Self      team.Team
	CSRF      string
	Title     string
	Nav       string // the active navigation item
	Live      string // what live updates refresh this page for: "all", "incident:<id>" or ""
	Flash     string // a translated message after a redirect
	FlashKind string // "ok" or "error"
	Static    map[string]string
	Now       time.Time
	Data      any

	// Form is what the person typed, shown again with Errors beside the fields when
	// an action fails; Error is a message for the whole form.
	Form   url.Values
	Errors map[string]string
	Error  string
	// FormName names the form that Form and Errors belong to, on pages with several.
	FormName string
	// Back, when set, is where the language switcher returns after a form post (the
	// page that showed the form).
	Back string

	// HasHotline: the node runs the hotline.
	HasHotline bool
	// HasIndicators: the node shares indicators, and has the search box.
	HasIndicators bool
	// await is what waits for our acknowledgement, read once for the request (see
	// awaiting); nil when it could not be read.
	await *awaiting

	people map[string]string // user name → display name, loaded when first needed
}

func (c *Console) newView(w http.ResponseWriter, r *http.Request, s *session) (*view, error) {
	v := &view{c: c, r: r, session: s, Languages: languages, Self: c.dir.Self, Static: c.static.urls,
		Now: c.d.Clock.Now(), Errors: map[string]string{}, Form: url.Values{}}
	var prefs store.Preferences
	if s != nil && !s.Pending {
		var err error
		if prefs, err = c.d.Console.GetPrefs(r.Context(), s.User.ID); err != nil {
			return nil, err
		}
		v.CSRF = csrfToken(s.secret)
	} else if s != nil {
		v.CSRF = csrfToken(s.secret)
	} else if pre := c.cookie(r, "csl_pre"); pre != "" {
		v.CSRF = csrfToken(pre)
	}
	vendor := s != nil && s.User.Role == auth.Vendor
	v.HasIndicators = s != nil && !s.Pending && c.d.Indicators != nil && !vendor
	if s != nil && !s.Pending && c.d.Hotline != nil && !vendor {
		v.HasHotline = true
		// The badge is a comfort: a failure to count leaves it out, not the page.
		if _, err := v.waitingPages(r.Context()); err != nil {
			c.log.Warn("count pages waiting for us", "err", err)
		}
	}
	v.Lang = c.language(r, prefs.Language)
	v.p = c.i18n.printer(v.Lang)
	v.Loc = c.dir.Self.Location()
	// The browser's zone comes from a cookie the page's script sets (so not HttpOnly,
	// and without the __Host- prefix).
	var browserZone string
	if ck, err := r.Cookie("csl_tz"); err == nil {
		browserZone, _ = url.QueryUnescape(ck.Value)
	}
	for _, tz := range []string{prefs.Timezone, browserZone} {
		if loc, err := loadZone(tz); err == nil {
			v.Loc = loc
			break
		}
	}
	if key := c.cookie(r, "csl_flash"); key != "" {
		c.setCookie(w, "csl_flash", "", -1, http.SameSiteLaxMode)
		kind, key, _ := strings.Cut(key, ":")
		if strings.HasPrefix(key, "flash.") && c.i18n.has(v.Lang, key) {
			v.Flash, v.FlashKind = v.T(key), kind
		}
	}
	return v, nil
}

// loadZone loads an IANA zone name a person or browser gave.
func loadZone(name string) (*time.Location, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, ". ") && !strings.Contains(name, "/") {
		return nil, fmt.Errorf("no zone")
	}
	return team.LoadLocation(name)
}

// flash arranges for a translated message (a catalog key under "flash.") on the next page.
func (c *Console) flash(w http.ResponseWriter, kind, key string) {
	c.setCookie(w, "csl_flash", kind+":"+key, 60, http.SameSiteLaxMode)
}

// render writes a page. It renders into a buffer first, so that a template error
// gives a clean 500 and never half a page.
func (c *Console) render(w http.ResponseWriter, v *view, status int, page, title string, data any) error {
	pt, ok := c.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	v.Title, v.Data = title, data
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// T translates a catalog key with arguments.
func (v *view) T(key string, args ...any) string { return v.p.Sprintf(key, args...) }

// User is the signed-in person, or nil.
func (v *view) User() *store.User {
	if v.session == nil || v.session.Pending {
		return nil
	}
	return &v.session.User
}

func (v *view) userName() string {
	if u := v.User(); u != nil {
		return u.Name
	}
	return ""
}

// RoleShown is the person's role as the header shows it beside their name, or "" when
// the name already says it ("Duty officer (jp)" is not followed by "duty officer").
func (v *view) RoleShown() string {
	u := v.User()
	if u == nil {
		return ""
	}
	role, name := v.T("role."+u.Role), strings.ToLower(u.DisplayName)
	english := v.c.i18n.printer("en").Sprintf("role." + u.Role)
	if strings.Contains(name, strings.ToLower(role)) || strings.Contains(name, strings.ToLower(english)) {
		return ""
	}
	return role
}

// Can reports whether the person may write ("write") or manage ("manage").
func (v *view) Can(what string) bool {
	u := v.User()
	if u == nil {
		return false
	}
	switch what {
	case "write":
		return auth.Allows(u.Role, auth.Write)
	case "configure":
		return auth.Allows(u.Role, auth.Configure)
	case "manage":
		return auth.Allows(u.Role, auth.Manage)
	}
	return auth.Allows(u.Role, auth.Read)
}

// TimePtr is Time for an optional time.
func (v *view) TimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return v.Time(*t)
}

// ISO is the machine-readable time for <time datetime>.
func (v *view) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Ago says how long ago t was, with the language's plural rules.
func (v *view) Ago(t time.Time) string {
	d := v.Now.Sub(t)
	switch {
	case d < time.Minute:
		return v.T("time.justNow")
	case d < time.Hour:
		return v.T("time.minutesAgo", int(d/time.Minute))
	case d < 48*time.Hour:
		return v.T("time.hoursAgo", int(d/time.Hour))
	}
	return v.T("time.daysAgo", int(d/(24*time.Hour)))
}

// AgoPtr is Ago for an optional time ("never" for none).
func (v *view) AgoPtr(t *time.Time) string {
	if t == nil {
		return v.T("time.never")
	}
	return v.Ago(*t)
}

// Seconds says how long a number of seconds is, roughly.
func (v *view) Seconds(s float64) string {
	switch {
	case s < 1:
		return v.T("duration.none")
	case s < 120:
		return v.T("duration.seconds", int(math.Round(s)))
	case s < 7200:
		return v.T("duration.minutes", int(s/60))
	}
	return v.T("duration.hours", int(s/3600))
}

// Rate says a rate per second, to the precision a person reads at a glance.
func (v *view) Rate(perSecond float64) string {
	f := "%.0f"
	if perSecond < 10 {
		f = "%.1f"
	}
	return v.T("peers.rateValue", fmt.Sprintf(f, perSecond))
}

// ETA says how long catching up takes: nil when there is no rate to tell from.
func (v *view) ETA(seconds *float64) string {
	switch {
	case seconds == nil:
		return v.T("peers.etaUnknown")
	case *seconds == 0:
		return v.T("peers.caughtUp")
	case *seconds < 1:
		return v.T("duration.seconds", 1)
	}
	return v.Seconds(*seconds)
}

// TLPClass is the CSS class of a TLP label's badge. Labels themselves are never
// translated (FIRST's rule).
func (v *view) TLPClass(label string) string {
	return "tlp-" + strings.ToLower(strings.ReplaceAll(label, "+", "-"))
}

// TLPLabels lists the labels, least restrictive first.
func (v *view) TLPLabels() []string {
	return []string{string(tlp.Clear), string(tlp.Green), string(tlp.Amber), string(tlp.AmberStrict), string(tlp.Red)}
}

// TeamName is a team's name, or its id when unknown.
func (v *view) TeamName(id string) string {
	if t, ok := v.c.dir.Team(id); ok && t.Name != "" {
		return t.Name
	}
	return id
}

// Err is the message for a field of the form that failed.
func (v *view) Err(field string) string { return v.Errors[field] }

// Val is what the person typed in a field.
func (v *view) Val(field string) string { return v.Form.Get(field) }

// Vals is every value of a multi-valued field.
func (v *view) Vals(field string) []string { return v.Form[field] }

// IsForm reports whether the form state belongs to the named form.
func (v *view) IsForm(name string) bool { return v.FormName == name }

// TLP is a label's badge. The label stays in English in every language (FIRST's rule).
func (v *view) TLP(label string) template.HTML {
	l := template.HTMLEscapeString(label)
	return template.HTML(`<span class="tlp ` + template.HTMLEscapeString(v.TLPClass(label)) + `">TLP:` + l + `</span>`)
}

// BackURL is where the language switcher returns to: this page, or for a form post the
// page that showed the form.
func (v *view) BackURL() string {
	if v.Back != "" {
		return v.Back
	}
	if v.r.Method == http.MethodGet {
		return v.r.URL.RequestURI()
	}
	return v.r.URL.Path
}

// subForm is what the "tlp-recipients" template needs: the view, the names of the two
// fields, and their state when this form failed.
type subForm struct {
	V               *view
	TLP, Recipients string
	TLPVal          string
	TLPErr, RecErr  string
	RecVals         []string
}

// Sub describes the TLP and recipients fields of one of the incident page's forms.
func (v *view) Sub(form, tlpField, recField string) subForm {
	s := subForm{V: v, TLP: tlpField, Recipients: recField}
	if v.IsForm(form) {
		s.TLPVal, s.TLPErr, s.RecErr, s.RecVals = v.Val(tlpField), v.Err(tlpField), v.Err(recField), v.Vals(recField)
	}
	return s
}

// Person is one of our people's display name, or their user name when they have none.
func (v *view) Person(name string) string {
	if v.people == nil {
		v.people = map[string]string{}
		if users, err := v.c.d.Store.ListUsers(v.r.Context()); err == nil {
			for _, u := range users {
				if u.DisplayName != "" {
					v.people[u.Name] = u.DisplayName
				}
			}
		}
	}
	if d, ok := v.people[name]; ok {
		return d
	}
	return name
}

func zone(tz string) *time.Location {
	return team.Team{Timezone: tz}.Location()
}

// SameZone reports whether the zone tz reads the same as the viewer's, now.
func (v *view) SameZone(tz string) bool {
	an, ao := v.Now.In(zone(tz)).Zone()
	bn, bo := v.Now.In(v.Loc).Zone()
	return an == bn && ao == bo
}

// Took says how long a number of seconds is, to the second under an hour ("4 min
// 12 s"), for times to acknowledge.
func (v *view) Took(secs float64) string {
	s := int(math.Round(max(secs, 0)))
	switch {
	case s < 60:
		return v.T("duration.seconds", s)
	case s < 3600 && s%60 == 0:
		return v.T("duration.minutes", s/60)
	case s < 3600:
		return v.T("duration.minSec", s/60, s%60)
	case s%3600 < 60:
		return v.T("duration.hours", s/3600)
	}
	return v.T("duration.hourMin", s/3600, s%3600/60)
}

// TookPtr is Took for an optional number ("—" for none).
func (v *view) TookPtr(secs *float64) string {
	if secs == nil {
		return "—"
	}
	return v.Took(*secs)
}

// Waited says how long ago t was, to the minute, for a page that waits.
func (v *view) Waited(t time.Time) string {
	m := int(v.Now.Sub(t) / time.Minute)
	switch {
	case m < 1:
		return v.T("duration.underMinute")
	case m < 60:
		return v.T("duration.minutes", m)
	case m%60 == 0:
		return v.T("duration.hours", m/60)
	}
	return v.T("duration.hourMin", m/60, m%60)
}

// Note translates the hotline's notes on notification attempts and the reasons an
// escalation stopped; others (a mail server's error, say) stay as they are.
func (v *view) Note(s string) string {
	state := func(prefix string) string {
		st := strings.TrimPrefix(s, prefix)
		if v.c.i18n.has(v.Lang, "hstate."+st) {
			return v.T("note.already", v.T("hstate."+st))
		}
		return s
	}
	switch {
	case s == "no SMTP relay configured":
		return v.T("note.noSMTP")
	case s == "webhooks not configured":
		return v.T("note.noWebhook")
	case s == "contact removed":
		return v.T("note.contactRemoved")
	case s == "every level notified; no acknowledgement":
		return v.T("note.exhausted")
	case strings.HasPrefix(s, "already notified on "):
		return v.T("note.deduped")
	case strings.HasPrefix(s, "rate limit: "):
		return v.T("note.rateLimited")
	case strings.HasPrefix(s, "page already "):
		return state("page already ")
	case strings.HasPrefix(s, "already "):
		return state("already ")
	case strings.HasPrefix(s, "acknowledged by "):
		return v.T("note.ackedBy", strings.TrimPrefix(s, "acknowledged by "))
	case strings.HasPrefix(s, "resolved by "):
		return v.T("note.resolvedBy", v.TeamName(strings.TrimPrefix(s, "resolved by ")))
	}
	return s
}

// ShiftText describes a rotation's hand-offs.
func (v *view) ShiftText(r oncall.Rotation) string {
	st, err := time.Parse(oncall.StartLayout, r.Start)
	if err != nil {
		return r.Shift
	}
	switch r.Shift {
	case oncall.Daily:
		return v.T("oncall.daily", r.Every, st.Format("15:04"))
	case oncall.Weekly:
		return v.T("oncall.weekly", r.Every, v.T(fmt.Sprintf("weekday.%d", int(st.Weekday()))), st.Format("15:04"))
	case oncall.Hours:
		return v.T("oncall.hours", r.Every)
	}
	return r.Shift
}

// pair hands a partial template the view and one value.
type pair struct {
	V *view
	D any
}

// With pairs the view with a value, for partials that need both.
func (v *view) With(d any) pair { return pair{V: v, D: d} }

// CategoryName is an RSIT category ("class/type") in the viewer's language: the type's
// name after its class's ("Malicious code: C2 server"), or the value as it is when the
// catalogue lacks it.
func (v *view) CategoryName(category string) string {
	class, _, _ := strings.Cut(category, "/")
	c, ok1 := taxonomy.Translate(class, v.Lang)
	t, ok2 := taxonomy.Translate(category, v.Lang)
	if !ok1 || !ok2 {
		return category
	}
	return v.T("category.name", c.Name, t.Name)
}

// TaxonName is a class's ("malicious-code") or type's ("malicious-code/c2-server") name
// in the viewer's language.
func (v *view) TaxonName(key string) string {
	if t, ok := taxonomy.Translate(key, v.Lang); ok {
		return t.Name
	}
	return key
}

// TaxonHelp is a class's or type's description in the viewer's language.
func (v *view) TaxonHelp(key string) string {
	t, _ := taxonomy.Translate(key, v.Lang)
	return t.Description
}

// ObsTypeName is an indicator type ("ipv4") in the viewer's language.
func (v *view) ObsTypeName(typ string) string {
	if v.c.i18n.has(v.Lang, "obstype."+typ) {
		return v.T("obstype." + typ)
	}
	return typ
}

// Who is a person's name as a person wrote it, marked as such: a name is not the
// console's text to translate (translate="no"), and its lang lets the browser draw it
// with its own script's glyphs.
func (v *view) Who(name string) template.HTML {
	return template.HTML(`<span class="who-name" translate="no" lang="` + v.UL(name, "") + `">` + template.HTMLEscapeString(name) + `</span>`)
}

// PersonWho is Person, marked as Who marks a name.
func (v *view) PersonWho(name string) template.HTML { return v.Who(v.Person(name)) }

// TH translates like T, for a sentence with marked-up pieces among its arguments (a
// name from Who): those go in as they are, every other argument and the sentence itself
// are escaped.
func (v *view) TH(key string, args ...any) template.HTML {
	var pieces []template.HTML
	for i, a := range args {
		if h, ok := a.(template.HTML); ok {
			args[i] = fmt.Sprintf("\x00%d\x00", len(pieces))
			pieces = append(pieces, h)
		}
	}
	out := template.HTMLEscapeString(v.T(key, args...))
	for i, h := range pieces {
		out = strings.Replace(out, template.HTMLEscapeString(fmt.Sprintf("\x00%d\x00", i)), string(h), 1)
	}
	return template.HTML(out)
}

// Named is a name a person gave something (a rotation, a policy), marked with its
// language and not to be translated.
func (v *view) Named(name string) template.HTML {
	return template.HTML(`<span translate="no" lang="` + v.UL(name, "") + `">` + template.HTMLEscapeString(name) + `</span>`)
}
