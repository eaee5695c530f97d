// Package hotline is the 24/7 technical hotline between teams: urgent pages that a
// person must acknowledge, the receiving team's escalation through its on-call rota,
// notification channels, a fallback by e-mail when the link is down, and comm checks.
//
// A page is a federation envelope, so it has the outbox's guarantees. Each receiving
// team's progress — sent, delivered (the peer node's signed receipt), notified (a person
// was reached, and how), acknowledged (by a named person, signed by that team's node),
// resolved — flows back to the sender in envelopes too. Every timer lives in the
// database and is run by the engine's modules.
package hotline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/incident"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Delivery states, in the only order they may move.
const (
	Sent         = "sent"
	Delivered    = "delivered"
	Notified     = "notified"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

var stateRank = map[string]int{Sent: 0, Delivered: 1, Notified: 2, Acknowledged: 3, Resolved: 4}

// Severities of a page, most severe first.
var Severities = []string{"critical", "high", "medium", "low"}

// Envelope types.
const (
	typeSend    = wire.TypePageSend
	typeState   = wire.TypePageState
	typeResolve = wire.TypePageResolve
)

// Limits on what a person may write.
const (
	maxSummary = 300
	maxDetails = 8000
)

// Actor is the person acting on this node.
type Actor struct {
	Name        string
	DisplayName string
}

// label is how the person is named to partners: display names are not checked when
// they are set, so what a partner's node would refuse is left out.
func (a Actor) label() string {
	l := a.Name
	if a.DisplayName != "" && a.DisplayName != a.Name {
		l = a.DisplayName + " (" + a.Name + ")"
	}
	return clip(problem.Printable(l))
}

// Options tune the hotline; zero values take the defaults.
type Options struct {
	// FallbackAfter is how long a page may wait for the peer node's receipt before the
	// partner's published hotline address is e-mailed (default 2m).
	FallbackAfter time.Duration
	// DedupeWindow: a person is not notified twice about one page on one channel within
	// it (default 5m).
	DedupeWindow time.Duration
	// RateLimit is the most notifications one person gets on one channel in ten
	// minutes, across pages (default 20).
	RateLimit int
	// CommCheckEvery runs a comm check with every peer this often (0: only on demand).
	CommCheckEvery time.Duration
	// PublicURL is this node's address, for acknowledgement links in e-mail.
	PublicURL string
}

func (o *Options) defaults() {
	if o.FallbackAfter <= 0 {
		o.FallbackAfter = 2 * time.Minute
	}
	if o.DedupeWindow <= 0 {
		o.DedupeWindow = 5 * time.Minute
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 20
	}
}

// Service runs the hotline on one node.
type Service struct {
	st       store.Store
	fed      *federation.Federation
	dir      *team.Directory
	key      identity.Key
	codeKey  []byte // keys the hash of acknowledgement codes
	clock    clock.Clock
	log      *slog.Logger
	opts     Options
	channels Channels
	wake     func()
	changed  []func(pageID string)
	pub      publisher
	part     Participation
}

// Participation is what the hotline asks of the incident service when one of our people
// acknowledges a page about an incident: to acknowledge our participation in it too, in
// the same transaction (see incident.Service.AcknowledgeInTx). It reports whether it did.
type Participation interface {
	AcknowledgeInTx(ctx context.Context, tx store.Tx, a incident.Actor, incidentID string) (bool, error)
}

// SetParticipation connects the incident service; call it before the node serves.
func (s *Service) SetParticipation(p Participation) { s.part = p }

// New makes the service and registers its envelope handlers and receipt hook.
func New(st store.Store, fed *federation.Federation, key identity.Key, clk clock.Clock, log *slog.Logger, ch Channels, opts Options) *Service {
	opts.defaults()
	s := &Service{st: st, fed: fed, dir: fed.Directory(), key: key, codeKey: codeKey(key), clock: clk, log: log.With("component", "hotline"),
		opts: opts, channels: ch, wake: func() {}}
	fed.Handle(typeSend, s.applySend)
	fed.Handle(typeState, s.applyState)
	fed.Handle(typeResolve, s.applyResolve)
	fed.Handle(typeOnCallSummary, s.applySummary)
	fed.OnDelivered(s.delivered)
	return s
}

// SetWake sets what to call when timed work may have become due (the engine's Wake).
func (s *Service) SetWake(f func()) { s.wake = f }

// OnChange adds a function told, after commit, of every page that changed. f must not block.
func (s *Service) OnChange(f func(pageID string)) { s.changed = append(s.changed, f) }

func (s *Service) touched(tx store.Tx, pageID string) {
	tx.OnCommit(s.wake)
	for _, f := range s.changed {
		tx.OnCommit(func() { f(pageID) })
	}
}

// NewPage is a page to send.
type NewPage struct {
	To         []string `json:"to"`
	Severity   string   `json:"severity"`
	Summary    string   `json:"summary"`
	Details    string   `json:"details"`
	IncidentID string   `json:"incident_id"`
	TLP        string   `json:"tlp"`
}

// recipients resolves a "to" list: team ids, or "all" for every active peer.
func (s *Service) recipients(to []string) ([]string, error) {
	var out []string
	for _, t := range to {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "all":
			for _, p := range s.dir.Peers() {
				if p.IsActive() && !slices.Contains(out, p.ID) {
					out = append(out, p.ID)
				}
			}
		case t == s.dir.Self.ID:
			return nil, problem.Invalid("to", "a team does not page itself")
		case !s.dir.Active(t):
			return nil, problem.Invalid("to", "%q is not a peer of this node", t)
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, problem.Invalid("to", "name at least one team, or all")
	}
	slices.Sort(out)
	return out, nil
}

// Send pages one or more partner teams.
func (s *Service) Send(ctx context.Context, a Actor, n NewPage) (store.Page, error) {
	return s.send(ctx, a, n, "")
}

func (s *Service) send(ctx context.Context, a Actor, n NewPage, commcheck string) (store.Page, error) {
	var p store.Page
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		p, err = s.sendTx(ctx, tx, a, n, commcheck)
		return err
	})
	return p, err
}

// sendTx validates and sends a page inside tx.
func (s *Service) sendTx(ctx context.Context, tx store.Tx, a Actor, n NewPage, commcheck string) (store.Page, error) {
	// Every field is checked before any answer, so that a form shows all its mistakes.
	to, toErr := s.recipients(n.To)
	var sevErr error
	n.Severity = strings.ToLower(strings.TrimSpace(n.Severity))
	if !slices.Contains(Severities, n.Severity) {
		sevErr = problem.Invalid("severity", "must be one of %s", strings.Join(Severities, ", "))
	}
	incidentID := strings.TrimSpace(n.IncidentID)
	var inc *store.Incident
	var incErr error
	if incidentID != "" {
		in, err := tx.GetIncident(ctx, incidentID)
		if errors.Is(err, store.ErrNotFound) {
			incErr = problem.Invalid("incident_id", "no incident %q on this node", incidentID)
		} else if err != nil {
			return store.Page{}, err
		}
		inc = &in
	}
	// A page about an incident tells of it, so it takes the incident's label unless its
	// author gives one: lowering it is a choice made knowingly, never a default.
	if n.TLP == "" {
		n.TLP = string(tlp.Amber)
		if inc != nil && incErr == nil {
			n.TLP = inc.TLP
		}
	}
	label, tlpErr := tlp.Parse(n.TLP)
	if tlpErr != nil {
		tlpErr = problem.Invalid("tlp", "%v", tlpErr)
	}
	if err := problem.Join(toErr, sevErr, problem.CheckText("summary", n.Summary, maxSummary, true),
		problem.CheckText("details", n.Details, maxDetails, false), incErr, tlpErr); err != nil {
		return store.Page{}, err
	}
	if incErr != nil {
		inc = nil
	}
	now := s.clock.Now().Truncate(time.Microsecond)
	p := store.Page{From: s.dir.Self.ID, Severity: n.Severity, Summary: strings.TrimSpace(n.Summary), Details: n.Details,
		IncidentID: incidentID, TLP: string(label), Drill: commcheck != "", CommCheckID: commcheck,
		CreatedBy: a.label(), CreatedAt: now}
	for _, t := range to {
		p.Deliveries = append(p.Deliveries, store.Delivery{Team: t, State: Sent, SentAt: now})
	}
	item, participants := s.audience(p, inc, to)
	num, err := tx.NextCounter(ctx, fmt.Sprintf("page-%d", now.Year()))
	if err != nil {
		return p, err
	}
	p.ID = fmt.Sprintf("%s-%d-p%04d", p.From, now.Year(), num)
	if err := validPage(p, to, s.dir.Self.ID, s.clock.Now()); err != nil {
		return p, err
	}
	if err := tx.CreatePage(ctx, p); err != nil {
		return p, err
	}
	payload, err := encodePage(p, to)
	if err != nil {
		return p, err
	}
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: typeSend, ObjectID: p.ID, Payload: payload,
			Item: item, Participants: participants})
		if errors.Is(err, federation.ErrNotAllowed) {
			if inc != nil && !slices.Contains(participants, t) {
				return p, problem.Invalid("tlp", "TLP:%s does not allow this page about %s to go to %s, which does not take part in it", label, inc.ID, t)
			}
			return p, problem.Invalid("tlp", "TLP:%s does not allow this page to go to %s", label, t)
		}
		if err != nil {
			return p, err
		}
	}
	s.touched(tx, p.ID)
	action := "page.send"
	if p.Drill {
		action = "commcheck.send"
	}
	return p, appendAudit(ctx, tx, now, a.Name, action, p.ID, fmt.Sprintf("%s to %s: %s", p.Severity, strings.Join(to, ","), p.Summary))
}

// audience is what the egress rule decides a page we send on: the page as an item and
// the teams around it. A page about an incident tells of the incident, so it is shared
// as the incident is — among its participants — and names (for AMBER+STRICT and RED)
// the paged teams among them. Any other page is shared among the teams it pages.
func (s *Service) audience(p store.Page, inc *store.Incident, to []string) (tlp.Item, []string) {
	item := tlp.Item{Label: tlp.Label(p.TLP), Author: p.From, Recipients: to}
	if inc == nil {
		return item, to
	}
	participants := []string{s.dir.Self.ID}
	for _, pt := range inc.Participants {
		participants = append(participants, pt.Team)
	}
	// Paging a team does not name it into the incident: a RED page about an incident
	// reaches only the paged teams that take part in it.
	item.Recipients = slices.DeleteFunc(slices.Clone(to), func(t string) bool { return !slices.Contains(participants, t) })
	return item, participants
}

// sentAudience is audience for a page we sent earlier.
func (s *Service) sentAudience(ctx context.Context, tx store.Tx, p store.Page) (tlp.Item, []string, error) {
	to := make([]string, len(p.Deliveries))
	for i, d := range p.Deliveries {
		to[i] = d.Team
	}
	var inc *store.Incident
	if p.IncidentID != "" {
		in, err := tx.GetIncident(ctx, p.IncidentID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return tlp.Item{}, nil, err
		}
		// A page about an incident this node no longer holds keeps no audience beyond
		// its sender: the rule then lets nothing restricted go.
		if err != nil {
			in = store.Incident{ID: p.IncidentID}
		}
		inc = &in
	}
	item, participants := s.audience(p, inc, to)
	return item, participants, nil
}

// receivedItem is a page a partner sent us, as the egress rule sees it when we tell our
// own people: it was addressed to us, by its sender.
func (s *Service) receivedItem(p store.Page) (tlp.Item, []string) {
	return tlp.Item{Label: tlp.Label(p.TLP), Author: p.From, Recipients: []string{s.dir.Self.ID}}, []string{p.From, s.dir.Self.ID}
}

// Get returns a page as this node holds it.
func (s *Service) Get(ctx context.Context, id string) (store.Page, error) {
	p, err := s.st.GetPage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, problem.NotFound("page %q not found", id)
	}
	return p, err
}

// ListFilter narrows List.
type ListFilter struct {
	// State: "open" (not resolved), "waiting" (received, not yet acknowledged here),
	// or "" for all.
	State string
	// Direction: "in" (pages to us), "out" (pages we sent), or "" for both.
	Direction string
	Limit     int
}

// List lists pages, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]store.Page, error) {
	sf := store.PageFilter{Limit: f.Limit}
	switch f.Direction {
	case "":
	case "in":
		sf.NotFrom = s.dir.Self.ID
	case "out":
		sf.From = s.dir.Self.ID
	default:
		return nil, problem.Invalid("direction", "must be in or out")
	}
	switch f.State {
	case "", "all":
	case "open":
		sf.Open = true
	case "waiting":
		if f.Direction == "out" {
			return nil, problem.Invalid("state", "waiting pages are pages to us; not with direction out")
		}
		sf.Open, sf.WaitingFor = true, s.dir.Self.ID
	default:
		return nil, problem.Invalid("state", "must be open, waiting or all")
	}
	return s.st.ListPages(ctx, sf)
}

// Resolve closes a page we sent, at every recipient.
func (s *Service) Resolve(ctx context.Context, a Actor, id string) (store.Page, error) {
	var p store.Page
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.GetPage(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("page %q not found", id)
		}
		if err != nil {
			return err
		}
		if p.From != s.dir.Self.ID {
			return problem.Forbidden("only the sender (%s) resolves a page; acknowledge it instead", p.From)
		}
		if p.ResolvedAt != nil {
			return problem.Conflict("page %s is already resolved", id)
		}
		now := s.clock.Now().Truncate(time.Microsecond)
		if err := tx.ResolvePage(ctx, id, now, a.label()); err != nil {
			return err
		}
		p.ResolvedAt, p.ResolvedBy = &now, a.label()
		item, participants, err := s.sentAudience(ctx, tx, p)
		if err != nil {
			return err
		}
		for i := range p.Deliveries {
			d := &p.Deliveries[i]
			d.State, d.ResolvedAt = Resolved, &now
			if err := tx.PutDelivery(ctx, *d); err != nil {
				return err
			}
		}
		payload, err := s.statePayload(stateChange{PageID: id, Team: s.dir.Self.ID, State: Resolved, At: now, By: a.label()})
		if err != nil {
			return err
		}
		for _, d := range p.Deliveries {
			err := s.fed.Enqueue(ctx, tx, federation.Message{To: d.Team, Type: typeResolve, ObjectID: id, Payload: payload,
				Item: item, Participants: participants})
			if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
				return err
			}
		}
		s.touched(tx, id)
		return appendAudit(ctx, tx, now, a.Name, "page.resolve", id, "")
	})
	return p, err
}

// Detail is a page with, where we received it, our escalation and attempts.
type Detail struct {
	store.Page
	// Acknowledgements says, for each acknowledged delivery, what it is worth as evidence.
	Acknowledgements []AckCheck           `json:"acknowledgements"`
	Escalation       *store.Escalation    `json:"escalation,omitempty"`
	Notifications    []store.Notification `json:"notifications,omitempty"`
}

// AckCheck is what a delivery's acknowledgement is worth as evidence.
type AckCheck struct {
	Team string    `json:"team"`
	By   string    `json:"by"`
	Via  string    `json:"via"`
	At   time.Time `json:"at"`
	// Fallback: acknowledged with the code from our fallback e-mail to the team's
	// hotline address. Whoever read that mail on its way could have used the code and
	// typed any name, so it is not verified: only the team node's own signed
	// acknowledgement (Signature) is.
	Fallback bool `json:"fallback"`
	// Signature is the check of the team node's signed statement: "verified",
	// "invalid", "none" (no statement: a fallback acknowledgement its node has not
	// confirmed), or "nokey" (no key for the team).
	Signature string `json:"signature"`
}

// checkAck checks a delivery's acknowledgement against the team's key.
func (s *Service) checkAck(pageID string, d store.Delivery) AckCheck {
	c := AckCheck{Team: d.Team, By: d.AcknowledgedBy, Via: d.AckVia, At: *d.AcknowledgedAt, Fallback: d.AckVia == ViaFallback, Signature: "none"}
	if d.AckStatement == nil {
		return c
	}
	pub, ok := s.dir.Key(d.Team)
	switch {
	case !ok:
		c.Signature = "nokey"
	case VerifyAcknowledgement(pub, pageID, d) != nil:
		c.Signature = "invalid"
	default:
		c.Signature = "verified"
	}
	return c
}

// Viewer is who looks at hotline records: contact addresses (which hold secrets, such
// as a webhook's token) are shown whole only to their owner and to admins.
type Viewer struct {
	Name  string
	Admin bool
}

// Sees reports whether the viewer may see user's contact addresses whole.
func (v Viewer) Sees(user string) bool { return v.Admin || v.Name != "" && v.Name == user }

// Detail returns a page and, for a page we received, how we escalated it, with the
// addresses of other people's contacts redacted unless the viewer is an admin.
func (s *Service) Detail(ctx context.Context, id string, v Viewer) (Detail, error) {
	d, err := s.detail(ctx, id)
	for i := range d.Notifications {
		if n := &d.Notifications[i]; n.Channel != ChannelConsole && !v.Sees(n.User) {
			n.Address, n.Error = redact(n.Channel, n.Address, n.Error)
		}
	}
	return d, err
}

func (s *Service) detail(ctx context.Context, id string) (Detail, error) {
	p, err := s.Get(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Page: p, Acknowledgements: []AckCheck{}}
	for _, dl := range p.Deliveries {
		if dl.AcknowledgedAt != nil {
			d.Acknowledgements = append(d.Acknowledgements, s.checkAck(p.ID, dl))
		}
	}
	if p.From == s.dir.Self.ID {
		return d, nil
	}
	if e, err := s.st.GetEscalation(ctx, id); err == nil {
		d.Escalation = &e
	} else if !errors.Is(err, store.ErrNotFound) {
		return d, err
	}
	d.Notifications, err = s.st.PageNotifications(ctx, id)
	return d, err
}
