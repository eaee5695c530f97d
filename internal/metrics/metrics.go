// Package metrics measures the collaboration from what a node holds: how fast partner
// teams answer one another's pages and invitations, per partner pair and direction,
// per period, as the median, the 95th percentile and the slowest (never a mean alone).
//
// Every figure says how it was computed and from which records; a time that rests on a
// partner node's signature (its receipt for our page, its signed acknowledgement, its
// author-signed timeline entry) says so. Teams federate their figures to one another
// as aggregates without case content (aggregate.go), so that any node assembles the
// same joint report with each team's figures attributed to it.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// Evidence: what a figure's times rest on.
const (
	// EvidenceReceipt: the partner node's signed receipt for our envelope, checked
	// against its key; its time is the partner's own statement of arrival.
	EvidenceReceipt = "signed_receipt"
	// EvidenceStatement: the partner node's signed acknowledgement statement (or, when
	// marked unverified, a one-time code from the fallback mail).
	EvidenceStatement = "signed_statement"
	// EvidenceEntry: timeline entries signed by their authors.
	EvidenceEntry = "signed_entry"
	// EvidenceEnvelope: what a partner's node told us in a signed envelope.
	EvidenceEnvelope = "signed_envelope"
	// EvidenceLocal: this node's own records of what it did.
	EvidenceLocal = "local_record"
)

// Thresholds of the acknowledgement shares.
const (
	Within15m = 15 * 60
	Within1h  = 60 * 60
)

// Source is what the figures are computed from.
type Source interface {
	store.MetricsReader
	store.CollabReader
	Timeline(ctx context.Context, incidentID string) ([]store.Entry, error)
	SightingsOf(ctx context.Context, indicatorIDs []string) ([]store.Sighting, error)
}

// Service computes a node's figures.
type Service struct {
	st    Source
	dir   *team.Directory
	clock clock.Clock
}

// NewService makes the computing side; see Publisher for the federated side.
func NewService(st Source, dir *team.Directory, clk clock.Clock) *Service {
	return &Service{st: st, dir: dir, clock: clk}
}

// Hotline is the hotline's figures for a set of pages (not drills).
type Hotline struct {
	Pages        int    `json:"pages"`
	Delivered    Figure `json:"delivered"`
	Notified     Figure `json:"notified"`
	Acknowledged Figure `json:"acknowledged"`
	// AckUnverified counts acknowledgements made with a fallback mail's one-time code
	// and never confirmed by the partner node's signed statement; they are in
	// Acknowledged and the shares.
	AckUnverified int   `json:"acknowledged_unverified"`
	AckWithin15m  Share `json:"acknowledged_within_15m"`
	AckWithin1h   Share `json:"acknowledged_within_1h"`
}

// CommChecks is how comm checks (drill pages) were answered.
type CommChecks struct {
	Checks       int    `json:"checks"`
	Answered     int    `json:"answered"`
	Acknowledged Figure `json:"acknowledged"`
}

// Count is how many records have one value (a category, a severity).
type Count struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// Incidents is the incident figures for a set of cross-border incidents.
type Incidents struct {
	CrossBorder  int      `json:"cross_border"`
	Records      []string `json:"records"`
	ByCategory   []Count  `json:"by_category"`
	BySeverity   []Count  `json:"by_severity"`
	Acknowledged Figure   `json:"acknowledged"`
	FirstEntry   Figure   `json:"first_entry"`
	Done         Figure   `json:"done"`
	Mitigated    Figure   `json:"mitigated"`
	Closed       Figure   `json:"closed"`
}

// Direction is the figures of one directed pair: From asked (paged, invited), To
// answered.
type Direction struct {
	From       string     `json:"from"`
	To         string     `json:"to"`
	Hotline    Hotline    `json:"hotline"`
	CommChecks CommChecks `json:"commchecks"`
	Incidents  Incidents  `json:"incidents"`
	Sharing    Sharing    `json:"sharing"`
	Feeds      Feeds      `json:"feeds"`
	CVD        CVD        `json:"cvd"`
}

// Own is this team's own totals: how many incidents it coordinated in the period, and
// how many of them were cross-border.
type Own struct {
	IncidentsCoordinated   int      `json:"incidents_coordinated"`
	CrossBorderCoordinated int      `json:"cross_border_coordinated"`
	CrossBorderShare       *float64 `json:"cross_border_share"`
	// ByCategory is the cross-border incidents this team coordinated, by category.
	ByCategory []Count `json:"by_category"`
	// Feeds and CVD are this node's feed runs and the cases this team coordinates.
	Feeds OwnFeeds `json:"feeds"`
	CVD   OwnCVD   `json:"cvd"`
}

// Report is a node's figures for a period: pooled over both directions of every pair
// this team is in (or of one partner's), and per direction.
type Report struct {
	Team        string      `json:"team"`
	Partner     string      `json:"partner,omitempty"`
	Period      Period      `json:"period"`
	GeneratedAt time.Time   `json:"generated_at"`
	Method      string      `json:"method"`
	Hotline     Hotline     `json:"hotline"`
	CommChecks  CommChecks  `json:"commchecks"`
	Incidents   Incidents   `json:"incidents"`
	Sharing     Sharing     `json:"sharing"`
	Feeds       Feeds       `json:"feeds"`
	CVD         CVD         `json:"cvd"`
	Own         Own         `json:"own"`
	Directions  []Direction `json:"directions"`
}

// ReportMethod is what a report's method says.
const ReportMethod = "Computed by this node from the records it holds. Pages and incidents are counted in the period they were created (UTC). " +
	"A direction from A to B measures B's answer to A: pages A sent B, incidents A coordinates with B. " +
	"The pooled figures take every direction listed, each record once. Drill pages count only under commchecks. " +
	"Negative times (clocks of two nodes a little apart) count as 0."

// Methods of each figure.
const (
	methodDelivered      = "page created (sender's signed page) → received by the partner's node"
	methodNotified       = "page created → the partner's node reported a person notified"
	methodAcknowledged   = "page created → a person of the partner team acknowledged"
	methodShare          = "acknowledged within the threshold after the page was created, of all pages"
	methodCommCheck      = "comm check page created → acknowledged at the partner"
	methodInvAck         = "invited (the incident's creation, or the coordinator's invitation entry) → the partner's first participation entry"
	methodInvFirst       = "invited → the partner's first comment or observable"
	methodInvDone        = "invited → the partner's participation entry 'done'"
	methodMitigated      = "incident created → the coordinator's first status entry 'mitigated'"
	methodClosed         = "incident created → the coordinator's first status entry 'closed'"
	methodReceiptOut     = methodDelivered + " (the time in its signed receipt)"
	methodDeliveredLocal = methodDelivered + " (our arrival time)"
)

// data is what a range of figures is computed from, read once.
type data struct {
	pages     []store.Page
	incidents []store.Incident
	timelines map[string][]store.Entry
	collab    *collabData
}

func (s *Service) read(ctx context.Context, from, to time.Time) (*data, error) {
	d := &data{timelines: map[string][]store.Entry{}}
	var err error
	if d.collab, err = s.readCollab(ctx, from, to); err != nil {
		return nil, err
	}
	if d.pages, err = s.st.PagesCreated(ctx, from, to); err != nil {
		return nil, err
	}
	if d.incidents, err = s.st.IncidentsCreated(ctx, from, to); err != nil {
		return nil, err
	}
	for _, in := range d.incidents {
		if len(in.Participants) < 2 {
			continue // only cross-border incidents need their timeline
		}
		if d.timelines[in.ID], err = s.st.Timeline(ctx, in.ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Compute makes the report of a period; partner, if set, narrows it to the two
// directions between this team and that partner.
func (s *Service) Compute(ctx context.Context, p Period, partner string) (Report, error) {
	if partner != "" && !s.dir.Known(partner) {
		return Report{}, fmt.Errorf("partner %q: %w", partner, ErrUnknownTeam)
	}
	d, err := s.read(ctx, p.From, p.To)
	if err != nil {
		return Report{}, err
	}
	return s.build(d, p, partner), nil
}

// ErrUnknownTeam is returned for a partner that is not a peer.
var ErrUnknownTeam = errors.New("not a known team")

// dirAcc gathers one direction's samples.
type dirAcc struct {
	from, to                                   string
	pages, unverified                          int
	delivered, notified, acked                 acc
	checks, answered                           int
	ccAcked                                    acc
	incidents                                  map[string]store.Incident
	invAck, invFirst, invDone, mitigated, clsd acc
}

func (s *Service) build(d *data, p Period, partner string) Report {
	self := s.dir.Self.ID
	now := s.clock.Now().UTC()
	var dirs []*dirAcc
	byKey := map[[2]string]*dirAcc{}
	collabs := map[[2]string]*collabAcc{}
	for _, peer := range s.dir.Peers() {
		if partner != "" && peer.ID != partner {
			continue
		}
		for _, k := range [][2]string{{self, peer.ID}, {peer.ID, self}} {
			da := &dirAcc{from: k[0], to: k[1], incidents: map[string]store.Incident{}}
			dirs = append(dirs, da)
			byKey[k] = da
			collabs[k] = &collabAcc{}
		}
	}
	in := func(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

	for _, pg := range d.pages {
		if !in(pg.CreatedAt) {
			continue
		}
		for _, dl := range pg.Deliveries {
			da := byKey[[2]string{pg.From, dl.Team}]
			if da == nil {
				continue
			}
			s.addPage(da, pg, dl)
		}
	}
	own := Own{}
	ownCats := map[string]int{}
	for _, inc := range d.incidents {
		if !in(inc.CreatedAt) {
			continue
		}
		if inc.Coordinator == self {
			own.IncidentsCoordinated++
			if len(inc.Participants) >= 2 {
				own.CrossBorderCoordinated++
				ownCats[inc.Category]++
			}
		}
		if len(inc.Participants) < 2 {
			continue
		}
		tl := d.timelines[inc.ID]
		for _, pt := range inc.Participants {
			da := byKey[[2]string{inc.Coordinator, pt.Team}]
			if da == nil || pt.Team == inc.Coordinator {
				continue
			}
			addIncident(da, inc, pt.Team, tl)
		}
	}
	own.ByCategory = counts(ownCats, nil)
	s.addCollab(d.collab, in, collabs, now)
	own.Feeds, own.CVD = s.ownCollab(d.collab, in, now)
	if own.IncidentsCoordinated > 0 {
		own.CrossBorderShare = ptr(float64(own.CrossBorderCoordinated*10000/own.IncidentsCoordinated) / 10000)
	}

	rep := Report{Team: self, Partner: partner, Period: p, GeneratedAt: now, Method: ReportMethod, Own: own,
		Directions: []Direction{}}
	var cas []*collabAcc
	for _, da := range dirs {
		dir := da.direction(self)
		ca := collabs[[2]string{da.from, da.to}]
		cas = append(cas, ca)
		dir.Sharing, dir.Feeds, dir.CVD = ca.result(da.from == self)
		rep.Directions = append(rep.Directions, dir)
	}
	rep.Sharing, rep.Feeds, rep.CVD = pooledCollab(cas).pooledResult()
	pooled := &dirAcc{incidents: map[string]store.Incident{}}
	var dl, nt, ak, cc, ia, ifi, idn, mi, cl []*acc
	for _, da := range dirs {
		pooled.pages += da.pages
		pooled.unverified += da.unverified
		pooled.checks += da.checks
		pooled.answered += da.answered
		for id, inc := range da.incidents {
			pooled.incidents[id] = inc
		}
		dl, nt, ak, cc = append(dl, &da.delivered), append(nt, &da.notified), append(ak, &da.acked), append(cc, &da.ccAcked)
		ia, ifi, idn = append(ia, &da.invAck), append(ifi, &da.invFirst), append(idn, &da.invDone)
		mi, cl = append(mi, &da.mitigated), append(cl, &da.clsd)
	}
	pooled.delivered, pooled.notified, pooled.acked, pooled.ccAcked = *merge(dl...), *merge(nt...), *merge(ak...), *merge(cc...)
	pooled.invAck, pooled.invFirst, pooled.invDone = *merge(ia...), *merge(ifi...), *merge(idn...)
	pooled.mitigated, pooled.clsd = *merge(mi...), *merge(cl...)
	pd := pooled.direction(self)
	rep.Hotline, rep.CommChecks, rep.Incidents = pd.Hotline, pd.CommChecks, pd.Incidents
	// Pooled delivery times mix receipts (our pages) with our own arrival times
	// (partners' pages): say so.
	if len(dirs) > 0 {
		rep.Hotline.Delivered.Evidence = EvidenceReceipt + "+" + EvidenceLocal
		rep.Hotline.Delivered.Method = methodDelivered + ": the partner's signed receipt for our pages, our arrival time for theirs; " + PercentileMethod
		rep.Hotline.Acknowledged.Evidence = EvidenceStatement + "+" + EvidenceLocal
	}
	return rep
}

// addPage adds one delivery of a page to its direction.
func (s *Service) addPage(da *dirAcc, pg store.Page, dl store.Delivery) {
	key := pg.ID + "/" + dl.Team
	since := func(t *time.Time) float64 { return t.Sub(pg.CreatedAt).Seconds() }
	if pg.Drill || pg.CommCheckID != "" {
		da.checks++
		if dl.AcknowledgedAt != nil {
			da.answered++
			da.ccAcked.add(key, pg.ID, since(dl.AcknowledgedAt))
		}
		return
	}
	da.pages++
	outgoing := pg.From == s.dir.Self.ID
	switch {
	case !outgoing:
		// A partner's page: our own arrival time.
		if dl.DeliveredAt != nil {
			da.delivered.add(key, pg.ID, since(dl.DeliveredAt))
		}
	case dl.Receipt == nil:
		da.delivered.exclude("no_receipt")
	default:
		// Our page: the partner node's signed receipt, and its time, or nothing.
		var r envelope.Receipt
		pub, ok := s.dir.Key(dl.Team)
		switch {
		case json.Unmarshal(dl.Receipt, &r) != nil:
			da.delivered.exclude("unreadable_receipt")
		case !ok:
			da.delivered.exclude("partner_key_unknown")
		case r.Origin != pg.From || r.Receiver != dl.Team || r.Status == envelope.Rejected || r.VerifySignature(pub) != nil:
			da.delivered.exclude("receipt_not_verified")
		default:
			da.delivered.add(key, pg.ID, r.ReceivedAt.Sub(pg.CreatedAt).Seconds())
		}
	}
	if dl.NotifiedAt != nil {
		da.notified.add(key, pg.ID, since(dl.NotifiedAt))
	}
	if dl.AcknowledgedAt != nil {
		da.acked.add(key, pg.ID, since(dl.AcknowledgedAt))
		if outgoing {
			pub, _ := s.dir.Key(dl.Team)
			if hotline.VerifyAcknowledgement(pub, pg.ID, dl) != nil {
				da.unverified++
			}
		}
	}
}

// addIncident adds one participant's answer to one cross-border incident.
func addIncident(da *dirAcc, inc store.Incident, participant string, tl []store.Entry) {
	da.incidents[inc.ID] = inc
	key := inc.ID + "/" + participant
	invited := inc.CreatedAt
	var ack, first, done, mitigated, closed *time.Time
	for i := range tl {
		e := &tl[i]
		at := e.CreatedAt
		switch {
		case e.Kind == incident.KindInvitation && e.Team == inc.Coordinator:
			if dd, err := wire.DecodeData[wire.InvitationData](e.Data); err == nil && dd.Team == participant {
				invited = at
			}
		case e.Kind == incident.KindParticipation && e.Team == participant:
			dd, err := wire.DecodeData[wire.StatusData](e.Data)
			if err != nil || dd.Status == incident.Invited {
				continue
			}
			if ack == nil {
				ack = &at
			}
			if dd.Status == incident.Done && done == nil {
				done = &at
			}
		case (e.Kind == incident.KindComment || e.Kind == incident.KindObservable) && e.Team == participant:
			if first == nil {
				first = &at
			}
		case e.Kind == incident.KindStatus && e.Team == inc.Coordinator:
			dd, err := wire.DecodeData[wire.StatusData](e.Data)
			if err != nil {
				continue
			}
			if dd.Status == incident.Mitigated && mitigated == nil {
				mitigated = &at
			}
			if dd.Status == incident.Closed && closed == nil {
				closed = &at
			}
		}
	}
	since := func(from time.Time, t *time.Time) float64 { return t.Sub(from).Seconds() }
	if ack != nil {
		da.invAck.add(key, inc.ID, since(invited, ack))
	}
	if first != nil {
		da.invFirst.add(key, inc.ID, since(invited, first))
	}
	if done != nil {
		da.invDone.add(key, inc.ID, since(invited, done))
	}
	if mitigated != nil {
		da.mitigated.add(inc.ID, inc.ID, since(inc.CreatedAt, mitigated))
	}
	if closed != nil {
		da.clsd.add(inc.ID, inc.ID, since(inc.CreatedAt, closed))
	}
}

// direction finishes a direction's figures.
func (da *dirAcc) direction(self string) Direction {
	deliveredMethod, deliveredEvidence := methodReceiptOut, EvidenceReceipt
	ackEvidence := EvidenceStatement
	if da.from != self {
		deliveredMethod, deliveredEvidence, ackEvidence = methodDeliveredLocal, EvidenceLocal, EvidenceLocal
	}
	notifiedEvidence := EvidenceEnvelope
	if da.from != self {
		notifiedEvidence = EvidenceLocal
	}
	dir := Direction{From: da.from, To: da.to,
		Hotline: Hotline{Pages: da.pages, AckUnverified: da.unverified,
			Delivered:    da.delivered.figure(deliveredMethod, deliveredEvidence),
			Notified:     da.notified.figure(methodNotified, notifiedEvidence),
			Acknowledged: da.acked.figure(methodAcknowledged, ackEvidence),
			AckWithin15m: da.acked.share(da.pages, Within15m, methodShare),
			AckWithin1h:  da.acked.share(da.pages, Within1h, methodShare)},
		CommChecks: CommChecks{Checks: da.checks, Answered: da.answered, Acknowledged: da.ccAcked.figure(methodCommCheck, ackEvidence)},
		Incidents: Incidents{CrossBorder: len(da.incidents), Records: []string{}, ByCategory: []Count{}, BySeverity: []Count{},
			Acknowledged: da.invAck.figure(methodInvAck, EvidenceEntry),
			FirstEntry:   da.invFirst.figure(methodInvFirst, EvidenceEntry),
			Done:         da.invDone.figure(methodInvDone, EvidenceEntry),
			Mitigated:    da.mitigated.figure(methodMitigated, EvidenceEntry),
			Closed:       da.clsd.figure(methodClosed, EvidenceEntry)},
	}
	cats, sevs := map[string]int{}, map[string]int{}
	for id, inc := range da.incidents {
		dir.Incidents.Records = append(dir.Incidents.Records, id)
		cats[inc.Category]++
		sevs[inc.Severity]++
	}
	sort.Strings(dir.Incidents.Records)
	dir.Incidents.ByCategory = counts(cats, nil)
	dir.Incidents.BySeverity = counts(sevs, incident.Severities)
	return dir
}

// counts lists a tally, in the given order of keys where there is one, else by key.
func counts(m map[string]int, order []string) []Count {
	out := []Count{}
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := slices.Index(order, out[i].Key), slices.Index(order, out[j].Key)
		if a != b {
			return a < b
		}
		return out[i].Key < out[j].Key
	})
	return out
}
