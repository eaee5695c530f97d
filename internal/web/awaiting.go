package web

import (
	"context"
	"slices"
	"time"

	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
)

// awaiting is what waits for our acknowledgement. It is read once per request, so
// that every place a screen shows it — the navigation's badge, the window title, the
// dashboard's banner and its lists — tells the same story: a banner that says "1 page
// waits" beside a card that says "nothing waits" is what a tired duty officer must
// never see.
type awaiting struct {
	// Pages are real pages to us, not yet acknowledged: most severe, then longest
	// waiting, first.
	Pages []pageRow
	// Drills are comm checks to us, not yet acknowledged; they wait too, but calmly.
	Drills []pageRow
	// Invitations are partners' incidents where our participation is only invited
	// (filled on the dashboard, which reads the incidents anyway).
	Invitations []store.Incident
}

// Loud counts what the dashboard's red banner lists: real pages and invitations.
func (a awaiting) Loud() int { return len(a.Pages) + len(a.Invitations) }

// PageCount counts the pages waiting for us, drills included: the navigation's badge.
func (a awaiting) PageCount() int { return len(a.Pages) + len(a.Drills) }

// waitingPages lists, once per request, the pages waiting for our acknowledgement.
func (v *view) waitingPages(ctx context.Context) (*awaiting, error) {
	if v.await != nil {
		return v.await, nil
	}
	pages, err := v.c.d.Hotline.List(ctx, hotline.ListFilter{State: "waiting", Direction: "in"})
	if err != nil {
		return nil, err
	}
	a := &awaiting{}
	for _, r := range v.c.pageRows(pages) {
		if r.Drill {
			a.Drills = append(a.Drills, r)
		} else {
			a.Pages = append(a.Pages, r)
		}
	}
	sortWaiting(a.Pages)
	sortWaiting(a.Drills)
	v.await = a
	return a, nil
}

// Waiting counts the pages waiting for us, for the navigation's badge and the window
// title; 0 when they could not be read (the badge is a comfort, not the page).
func (v *view) Waiting() int {
	if v.await == nil {
		return 0
	}
	return v.await.PageCount()
}

// invitations are the partners' incidents among all where our participation is only
// invited, most severe first.
func invitations(all []store.Incident, self string) []store.Incident {
	var out []store.Incident
	for _, in := range all {
		if in.Status == incident.Closed || in.Coordinator == self {
			continue
		}
		if slices.ContainsFunc(in.Participants, func(p store.Participant) bool { return p.Team == self && p.Status == incident.Invited }) {
			out = append(out, in)
		}
	}
	sortBySeverity(out)
	return out
}

// alarmAfter is how long a page of ours may go unacknowledged by a partner before the
// sender is alarmed; only critical and high pages alarm, and drills never.
var alarmAfter = map[string]time.Duration{"critical": 5 * time.Minute, "high": 15 * time.Minute}

// unanswered is one partner that has not acknowledged an urgent page of ours in time:
// what the sender needs to act on at once.
type unanswered struct {
	Page     store.Page
	Delivery store.Delivery
	// OnCall is who is on call at the partner now, by its node's last summary (one per
	// rotation); Stale when that summary is over an hour old.
	OnCall []string
	Stale  bool
	// HotlineEmail is the partner's published hotline address, where the fallback
	// mail goes; CanMail when it may still be started.
	HotlineEmail string
	CanMail      bool
}

// overdue reports whether a delivery of a page we sent is past its alarm time.
func overdue(p store.Page, d store.Delivery, now time.Time) bool {
	after, ok := alarmAfter[p.Severity]
	return ok && !p.Drill && p.ResolvedAt == nil && d.AcknowledgedAt == nil && now.Sub(d.SentAt) >= after
}

// unansweredPages lists every overdue delivery of the pages given, with whom to call.
func (c *Console) unansweredPages(ctx context.Context, pages []store.Page, now time.Time) ([]unanswered, error) {
	var out []unanswered
	var partners []hotline.PartnerOnCall
	read := false
	for _, p := range pages {
		for _, d := range p.Deliveries {
			if !overdue(p, d, now) {
				continue
			}
			if !read {
				var err error
				if partners, err = c.d.Hotline.PartnersOnCall(ctx); err != nil {
					return nil, err
				}
				read = true
			}
			u := unanswered{Page: p, Delivery: d}
			if peer, ok := c.dir.Peer(d.Team); ok {
				u.HotlineEmail = peer.HotlineEmail
				u.CanMail = peer.HotlineEmail != "" && peer.IsActive() && d.FallbackAt == nil
			}
			for _, po := range partners {
				if po.Team != d.Team {
					continue
				}
				u.Stale = po.Stale
				for _, r := range po.Rotations {
					if r.Current.User != "" && !slices.Contains(u.OnCall, r.Current.User) {
						u.OnCall = append(u.OnCall, r.Current.User)
					}
				}
			}
			out = append(out, u)
		}
	}
	// The most severe first, then the one that has waited longest.
	slices.SortStableFunc(out, func(a, b unanswered) int {
		if d := severityRank(a.Page.Severity) - severityRank(b.Page.Severity); d != 0 {
			return d
		}
		return a.Delivery.SentAt.Compare(b.Delivery.SentAt)
	})
	return out, nil
}

// Urgency is how a delivery of a page we sent stands, for its colour: "alarm" when it
// is overdue, "ok" once acknowledged, "wait" otherwise (with its state's own colour).
func (v *view) Urgency(p store.Page, d store.Delivery) string {
	switch {
	case d.AcknowledgedAt != nil:
		return "ok"
	case overdue(p, d, v.Now):
		return "alarm"
	}
	return "wait"
}

// Await is what waits for our acknowledgement, for the layout; nil when unread.
func (v *view) Await() *awaiting { return v.await }
