package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/oncall"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// pageRow is a hotline page as the console's lists show it.
type pageRow struct {
	store.Page
	Incoming bool
	Mine     store.Delivery // an incoming page's delivery to us
}

func (c *Console) pageRows(pages []store.Page) []pageRow {
	self := c.dir.Self.ID
	out := make([]pageRow, 0, len(pages))
	for _, p := range pages {
		row := pageRow{Page: p, Incoming: p.From != self}
		for _, d := range p.Deliveries {
			if d.Team == self {
				row.Mine = d
			}
		}
		out = append(out, row)
	}
	return out
}

// sortWaiting orders pages waiting for us: real pages before drills, the most severe
// first, then the one that has waited longest.
func sortWaiting(rows []pageRow) {
	slices.SortStableFunc(rows, func(a, b pageRow) int {
		if a.Drill != b.Drill {
			if a.Drill {
				return 1
			}
			return -1
		}
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
}

// drillShownFor is how long a drill we sent stays on the dashboard; comm checks are
// never resolved, and their history is on the comm checks screen.
const drillShownFor = 24 * time.Hour

// onDashboard reports whether a page we sent belongs on the dashboard: every open
// page, except drills that everyone answered or that are older than a day.
func onDashboard(p store.Page, now time.Time) bool {
	if !p.Drill {
		return true
	}
	if now.Sub(p.CreatedAt) > drillShownFor {
		return false
	}
	for _, d := range p.Deliveries {
		if d.AcknowledgedAt == nil {
			return true
		}
	}
	return false
}

// dashboardPagesOut fills the dashboard's pages we sent, and the partners that have not
// answered an urgent one in time.
func (c *Console) dashboardPagesOut(r *http.Request, v *view, page *dashboardPage) error {
	page.Hotline = true
	out, err := c.d.Hotline.List(r.Context(), hotline.ListFilter{State: "open", Direction: "out", Limit: 100})
	if err != nil {
		return err
	}
	now := c.d.Clock.Now()
	if page.Unanswered, err = c.unansweredPages(r.Context(), out, now); err != nil {
		return err
	}
	out = slices.DeleteFunc(out, func(p store.Page) bool { return !onDashboard(p, now) })
	page.PagesOut = c.pageRows(out)
	return nil
}

// hotlineActor is the signed-in person as the hotline knows them.
func (v *view) hotlineActor() hotline.Actor {
	u := v.User()
	return hotline.Actor{Name: u.Name, DisplayName: u.DisplayName}
}

// hotlineViewer is the signed-in person as the hotline shows contacts to them.
func (v *view) hotlineViewer() hotline.Viewer {
	u := v.User()
	return hotline.Viewer{Name: u.Name, Admin: u.Role == auth.Admin}
}

// option is one choice of a select.
type option struct{ Value, Label string }

// hotlineScreen is the hotline: what needs action first — pages to us waiting for our
// acknowledgement, then our urgent pages nobody answered — then the rest of the pages
// in and out. Sending a page has a screen of its own (sendScreen), so that the keyboard
// and a phone reach a waiting page before any form.
type hotlineScreen struct {
	Await      *awaiting
	Unanswered []unanswered
	In, Out    []pageRow // In: pages to us that no longer wait (acknowledged or resolved)
	All        bool      // resolved pages too
}

// sendScreen is the form to page partners.
type sendScreen struct {
	Peers      []team.Peer
	Severities []string
	Incidents  []option
	// Again is the page this one repeats or forwards, when the form came from an
	// unanswered page's actions.
	Again *store.Page
}

func (c *Console) activePeers() []team.Peer {
	var out []team.Peer
	for _, p := range c.dir.Peers() {
		if p.IsActive() {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) hotlineData(r *http.Request, v *view) (hotlineScreen, error) {
	all := r.URL.Query().Get("show") == "all"
	s := hotlineScreen{All: all}
	var err error
	if s.Await, err = v.waitingPages(r.Context()); err != nil {
		return s, err
	}
	state := "open"
	if all {
		state = ""
	}
	in, err := c.d.Hotline.List(r.Context(), hotline.ListFilter{State: state, Direction: "in", Limit: 100})
	if err != nil {
		return s, err
	}
	out, err := c.d.Hotline.List(r.Context(), hotline.ListFilter{State: state, Direction: "out", Limit: 100})
	if err != nil {
		return s, err
	}
	if s.Unanswered, err = c.unansweredPages(r.Context(), out, c.d.Clock.Now()); err != nil {
		return s, err
	}
	// What waits is listed above, once.
	for _, row := range c.pageRows(in) {
		if row.Mine.AcknowledgedAt != nil || row.ResolvedAt != nil {
			s.In = append(s.In, row)
		}
	}
	// Real pages before drills; each newest first, as listed.
	slices.SortStableFunc(s.In, func(a, b pageRow) int {
		switch {
		case a.Drill == b.Drill:
			return 0
		case a.Drill:
			return 1
		}
		return -1
	})
	s.Out = c.pageRows(out)
	return s, nil
}

func (c *Console) hotlineScreen(w http.ResponseWriter, r *http.Request, v *view) error {
	s, err := c.hotlineData(r, v)
	if err != nil {
		return err
	}
	v.Nav, v.Live = "hotline", "pages"
	return c.render(w, v, http.StatusOK, "hotline", v.T("hotline.title"), s)
}

// sendForm is the form to page partners: empty, or for a page about an incident, or —
// from an unanswered page's actions — the same page again to the same partner
// (again=ID&to=TEAM), or to another partner (again=ID, no team chosen).
func (c *Console) sendForm(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	v.FormName = "page"
	v.Form.Set("severity", "high")
	// No label chosen: the page takes its incident's (AMBER without one). Lowering it is
	// the author's choice, never the form's default.
	if id := q.Get("incident"); id != "" {
		v.Form.Set("incident", id)
	}
	if to := q.Get("to"); to != "" {
		v.Form.Set("to", to)
	}
	var again *store.Page
	if id := q.Get("again"); id != "" {
		p, err := c.d.Hotline.Get(r.Context(), id)
		if err != nil {
			return err
		}
		if p.From == c.dir.Self.ID {
			again = &p
			v.Form.Set("severity", p.Severity)
			v.Form.Set("summary", p.Summary)
			v.Form.Set("details", p.Details)
			v.Form.Set("incident", p.IncidentID)
			v.Form.Set("tlp", p.TLP)
		}
	}
	return c.showSendForm(w, r, v, http.StatusOK, again)
}

func (c *Console) showSendForm(w http.ResponseWriter, r *http.Request, v *view, status int, again *store.Page) error {
	s := sendScreen{Peers: c.activePeers(), Severities: hotline.Severities, Again: again}
	incs, err := c.d.Incidents.List(r.Context(), store.IncidentFilter{Limit: 500})
	if err != nil {
		return err
	}
	chosen := v.Val("incident")
	for _, in := range incs {
		if in.Status != incident.Closed || in.ID == chosen {
			s.Incidents = append(s.Incidents, option{Value: in.ID, Label: in.ID + " · " + in.Title})
		}
	}
	if chosen != "" && !slices.ContainsFunc(s.Incidents, func(o option) bool { return o.Value == chosen }) {
		s.Incidents = append(s.Incidents, option{Value: chosen, Label: chosen})
	}
	v.Nav, v.Back = "hotline", "/hotline/new"
	return c.render(w, v, status, "hotline_new", v.T("hotline.send"), s)
}

// errNoRecipient is the hotline's own message for a page to nobody, so that the form
// says it the same way (and in the same words) before asking the service.
var errNoRecipient = problem.Invalid("to", "name at least one team, or all")

// pageSend pages partners; on a mistake the form comes back as typed, with the
// messages beside the fields.
func (c *Console) pageSend(w http.ResponseWriter, r *http.Request, v *view) error {
	n := hotline.NewPage{To: trimmed(r.PostForm["to"]), Severity: r.PostFormValue("severity"), Summary: r.PostFormValue("summary"),
		Details: r.PostFormValue("details"), IncidentID: strings.TrimSpace(r.PostFormValue("incident")), TLP: r.PostFormValue("tlp")}
	v.Form, v.FormName = r.PostForm, "page"
	// The two fields a hurried person forgets are checked together, so that one round
	// trip shows both.
	if len(n.To) == 0 {
		v.fieldErrors("page", errNoRecipient, nil)
	}
	if strings.TrimSpace(n.Summary) == "" {
		v.fieldErrors("page", problem.Invalid("summary", "required"), nil)
	}
	if len(v.Errors) > 0 {
		return c.showSendForm(w, r, v, http.StatusUnprocessableEntity, nil)
	}
	p, err := c.d.Hotline.Send(r.Context(), v.hotlineActor(), n)
	if err != nil {
		if !v.fieldErrors("page", err, map[string]string{"incident_id": "incident"}) {
			return err
		}
		pr, _ := problem.As(err)
		return c.showSendForm(w, r, v, pr.Status, nil)
	}
	c.flash(w, "ok", "flash.pageSent")
	http.Redirect(w, r, "/hotline/pages/"+url.PathEscape(p.ID), http.StatusSeeOther)
	return nil
}

// pageDetail is one page: every delivery's progress and, on the receiving node, how
// we escalated it.
type pageDetail struct {
	Page          store.Page
	Incoming      bool
	Mine          store.Delivery
	Deliveries    []deliveryView
	CanAck        bool
	CanResolve    bool
	Escalation    *escalationView
	Notifications []store.Notification
	IncidentTitle string
	// Unanswered are the partners that have not acknowledged this urgent page of ours
	// in time, with whom to call and what to do.
	Unanswered []unanswered
}

// deliveryView is a delivery with what its acknowledgement is worth as evidence.
type deliveryView struct {
	store.Delivery
	// Signature: "verified" (the statement checks against the team's key), "invalid",
	// "none" (no statement: not acknowledged, or by a fallback code), "nokey".
	Signature string
	// Fallback: acknowledged with the code from our fallback e-mail, not verified.
	Fallback bool
}

// escalationView is our escalation of a page we received, with its frozen policy.
type escalationView struct {
	store.Escalation
	PolicyName string
	Rounds     int // 1 + the policy's repeat
	Levels     []levelView
	NextPeople []string // whom the next level reaches
	// LastWait: every level has been notified; the escalation ends at NextAt unless
	// someone acknowledges.
	LastWait bool
	Broken   bool // the frozen policy could not be read
}

// levelView is one level of an escalation policy.
type levelView struct {
	N            int // from 1
	DelayMinutes int
	Targets      []targetView
	Next         bool // the level that fires next
}

// targetView is whom a level notifies: a person, or whoever is on call in a rotation.
type targetView struct {
	Type, ID, Name string
	People         []string // who it reaches (for a rotation, at the time in question)
}

// levelViews describes a policy's levels; rotation names whom a rotation target
// names, and onCall whom it reaches at level i.
func levelViews(p oncall.Policy, rotation func(id string) string, onCall func(level int, rotationID string) []string) []levelView {
	out := make([]levelView, len(p.Levels))
	for i, l := range p.Levels {
		lv := levelView{N: i + 1, DelayMinutes: l.DelayMinutes}
		for _, tg := range l.Targets {
			tv := targetView{Type: tg.Type, ID: tg.ID, Name: tg.ID}
			if tg.Type == oncall.TargetRotation {
				tv.Name = rotation(tg.ID)
				tv.People = onCall(i, tg.ID)
			}
			lv.Targets = append(lv.Targets, tv)
		}
		out[i] = lv
	}
	return out
}

func escalation(e store.Escalation) *escalationView {
	ev := &escalationView{Escalation: e}
	plan, err := oncall.LoadSnapshot([]byte(e.Policy))
	if err != nil {
		ev.Broken = true
		return ev
	}
	pol := plan.Policy
	ev.PolicyName, ev.Rounds = pol.Name, 1+pol.Repeat
	at := e.StartedAt
	if e.NextAt != nil {
		at = *e.NextAt
	}
	ev.Levels = levelViews(pol, func(id string) string {
		if r, ok := plan.Rotations[id]; ok && r.Name != "" {
			return r.Name
		}
		return id
	}, func(level int, id string) []string {
		r, ok := plan.Rotations[id]
		if !ok {
			return nil
		}
		sh, err := oncall.OnCall(r, plan.Overrides, at)
		if err != nil {
			return nil
		}
		return []string{sh.User}
	})
	if e.StoppedAt != nil || e.NextAt == nil {
		return ev
	}
	if e.Level >= len(pol.Levels) {
		ev.LastWait = true
		return ev
	}
	ev.Levels[e.Level].Next = true
	ev.NextPeople, _ = plan.Resolve(e.Level, *e.NextAt)
	return ev
}

func (c *Console) pageDetail(r *http.Request, v *view, d hotline.Detail) pageDetail {
	self := c.dir.Self.ID
	p := d.Page
	pd := pageDetail{Page: p, Incoming: p.From != self, Notifications: d.Notifications}
	for _, dl := range p.Deliveries {
		dv := deliveryView{Delivery: dl, Signature: "none"}
		for _, a := range d.Acknowledgements {
			if a.Team == dl.Team {
				dv.Signature, dv.Fallback = a.Signature, a.Fallback
			}
		}
		pd.Deliveries = append(pd.Deliveries, dv)
		if dl.Team == self {
			pd.Mine = dl
		}
	}
	write := v.Can("write")
	pd.CanAck = write && pd.Incoming && p.ResolvedAt == nil && pd.Mine.AcknowledgedAt == nil
	pd.CanResolve = write && !pd.Incoming && p.ResolvedAt == nil
	if d.Escalation != nil {
		pd.Escalation = escalation(*d.Escalation)
	}
	if p.IncidentID != "" {
		if in, err := c.d.Incidents.Get(r.Context(), p.IncidentID); err == nil {
			pd.IncidentTitle = in.Title
		}
	}
	return pd
}

func (c *Console) pageShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showPage(w, r, v, http.StatusOK)
}

// showPage renders a page's detail, with the notice v holds after a failed action.
func (c *Console) showPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	d, err := c.d.Hotline.Detail(r.Context(), r.PathValue("id"), v.hotlineViewer())
	if err != nil {
		return err
	}
	pd := c.pageDetail(r, v, d)
	if !pd.Incoming {
		if pd.Unanswered, err = c.unansweredPages(r.Context(), []store.Page{d.Page}, c.d.Clock.Now()); err != nil {
			return err
		}
	}
	v.Nav, v.Live, v.Back = "hotline", "page:"+d.Page.ID, "/hotline/pages/"+url.PathEscape(d.Page.ID)
	return c.render(w, v, status, "page", d.Page.ID+" "+d.Page.Summary, pd)
}

// pageAck acknowledges a page partners sent us, from the dashboard, the hotline or the
// page. A page about an incident we were only invited to acknowledges our participation
// too; the confirmation says so.
func (c *Console) pageAck(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	res, err := c.d.Hotline.AckPage(r.Context(), v.hotlineActor(), id, hotline.ViaConsole)
	if err != nil {
		return c.pageActionFailed(w, r, v, id, err)
	}
	if res.Incident {
		c.flash(w, "ok", "flash.pageAndIncidentAcknowledged")
	} else {
		c.flash(w, "ok", "flash.pageAcknowledged")
	}
	switch r.PostFormValue("back") {
	case "dashboard":
		http.Redirect(w, r, "/", http.StatusSeeOther)
	case "hotline":
		http.Redirect(w, r, "/hotline", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/hotline/pages/"+url.PathEscape(id), http.StatusSeeOther)
	}
	return nil
}

// pageFallback mails a partner's published hotline address at once about a page of
// ours that it has not acknowledged.
func (c *Console) pageFallback(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.Hotline.FallbackNow(r.Context(), v.hotlineActor(), id, r.PostFormValue("team")); err != nil {
		return c.pageActionFailed(w, r, v, id, err)
	}
	c.flash(w, "ok", "flash.fallbackStarted")
	if r.PostFormValue("back") == "dashboard" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/hotline/pages/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// pageResolve closes a page we sent.
func (c *Console) pageResolve(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if _, err := c.d.Hotline.Resolve(r.Context(), v.hotlineActor(), id); err != nil {
		return c.pageActionFailed(w, r, v, id, err)
	}
	c.flash(w, "ok", "flash.pageResolved")
	http.Redirect(w, r, "/hotline/pages/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// pageActionFailed shows why an acknowledgement or resolution did not happen. A
// conflict is news, not a mistake — usually someone else was quicker — so the page
// comes back showing its state, with who did it and when.
func (c *Console) pageActionFailed(w http.ResponseWriter, r *http.Request, v *view, id string, err error) error {
	p, ok := problem.As(err)
	if !ok || p.Status != http.StatusConflict {
		return err
	}
	d, derr := c.d.Hotline.Detail(r.Context(), id, v.hotlineViewer())
	if derr != nil {
		return err
	}
	self := c.dir.Self.ID
	pg := d.Page
	var mine store.Delivery
	for _, dl := range pg.Deliveries {
		if dl.Team == self {
			mine = dl
		}
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/ack") && pg.From == self:
		v.Flash = v.T("page.ackOwn")
	case strings.HasSuffix(r.URL.Path, "/ack") && mine.AcknowledgedAt != nil:
		v.Flash = v.T("page.alreadyAcked", mine.AcknowledgedBy, v.Time(*mine.AcknowledgedAt))
	case pg.ResolvedAt != nil:
		by := pg.ResolvedBy
		if by == "" || pg.From != self {
			by = v.TeamName(pg.From)
		}
		v.Flash = v.T("page.alreadyResolved", by, v.Time(*pg.ResolvedAt))
	default:
		v.Flash = v.problemText(p)
	}
	v.FlashKind = "info"
	return c.showPage(w, r, v, http.StatusConflict)
}

// onCallPage is who is on call here, how a page escalates, and how to reach partners.
type onCallPage struct {
	Rotations []rotationView
	Policy    *oncall.Policy // the default one; nil when none
	Levels    []levelView
	Overrides []overrideView
	Teams     []teamClock // us first, then the partners
	// Partners is who is on call at each partner team, from its node's last summary.
	Partners []hotline.PartnerOnCall
	// For editing: every policy, the default's id, and the people who can be on call.
	Policies      []oncall.Policy
	DefaultPolicy string
	People        []store.User
}

type rotationView struct {
	hotline.OnCallNow
	Rotation oncall.Rotation
}

type overrideView struct {
	oncall.Override
	RotationName string
	Timezone     string
}

// teamClock is a team's local time and published hotline address.
type teamClock struct {
	team.Team
	Self, Revoked bool
}

func (c *Console) onCall(w http.ResponseWriter, r *http.Request, v *view) error {
	c.overrideDefaults(r, v)
	return c.showOnCall(w, r, v, http.StatusOK)
}

// showOnCall draws the on-call screen, with the override form's state in v.
func (c *Console) showOnCall(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	ctx := r.Context()
	cfg, err := c.d.Hotline.Config(ctx)
	if err != nil {
		return err
	}
	now, err := c.d.Hotline.WhoIsOnCall(ctx, v.Now)
	if err != nil {
		return err
	}
	var page onCallPage
	rotations := map[string]oncall.Rotation{}
	for _, rt := range cfg.Rotations {
		rotations[rt.ID] = rt
	}
	current := map[string]string{}
	for _, n := range now {
		page.Rotations = append(page.Rotations, rotationView{OnCallNow: n, Rotation: rotations[n.Rotation]})
		current[n.Rotation] = n.Current.User
	}
	rotationName := func(id string) string {
		if rt, ok := rotations[id]; ok && rt.Name != "" {
			return rt.Name
		}
		return id
	}
	for _, p := range cfg.Policies {
		if p.ID == cfg.DefaultPolicy {
			page.Policy = &p
			page.Levels = levelViews(p, rotationName, func(_ int, id string) []string {
				if u, ok := current[id]; ok {
					return []string{u}
				}
				return nil
			})
		}
	}
	for _, o := range cfg.Overrides {
		if o.End.After(v.Now) {
			tz := rotations[o.RotationID].Timezone
			if tz == "" {
				tz = c.dir.Self.Timezone
			}
			page.Overrides = append(page.Overrides, overrideView{Override: o, RotationName: rotationName(o.RotationID), Timezone: tz})
		}
	}
	if page.Partners, err = c.d.Hotline.PartnersOnCall(ctx); err != nil {
		return err
	}
	page.Teams = append(page.Teams, teamClock{Team: c.dir.Self, Self: true})
	for _, p := range c.dir.Peers() {
		page.Teams = append(page.Teams, teamClock{Team: p.Team, Revoked: p.Revoked})
	}
	page.Policies, page.DefaultPolicy = cfg.Policies, cfg.DefaultPolicy
	if page.People, err = c.onCallPeople(ctx); err != nil {
		return err
	}
	v.Nav, v.Back = "oncall", "/oncall"
	return c.render(w, v, status, "oncall", v.T("oncall.title"), page)
}

// commChecksPage is the comm checks: the form to run one, each partner's summary and
// the history.
type commChecksPage struct {
	Peers  []team.Peer
	Report hotline.Report
}

func (c *Console) commChecks(w http.ResponseWriter, r *http.Request, v *view) error {
	v.FormName = "commcheck"
	v.Form.Set("to", "all")
	return c.showCommChecks(w, r, v, http.StatusOK)
}

func (c *Console) showCommChecks(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	rep, err := c.d.Hotline.CommCheckReport(r.Context(), 50)
	if err != nil {
		return err
	}
	v.Nav, v.Live, v.Back = "commchecks", "pages", "/commchecks"
	return c.render(w, v, status, "commchecks", v.T("cc.title"), commChecksPage{Peers: c.activePeers(), Report: rep})
}

func (c *Console) commCheckRun(w http.ResponseWriter, r *http.Request, v *view) error {
	to := trimmed(r.PostForm["to"])
	err := error(errNoRecipient)
	if len(to) > 0 {
		_, err = c.d.Hotline.RunCommCheck(r.Context(), v.hotlineActor(), to)
	}
	if err != nil {
		v.Form = r.PostForm
		if !v.fieldErrors("commcheck", err, nil) {
			return err
		}
		p, _ := problem.As(err)
		return c.showCommChecks(w, r, v, p.Status)
	}
	c.flash(w, "ok", "flash.commCheck")
	http.Redirect(w, r, "/commchecks", http.StatusSeeOther)
	return nil
}

// Summary is what a page says, for the screen: a comm check's summary is the sending
// node's own words in English ("Comm check … please acknowledge"), so the console says
// it in the viewer's language instead; a person's summary is shown as written.
func (v *view) Summary(p store.Page) string {
	if p.Drill && p.CommCheckID != "" {
		return v.T("cc.pageSummary", v.TeamName(p.From))
	}
	return p.Summary
}

// SummaryLang is the language of what Summary shows.
func (v *view) SummaryLang(p store.Page) string {
	if p.Drill && p.CommCheckID != "" {
		return v.Lang
	}
	return v.UL(p.Summary, p.From)
}

// AckWords gives the hotline's acknowledgement form (hotline.AckHandler, for people
// with a code from an e-mail and no account) its words from the console's catalogs, in
// the language the request asks for.
func (c *Console) AckWords(r *http.Request) hotline.AckWords {
	// A link may name the language (?lang=ja), as the mail's reader would read it.
	lang := c.language(r, r.URL.Query().Get("lang"))
	v := &view{c: c, r: r, Lang: lang, p: c.i18n.printer(lang), Loc: c.dir.Self.Location(), Now: c.d.Clock.Now(),
		Errors: map[string]string{}}
	return hotline.AckWords{Lang: lang, T: v.T,
		Problem: func(err error) string {
			if p, ok := problem.As(err); ok {
				return v.labelled(p.Field, v.problemText(p))
			}
			return v.T("error.internal")
		},
		Time:     func(t time.Time) string { return v.ZoneTime(t, c.dir.Self.Timezone) },
		TextLang: func(s string) string { return v.UL(s, "") }}
}
