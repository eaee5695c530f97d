package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"csirtlink/internal/cvd"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// The figures of sharing (shared objects and the feedback on them), feed routing and
// vulnerability coordination, per directed pair: a direction from A to B counts what A
// gave B (objects, routed events, cases) and B's answer to it (sightings, takedowns,
// vendors reached, publication).

// Tally is a count of records: how many, how they were counted, what the count rests
// on and which records they are.
type Tally struct {
	N        int      `json:"n"`
	Method   string   `json:"method"`
	Evidence string   `json:"evidence"`
	Records  []string `json:"records"`
}

// Sharing is a direction's shared objects: From shared them with To, To reported
// sightings and takedowns on them.
type Sharing struct {
	Objects        Tally  `json:"objects"`
	Sightings      Tally  `json:"sightings"`
	Takedowns      Tally  `json:"takedowns"`
	TimeToTakedown Figure `json:"time_to_takedown"`
}

// Feeds is a direction's routed feed events: From's feed runs routed them to To.
type Feeds struct {
	// Events.N is the number of events, Events.Records the runs they were routed in.
	Events Tally `json:"events"`
}

// CVD is a direction's vulnerability cases: From coordinates them, To takes part.
type CVD struct {
	Cases Tally `json:"cases"`
	// VendorsReached is the vendors To contacted in those cases that gave a status
	// other than unassessed.
	VendorsReached    Tally  `json:"vendors_reached"`
	Published         Tally  `json:"published"`
	TimeToPublication Figure `json:"time_to_publication"`
}

// OwnFeeds is the feed runs this node routed in the period: its own feeds and the
// reports partners sent it.
type OwnFeeds struct {
	Runs           Tally    `json:"runs"`
	Events         int      `json:"events"`
	RoutedOwners   int      `json:"routed_owners"`
	RoutedPartners int      `json:"routed_partners"`
	Unrouted       int      `json:"unrouted"`
	UnroutedShare  *float64 `json:"unrouted_share"`
	// ByOwner is the events routed to each network owner of our constituency. It is
	// not federated: owners are this team's own business.
	ByOwner []Count `json:"by_owner"`
	// ByPartner is the events routed to each partner, by our own runs.
	ByPartner []Count `json:"by_partner"`
	Method    string  `json:"method"`
}

// OwnCVD is the vulnerability cases this team coordinated (owned) in the period.
type OwnCVD struct {
	Cases             Tally  `json:"cases"`
	VendorsContacted  Tally  `json:"vendors_contacted"`
	VendorsReached    Tally  `json:"vendors_reached"`
	Published         Tally  `json:"published"`
	TimeToPublication Figure `json:"time_to_publication"`
}

// Methods of the collaboration figures.
const (
	methodObjectsOut     = "our shared objects created in the period, once per object and partner node we sent it to (our record of sending)"
	methodObjectsIn      = "the partner's shared objects created in the period that its node sent us (its signed objects)"
	methodObjects        = "shared objects created in the period, once per object and receiving team"
	methodSightings      = "sightings and feedback the receiving team reported on those objects, any kind"
	methodTakedowns      = "feedback 'taken-down' the receiving team reported on those objects"
	methodTakedownTime   = "object created (its author's creation time) → the receiving team's first 'taken-down' feedback"
	methodFeedOut        = "events our feed runs started in the period routed to the partner (our run counts)"
	methodFeedIn         = "events in the reports the partner sent us, by runs started in the period (its signed bulk reports)"
	methodFeedEvents     = "events routed from one team to the other, by runs started in the period"
	methodCases          = "vulnerability cases created in the period, coordinated by the first team, with the second taking part"
	methodVendorsReached = "vendors the second team contacted in those cases that gave a status other than 'unassessed' (case, vendor reference)"
	methodPublished      = "cases whose advisory is public: every coordinator agreed to the instant and it passed, or an emergency publication"
	methodPublication    = "case created → publication (the agreed instant, or the emergency publication)"
	methodOwnFeeds       = "feed runs started in the period that this node routed — its own feeds and the reports partners sent it — " +
		"with their events, routed to network owners, routed to partners, unrouted; unrouted share = unrouted / events"
	methodOwnCases   = "vulnerability cases created in the period that this team coordinates"
	methodContacted  = "vendors this team contacted in those cases: each (case, vendor reference) in the case's vendor statuses"
	methodOwnReached = "of those, vendors that gave a status other than 'unassessed'"
)

// collabData is what the collaboration figures are computed from, read once.
type collabData struct {
	objects   []store.Indicator
	holdings  map[string][]string // object id → teams it went to
	sightings map[string][]store.Sighting
	runs      []store.FeedRun
	cases     []cvd.Case
}

// sightingsChunk keeps each read of sightings to a bounded list of objects.
const sightingsChunk = 500

func (s *Service) readCollab(ctx context.Context, from, to time.Time) (*collabData, error) {
	d := &collabData{holdings: map[string][]string{}, sightings: map[string][]store.Sighting{}}
	var err error
	if d.objects, err = s.st.IndicatorsCreated(ctx, from, to); err != nil {
		return nil, err
	}
	ids := make([]string, len(d.objects))
	for i, o := range d.objects {
		ids[i] = o.ID
	}
	hs, err := s.st.HoldingsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		d.holdings[h.IndicatorID] = append(d.holdings[h.IndicatorID], h.Team)
	}
	for len(ids) > 0 {
		part := ids[:min(len(ids), sightingsChunk)]
		ids = ids[len(part):]
		ss, err := s.st.SightingsOf(ctx, part)
		if err != nil {
			return nil, err
		}
		for _, sg := range ss {
			d.sightings[sg.IndicatorID] = append(d.sightings[sg.IndicatorID], sg)
		}
	}
	if d.runs, err = s.st.FeedRunsStarted(ctx, from, to); err != nil {
		return nil, err
	}
	ks, err := s.st.CVDCasesCreated(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		var c cvd.Case
		if err := json.Unmarshal(k.State, &c); err != nil {
			return nil, fmt.Errorf("metrics: case %s: %w", k.ID, err)
		}
		c.CreatedAt = k.CreatedAt
		d.cases = append(d.cases, c)
	}
	return d, nil
}

// tally gathers the records of one count (key → record, so that pooling counts each
// once) and, for events, a number per key.
type tally struct {
	keys map[string]string
	n    map[string]int
}

func (t *tally) add(key, record string, n int) {
	if t.keys == nil {
		t.keys, t.n = map[string]string{}, map[string]int{}
	}
	t.keys[key], t.n[key] = record, n
}

func (t *tally) merge(o *tally) {
	for k, r := range o.keys {
		t.add(k, r, o.n[k])
	}
}

func (t *tally) result(method, evidence string) Tally {
	out := Tally{Method: method, Evidence: evidence, Records: []string{}}
	recs := map[string]bool{}
	for k, r := range t.keys {
		out.N += t.n[k]
		recs[r] = true
	}
	for r := range recs {
		out.Records = append(out.Records, r)
	}
	sort.Strings(out.Records)
	return out
}

// collabAcc gathers one direction's collaboration samples.
type collabAcc struct {
	objects, sightings, takedowns tally
	takedownTime                  acc
	events                        tally
	cases, reached, published     tally
	publication                   acc
}

func (s *Service) addCollab(d *collabData, in func(time.Time) bool, byKey map[[2]string]*collabAcc, now time.Time) {
	for _, o := range d.objects {
		if !in(o.CreatedAt) {
			continue
		}
		// Ours went to the teams we sent it to; a partner's came to us.
		to := d.holdings[o.ID]
		if o.Author != s.dir.Self.ID {
			to = []string{s.dir.Self.ID}
		}
		for _, team := range to {
			ca := byKey[[2]string{o.Author, team}]
			if ca == nil {
				continue
			}
			key := o.ID + "/" + team
			ca.objects.add(key, o.ID, 1)
			var down *time.Time
			for _, sg := range d.sightings[o.ID] {
				if sg.Team != team {
					continue
				}
				ca.sightings.add(sg.ID, sg.ID, 1)
				if sg.Kind == store.SightingTakenDown {
					ca.takedowns.add(sg.ID, sg.ID, 1)
					if down == nil || sg.At.Before(*down) {
						at := sg.At
						down = &at
					}
				}
			}
			if down != nil {
				ca.takedownTime.add(key, o.ID, down.Sub(o.CreatedAt).Seconds())
			}
		}
	}
	for _, r := range d.runs {
		if !in(r.StartedAt) {
			continue
		}
		if r.Origin != "" {
			if ca := byKey[[2]string{r.Origin, s.dir.Self.ID}]; ca != nil {
				ca.events.add(r.ID, r.ID, int(r.Events))
			}
			continue
		}
		for partner, n := range r.Partners {
			if ca := byKey[[2]string{s.dir.Self.ID, partner}]; ca != nil && n > 0 {
				ca.events.add(r.ID+"/"+partner, r.ID, int(n))
			}
		}
	}
	for _, c := range d.cases {
		if !in(c.CreatedAt) {
			continue
		}
		pub := publishedAt(c, now)
		for _, team := range c.Participants {
			ca := byKey[[2]string{c.Owner, team}]
			if ca == nil || team == c.Owner {
				continue
			}
			ca.cases.add(c.ID, c.ID, 1)
			for _, v := range reachedVendors(c, team) {
				ca.reached.add(c.ID+"/"+team+"/"+v, c.ID, 1)
			}
			if pub != nil {
				ca.published.add(c.ID, c.ID, 1)
				ca.publication.add(c.ID, c.ID, pub.Sub(c.CreatedAt).Seconds())
			}
		}
	}
}

// publishedAt is when a case's advisory became public by now, or nil: the emergency
// publication, or the instant every coordinator agreed to once it passed.
func publishedAt(c cvd.Case, now time.Time) *time.Time {
	if c.Embargo.Emergency != nil {
		at := c.Embargo.Emergency.At
		return &at
	}
	if h := cvd.Hold(c); !h.Until.IsZero() && !h.Until.After(now) {
		at := h.Until
		return &at
	}
	return nil
}

// reachedVendors is the vendor references of a team's vendors in a case that gave a
// status other than unassessed.
func reachedVendors(c cvd.Case, team string) []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range c.Statuses {
		if st.Team == team && st.Status != cvd.Unassessed && !seen[st.VendorRef] {
			seen[st.VendorRef] = true
			out = append(out, st.VendorRef)
		}
	}
	return out
}

// contactedVendors is the vendor references a team named in a case's statuses.
func contactedVendors(c cvd.Case, team string) []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range c.Statuses {
		if st.Team == team && !seen[st.VendorRef] {
			seen[st.VendorRef] = true
			out = append(out, st.VendorRef)
		}
	}
	return out
}

// result finishes a direction's collaboration figures. out is whether the direction
// starts at this team: what rests on our own records and what on the partner's
// signed envelopes differs with it.
func (ca *collabAcc) result(out bool) (Sharing, Feeds, CVD) {
	give, answer := EvidenceLocal, EvidenceEnvelope
	objects, events := methodObjectsOut, methodFeedOut
	if !out {
		give, answer = EvidenceEnvelope, EvidenceLocal
		objects, events = methodObjectsIn, methodFeedIn
	}
	sh := Sharing{Objects: ca.objects.result(objects, give), Sightings: ca.sightings.result(methodSightings, answer),
		Takedowns: ca.takedowns.result(methodTakedowns, answer), TimeToTakedown: ca.takedownTime.figure(methodTakedownTime, answer)}
	fd := Feeds{Events: ca.events.result(events, give)}
	cv := CVD{Cases: ca.cases.result(methodCases, EvidenceEntry), VendorsReached: ca.reached.result(methodVendorsReached, EvidenceEntry),
		Published: ca.published.result(methodPublished, EvidenceEntry), TimeToPublication: ca.publication.figure(methodPublication, EvidenceEntry)}
	return sh, fd, cv
}

// pooled merges directions' collaboration samples, each record once.
func pooledCollab(cas []*collabAcc) *collabAcc {
	p := &collabAcc{}
	var td, pu []*acc
	for _, ca := range cas {
		p.objects.merge(&ca.objects)
		p.sightings.merge(&ca.sightings)
		p.takedowns.merge(&ca.takedowns)
		p.events.merge(&ca.events)
		p.cases.merge(&ca.cases)
		p.reached.merge(&ca.reached)
		p.published.merge(&ca.published)
		td, pu = append(td, &ca.takedownTime), append(pu, &ca.publication)
	}
	p.takedownTime, p.publication = *merge(td...), *merge(pu...)
	return p
}

// ownCollab is this team's own feed and case figures for the period.
func (s *Service) ownCollab(d *collabData, in func(time.Time) bool, now time.Time) (OwnFeeds, OwnCVD) {
	self := s.dir.Self.ID
	var runs tally
	f := OwnFeeds{Method: methodOwnFeeds}
	owners, partners := map[string]int{}, map[string]int{}
	for _, r := range d.runs {
		if !in(r.StartedAt) {
			continue
		}
		runs.add(r.ID, r.ID, 1)
		f.Events += int(r.Events)
		f.RoutedOwners += int(r.RoutedOwners)
		f.RoutedPartners += int(r.RoutedPartners)
		f.Unrouted += int(r.Unrouted)
		for o, n := range r.Owners {
			if n > 0 {
				owners[o] += int(n)
			}
		}
		if r.Origin == "" {
			for p, n := range r.Partners {
				if n > 0 {
					partners[p] += int(n)
				}
			}
		}
	}
	f.Runs = runs.result("runs started in the period", EvidenceLocal)
	f.ByOwner, f.ByPartner = counts(owners, nil), counts(partners, nil)
	if f.Events > 0 {
		f.UnroutedShare = ptr(math.Round(float64(f.Unrouted)/float64(f.Events)*10000) / 10000)
	}

	var cases, contacted, reached, published tally
	var pub acc
	for _, c := range d.cases {
		if !in(c.CreatedAt) || c.Owner != self {
			continue
		}
		cases.add(c.ID, c.ID, 1)
		for _, v := range contactedVendors(c, self) {
			contacted.add(c.ID+"/"+v, c.ID, 1)
		}
		for _, v := range reachedVendors(c, self) {
			reached.add(c.ID+"/"+v, c.ID, 1)
		}
		if at := publishedAt(c, now); at != nil {
			published.add(c.ID, c.ID, 1)
			pub.add(c.ID, c.ID, at.Sub(c.CreatedAt).Seconds())
		}
	}
	return f, OwnCVD{Cases: cases.result(methodOwnCases, EvidenceEntry), VendorsContacted: contacted.result(methodContacted, EvidenceEntry),
		VendorsReached: reached.result(methodOwnReached, EvidenceEntry), Published: published.result(methodPublished, EvidenceEntry),
		TimeToPublication: pub.figure(methodPublication, EvidenceEntry)}
}

// pooledResult finishes pooled figures: they mix both directions, so what they rest on
// is both our records and the partners' signed envelopes.
func (ca *collabAcc) pooledResult() (Sharing, Feeds, CVD) {
	sh, fd, cv := ca.result(true)
	both := EvidenceLocal + "+" + EvidenceEnvelope
	sh.Objects.Method, sh.Objects.Evidence = methodObjects, both
	sh.Sightings.Evidence, sh.Takedowns.Evidence, sh.TimeToTakedown.Evidence = both, both, both
	fd.Events.Method, fd.Events.Evidence = methodFeedEvents, both
	return sh, fd, cv
}

// ownFeedsToWire is what a team publishes of its feed runs: totals, never its owners.
func ownFeedsToWire(f OwnFeeds) *wire.AggregateOwnFeeds {
	return &wire.AggregateOwnFeeds{Runs: f.Runs.N, Events: f.Events, RoutedOwners: f.RoutedOwners, RoutedPartners: f.RoutedPartners, Unrouted: f.Unrouted}
}

func ownCVDToWire(c OwnCVD) *wire.AggregateOwnCVD {
	return &wire.AggregateOwnCVD{Cases: c.Cases.N, VendorsContacted: c.VendorsContacted.N, VendorsReached: c.VendorsReached.N,
		Published: c.Published.N, TimeToPublication: wf(c.TimeToPublication)}
}

// checkCollabDir holds a direction's sharing, feed and case figures (version 2) to
// what they can be.
func checkCollabDir(what string, d wire.AggregatePairDir) error {
	if sh := d.Sharing; sh != nil {
		for _, c := range []struct {
			name string
			n    int
		}{{"objects", sh.Objects}, {"sightings", sh.Sightings}, {"takedowns", sh.Takedowns}} {
			if err := checkCount(what+".sharing."+c.name, c.n); err != nil {
				return err
			}
		}
		if sh.Takedowns > sh.Sightings {
			return fmt.Errorf("%s.sharing: %d takedowns of %d sightings", what, sh.Takedowns, sh.Sightings)
		}
		if err := checkFigure(what+".sharing.time_to_takedown", sh.TimeToTakedown, min(sh.Objects, sh.Takedowns)); err != nil {
			return err
		}
	}
	if f := d.Feeds; f != nil {
		if err := checkCount(what+".feeds.events", f.Events); err != nil {
			return err
		}
	}
	if c := d.CVD; c != nil {
		if err := checkCases(what+".cvd", c.Cases, c.VendorsReached, c.Published, c.TimeToPublication); err != nil {
			return err
		}
	}
	return nil
}

func checkCases(what string, cases, reached, published int, pub wire.AggregateFigure) error {
	for _, c := range []struct {
		name string
		n    int
	}{{"cases", cases}, {"vendors_reached", reached}, {"published", published}} {
		if err := checkCount(what+"."+c.name, c.n); err != nil {
			return err
		}
	}
	if published > cases {
		return fmt.Errorf("%s: %d published of %d cases", what, published, cases)
	}
	return checkFigure(what+".time_to_publication", pub, published)
}

// checkCollabOwn holds a team's own feed and case totals (version 2) to what they can be.
func checkCollabOwn(o wire.AggregateOwn) error {
	if f := o.Feeds; f != nil {
		for _, c := range []struct {
			name string
			n    int
		}{{"runs", f.Runs}, {"events", f.Events}, {"routed_owners", f.RoutedOwners}, {"routed_partners", f.RoutedPartners}, {"unrouted", f.Unrouted}} {
			if err := checkCount("own.feeds."+c.name, c.n); err != nil {
				return err
			}
		}
		if f.Unrouted > f.Events {
			return fmt.Errorf("own.feeds: %d unrouted of %d events", f.Unrouted, f.Events)
		}
	}
	if c := o.CVD; c != nil {
		if err := checkCount("own.cvd.vendors_contacted", c.VendorsContacted); err != nil {
			return err
		}
		if c.VendorsReached > c.VendorsContacted {
			return fmt.Errorf("own.cvd: %d vendors reached of %d contacted", c.VendorsReached, c.VendorsContacted)
		}
		return checkCases("own.cvd", c.Cases, c.VendorsReached, c.Published, c.TimeToPublication)
	}
	return nil
}
