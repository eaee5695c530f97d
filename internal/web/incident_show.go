package web

import (
	"encoding/json"
	"net/http"
	"slices"

	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

// incidentPage is one incident with everything a handler does to it.
type incidentPage struct {
	Incident      store.Incident
	Items         []timelineItem
	Observables   []timelineItem
	IsCoordinator bool
	OurStatus     string // our participation status; "" when we do not take part
	NextStatuses  []string
	Participation []string
	Invitable     []team.Peer
	Teams         []string // the participants, for recipient lists
	ObsTypes      []observable.Type
	// Pages are the hotline pages about the incident, ours and partners', newest first.
	Pages []pageRow
	// Related is what else this node knows about each observable, by value.
	Related map[string][]indicator.Hit
}

// timelineItem is an entry as the timeline shows it, or a gap: positions held by
// entries whose TLP did not let them come to us.
type timelineItem struct {
	store.Entry
	Gap     int64
	Status  string // status and participation entries
	Team2   string // invitation entries: the team invited
	ObsType string
}

func timelineItems(entries []store.Entry) (items, observables []timelineItem) {
	var last int64
	for _, e := range entries {
		if e.Position > last+1 {
			items = append(items, timelineItem{Gap: e.Position - last - 1})
		}
		if e.Position > 0 {
			last = e.Position
		}
		it := timelineItem{Entry: e}
		switch e.Kind {
		case incident.KindStatus, incident.KindParticipation:
			var d struct{ Status string }
			json.Unmarshal([]byte(e.Data), &d)
			it.Status = d.Status
		case incident.KindInvitation:
			var d struct{ Team string }
			json.Unmarshal([]byte(e.Data), &d)
			it.Team2 = d.Team
		case incident.KindObservable:
			var o observable.Observable
			json.Unmarshal([]byte(e.Data), &o)
			it.ObsType = string(o.Type)
			observables = append(observables, it)
		}
		items = append(items, it)
	}
	return items, observables
}

func (c *Console) incidentPage(r *http.Request, id string) (incidentPage, error) {
	in, err := c.d.Incidents.Get(r.Context(), id)
	if err != nil {
		return incidentPage{}, err
	}
	self := c.dir.Self.ID
	p := incidentPage{Incident: in, IsCoordinator: in.Coordinator == self,
		Participation: []string{incident.Acknowledged, incident.Working, incident.Done}, ObsTypes: observable.Types()}
	p.Items, p.Observables = timelineItems(in.Timeline)
	for _, pt := range in.Participants {
		p.Teams = append(p.Teams, pt.Team)
		if pt.Team == self {
			p.OurStatus = pt.Status
		}
	}
	for _, s := range statuses {
		if s != in.Status {
			p.NextStatuses = append(p.NextStatuses, s)
		}
	}
	if c.d.Hotline != nil {
		pages, err := c.d.Hotline.List(r.Context(), hotline.ListFilter{Limit: 500})
		if err != nil {
			return p, err
		}
		pages = slices.DeleteFunc(pages, func(pg store.Page) bool { return pg.IncidentID != in.ID })
		p.Pages = c.pageRows(pages)
	}
	var values []string
	for _, o := range p.Observables {
		values = append(values, o.Body)
	}
	p.Related = c.related(r, in.ID, values)
	if p.IsCoordinator {
		for _, peer := range c.dir.Peers() {
			if peer.IsActive() && !slices.Contains(p.Teams, peer.ID) {
				p.Invitable = append(p.Invitable, peer)
			}
		}
	}
	return p, nil
}

func (c *Console) incidentShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showIncident(w, r, v, http.StatusOK)
}

// showIncident renders the incident page, with the form state v holds after a failed
// action.
func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	p, err := c.incidentPage(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Nav, v.Live = "incidents", "incident:"+p.Incident.ID
	return c.render(w, v, status, "incident", p.Incident.ID+" "+p.Incident.Title, p)
}
