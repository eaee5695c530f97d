package testnet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
)

// History is weeks or months of past collaboration, played through the real services
// on a clock the player sets: so pages, receipts, acknowledgements and timeline
// entries are made, signed and federated exactly as they would have been, at the
// times the stories say. The collaboration metrics' tests and the demo's reports use it.
type History struct {
	Pages     []PageStory
	Incidents []IncidentStory
	// Shares, Feeds and Cases are in history_collab.go.
	Shares []ShareStory
	Feeds  []FeedStory
	Cases  []CaseStory
}

// SettableClock is a clock the player can move forward.
type SettableClock interface {
	clock.Clock
	Set(time.Time)
}

// PageStory is one page and how fast each team paged acknowledged it.
type PageStory struct {
	At       time.Time
	From     string
	To       []string
	Severity string
	Summary  string
	// CommCheck makes the page a comm check (a drill) instead.
	CommCheck bool
	// AckAfter is, per team paged, when a person there acknowledged; a team not listed
	// never did.
	AckAfter map[string]time.Duration
}

// IncidentStory is one incident and what each team did in it.
type IncidentStory struct {
	At           time.Time
	Coordinator  string
	Participants []string
	Title        string
	Category     string
	Severity     string
	TLP          string
	Steps        []Step
}

// Step is one thing a team did in an incident, some time after it was created.
type Step struct {
	After time.Duration
	Team  string
	// Do is "acknowledged", "working" or "done" (the team's participation), "comment",
	// or "mitigated" or "closed" (the coordinator's status).
	Do   string
	Body string
}

// action is one thing to do at one time.
type action struct {
	at  time.Time
	seq int
	do  func(ctx context.Context) error
}

// Play plays a history: it sets clk to each action's time, in order, and after each
// waits until the partners hold what it sent. Stories may interleave; a story's own
// steps must keep an order that makes sense (acknowledged before done).
func (n *Net) Play(ctx context.Context, clk SettableClock, h History) error {
	var acts []action
	add := func(at time.Time, do func(ctx context.Context) error) {
		acts = append(acts, action{at: at, seq: len(acts), do: do})
	}
	for _, ps := range h.Pages {
		pageID := new(string)
		add(ps.At, func(ctx context.Context) error {
			svc := n.Node(ps.From).App.Hotline
			actor := hotline.Actor{Name: "duty", DisplayName: "Duty officer (" + ps.From + ")"}
			if ps.CommCheck {
				cc, err := svc.RunCommCheck(ctx, actor, ps.To)
				if err != nil {
					return fmt.Errorf("history: comm check from %s: %w", ps.From, err)
				}
				*pageID = cc.PageID
			} else {
				p, err := svc.Send(ctx, actor, hotline.NewPage{To: ps.To, Severity: ps.Severity, Summary: ps.Summary, TLP: "GREEN"})
				if err != nil {
					return fmt.Errorf("history: page from %s: %w", ps.From, err)
				}
				*pageID = p.ID
			}
			for _, t := range ps.To {
				if err := n.waitPage(ctx, t, *pageID); err != nil {
					return err
				}
			}
			return n.waitDelivered(ctx, ps.From, *pageID, ps.To)
		})
		for _, t := range ps.To {
			d, ok := ps.AckAfter[t]
			if !ok {
				continue
			}
			add(ps.At.Add(d), func(ctx context.Context) error {
				if _, err := n.Node(t).App.Hotline.Ack(ctx, hotline.Actor{Name: "duty", DisplayName: "Duty officer (" + t + ")"}, *pageID, hotline.ViaConsole); err != nil {
					return fmt.Errorf("history: %s acknowledges %s: %w", t, *pageID, err)
				}
				return n.waitAcked(ctx, ps.From, *pageID, t)
			})
		}
	}
	for _, is := range h.Incidents {
		id := new(string)
		add(is.At, func(ctx context.Context) error {
			tlpLabel := is.TLP
			if tlpLabel == "" {
				tlpLabel = "GREEN"
			}
			in, err := n.Node(is.Coordinator).App.Incidents.Create(ctx, incident.Actor{Name: "duty@" + is.Coordinator, Role: "handler"},
				incident.NewIncident{Title: is.Title, Description: is.Title, Category: is.Category, Severity: is.Severity, TLP: tlpLabel,
					Participants: is.Participants})
			if err != nil {
				return fmt.Errorf("history: incident at %s: %w", is.Coordinator, err)
			}
			*id = in.ID
			return n.waitIncident(ctx, is.Participants, in.ID)
		})
		for _, st := range is.Steps {
			add(is.At.Add(st.After), func(ctx context.Context) error {
				svc := n.Node(st.Team).App.Incidents
				a := incident.Actor{Name: "duty@" + st.Team, Role: "handler"}
				var e store.Entry
				var err error
				switch st.Do {
				case incident.Acknowledged, incident.Working, incident.Done:
					e, err = svc.SetParticipation(ctx, a, *id, st.Do)
				case incident.Mitigated, incident.Closed, incident.InProgress:
					e, err = svc.SetStatus(ctx, a, *id, st.Do, st.Body)
				case "comment":
					e, err = svc.AddEntry(ctx, a, *id, incident.NewEntry{Kind: incident.KindComment, Body: st.Body, TLP: "GREEN"})
				default:
					err = fmt.Errorf("unknown step %q", st.Do)
				}
				if err != nil {
					return fmt.Errorf("history: %s in %s: %s: %w", st.Team, *id, st.Do, err)
				}
				return n.waitEntry(ctx, append([]string{is.Coordinator}, is.Participants...), e.ID)
			})
		}
	}
	n.addCollab(h, add)
	sort.Slice(acts, func(i, j int) bool {
		if !acts[i].at.Equal(acts[j].at) {
			return acts[i].at.Before(acts[j].at)
		}
		return acts[i].seq < acts[j].seq
	})
	for _, a := range acts {
		if a.at.Before(clk.Now()) {
			return fmt.Errorf("history: an action at %s is before the clock (%s): times only move forward", a.at.Format(time.RFC3339), clk.Now().Format(time.RFC3339))
		}
		clk.Set(a.at)
		if err := a.do(ctx); err != nil {
			return err
		}
	}
	return nil
}

// poll calls check every 20 ms until it reports done, for at most 15 s.
func poll(ctx context.Context, what string, check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		ok, err := check(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: %s: %w", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitDelivered waits until the sender holds each team's receipt for a page.
func (n *Net) waitDelivered(ctx context.Context, from, pageID string, to []string) error {
	return poll(ctx, "page "+pageID+" receipted", func(ctx context.Context) (bool, error) {
		for _, t := range to {
			d, err := n.Node(from).App.Store.GetDelivery(ctx, pageID, t)
			if err != nil || d.Receipt == nil {
				return false, err
			}
		}
		return true, nil
	})
}

// waitAcked waits until the sender knows a team acknowledged a page.
func (n *Net) waitAcked(ctx context.Context, from, pageID, team string) error {
	return poll(ctx, "page "+pageID+" acknowledged by "+team+" at "+from, func(ctx context.Context) (bool, error) {
		d, err := n.Node(from).App.Store.GetDelivery(ctx, pageID, team)
		return err == nil && d.AcknowledgedAt != nil, err
	})
}

// waitEntry waits until every team holds a timeline entry, in its position.
func (n *Net) waitEntry(ctx context.Context, teams []string, id string) error {
	return poll(ctx, "entry "+id+" at "+strings.Join(teams, ","), func(ctx context.Context) (bool, error) {
		for _, t := range teams {
			e, err := n.Node(t).App.Store.GetEntry(ctx, id)
			if err != nil || e.Position == 0 {
				return false, err
			}
		}
		return true, nil
	})
}

// DemoHistory is a few months of plausible collaboration between cn, jp and kr, ending
// before end: pages every few days between every pair, most acknowledged within
// minutes and some slowly or never, a comm check every fortnight, and a cross-border
// incident every week with its partners' answers, mitigation and closure. It is the
// same every time for the same start and end (a fixed seed), so the demo's report is
// reproducible.
func DemoHistory(start, end time.Time) History {
	rng := rand.New(rand.NewPCG(2026, 14))
	teams := []string{"cn", "jp", "kr"}
	// Minutes, drawn so that most answers are quick and the tail is long.
	minutes := func(typical, tail float64) time.Duration {
		v := typical * math.Exp(rng.NormFloat64()*0.8)
		if rng.Float64() < 0.1 {
			v *= tail
		}
		return time.Duration(v*60) * time.Second
	}
	cats := []struct{ cat, sev, title string }{
		{"malicious-code/infected-system", "high", "Botnet C2 and infected hosts across the three networks"},
		{"fraud/phishing", "medium", "Phishing kit hosted in several networks"},
		{"availability/ddos", "critical", "DDoS from a booter hosted abroad"},
		{"intrusion-attempts/exploit", "high", "Exploitation of an edge device vulnerability"},
		{"information-gathering/scanner", "low", "Mass scanning from hosting providers"},
		{"malicious-code/c2-server", "high", "Ransomware C2 infrastructure"},
	}
	var h History
	i := 0
	for day := start; day.Add(72 * time.Hour).Before(end); day = day.Add(time.Duration(40+rng.IntN(40)) * time.Hour) {
		from := teams[i%3]
		to := teams[(i+1+rng.IntN(2))%3]
		if to == from {
			to = teams[(i+1)%3]
		}
		at := day.Add(time.Duration(rng.IntN(600)) * time.Minute)
		ps := PageStory{At: at, From: from, To: []string{to}, Severity: []string{"critical", "high", "high", "medium"}[rng.IntN(4)],
			Summary: "Urgent: takedown or blocking needed for an active campaign", AckAfter: map[string]time.Duration{}}
		if rng.Float64() > 0.06 {
			ps.AckAfter[to] = minutes(6, 12)
		}
		h.Pages = append(h.Pages, ps)
		if i%7 == 3 {
			cc := PageStory{At: at.Add(9 * time.Hour), From: teams[(i/7)%3], CommCheck: true, AckAfter: map[string]time.Duration{}}
			for _, t := range teams {
				if t != cc.From {
					cc.To = append(cc.To, t)
					if rng.Float64() > 0.08 {
						cc.AckAfter[t] = minutes(4, 8)
					}
				}
			}
			h.Pages = append(h.Pages, cc)
		}
		if i%3 == 1 {
			// A national incident, no partner involved: the cross-border share needs both.
			c := cats[rng.IntN(len(cats))]
			coord := teams[rng.IntN(3)]
			h.Incidents = append(h.Incidents, IncidentStory{At: at.Add(5 * time.Hour), Coordinator: coord, Title: c.title, Category: c.cat,
				Severity: c.sev, Steps: []Step{{After: minutes(600, 3), Team: coord, Do: "closed", Body: "Handled nationally."}}})
		}
		if i%2 == 0 {
			c := cats[rng.IntN(len(cats))]
			coord := teams[rng.IntN(3)]
			var parts []string
			for _, t := range teams {
				if t != coord && (len(parts) == 0 || rng.Float64() < 0.6) {
					parts = append(parts, t)
				}
			}
			is := IncidentStory{At: at.Add(3 * time.Hour), Coordinator: coord, Participants: parts, Title: c.title, Category: c.cat, Severity: c.sev}
			var last time.Duration
			for _, p := range parts {
				ack := minutes(20, 10)
				is.Steps = append(is.Steps, Step{After: ack, Team: p, Do: "acknowledged"})
				first := ack + minutes(60, 6)
				is.Steps = append(is.Steps, Step{After: first, Team: p, Do: "comment", Body: "Checked on our side; action under way."})
				done := first + minutes(600, 4)
				is.Steps = append(is.Steps, Step{After: done, Team: p, Do: "done"})
				last = max(last, done)
			}
			is.Steps = append(is.Steps, Step{After: last + minutes(120, 3), Team: coord, Do: "mitigated"},
				Step{After: last + minutes(120, 3) + minutes(1440, 3), Team: coord, Do: "closed", Body: "Closed after the partners' actions."})
			if is.At.Add(is.Steps[len(is.Steps)-1].After).Before(end) {
				h.Incidents = append(h.Incidents, is)
			}
		}
		i++
	}
	demoCollab(&h, rng, start, end)
	return h
}
