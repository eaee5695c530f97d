package web

import (
	"net/http"
	"slices"
	"time"

	"csirtlink/internal/federation"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
)

// dashboardPage is the duty officer's first screen: what waits for our
// acknowledgement, our urgent pages nobody has answered, what we wait for from
// partners, what is open, and how each link is.
type dashboardPage struct {
	// Hotline: the node runs the hotline.
	Hotline bool
	// Await is what waits for our acknowledgement: the banner's count and its lists
	// come from this one value (see awaiting).
	Await *awaiting
	// Unanswered are partners that have not acknowledged an urgent page of ours in
	// time; PagesOut are our open pages with each partner's progress.
	Unanswered []unanswered
	PagesOut   []pageRow
	// Waiting are our incidents where a partner has not acknowledged yet, with who.
	Waiting []waitingIncident
	// Severities counts open incidents per severity, most severe first.
	Severities []severityCount
	Open       []store.Incident
	Partners   []partner
}

type waitingIncident struct {
	store.Incident
	Teams []string
	Since time.Time
}

type severityCount struct {
	Severity string
	Count    int
}

// partner is a peer's link, its health in one word (federation.LinkState.Health: the
// same words on every screen, in the API and in the CLI), and its local time.
type partner struct {
	federation.LinkState
	Timezone string
}

func (c *Console) partners(r *http.Request) ([]partner, error) {
	links, err := c.d.Fed.Links(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]partner, len(links))
	for i, l := range links {
		t, _ := c.dir.Team(l.Peer)
		out[i] = partner{LinkState: l, Timezone: t.Timezone}
	}
	return out, nil
}

func severityRank(s string) int {
	if i := slices.Index(incident.Severities, s); i >= 0 {
		return i
	}
	return len(incident.Severities)
}

// sortBySeverity orders incidents most severe first, then most recently updated.
func sortBySeverity(list []store.Incident) {
	slices.SortStableFunc(list, func(a, b store.Incident) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		return b.UpdatedAt.Compare(a.UpdatedAt)
	})
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	all, err := c.d.Incidents.List(r.Context(), store.IncidentFilter{Limit: 500})
	if err != nil {
		return err
	}
	self := c.dir.Self.ID
	var page dashboardPage
	counts := map[string]int{}
	for _, in := range all {
		if in.Status == incident.Closed {
			continue
		}
		counts[in.Severity]++
		page.Open = append(page.Open, in)
		if in.Coordinator == self {
			wi := waitingIncident{Incident: in}
			for _, p := range in.Participants {
				if p.Team != self && p.Status == incident.Invited {
					wi.Teams = append(wi.Teams, p.Team)
					if wi.Since.IsZero() || p.UpdatedAt.Before(wi.Since) {
						wi.Since = p.UpdatedAt
					}
				}
			}
			if len(wi.Teams) > 0 {
				page.Waiting = append(page.Waiting, wi)
			}
		}
	}
	for _, s := range incident.Severities {
		page.Severities = append(page.Severities, severityCount{Severity: s, Count: counts[s]})
	}
	sortBySeverity(page.Open)
	if page.Partners, err = c.partners(r); err != nil {
		return err
	}
	page.Await = &awaiting{}
	if c.d.Hotline != nil {
		if page.Await, err = v.waitingPages(r.Context()); err != nil {
			return err
		}
		if err := c.dashboardPagesOut(r, v, &page); err != nil {
			return err
		}
	}
	// The banner counts what it lists: the invitations join the pages in the one value.
	page.Await.Invitations = invitations(all, self)
	v.Nav, v.Live = "dashboard", "all"
	return c.render(w, v, http.StatusOK, "dashboard", v.T("dashboard.title"), page)
}

// HealthText says how a link is in a duty officer's words, with when we last heard from
// the partner where that matters.
func (v *view) HealthText(p partner) string {
	switch p.Health {
	case "ok", "quiet", "lagging":
		return v.T("health."+p.Health+"Since", v.AgoPtr(p.LastContactAt))
	}
	return v.T("health." + p.Health)
}
