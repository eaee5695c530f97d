// Package feedshare sends the feed events routed to a partner's constituency to that
// partner's node as a signed bulk report, and routes the reports partners send us on to
// our own network owners, with provenance: the partner that sent them and the feed they
// came from.
//
// A finished run records one delivery per partner it routed events to, in the
// transaction that finishes it. The Sender (an engine module) turns each into bulk
// chunks — every event asked of egress.Decide for that partner before it is written into
// a chunk — and enqueues them, and marks the delivery sent, in one transaction: a crash
// at any point either leaves the delivery pending (nothing queued) or sent (everything
// queued). The receiver applies each chunk in the transaction that records the envelope,
// so a chunk is stored whole or not at all, once.
package feedshare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"csirtlink/internal/bulk"
	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/feed"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/route"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Service is a node's side of routed reports between partners.
type Service struct {
	st    store.Store
	fed   *federation.Federation
	feeds *feedrun.Service
	clock clock.Clock
	log   *slog.Logger
}

// New makes the service, registers its hook on finished runs and its chunk kind with
// recv (the node's bulk receiver).
func New(st store.Store, fed *federation.Federation, feeds *feedrun.Service, recv *bulk.Receiver, clk clock.Clock, log *slog.Logger) *Service {
	s := &Service{st: st, fed: fed, feeds: feeds, clock: clk, log: log.With("component", "feedshare")}
	feeds.OnFinish(s.recordDeliveries)
	recv.Handle(wire.TypeFeedEvent, s.apply)
	return s
}

// recordDeliveries records, with a run of ours that finished, a delivery to each
// partner it routed events to. Reports received from partners are never relayed.
func (s *Service) recordDeliveries(ctx context.Context, tx store.Tx, run store.FeedRun) error {
	if run.Origin != "" {
		return nil
	}
	now := s.clock.Now()
	for p, n := range run.Partners {
		if n == 0 {
			continue
		}
		if err := tx.AddFeedDelivery(ctx, store.FeedDelivery{RunID: run.ID, Kind: store.DeliverPartner, Target: p,
			State: store.DeliveryPending, DueAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// Sender is the engine module that sends partners their reports.
type Sender struct{ s *Service }

// Sender returns the engine module.
func (s *Service) Sender() *Sender { return &Sender{s: s} }

// Name names the module.
func (*Sender) Name() string { return "feed-partner-reports" }

// UpdateAll sends every due partner report.
func (m *Sender) UpdateAll(ctx context.Context) error {
	ds, err := m.s.st.DueFeedDeliveries(ctx, store.DeliverPartner, m.s.clock.Now(), 20)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := m.s.send(ctx, d); err != nil {
			return fmt.Errorf("feedshare: run %s to %s: %w", d.RunID, d.Target, err)
		}
	}
	return nil
}

// Group is the id a report's chunks carry: the run's id.
func Group(runID string) string { return runID }

// send builds a partner's report from the run's stored events and queues its chunks, in
// one transaction with the delivery's new state.
func (s *Service) send(ctx context.Context, d store.FeedDelivery) error {
	self := s.fed.Self()
	return s.st.InTx(ctx, func(tx store.Tx) error {
		chunks, err := tx.FeedChunks(ctx, d.RunID, store.ChunkPartner, d.Target)
		if err != nil {
			return err
		}
		ectx := egress.NewContext(s.fed.Directory(), []string{d.Target})
		b, err := bulk.NewBuilder(wire.TypeFeedEvent, ectx, egress.Destination{Kind: egress.PartnerReport, Team: d.Target})
		if err != nil {
			return err
		}
		part, sent := 0, int64(0)
		emit := func(last bool) error {
			part++
			c, err := b.Take(Group(d.RunID), part, last)
			if err != nil {
				return err
			}
			payload, err := c.Payload()
			if err != nil {
				return err
			}
			sent += int64(c.Count)
			return s.fed.Enqueue(ctx, tx, federation.Message{To: d.Target, Type: wire.TypeBulkChunk,
				ObjectID: fmt.Sprintf("%s/%d", Group(d.RunID), part), Item: tlp.Item{Label: c.Label, Author: self},
				Participants: []string{d.Target}, Payload: payload})
		}
		for _, ch := range chunks {
			err := feedrun.DecodeChunk(ch.Data, func(r feedrun.Record) error {
				obj, err := wire.EncodeFeedEvent(toWire(r))
				if err != nil {
					return err
				}
				item := tlp.Item{Label: tlp.Label(r.TLP), Author: self}
				_, err = b.Add(item, obj)
				if errors.Is(err, bulk.ErrFull) {
					if err := emit(false); err != nil {
						return err
					}
					_, err = b.Add(item, obj)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		d.Refused, d.UpdatedAt = int64(b.Refused()), s.clock.Now()
		if b.Len() > 0 || part > 0 {
			if err := emit(true); err != nil {
				return err
			}
			d.State, d.Events = store.DeliverySent, sent
		} else {
			// Nothing may go (the feed is AMBER+STRICT or RED): not even word that a
			// report exists leaves the node.
			d.State, d.Detail = store.DeliveryRefused, "the egress rule kept every event home"
		}
		return tx.SetFeedDelivery(ctx, d, store.DeliveryPending)
	})
}

func toWire(r feedrun.Record) wire.FeedEvent {
	w := wire.FeedEvent{Time: r.Time.UTC().Format(time.RFC3339Nano), IP: r.IP, Port: r.Port, ASN: r.ASN, Country: r.Country,
		Hostname: r.Hostname, Domain: r.Domain, URL: r.URL, Protocol: r.Protocol, Classification: r.Classification,
		Identifier: r.Identifier, Report: r.Report, Feed: r.Feed, TLP: r.TLP, Raw: r.Raw}
	if r.Count > 1 && r.LastSeen != nil {
		w.Count, w.LastSeen = r.Count, r.LastSeen.UTC().Format(time.RFC3339Nano)
	}
	return w
}

// maxCount bounds an aggregated event's count: more sightings than any feed holds.
const maxCount = 1 << 40

var groupRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// partStride numbers a received report's stored chunks by part, so a chunk's number
// says which part it came in.
const partStride = 1_000_000

// maxParts bounds a report's parts (10,000 events each: a billion events).
const maxParts = 100_000

// RunID is the id of the run that holds a report received from origin.
func RunID(origin, group string) string { return "in-" + origin + "-" + group }

// apply stores one chunk of a partner's report: each event checked as a local one is,
// routed to our own owners (never on to another partner), in the envelope's transaction.
func (s *Service) apply(ctx context.Context, tx store.Tx, env *envelope.Envelope, c wire.BulkChunk) error {
	origin, self := env.Origin, s.fed.Self()
	if !groupRE.MatchString(c.Group) {
		return federation.Rejectf("bulk chunk: group %q is not a run id", c.Group)
	}
	if c.Part > maxParts {
		return federation.Rejectf("bulk chunk: part %d, more than %d", c.Part, maxParts)
	}
	x, err := s.feeds.IndexFrom(ctx, tx)
	if err != nil {
		return err
	}
	evs := make([]feed.Event, 0, min(c.Count, bulk.MaxObjects))
	ectx := egress.NewContext(s.fed.Directory(), []string{self})
	var cls feed.Classifier
	err = bulk.Decode(c, func(i int, obj []byte) error {
		w, err := wire.DecodeFeedEvent(obj)
		if err != nil {
			return federation.Rejectf("bulk chunk: object %d: %v", i, err)
		}
		ev, err := fromWire(w, &cls)
		if err != nil {
			return federation.Rejectf("bulk chunk: object %d: %v", i, err)
		}
		// The rule once more, from our side: an event whose label keeps it from this
		// node, or from the owners we route it on to, is refused whoever sent it.
		if !egress.MayHold(tlp.Item{Label: ev.TLP, Author: origin}, self, []string{self}) ||
			!egress.Decide(egress.Request{Item: tlp.Item{Label: ev.TLP, Author: origin}, Context: ectx,
				To: egress.Destination{Kind: egress.OwnerReport, Team: self}}).Full() {
			return federation.Rejectf("bulk chunk: object %d: TLP:%s may not be routed on to our constituents", i, ev.TLP)
		}
		ev.Line = int64(i + 1)
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		var rej *federation.Reject
		if errors.As(err, &rej) {
			return err
		}
		return federation.Rejectf("%v", err)
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	runID := RunID(origin, c.Group)
	run, err := tx.GetFeedRun(ctx, runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		run = store.FeedRun{ID: runID, Format: "partner", TLP: string(first(evs).TLP), Feed: first(evs).Feed, Report: first(evs).Report, CreatedBy: origin, State: store.RunRunning,
			StartedAt: now, UpdatedAt: now, Origin: origin, SourceRun: c.Group,
			FeedCounts: store.FeedCounts{Owners: map[string]int64{}, Partners: map[string]int64{}, Errors: []store.FeedRowError{}}}
		if err := tx.CreateFeedRun(ctx, run); err != nil {
			return err
		}
	case err != nil:
		return err
	case run.Origin != origin || run.State != store.RunRunning:
		return federation.Rejectf("bulk chunk: report %s is %s", c.Group, run.State)
	}
	ds := make([]route.Decision, len(evs))
	for i := range evs {
		d := x.Route(&evs[i])
		if d.Kind == route.ToPartner {
			d = route.Decision{Kind: route.Unrouted, Index: -1}
		}
		ds[i] = d
		switch d.Kind {
		case route.ToOwner:
			run.RoutedOwners++
			run.Owners[d.ID]++
		default:
			run.Unrouted++
		}
		run.TLP = string(stricter(tlp.Label(run.TLP), evs[i].TLP))
	}
	run.Events += int64(len(evs))
	if len(evs) > 0 {
		if err := s.feeds.StoreRouted(ctx, tx, runID, int64(c.Part)*partStride, evs, ds); err != nil {
			return err
		}
	}
	run.UpdatedAt = now
	if err := tx.UpdateFeedRunCounts(ctx, run); err != nil || !c.Last {
		return err
	}
	run.State, run.FinishedAt = store.RunDone, &now
	return s.feeds.Finish(ctx, tx, run)
}

// first is a chunk's first event, or an empty one at CLEAR (a report's closing part may
// hold none).
func first(evs []feed.Event) feed.Event {
	if len(evs) == 0 {
		return feed.Event{TLP: tlp.Clear}
	}
	return evs[0]
}

func stricter(a, b tlp.Label) tlp.Label { return tlp.Stricter(a, b) }

// Limits on a received event's text, as a local parser's.
const (
	maxField = 1024
	maxRaw   = 64 << 10
)

// fromWire checks a partner's event by the rules a local one meets and makes it an event.
func fromWire(w wire.FeedEvent, cls *feed.Classifier) (feed.Event, error) {
	var ev feed.Event
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return ev, fmt.Errorf("time: %q is not RFC 3339", clip(w.Time))
	}
	ev.Time = t.UTC()
	if w.IP != "" {
		a, err := netip.ParseAddr(w.IP)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return ev, fmt.Errorf("ip: %q is not an address", clip(w.IP))
		}
		ev.IP = a
	}
	if !ev.IP.IsValid() && w.Domain == "" && w.URL == "" {
		return ev, errors.New("ip: an event needs an address, a domain or a URL")
	}
	if w.Country != "" {
		if _, ok := feed.CountryCode(w.Country); !ok || w.Country != strings.ToUpper(w.Country) {
			return ev, fmt.Errorf("country: %q is not ISO 3166-1 alpha-2", clip(w.Country))
		}
	}
	if taxonomy.Valid(w.Classification) != nil || !cls.Valid(w.Classification) {
		return ev, fmt.Errorf("classification: %q is not RSIT class/type", clip(w.Classification))
	}
	l, err := tlp.Parse(w.TLP)
	if err != nil || string(l) != w.TLP {
		return ev, fmt.Errorf("tlp: %q is not a canonical label", clip(w.TLP))
	}
	for name, v := range map[string]string{"hostname": w.Hostname, "domain": w.Domain, "url": w.URL, "protocol": w.Protocol,
		"identifier": w.Identifier, "report": w.Report, "feed": w.Feed} {
		if len(v) > maxField || !cleanText(v) {
			return ev, fmt.Errorf("%s: longer than %d bytes or not clean text", name, maxField)
		}
	}
	if len(w.Raw) > maxRaw || !utf8.ValidString(w.Raw) {
		return ev, fmt.Errorf("raw: longer than %d bytes or not UTF-8", maxRaw)
	}
	if w.Count < 0 || w.Count > maxCount || (w.Count > 1) != (w.LastSeen != "") {
		return ev, fmt.Errorf("count: %d must be from 2 to %d, with last_seen, on an aggregated event, else absent", w.Count, int64(maxCount))
	}
	if w.LastSeen != "" {
		last, err := time.Parse(time.RFC3339Nano, w.LastSeen)
		if err != nil || last.Before(ev.Time) {
			return ev, fmt.Errorf("last_seen: %q is not RFC 3339 at or after time", clip(w.LastSeen))
		}
		ev.Count, ev.LastSeen = w.Count, last.UTC()
	}
	ev.Port, ev.ASN, ev.Country = w.Port, w.ASN, w.Country
	ev.Hostname, ev.Domain, ev.URL, ev.Protocol = w.Hostname, strings.ToLower(w.Domain), w.URL, w.Protocol
	ev.Classification, ev.Identifier, ev.Report, ev.Feed, ev.TLP, ev.Raw = w.Classification, w.Identifier, w.Report, w.Feed, l, w.Raw
	if ev.ASN != 0 {
		ev.ASNFrom = feed.OriginFeed
	}
	if ev.Country != "" {
		ev.CountryFrom = feed.OriginFeed
	}
	return ev, nil
}

// cleanText is valid UTF-8 without control characters or explicit bidirectional
// formatting characters, as every one-line text from a peer.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

// Received lists the reports received from partner, newest first.
func (s *Service) Received(ctx context.Context, partner string, limit int) ([]store.FeedRun, error) {
	return s.st.ListFeedRunsFrom(ctx, partner, limit)
}
