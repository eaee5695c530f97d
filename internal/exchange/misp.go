package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"csirtlink/internal/audit"
	"csirtlink/internal/egress"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/misp"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// mispFormat is MISP event JSON.
type mispFormat struct{}

func (mispFormat) Name() string      { return MISP }
func (mispFormat) MediaType() string { return misp.MediaType }
func (mispFormat) MaxBytes() int64   { return misp.MaxBytes }
func (mispFormat) Render(s *Service, sel Selection) ([]byte, error) {
	e, err := misp.FromIncident(sel.Incident, s.mispOrg(s.dir.Self.ID))
	if err != nil {
		return nil, err
	}
	return misp.Encode(e)
}
func (mispFormat) Import(ctx context.Context, s *Service, a incident.Actor, data []byte, _ ImportOptions) (Imported, error) {
	return s.ImportMISPIncident(ctx, a, data)
}

// mispOrg is the MISP organisation of a team we know.
func (s *Service) mispOrg(teamID string) misp.Org {
	if teamID == s.dir.Self.ID {
		return misp.OrgOf(teamID, s.dir.Self.Name)
	}
	if t, ok := s.dir.Team(teamID); ok {
		return misp.OrgOf(teamID, t.Name)
	}
	return misp.OrgOf(teamID, "")
}

// teamOfOrg finds the team a MISP organisation name stands for: one of our peers by its
// id or name.
func (s *Service) teamOfOrg(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, p := range s.dir.Peers() {
		if p.IsActive() && (strings.EqualFold(p.ID, name) || strings.EqualFold(p.Name, name)) {
			return p.ID, true
		}
	}
	return "", false
}

// ImportMISPIncident makes a new incident, coordinated by this team, of a MISP event:
// its info as title, its tags and distribution as label, category and severity, its
// plain attributes as observables and comments. Every other part (attributes with more
// than we map, objects, other tags and members) is kept as it came, as a comment that a
// MISP export writes again unchanged. Nothing is written if any part is refused.
func (s *Service) ImportMISPIncident(ctx context.Context, a incident.Actor, data []byte) (Imported, error) {
	d, err := misp.Decode(data)
	if err != nil {
		return Imported{}, problem.Invalid("document", "%v", err)
	}
	p := misp.PlanIncident(d)
	n := incident.NewIncident{Title: p.Title, Description: p.Description, Category: p.Category, Severity: p.Severity, TLP: string(p.Label)}
	if utf8.RuneCountInString(n.Title) > 200 || problem.CheckLine("title", n.Title, 200, true) != nil {
		n.Title = "MISP event " + d.UUID
	}
	ref := "MISP event " + d.UUID
	if d.Orgc.Name != "" {
		ref += " by " + d.Orgc.Name
	}
	if len(p.ShareWith) > 0 {
		ref += "; shared there with the sharing group " + d.SharingGroup.Name + ": " + strings.Join(p.ShareWith, ", ")
	}
	if n.Description == "" {
		n.Description = ref
	} else {
		n.Description += "\n\n" + ref
	}
	if problem.CheckText("description", n.Description, maxEntryText, false) != nil {
		return Imported{}, problem.Invalid("document", "%v", errors.New("misp: the description attribute is too long or holds characters a description may not"))
	}
	if taxonomy.Valid(n.Category) != nil {
		n.Category = DefaultCategory
	}
	if !slices.Contains(incident.Severities, n.Severity) {
		n.Severity = DefaultSeverity
	}
	var entries []entryFor
	for _, o := range p.Observables {
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindObservable, Type: string(o.Observable.Type), Body: o.Observable.Value}, o.Label})
	}
	for _, nt := range p.Notes {
		if err := problem.CheckText("body", nt.Text, maxEntryText, true); err != nil {
			return Imported{}, problem.Invalid("document", "%v", fmt.Errorf("misp: a comment attribute cannot be a comment: %w", err))
		}
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: nt.Text}, nt.Label})
	}
	for _, k := range p.Raw {
		body := k.Body()
		if err := problem.CheckText("body", body, maxEntryText, true); err != nil {
			return Imported{}, problem.Invalid("document", "%v", fmt.Errorf("misp: %s (%s) cannot be kept as it came (%d characters in a timeline entry of at most %d): %w",
				k.Kind, k.Why, utf8.RuneCountInString(body), maxEntryText, err))
		}
		entries = append(entries, entryFor{incident.NewEntry{Kind: incident.KindComment, Body: body}, k.Label})
	}
	in, err := s.create(ctx, a, n, entries)
	if err != nil {
		return Imported{}, err
	}
	return Imported{Incident: in, Mapped: p.Mapped, Kept: len(p.Raw), Observables: len(p.Observables), Notes: len(p.Notes)}, nil
}

// SetIndicators lets MISP events be imported as shared indicators, and the MISP feeds
// serve them.
func (s *Service) SetIndicators(ind *indicator.Service) {
	s.indicators = ind
	ind.OnChange(func(string) { s.feedCache.changed() })
}

// feedCacheAge bounds how long a feed's content is served from memory. MISP fetches
// the manifest and then each event it lacks, and each answer needs the whole feed; a
// change of any indicator or sighting on this process empties the cache at once, the
// age bounds what it cannot see (a peer's state in the directory, another replica's
// writes).
const feedCacheAge = 30 * time.Second

// feedCache holds each feed's events as last made, with the generation of indicator
// changes they were made at.
type feedCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedFeed
}

type cachedFeed struct {
	gen    uint64
	at     time.Time
	events []misp.Event
}

func (c *feedCache) changed() {
	c.mu.Lock()
	c.gen++
	c.entries = nil
	c.mu.Unlock()
}

func (c *feedCache) get(feed string, now time.Time) ([]misp.Event, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[feed]
	if ok && e.gen == c.gen && now.Sub(e.at) < feedCacheAge && !now.Before(e.at) {
		return e.events, c.gen, true
	}
	return nil, c.gen, false
}

func (c *feedCache) put(feed string, gen uint64, now time.Time, events []misp.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // something changed while the feed was made: the next request makes it again
	}
	if c.entries == nil {
		c.entries = map[string]cachedFeed{}
	}
	c.entries[feed] = cachedFeed{gen: gen, at: now, events: events}
}

// IndicatorsImported is what a MISP import as shared indicators did.
type IndicatorsImported struct {
	indicator.ImportResult
	// Mapped counts the attributes that became indicators (or versions of ours).
	Mapped int `json:"mapped"`
	// Skipped are the attributes that did not, each with why.
	Skipped []misp.Skipped `json:"skipped,omitempty"`
	// Sightings counts MISP sightings not taken: other organisations' observations.
	Sightings int `json:"sightings_not_imported"`
	// UnknownOrgs are sharing group organisations that are not our peers; the
	// indicators go to the peers among them only.
	UnknownOrgs []string `json:"unknown_orgs,omitempty"`
}

// ImportMISPIndicators shares every attribute of a MISP event whose type we map as one
// of this team's indicators, in one transaction (none if any is refused), as the
// indicator import of a file does: a value we share already gets a new version.
func (s *Service) ImportMISPIndicators(ctx context.Context, a indicator.Actor, data []byte) (IndicatorsImported, error) {
	if s.indicators == nil {
		return IndicatorsImported{}, errors.New("exchange: shared indicators are not set up")
	}
	d, err := misp.Decode(data)
	if err != nil {
		return IndicatorsImported{}, problem.Invalid("document", "%v", err)
	}
	p := misp.PlanIndicators(d)
	res := IndicatorsImported{Skipped: p.Skipped, Sightings: p.Sightings}
	var rows []indicator.Row
	for _, it := range p.Items {
		in := indicator.Input{Type: string(it.Observable.Type), Value: it.Observable.Value, Category: it.Category, Confidence: it.Confidence,
			TLP: string(it.Label), Tags: it.Tags, Description: it.Description, ValidFrom: it.ValidFrom, ValidUntil: it.ValidUntil}
		if in.Category == "" || taxonomy.Valid(in.Category) != nil {
			in.Category = DefaultCategory
		}
		if it.Label == tlp.Amber || it.Label == tlp.AmberStrict || it.Label == tlp.Red {
			for _, org := range it.ShareWith {
				if self := s.dir.Self; strings.EqualFold(org, self.ID) || strings.EqualFold(org, self.Name) {
					continue // we hold it: the group names the teams beside us
				}
				if t, ok := s.teamOfOrg(org); ok {
					in.ShareWith = append(in.ShareWith, t)
				} else if !slices.Contains(res.UnknownOrgs, org) {
					res.UnknownOrgs = append(res.UnknownOrgs, org)
				}
			}
		}
		if it.Label == tlp.Red && len(in.ShareWith) == 0 {
			res.Skipped = append(res.Skipped, misp.Skipped{UUID: it.UUID, Type: string(it.Observable.Type),
				Why: "TLP:RED names none of our peers; import the event --as incident to keep it"})
			continue
		}
		rows = append(rows, indicator.Row{Line: len(rows) + 1, Input: in})
	}
	res.Mapped = len(rows)
	r, err := s.indicators.ImportRows(ctx, a, rows, "indicator.import.misp")
	res.ImportResult = r
	return res, err
}

// MaxFeedIndicators bounds the indicators one feed request reads.
const MaxFeedIndicators = 200000

// SetMISPFeeds configures the MISP feeds by name, each for an audience. A feed is read
// by a MISP instance, which passes what it holds on by MISP's distribution levels and
// not by TLP: so a feed never carries AMBER+STRICT or RED, whatever its audience.
func (s *Service) SetMISPFeeds(feeds map[string]Audience) error {
	for name, a := range feeds {
		if !a.Ceiling.Valid() || a.Ceiling.Rank() > tlp.Amber.Rank() {
			return fmt.Errorf("misp feed %q: its audience may receive at most TLP:AMBER, not %q (MISP re-shares by distribution, not by TLP)", name, a.Ceiling)
		}
	}
	s.feeds = feeds
	return nil
}

// FeedEvents is the content of a MISP feed: every shared indicator egress lets the
// feed's audience have, and every one of those since revoked or withdrawn as a deleted
// attribute, so that MISP drops it; with the sightings egress lets go too. Indicators
// are grouped by author and by the first two hex digits of their id, so that an
// indicator stays in the same event for good (MISP updates attributes by uuid within
// their event) and an event stays a size MISP handles.
func (s *Service) FeedEvents(ctx context.Context, feed string) ([]misp.Event, error) {
	aud, ok := s.feeds[feed]
	if !ok || s.indicators == nil {
		return nil, misp.ErrNoFeed
	}
	now := s.clock.Now()
	events, gen, ok := s.feedCache.get(feed, now)
	if ok {
		return events, nil
	}
	events, err := s.feedEvents(ctx, feed, aud)
	if err != nil {
		return nil, err
	}
	s.feedCache.put(feed, gen, now, events)
	return events, nil
}

func (s *Service) feedEvents(ctx context.Context, feed string, aud Audience) ([]misp.Event, error) {
	list, err := s.st.ListIndicators(ctx, store.IndicatorFilter{Revoked: true, Now: s.clock.Now(), Limit: MaxFeedIndicators})
	if err != nil {
		return nil, fmt.Errorf("misp feed %s: %w", feed, err)
	}
	served, err := s.st.FeedServed(ctx, feed)
	if err != nil {
		return nil, err
	}
	carried := make(map[string]bool, len(served))
	for _, id := range served {
		carried[id] = true
	}
	to := egress.Destination{Kind: egress.Export, Team: aud.Team, Ceiling: aud.Ceiling}
	var keep []store.Indicator
	var ids, fresh []string
	for _, ind := range list {
		// A tombstone of something we never held whole never left with us, unless the feed
		// carried an earlier version (below).
		if tlp.Label(ind.TLP).Valid() && egress.Decide(egress.Request{Item: indicator.ItemOf(ind), Context: egress.NewContext(s.dir, ind.Audience), To: to}).Full() {
			keep = append(keep, ind)
			ids = append(ids, ind.ID)
			if !carried[ind.ID] {
				fresh = append(fresh, ind.ID)
			}
			continue
		}
		if carried[ind.ID] {
			// The feed carried an earlier version, and its label has since been made
			// stricter (or we were left out of its audience): the feed says only that it
			// is gone, so that MISP drops the copy it holds, as for a revocation.
			keep = append(keep, store.Indicator{ID: ind.ID, Author: ind.Author, Version: ind.Version, State: store.IndicatorWithdrawn, Modified: ind.Modified})
		}
	}
	// Recorded before anything is served: a feed never carries what it would not know to
	// withdraw later.
	if err := s.st.PutFeedServed(ctx, feed, fresh, s.clock.Now()); err != nil {
		return nil, err
	}
	sightings := map[string][]store.Sighting{}
	if len(ids) > 0 {
		all, err := s.st.SightingsOf(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("misp feed %s: %w", feed, err)
		}
		byID := map[string]store.Indicator{}
		for _, ind := range keep {
			byID[ind.ID] = ind
		}
		for _, x := range all {
			ind := byID[x.IndicatorID]
			it, parts := indicator.SightingItem(x, ind)
			if ind.State == store.IndicatorActive && egress.Decide(egress.Request{Item: it, Context: egress.NewContext(s.dir, parts), To: to}).Full() {
				sightings[x.IndicatorID] = append(sightings[x.IndicatorID], x)
			}
		}
	}
	type bucket struct {
		author, part string
		newest       time.Time
		attrs        []misp.Attribute
	}
	buckets := map[string]*bucket{}
	var order []string
	for _, ind := range keep {
		key := ind.Author + "/" + ind.ID[:2]
		b, ok := buckets[key]
		if !ok {
			b = &bucket{author: ind.Author, part: ind.ID[:2]}
			buckets[key] = b
			order = append(order, key)
		}
		if ind.Modified.After(b.newest) {
			b.newest = ind.Modified
		}
		b.attrs = append(b.attrs, misp.AttributeOf(ind, sightings[ind.ID]))
	}
	slices.Sort(order)
	var events []misp.Event
	for _, key := range order {
		b := buckets[key]
		slices.SortFunc(b.attrs, func(x, y misp.Attribute) int { return strings.Compare(x.UUID, y.UUID) })
		org := s.mispOrg(b.author)
		events = append(events, misp.IndicatorEvent(misp.DerivedUUID("feed", key), fmt.Sprintf("%s: shared indicators (part %s)", org.Name, b.part),
			org, b.newest, b.attrs))
	}
	return events, nil
}

// ExportMISPIndicators is a MISP event of the indicators listed, for an audience: those
// egress lets it have, revoked ones as deleted attributes. It is written to the audit log.
func (s *Service) ExportMISPIndicators(ctx context.Context, actor string, ids []string, a Audience) ([]byte, int, error) {
	if len(ids) == 0 || len(ids) > 5000 {
		return nil, 0, problem.Invalid("ids", "name from 1 to 5000 indicators")
	}
	to := egress.Destination{Kind: egress.Export, Team: a.Team, Ceiling: a.Ceiling}
	var attrs []misp.Attribute
	withheld := 0
	var newest time.Time
	for _, id := range ids {
		ind, err := s.st.GetIndicator(ctx, strings.TrimSpace(id))
		if errors.Is(err, store.ErrNotFound) || err == nil && ind.State == store.IndicatorWithdrawn {
			return nil, 0, problem.NotFound("indicator %q not found", id)
		}
		if err != nil {
			return nil, 0, err
		}
		if !egress.Decide(egress.Request{Item: indicator.ItemOf(ind), Context: egress.NewContext(s.dir, ind.Audience), To: to}).Full() {
			withheld++
			continue
		}
		if ind.Modified.After(newest) {
			newest = ind.Modified
		}
		attrs = append(attrs, misp.AttributeOf(ind, nil))
	}
	org := s.mispOrg(s.dir.Self.ID)
	e := misp.IndicatorEvent(misp.DerivedUUID("selection", strings.Join(ids, ",")), fmt.Sprintf("%s: %d shared indicators", org.Name, len(attrs)), org, newest, attrs)
	e.Published = false
	body, err := misp.Encode(e)
	if err != nil {
		return nil, 0, err
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, s.clock.Now(), actor, "indicator.export", "",
			fmt.Sprintf("misp for %s: %d indicators, %d withheld", a, len(attrs), withheld))
	})
	return body, withheld, err
}
