package testnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/cvd"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/indicator"
	"csirtlink/internal/store"
)

// The history's sharing, feed and vulnerability-coordination stories: played through
// the real services like pages and incidents, so that the collaboration figures of
// sharing, feeds and cases rest on the records the nodes really make.

// ShareStory is one shared object (a phishing URL, TLP:GREEN: the author's community)
// and the feedback partners gave on it.
type ShareStory struct {
	At       time.Time
	Author   string
	Value    string
	Category string
	Feedback []Feedback
}

// Feedback is one partner's sighting or feedback on a shared object, some time after
// the object was shared.
type Feedback struct {
	After time.Duration
	Team  string
	Kind  string // store.SightingSeen, SightingTakenDown, …
}

// FeedStory is one feed file a team ingests: Events is how many events fall in each
// team's constituency ("" for space no one claims).
type FeedStory struct {
	At     time.Time
	Team   string
	Events map[string]int
}

// CaseStory is one vulnerability case: its owner, the coordinators taking part, the
// vendor each coordinator contacts and when it answers, and the publication instant
// every coordinator agrees to (none when PublishAfter is 0).
type CaseStory struct {
	At           time.Time
	Owner        string
	Participants []string
	Title        string
	Vendors      []VendorStory
	PublishAfter time.Duration
}

// VendorStory is a vendor one coordinator contacts in a case, and the status it gives
// After the case opened ("" never answers).
type VendorStory struct {
	Team   string
	Name   string
	After  time.Duration
	Status string
}

// addCollab adds the sharing, feed and case stories' actions.
func (n *Net) addCollab(h History, add func(time.Time, func(ctx context.Context) error)) {
	for _, ss := range h.Shares {
		id := new(string)
		add(ss.At, func(ctx context.Context) error {
			in, err := n.Node(ss.Author).App.Indicators.Create(ctx, indicator.Actor{Name: "duty@" + ss.Author},
				indicator.Input{Type: "url", Value: ss.Value, Category: ss.Category, TLP: "GREEN", Tags: []string{"history"}})
			if err != nil {
				return fmt.Errorf("history: object at %s: %w", ss.Author, err)
			}
			*id = in.ID
			var to []string
			for _, f := range ss.Feedback {
				if !slices.Contains(to, f.Team) {
					to = append(to, f.Team)
				}
			}
			return poll(ctx, "object "+in.ID+" at "+strings.Join(to, ","), func(ctx context.Context) (bool, error) {
				for _, t := range to {
					if _, err := n.Node(t).App.Store.GetIndicator(ctx, in.ID); err != nil {
						return false, err
					}
				}
				return true, nil
			})
		})
		for _, f := range ss.Feedback {
			add(ss.At.Add(f.After), func(ctx context.Context) error {
				in := indicator.SightingInput{Kind: f.Kind, Note: "Reported back to the author."}
				if f.Kind == store.SightingSeen {
					in.Count = 1
				}
				s, err := n.Node(f.Team).App.Indicators.Report(ctx, indicator.Actor{Name: "duty@" + f.Team}, *id, in)
				if err != nil {
					return fmt.Errorf("history: %s reports %s on %s: %w", f.Team, f.Kind, *id, err)
				}
				return poll(ctx, "sighting "+s.ID+" at "+ss.Author, func(ctx context.Context) (bool, error) {
					got, err := n.Node(ss.Author).App.Store.Sightings(ctx, *id)
					return slices.ContainsFunc(got, func(x store.Sighting) bool { return x.ID == s.ID }), err
				})
			})
		}
	}
	for _, fs := range h.Feeds {
		add(fs.At, func(ctx context.Context) error {
			if err := n.ensureFeeds(ctx); err != nil {
				return err
			}
			counts := map[netip.Prefix]int{}
			for team, k := range fs.Events {
				pfx := netip.MustParsePrefix("2001:db8:ffff::/48")
				if team != "" {
					pfx = Constituencies[team][0]
				}
				counts[pfx] = k
			}
			run, err := n.Node(fs.Team).App.Feeds.Ingest(ctx, "duty@"+fs.Team, feedrun.Request{Format: "shadowserver", Report: "scan_telnet",
				Feed: "Shadowserver", FileName: fs.At.Format("2006-01-02") + "-scan_telnet-" + fs.Team + ".csv"},
				strings.NewReader(ShadowserverReport(counts, fs.At)), nil)
			if err != nil {
				return fmt.Errorf("history: feed at %s: %w", fs.Team, err)
			}
			for team, k := range fs.Events {
				if team == "" || team == fs.Team || k == 0 {
					continue
				}
				err := poll(ctx, team+" routed "+fs.Team+"'s report "+run.ID, func(ctx context.Context) (bool, error) {
					got, err := n.Node(team).App.Share.Received(ctx, fs.Team, 50)
					return slices.ContainsFunc(got, func(r store.FeedRun) bool { return r.SourceRun == run.ID && r.State == store.RunDone }), err
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, cs := range h.Cases {
		id := new(string)
		svc := func(team string) *cvd.Service { return n.Node(team).App.CVD }
		who := func(team string) cvd.Actor { return cvd.Actor{Name: "duty@" + team, Role: "handler"} }
		all := append([]string{cs.Owner}, cs.Participants...)
		vendorIDs := make([]string, len(cs.Vendors))
		add(cs.At, func(ctx context.Context) error {
			nc := cvd.NewCase{Title: cs.Title, Description: cs.Title, Participants: cs.Participants,
				Vulnerabilities: []cvd.Vulnerability{{Title: cs.Title, CWE: "CWE-78"}}}
			for _, v := range cs.Vendors {
				nc.Products = append(nc.Products, cvd.Product{Vendor: v.Name, Product: "Router", Versions: "all"})
			}
			c, err := svc(cs.Owner).Create(ctx, who(cs.Owner), nc)
			if err != nil {
				return fmt.Errorf("history: case at %s: %w", cs.Owner, err)
			}
			*id = c.ID
			if err := n.waitCase(ctx, c.ID, func(cvd.Case) bool { return true }, cs.Participants...); err != nil {
				return err
			}
			for i, v := range cs.Vendors {
				vd, err := svc(v.Team).AddVendor(ctx, who(v.Team), c.ID, cvd.NewVendor{Name: v.Name + " PSIRT", Email: "psirt@vendor.example"})
				if err != nil {
					return fmt.Errorf("history: %s adds a vendor to %s: %w", v.Team, c.ID, err)
				}
				vendorIDs[i] = vd.ID
			}
			return nil
		})
		for i, v := range cs.Vendors {
			if v.Status == "" {
				continue
			}
			add(cs.At.Add(v.After), func(ctx context.Context) error {
				product := fmt.Sprintf("p%d", i+1)
				in := cvd.StatusInput{Vendor: vendorIDs[i], Vulnerability: "v1", Product: product, Status: v.Status}
				switch v.Status {
				case cvd.Fixed:
					in.FixedVersion = "2.0.1"
				case cvd.NotAffected:
					in.Justification = "component_not_present"
				}
				_, err := svc(v.Team).SetStatus(ctx, who(v.Team), *id, in)
				if err != nil {
					return fmt.Errorf("history: %s status in %s: %w", v.Team, *id, err)
				}
				return n.waitCase(ctx, *id, func(c cvd.Case) bool {
					return slices.ContainsFunc(c.Statuses, func(s cvd.Status) bool { return s.Team == v.Team && s.Product == product && s.Status == v.Status })
				}, all...)
			})
		}
		if cs.PublishAfter > 0 {
			add(cs.At.Add(2*time.Hour), func(ctx context.Context) error {
				if _, err := svc(cs.Owner).ProposeEmbargo(ctx, who(cs.Owner), *id, cs.At.Add(cs.PublishAfter)); err != nil {
					return fmt.Errorf("history: %s proposes publication of %s: %w", cs.Owner, *id, err)
				}
				if err := n.waitCase(ctx, *id, func(c cvd.Case) bool { return c.Embargo.PublishAt != nil }, cs.Participants...); err != nil {
					return err
				}
				for _, t := range all {
					if _, err := svc(t).AgreeEmbargo(ctx, who(t), *id); err != nil {
						return fmt.Errorf("history: %s agrees to publication of %s: %w", t, *id, err)
					}
				}
				return n.waitCase(ctx, *id, func(c cvd.Case) bool { return len(c.Embargo.Agreed) == len(all) }, all...)
			})
		}
	}
}

// ensureFeeds gives every node its partners' constituencies and its network owners,
// once.
func (n *Net) ensureFeeds(ctx context.Context) error {
	for _, nd := range n.Nodes {
		nd.App.Feeds.SetPartners(Partners(nd.Team))
		for _, o := range demoOwners[nd.Team] {
			if _, err := nd.App.Owners.Get(ctx, o.ID); err == nil {
				continue
			}
			if _, err := nd.App.Owners.Create(ctx, "demo", o); err != nil {
				return fmt.Errorf("seed owner %s at %s: %w", o.ID, nd.Team, err)
			}
		}
	}
	return nil
}

// demoCollab adds to the demo history a shared phishing or C2 object every two to three
// days with its partners' feedback (most taken down within a day, some after days, some
// never), a Shadowserver-style feed file at one team a week, and a vulnerability case
// a month whose vendors answer over days and which is published after four to eight
// weeks when that falls before end.
func demoCollab(h *History, rng *rand.Rand, start, end time.Time) {
	teams := []string{"cn", "jp", "kr"}
	hours := func(typical, tail float64) time.Duration {
		v := typical * math.Exp(rng.NormFloat64()*0.7)
		if rng.Float64() < 0.1 {
			v *= tail
		}
		return time.Duration(v*3600) * time.Second
	}
	cats := []string{"fraud/phishing", "malicious-code/c2-server", "malicious-code/malware-distribution"}
	i := 0
	for day := start.Add(30 * time.Hour); day.Add(10 * 24 * time.Hour).Before(end); day = day.Add(time.Duration(48+rng.IntN(24)) * time.Hour) {
		author := teams[i%3]
		ss := ShareStory{At: day.Add(time.Duration(rng.IntN(480)) * time.Minute), Author: author,
			Value: fmt.Sprintf("https://login-%s-%03d.example/verify", author, i), Category: cats[rng.IntN(len(cats))]}
		for _, t := range teams {
			if t == author {
				continue
			}
			if rng.Float64() < 0.5 {
				ss.Feedback = append(ss.Feedback, Feedback{After: time.Duration(10+rng.IntN(120)) * time.Minute, Team: t, Kind: store.SightingSeen})
			}
			if rng.Float64() < 0.7 {
				ss.Feedback = append(ss.Feedback, Feedback{After: 3*time.Hour + hours(14, 6), Team: t, Kind: store.SightingTakenDown})
			}
		}
		slices.SortFunc(ss.Feedback, func(a, b Feedback) int { return int(a.After - b.After) })
		if len(ss.Feedback) > 0 {
			h.Shares = append(h.Shares, ss)
		}
		i++
	}
	w := 0
	for day := start.Add(50 * time.Hour); day.Add(24 * time.Hour).Before(end); day = day.AddDate(0, 0, 7) {
		team := teams[w%3]
		ev := map[string]int{"": 5 + rng.IntN(20)}
		for _, t := range teams {
			ev[t] = 20 + rng.IntN(80)
		}
		h.Feeds = append(h.Feeds, FeedStory{At: day.Add(time.Duration(rng.IntN(300)) * time.Minute), Team: team, Events: ev})
		w++
	}
	vendors := map[string][]string{"cn": {"Huaxin Microelectronics", "Lanting Networks"}, "jp": {"Nishikawa Networks", "Sakura Devices"},
		"kr": {"Hanbit Telecom", "Areum Systems"}}
	statuses := []string{cvd.Affected, cvd.Fixed, cvd.NotAffected, cvd.UnderInvestigation}
	k := 0
	for day := start.Add(5 * 24 * time.Hour); day.Add(5 * 24 * time.Hour).Before(end); day = day.AddDate(0, 0, 24+rng.IntN(12)) {
		owner := teams[(k+1)%3]
		cs := CaseStory{At: day.Add(time.Duration(rng.IntN(480)) * time.Minute), Owner: owner,
			Title: fmt.Sprintf("Router firmware flaw %d in a shared SDK", k+1)}
		for _, t := range teams {
			if t != owner {
				cs.Participants = append(cs.Participants, t)
			}
			vs := VendorStory{Team: t, Name: vendors[t][k%2], After: 6*time.Hour + hours(60, 4)}
			if rng.Float64() < 0.85 {
				vs.Status = statuses[rng.IntN(len(statuses))]
			}
			if cs.At.Add(vs.After).After(end) {
				vs.Status = ""
			}
			cs.Vendors = append(cs.Vendors, vs)
		}
		if pub := time.Duration(28+rng.IntN(28)) * 24 * time.Hour; cs.At.Add(pub).Before(end) {
			cs.PublishAfter = pub
		}
		h.Cases = append(h.Cases, cs)
		k++
	}
}
