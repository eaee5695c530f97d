package web

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"csirtlink/internal/feedrun"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Bulk feeds in the console (issue 12 item 7): the feed runs, each run's counts per
// owner and per partner with its malformed rows by line, the network owners with the
// runs that routed events to each, and a form to upload a feed file.

// maxUpload caps a feed file uploaded in the console. Larger reports go through
// `csirtlink feed ingest` or the API, which stream from disk.
const maxUpload = 256 << 20

// feedFormats are the formats the upload form offers ("" detects the format).
var feedFormats = []string{"", "shadowserver", "intelmq", "csv"}

// feedsPage is the list of runs with the upload form.
type feedsPage struct {
	Runs    []store.FeedRun
	Formats []string
	Owners  map[string]string // owner id → name
}

func (c *Console) showFeeds(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	runs, err := c.d.Feeds.List(r.Context(), 100)
	if err != nil {
		return err
	}
	v.Nav, v.Back = "feeds", "/feeds"
	if v.FormName == "" {
		v.FormName = "upload"
	}
	return c.render(w, v, status, "feeds", v.T("feeds.title"), feedsPage{Runs: runs, Formats: feedFormats})
}

func (c *Console) feeds(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form.Set("tlp", "AMBER")
	return c.showFeeds(w, r, v, http.StatusOK)
}

// feedUpload runs an uploaded file (gzip accepted) through the pipeline and shows its
// run. The form is multipart: run() has read it with the upload's limit.
func (c *Console) feedUpload(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form, v.FormName = r.PostForm, "upload"
	if r.MultipartForm == nil {
		return problem.BadRequest("unreadable form")
	}
	defer r.MultipartForm.RemoveAll()
	fh := r.MultipartForm.File["file"]
	if len(fh) == 0 {
		v.fieldErrors("upload", problem.Invalid("file", "required"), nil)
		return c.showFeeds(w, r, v, http.StatusUnprocessableEntity)
	}
	f, err := fh[0].Open()
	if err != nil {
		return err
	}
	defer f.Close()
	req := feedrun.Request{Format: v.Val("format"), Report: strings.TrimSpace(v.Val("report")), Map: strings.TrimSpace(v.Val("map")),
		Feed: strings.TrimSpace(v.Val("feed")), TLP: v.Val("tlp"), FileName: fh[0].Filename, Aggregate: strings.TrimSpace(v.Val("aggregate"))}
	run, err := c.d.Feeds.Ingest(r.Context(), v.userName(), req, f, nil)
	if err != nil {
		if !v.fieldErrors("upload", err, nil) {
			return err
		}
		pr, _ := problem.As(err)
		if run.ID == "" {
			return c.showFeeds(w, r, v, pr.Status)
		}
	}
	c.flash(w, "ok", "flash.feedIngested")
	http.Redirect(w, r, "/feeds/runs/"+url.PathEscape(run.ID), http.StatusSeeOther)
	return nil
}

// countRow is one recipient of a run's events.
type countRow struct {
	ID, Name string
	N        int64
}

// runPage is one feed run.
type runPage struct {
	Run      store.FeedRun
	Owners   []countRow
	Partners []countRow
}

// sortedCounts lists counts, most first, named by name (id when it has none).
func sortedCounts(m map[string]int64, name func(string) string) []countRow {
	var out []countRow
	for id, n := range m {
		out = append(out, countRow{ID: id, Name: name(id), N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (c *Console) feedRun(w http.ResponseWriter, r *http.Request, v *view) error {
	run, err := c.d.Feeds.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	owners, err := c.ownerNames(r)
	if err != nil {
		return err
	}
	page := runPage{Run: run,
		Owners: sortedCounts(run.Owners, func(id string) string {
			if n := owners[id]; n != "" {
				return n
			}
			return id
		}),
		Partners: sortedCounts(run.Partners, v.TeamName)}
	v.Nav = "feeds"
	return c.render(w, v, http.StatusOK, "feed_run", v.T("feeds.run", run.ID), page)
}

func (c *Console) ownerNames(r *http.Request) (map[string]string, error) {
	list, err := c.d.Owners.List(r.Context())
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, o := range list {
		m[o.ID] = o.Name
	}
	return m, nil
}

func (c *Console) owners(w http.ResponseWriter, r *http.Request, v *view) error {
	list, err := c.d.Owners.List(r.Context())
	if err != nil {
		return err
	}
	v.Nav = "feeds"
	return c.render(w, v, http.StatusOK, "owners", v.T("owners.title"), list)
}

// ownerPage is one network owner, the runs that routed events to it and the reports
// sent (or to send) to its contacts.
type ownerPage struct {
	Owner   store.NetOwner
	Runs    []ownerRun
	Reports []store.OwnerReport
}

type ownerRun struct {
	store.FeedRun
	N int64 // events routed to this owner
}

func (c *Console) ownerShow(w http.ResponseWriter, r *http.Request, v *view) error {
	o, err := c.d.Owners.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	runs, err := c.d.Feeds.List(r.Context(), 500)
	if err != nil {
		return err
	}
	page := ownerPage{Owner: o}
	for _, run := range runs {
		if n := run.Owners[o.ID]; n > 0 {
			page.Runs = append(page.Runs, ownerRun{FeedRun: run, N: n})
		}
	}
	if c.d.OwnerMail != nil {
		if page.Reports, err = c.d.OwnerMail.Reports(r.Context(), o.ID, 100); err != nil {
			return err
		}
	}
	v.Nav = "feeds"
	return c.render(w, v, http.StatusOK, "owner", o.Name, page)
}

// ownerReportResend sends one of the owner's reports again: the same events, to the
// same contact; the engine sends it as it sends any due report.
func (c *Console) ownerReportResend(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.OwnerMail.Resend(r.Context(), v.userName(), id, r.PathValue("report"), ""); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.reportResent")
	http.Redirect(w, r, "/owners/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// CanResend says whether a report may be sent again: once it is no longer waiting or
// being sent.
func (v *view) CanResend(state string) bool {
	return state == store.ReportSent || state == store.ReportFailed || state == store.ReportUnknown
}

// ReportState is an owner report's state in the viewer's words.
func (v *view) ReportState(s string) string {
	if v.c.i18n.has(v.Lang, "reportstate."+s) {
		return v.T("reportstate." + s)
	}
	return s
}

// receivedPage lists the routed reports partners sent us.
type receivedPage struct {
	Partner string // the filter; "" for every partner
	Runs    []store.FeedRun
}

// feedsReceived lists the routed reports received from partner teams (runs with an
// origin), newest first, optionally of one partner (?partner=cn).
func (c *Console) feedsReceived(w http.ResponseWriter, r *http.Request, v *view) error {
	partner := r.URL.Query().Get("partner")
	runs, err := c.d.Feeds.List(r.Context(), 500)
	if err != nil {
		return err
	}
	page := receivedPage{Partner: partner}
	for _, run := range runs {
		if run.Origin != "" && (partner == "" || run.Origin == partner) {
			page.Runs = append(page.Runs, run)
		}
	}
	v.Nav, v.Back = "feeds", "/feeds"
	return c.render(w, v, http.StatusOK, "feeds_received", v.T("feeds.received"), page)
}

// RunState is a run's state in the viewer's words.
func (v *view) RunState(s string) string {
	if v.c.i18n.has(v.Lang, "runstate."+s) {
		return v.T("runstate." + s)
	}
	return s
}

// FormatName is a feed format's name ("" is "detect").
func (v *view) FormatName(f string) string {
	if f == "" || f == "detected" {
		return v.T("feeds.detect")
	}
	return f
}

// ScheduleText says how an owner's contact wants its reports.
func (v *view) ScheduleText(ct store.OwnerContact) string {
	if ct.Schedule == "daily" {
		key := "owners.daily"
		if ct.BusinessDays {
			key = "owners.dailyBusiness"
		}
		tz := ct.Timezone
		if tz == "" {
			tz = v.c.dir.Self.Timezone
		}
		return v.T(key, ct.DigestAt, v.ZoneName(tz))
	}
	return v.T("owners.immediate")
}

// LangName names a language code in its own words, or gives the code.
func (v *view) LangName(code string) string {
	for _, l := range languages {
		if strings.EqualFold(l.Code, code) || strings.EqualFold(strings.Split(l.Code, "-")[0], code) {
			return l.Name
		}
	}
	return code
}

// Code is a piece of machine text (a command, an id, a column mapping) for a sentence
// of TH: shown as code, never translated.
func (v *view) Code(s string) template.HTML {
	return template.HTML(`<code translate="no">` + template.HTMLEscapeString(s) + `</code>`)
}
