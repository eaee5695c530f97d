// Package indicator is the daily information sharing between partner teams: shared
// indicators (an observable with context) and the sightings and feedback partners
// report on them.
//
// One author team per object writes it; every holder applies its versions in order.
// Revocation is a signed tombstone to every team the object ever went to, kept forever
// so that a late copy never resurrects the object. Sightings are separate objects owned
// by the team that saw, sent to the author on their own clock, never bumping the
// object's version. Who receives what is egress.Decide's answer, called by
// federation.Enqueue for each destination — the one TLP rule (docs/indicators.md).
package indicator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Limits on what a person may write, and a peer may send.
const (
	maxDescription = 4000
	maxTags        = 32
	maxTag         = 64
	maxIncidents   = 16
	maxTeams       = 64
	maxName        = 200
	maxNote        = 2000
	maxCount       = 1 << 40
	// DefaultConfidence is an indicator's confidence when its author gives none.
	DefaultConfidence = 50
)

// Actor is the person acting on this node.
type Actor struct{ Name string }

// Service runs shared indicators on one node.
type Service struct {
	st    store.Store
	fed   *federation.Federation
	dir   *team.Directory
	clock clock.Clock
	log   *slog.Logger
	// changed are told after commit which indicator changed (live updates).
	changed []func(id string)
	// changedMany are told after commit, at once, every indicator a transaction changed.
	changedMany []func(ids []string)
	// wake asks the engine to run the Sender now (an import wrote versions).
	wake func()
}

// New makes the service and registers its envelope handlers with fed.
func New(st store.Store, fed *federation.Federation, clk clock.Clock, log *slog.Logger) *Service {
	s := &Service{st: st, fed: fed, dir: fed.Directory(), clock: clk, log: log.With("component", "indicator")}
	fed.Handle(wire.TypeIndicatorUpsert, s.applyUpsert)
	fed.Handle(wire.TypeIndicatorTombstone, s.applyTombstone)
	fed.Handle(wire.TypeSightingReport, s.applySighting)
	return s
}

// SetWake gives the function that wakes the engine, so that an import's versions are
// queued for partners as soon as they are written.
func (s *Service) SetWake(f func()) { s.wake = f }

func (s *Service) wakeSender() {
	if s.wake != nil {
		s.wake()
	}
}

// OnChange adds a function told, after commit, of every indicator that changed.
func (s *Service) OnChange(f func(id string)) { s.changed = append(s.changed, f) }

// OnChanges adds a function told, after commit, of the indicators changed together
// (a bulk chunk's, up to bulk.MaxObjects) in one call: for work that costs a transaction
// of its own per call, such as publishing to the TAXII collection.
func (s *Service) OnChanges(f func(ids []string)) { s.changedMany = append(s.changedMany, f) }

func (s *Service) notify(tx store.Tx, id string) { s.notifyAll(tx, []string{id}) }

func (s *Service) notifyAll(tx store.Tx, ids []string) {
	if len(ids) == 0 {
		return
	}
	for _, f := range s.changed {
		for _, id := range ids {
			tx.OnCommit(func() { f(id) })
		}
	}
	for _, f := range s.changedMany {
		tx.OnCommit(func() { f(ids) })
	}
}

// Self is this node's team.
func (s *Service) Self() string { return s.dir.Self.ID }

// Input is what a person writes: a new indicator, or the new content of one.
type Input struct {
	Type        string     `json:"type"`
	Value       string     `json:"value"`
	Category    string     `json:"category"`
	Confidence  *int       `json:"confidence,omitempty"`
	TLP         string     `json:"tlp"`
	ShareWith   []string   `json:"share_with,omitempty"`
	Incidents   []string   `json:"incidents,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Description string     `json:"description,omitempty"`
	ValidFrom   *time.Time `json:"valid_from,omitempty"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
}

// NewID makes an indicator or sighting id: a random UUID (version 4), usable as the
// id part of a STIX identifier.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// build makes the indicator a person's input describes, as version 1 by this team or
// as the next version of old.
func (s *Service) build(ctx context.Context, tx store.Tx, a Actor, in Input, now time.Time) (store.Indicator, error) {
	o, err := observable.Parse(in.Type, in.Value)
	if err != nil {
		return store.Indicator{}, problem.Invalid("value", "%v", err)
	}
	label, err := tlp.Parse(in.TLP)
	if err != nil {
		return store.Indicator{}, problem.Invalid("tlp", "%v", err)
	}
	ind := store.Indicator{Author: s.Self(), Version: 1, State: store.IndicatorActive, Type: string(o.Type), Value: o.Value,
		Category: strings.TrimSpace(in.Category), Confidence: DefaultConfidence, TLP: string(label),
		Description: in.Description, ValidFrom: now, ValidUntil: in.ValidUntil, CreatedBy: a.Name, CreatedAt: now, Modified: now, ReceivedAt: now}
	if in.Confidence != nil {
		ind.Confidence = *in.Confidence
	}
	if in.ValidFrom != nil {
		ind.ValidFrom = in.ValidFrom.UTC().Truncate(time.Microsecond)
	}
	if ind.ValidUntil != nil {
		u := ind.ValidUntil.UTC().Truncate(time.Microsecond)
		ind.ValidUntil = &u
	}
	for _, t := range in.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(ind.Tags, t) {
			ind.Tags = append(ind.Tags, t)
		}
	}
	if len(in.ShareWith) > maxTeams {
		return ind, problem.Invalid("share_with", "more than %d teams", maxTeams)
	}
	for _, t := range in.ShareWith {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == s.Self():
			continue
		case !s.dir.Active(t):
			return ind, problem.Invalid("share_with", "%q is not a peer of this node", t)
		}
		ind.ShareWith = append(ind.ShareWith, t)
	}
	ind.ShareWith = sortedUnique(ind.ShareWith)
	audience := slices.Clone(ind.ShareWith)
	if len(in.Incidents) > maxIncidents {
		return ind, problem.Invalid("incidents", "more than %d incidents", maxIncidents)
	}
	for _, id := range in.Incidents {
		id = strings.TrimSpace(id)
		inc, err := tx.GetIncident(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ind, problem.Invalid("incidents", "no incident %q on this node", id)
		}
		if err != nil {
			return ind, err
		}
		if !slices.Contains(ind.Incidents, id) {
			ind.Incidents = append(ind.Incidents, id)
		}
		for _, p := range inc.Participants {
			audience = append(audience, p.Team)
		}
	}
	audience = slices.DeleteFunc(sortedUnique(audience), func(t string) bool { return t == s.Self() })
	switch label {
	case tlp.Amber, tlp.AmberStrict:
		ind.Audience = audience
	case tlp.Red:
		ind.Audience = ind.ShareWith
	}
	return ind, validIndicator(ind, now)
}

// sortedUnique is teams sorted, each once; nil when there are none.
func sortedUnique(teams []string) []string {
	if len(teams) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(teams)))
}

// itemOf is what the TLP rule decides on for an indicator: AMBER goes to its audience,
// AMBER+STRICT to the teams named (its audience if none are), RED only to those named.
func itemOf(ind store.Indicator) tlp.Item {
	it := tlp.Item{Label: tlp.Label(ind.TLP), Author: ind.Author}
	switch it.Label {
	case tlp.AmberStrict:
		it.Recipients = ind.ShareWith
		if len(it.Recipients) == 0 {
			it.Recipients = ind.Audience
		}
	case tlp.Red:
		it.Recipients = ind.ShareWith
	}
	return it
}

// Create shares a new indicator written here.
func (s *Service) Create(ctx context.Context, a Actor, in Input) (store.Indicator, error) {
	var ind store.Indicator
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		ind, err = s.create(ctx, tx, a, in, s.clock.Now().UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, ind.Modified, a.Name, "indicator.create", ind.ID,
			fmt.Sprintf("%s %s TLP:%s", ind.Type, ind.Value, ind.TLP))
	})
	return ind, err
}

func (s *Service) create(ctx context.Context, tx store.Tx, a Actor, in Input, now time.Time) (store.Indicator, error) {
	ind, err := s.build(ctx, tx, a, in, now)
	if err != nil {
		return ind, err
	}
	ind.ID = NewID()
	if err := tx.PutIndicator(ctx, ind); err != nil {
		return ind, err
	}
	return ind, s.send(ctx, tx, ind, nil)
}

// Update writes the next version of one of this team's indicators.
func (s *Service) Update(ctx context.Context, a Actor, id string, in Input) (store.Indicator, error) {
	var ind store.Indicator
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		old, err := s.own(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		if ind, err = s.update(ctx, tx, a, old, in, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, a.Name, "indicator.update", id, fmt.Sprintf("version %d TLP:%s", ind.Version, ind.TLP))
	})
	return ind, err
}

func (s *Service) update(ctx context.Context, tx store.Tx, a Actor, old store.Indicator, in Input, now time.Time) (store.Indicator, error) {
	ind, err := s.build(ctx, tx, a, in, now)
	if err != nil {
		return ind, err
	}
	ind = nextVersion(old, ind, in)
	if err := tx.PutIndicator(ctx, ind); err != nil {
		return ind, err
	}
	holders, err := tx.Holders(ctx, ind.ID)
	if err != nil {
		return ind, err
	}
	return ind, s.send(ctx, tx, ind, holders)
}

// nextVersion makes ind, built from in, the next version of old.
func nextVersion(old, ind store.Indicator, in Input) store.Indicator {
	if in.ValidFrom == nil {
		ind.ValidFrom = old.ValidFrom
	}
	ind.ID, ind.Version, ind.CreatedAt, ind.CreatedBy = old.ID, old.Version+1, old.CreatedAt, old.CreatedBy
	return ind
}

// own returns one of this team's live indicators, locked for the change.
func (s *Service) own(ctx context.Context, tx store.Tx, id string) (store.Indicator, error) {
	old, err := tx.GetIndicator(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return old, problem.NotFound("indicator %q not found", id)
	case err != nil:
		return old, err
	case old.Author != s.Self():
		return old, problem.Forbidden("only its author team, %s, changes indicator %s", old.Author, id)
	case old.State == store.IndicatorRevoked:
		return old, problem.Conflict("indicator %s is revoked", id)
	}
	return old, nil
}

// send queues a version for every active peer the rule lets hold it, and a withdrawal
// for each team that held an earlier version and may no longer.
func (s *Service) send(ctx context.Context, tx store.Tx, ind store.Indicator, holders []string) error {
	payload, err := wire.EncodeIndicator(toWire(ind))
	if err != nil {
		return err
	}
	it := itemOf(ind)
	var gone []string
	for _, p := range s.dir.Peers() {
		if p.Revoked {
			continue
		}
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: p.ID, Type: wire.TypeIndicatorUpsert, ObjectID: ind.ID,
			Item: it, Participants: ind.Audience, Payload: payload})
		switch {
		case errors.Is(err, federation.ErrNotAllowed):
			if slices.Contains(holders, p.ID) {
				gone = append(gone, p.ID)
			}
			continue
		case err != nil:
			return err
		}
		if err := tx.PutHolder(ctx, ind.ID, p.ID, ind.Version, ind.Modified); err != nil {
			return err
		}
	}
	s.notify(tx, ind.ID)
	if len(gone) == 0 {
		return nil
	}
	// The withdrawal is its own version: a later one that names the team again
	// brings the object back to it.
	return s.tombstone(ctx, tx, ind, store.IndicatorWithdrawn, ind.Version, gone)
}

// tombstone tells teams that held an indicator that it ended for them (revoked, or
// withdrawn from them) at a version. Its audience is exactly those teams: they hold the
// object already, and the tombstone carries nothing of its content.
func (s *Service) tombstone(ctx context.Context, tx store.Tx, ind store.Indicator, state string, version int64, to []string) error {
	payload, err := wire.EncodeIndicatorTombstone(wire.IndicatorTombstone{ID: ind.ID, Author: ind.Author, Version: version,
		State: state, At: ind.Modified})
	if err != nil {
		return err
	}
	it := tlp.Item{Label: tlp.Label(ind.TLP), Author: ind.Author, Recipients: to}
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: wire.TypeIndicatorTombstone, ObjectID: ind.ID,
			Item: it, Participants: to, Payload: payload})
		if errors.Is(err, federation.ErrNotAllowed) {
			// A revoked peer: it gets nothing more from us, a tombstone included.
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Revoke ends one of this team's indicators everywhere: a signed tombstone goes to every
// team it ever went to, including those offline now (the outbox keeps it for them).
func (s *Service) Revoke(ctx context.Context, a Actor, id string) (store.Indicator, error) {
	var ind store.Indicator
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if ind, err = s.own(ctx, tx, id); err != nil {
			return err
		}
		now := s.clock.Now().UTC().Truncate(time.Microsecond)
		if err := s.revoke(ctx, tx, &ind, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, a.Name, "indicator.revoke", id, fmt.Sprintf("version %d", ind.Version))
	})
	return ind, err
}

func (s *Service) revoke(ctx context.Context, tx store.Tx, ind *store.Indicator, now time.Time) error {
	ind.Version++
	ind.State, ind.Modified, ind.RevokedAt = store.IndicatorRevoked, now, &now
	if err := tx.PutIndicator(ctx, *ind); err != nil {
		return err
	}
	holders, err := tx.Holders(ctx, ind.ID)
	if err != nil {
		return err
	}
	s.notify(tx, ind.ID)
	return s.tombstone(ctx, tx, *ind, store.IndicatorRevoked, ind.Version, holders)
}

// View is an indicator as the API and console show it: with its sightings, and whether
// it is revoked or expired now.
type View struct {
	store.Indicator
	Revoked   bool             `json:"revoked"`
	Expired   bool             `json:"expired"`
	Holders   []string         `json:"holders,omitempty"`
	Sightings []store.Sighting `json:"sightings"`
	Summary   Summary          `json:"summary"`
}

// Summary is what the sightings say, per kind.
type Summary struct {
	Teams         []string   `json:"teams"`
	Seen          int64      `json:"seen"`
	FalsePositive int        `json:"false_positive"`
	TakenDown     int        `json:"taken_down"`
	Blocked       int        `json:"blocked"`
	LastSeen      *time.Time `json:"last_seen,omitempty"`
}

func summarise(ss []store.Sighting) Summary {
	var sum Summary
	for _, x := range ss {
		if !slices.Contains(sum.Teams, x.Team) {
			sum.Teams = append(sum.Teams, x.Team)
		}
		switch x.Kind {
		case store.SightingSeen:
			sum.Seen += x.Count
		case store.SightingFalsePositive:
			sum.FalsePositive++
		case store.SightingTakenDown:
			sum.TakenDown++
		case store.SightingBlocked:
			sum.Blocked++
		}
		last := x.LastSeen
		if last == nil {
			last = &x.At
		}
		if sum.LastSeen == nil || last.After(*sum.LastSeen) {
			t := *last
			sum.LastSeen = &t
		}
	}
	slices.Sort(sum.Teams)
	if sum.Teams == nil {
		sum.Teams = []string{}
	}
	return sum
}

// expired reports whether an indicator's validity ended before now. Every node judges it
// by its own clock, from valid_until as the author wrote it.
func expired(ind store.Indicator, now time.Time) bool { return expiredAt(ind.ValidUntil, now) }

func expiredAt(until *time.Time, now time.Time) bool { return until != nil && until.Before(now) }

// Get returns an indicator with its sightings.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	ind, err := s.st.GetIndicator(ctx, id)
	// A withdrawn object is no longer ours to hold: as if we never had it.
	if errors.Is(err, store.ErrNotFound) || err == nil && ind.State == store.IndicatorWithdrawn {
		return View{}, problem.NotFound("indicator %q not found", id)
	}
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, s.st, ind)
}

func (s *Service) view(ctx context.Context, st store.Tx, ind store.Indicator) (View, error) {
	v := View{Indicator: ind, Revoked: ind.State == store.IndicatorRevoked, Expired: expired(ind, s.clock.Now())}
	var err error
	if v.Sightings, err = st.Sightings(ctx, ind.ID); err != nil {
		return v, err
	}
	v.Summary = summarise(v.Sightings)
	if ind.Author == s.Self() {
		if v.Holders, err = st.Holders(ctx, ind.ID); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Filter is a list's selection as a person gives it.
type Filter struct {
	Type, Category, TLP, Author, Value, Seen, Expired string
	Revoked                                           bool
	Limit                                             int
}

// List lists indicators matching f, newest change first.
func (s *Service) List(ctx context.Context, f Filter) ([]store.Indicator, error) {
	sf := store.IndicatorFilter{Type: strings.ToLower(f.Type), Category: f.Category, Author: strings.ToLower(f.Author),
		Seen: f.Seen, Expired: f.Expired, Revoked: f.Revoked, Now: s.clock.Now(), Limit: f.Limit}
	if sf.Type != "" && !slices.Contains(observable.Types(), observable.Type(sf.Type)) {
		return nil, problem.Invalid("type", "must be one of %s", typeList())
	}
	if f.TLP != "" {
		l, err := tlp.Parse(f.TLP)
		if err != nil {
			return nil, problem.Invalid("tlp", "%v", err)
		}
		sf.TLP = string(l)
	}
	if f.Value != "" {
		o, err := observable.Parse(sf.Type, f.Value)
		if err != nil {
			return nil, problem.Invalid("value", "%v", err)
		}
		sf.Value = o.Value
	}
	for field, v := range map[string]string{"seen": f.Seen, "expired": f.Expired} {
		if v != "" && v != "yes" && v != "no" {
			return nil, problem.Invalid(field, "must be one of %s", "yes, no")
		}
	}
	if sf.Limit <= 0 || sf.Limit > 5000 {
		sf.Limit = 500
	}
	return s.st.ListIndicators(ctx, sf)
}

func typeList() string {
	var names []string
	for _, t := range observable.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// ItemOf is what the TLP rule decides on for an indicator, for the ways out that are
// not federation (an export, a feed) and ask egress.Decide themselves; its
// participants are the indicator's Audience.
func ItemOf(ind store.Indicator) tlp.Item { return itemOf(ind) }

// SightingItem is what the TLP rule decides on for a sighting of ind, and the
// sighting's participants.
func SightingItem(x store.Sighting, ind store.Indicator) (tlp.Item, []string) {
	return sightingItem(x), sightingParticipants(ind)
}
