// Package incident is the shared cross-border case: its rules, its timeline, and how it
// travels between the coordinating team and the participants.
//
// The coordinator owns an incident and sequences its timeline. A participant's entry is
// signed by its author, sent to the coordinator, given the next position there, and
// relayed with the author's signature intact to every participant the entry's TLP
// allows. Every node thus holds the same order, and no field has two writers.
package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Incident statuses, and each team's participation statuses.
const (
	Open       = "open"
	InProgress = "in_progress"
	Mitigated  = "mitigated"
	Closed     = "closed"

	Invited      = "invited"
	Acknowledged = "acknowledged"
	Working      = "working"
	Done         = "done"
)

// Severities, most severe first.
var Severities = []string{"critical", "high", "medium", "low"}

// transitions lists where each status may go: forward, and back to open to reopen.
var transitions = map[string][]string{
	Open:       {InProgress, Mitigated, Closed},
	InProgress: {Open, Mitigated, Closed},
	Mitigated:  {Open, InProgress, Closed},
	Closed:     {Open},
}

var participationStatuses = []string{Invited, Acknowledged, Working, Done}

// Envelope types this package sends and handles.
const (
	typeUpsert = wire.TypeIncidentUpsert
	typeSubmit = wire.TypeEntrySubmit
	typeAppend = wire.TypeEntryAppend
)

// Limits on what a person may write, and a peer may send.
const (
	maxTitle       = 200
	maxDescription = 20000
	maxBody        = 20000
	// maxParticipants is the most teams in an incident, its coordinator included.
	maxParticipants = 64
	maxName         = 200 // a person's name as an author
)

// Actor is the person acting on this node.
type Actor struct {
	UserID string
	Name   string
	Role   string
}

// Service runs incidents on one node.
type Service struct {
	st    store.Store
	fed   *federation.Federation
	dir   *team.Directory
	key   identity.Key
	clock clock.Clock
	log   *slog.Logger
	// changed are told after commit which incident changed (live updates).
	changed []func(id string)
}

// New makes the service and registers its envelope handlers with fed.
func New(st store.Store, fed *federation.Federation, key identity.Key, clk clock.Clock, log *slog.Logger) *Service {
	s := &Service{st: st, fed: fed, dir: fed.Directory(), key: key, clock: clk, log: log.With("component", "incident")}
	fed.Handle(typeUpsert, s.applyUpsert)
	fed.Handle(typeSubmit, s.applySubmit)
	fed.Handle(typeAppend, s.applyAppend)
	return s
}

// OnChange adds a function told, after commit, of every incident that changed. Call it
// before the node serves; f must not block.
func (s *Service) OnChange(f func(id string)) { s.changed = append(s.changed, f) }

func (s *Service) notify(tx store.Tx, id string) {
	for _, f := range s.changed {
		tx.OnCommit(func() { f(id) })
	}
}

// NewIncident describes an incident to create.
type NewIncident struct {
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	Category     string   `json:"category"`
	Severity     string   `json:"severity"`
	TLP          string   `json:"tlp"`
	Participants []string `json:"participants"`
}

// checkFields checks every field at once, so that a form can show all its mistakes.
func checkFields(title, description, category, severity string) error {
	var errs []error
	errs = append(errs, problem.CheckLine("title", title, maxTitle, true),
		problem.CheckText("description", description, maxDescription, false))
	if err := taxonomy.Valid(category); err != nil {
		errs = append(errs, problem.Invalid("category", "%v", err))
	}
	if !slices.Contains(Severities, severity) {
		errs = append(errs, problem.Invalid("severity", "must be one of %s", strings.Join(Severities, ", ")))
	}
	return problem.Join(errs...)
}

// checkParticipants checks the teams to invite: peers of this node, not too many.
func (s *Service) checkParticipants(list []string) error {
	if len(list) > maxParticipants {
		return problem.Invalid("participants", "more than %d teams", maxParticipants)
	}
	for _, p := range list {
		if p = strings.ToLower(strings.TrimSpace(p)); p != s.dir.Self.ID && !s.dir.Active(p) {
			return problem.Invalid("participants", "%q is not a peer of this node", p)
		}
	}
	return nil
}

// Create opens an incident coordinated by this team and invites the participants.
func (s *Service) Create(ctx context.Context, a Actor, n NewIncident) (store.Incident, error) {
	n.Title, n.Category, n.Severity = strings.TrimSpace(n.Title), strings.TrimSpace(n.Category), strings.ToLower(strings.TrimSpace(n.Severity))
	fieldsErr := checkFields(n.Title, n.Description, n.Category, n.Severity)
	label, err := tlp.Parse(n.TLP)
	if err != nil {
		err = problem.Invalid("tlp", "%v", err)
	}
	if err := problem.Join(fieldsErr, err, s.checkParticipants(n.Participants)); err != nil {
		return store.Incident{}, err
	}
	self := s.dir.Self.ID
	teams := []string{self}
	for _, p := range n.Participants {
		if p = strings.ToLower(strings.TrimSpace(p)); p != self && !slices.Contains(teams, p) {
			teams = append(teams, p)
		}
	}
	now := s.clock.Now()
	in := store.Incident{Coordinator: self, Title: n.Title, Description: n.Description, Category: n.Category,
		Severity: n.Severity, TLP: string(label), Status: Open, CreatedBy: a.Name, CreatedAt: now, UpdatedAt: now}
	for _, t := range teams {
		p := store.Participant{Team: t, Status: Invited, UpdatedAt: now}
		if t == self {
			p.Status, p.AcknowledgedAt = Acknowledged, &now
		}
		in.Participants = append(in.Participants, p)
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		num, err := tx.NextCounter(ctx, fmt.Sprintf("incident-%d", now.Year()))
		if err != nil {
			return err
		}
		in.ID = fmt.Sprintf("%s-%d-%04d", self, now.Year(), num)
		if err := validIncident(in, self, s.clock.Now()); err != nil {
			return err
		}
		if err := tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		if err := s.sendSnapshot(ctx, tx, in, teams[1:]); err != nil {
			return err
		}
		s.notify(tx, in.ID)
		return audit.Append(ctx, tx, now, a.Name, "incident.create", in.ID, fmt.Sprintf("%s %s TLP:%s with %s", in.Severity, in.Category, in.TLP, strings.Join(teams[1:], ",")))
	})
	if err != nil {
		return store.Incident{}, err
	}
	in.Timeline = []store.Entry{}
	return in, nil
}

// sendSnapshot sends the incident's own fields and participants to teams.
func (s *Service) sendSnapshot(ctx context.Context, tx store.Tx, in store.Incident, to []string) error {
	payload, err := encodeIncident(in)
	if err != nil {
		return err
	}
	teams := teamsOf(in)
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: typeUpsert, ObjectID: in.ID, Payload: payload,
			Item: tlp.Item{Label: tlp.Label(in.TLP), Author: in.Coordinator, Recipients: teams}, Participants: teams})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}

func teamsOf(in store.Incident) []string {
	out := make([]string, len(in.Participants))
	for i, p := range in.Participants {
		out[i] = p.Team
	}
	return out
}

// Get returns an incident with its timeline.
func (s *Service) Get(ctx context.Context, id string) (store.Incident, error) {
	in, err := s.st.GetIncident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, problem.NotFound("incident %q not found", id)
	}
	if err != nil {
		return in, err
	}
	in.Timeline, err = s.st.Timeline(ctx, id)
	return in, err
}

// List lists incidents matching f.
func (s *Service) List(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	f.Status, f.Severity = strings.ToLower(f.Status), strings.ToLower(f.Severity)
	if f.Status != "" && transitions[f.Status] == nil {
		return nil, problem.Invalid("status", "unknown status %q", f.Status)
	}
	if f.Severity != "" && !slices.Contains(Severities, f.Severity) {
		return nil, problem.Invalid("severity", "unknown severity %q", f.Severity)
	}
	if f.TLP != "" {
		l, err := tlp.Parse(f.TLP)
		if err != nil {
			return nil, problem.Invalid("tlp", "%v", err)
		}
		f.TLP = string(l)
	}
	out, err := s.st.ListIncidents(ctx, f)
	if out == nil {
		out = []store.Incident{}
	}
	return out, err
}
