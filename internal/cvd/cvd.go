// Package cvd is multi-party vulnerability coordination: a case owned by one national
// coordinator and shared with the other coordinators taking part, each of whom tracks
// its own vendors privately; one embargo that every participating coordinator agrees
// to; and the CSAF advisories each node publishes at the instant.
//
// A case follows the incident's rules (docs/federation.md): its owner alone writes its
// own fields and sequences its timeline; a participant's entry (an agreement to the
// embargo, a vendor's status) is signed by its author's node, sent to the owner,
// positioned there and relayed to every participant with the signature intact. The
// case's embargo and vendor statuses are the fold of that one ordered log, so every node
// holds the same. Whether anything of the case may leave a node before the agreed
// instant is egress.Decide's answer, asked with the case's egress.Embargo.
package cvd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Embargo states.
const (
	Draft     = "draft"
	Embargoed = "embargoed"
	Public    = "public"
)

// Vendor statuses per vulnerability and product.
const (
	Unassessed         = "unassessed"
	UnderInvestigation = "under_investigation"
	Affected           = "affected"
	NotAffected        = "not_affected"
	Fixed              = "fixed"
)

// Statuses are the vendor statuses, in the order a matrix shows them.
var Statuses = []string{Unassessed, UnderInvestigation, Affected, NotAffected, Fixed}

// Justifications are the reasons a product is not affected: CSAF's VEX justification
// flags, so that the advisory states them as its readers' tools expect.
var Justifications = []string{"component_not_present", "vulnerable_code_not_present",
	"vulnerable_code_cannot_be_controlled_by_adversary", "vulnerable_code_not_in_execute_path",
	"inline_mitigations_already_exist"}

// Limits on what a person may write and a peer may send.
const (
	maxTitle        = 200
	maxDescription  = 20000
	maxBody         = 20000
	maxParticipants = 64
	maxVulns        = 100
	maxProducts     = 500
	maxName         = 200
	maxVendors      = 1000
)

// Actor is the person acting on this node.
type Actor struct {
	Name string
	Role string
}

// Case is a vulnerability case as this node holds and shows it.
type Case struct {
	ID              string          `json:"id"`
	Owner           string          `json:"owner"`
	Title           string          `json:"title"`
	Description     string          `json:"description"`
	TLP             string          `json:"tlp"`
	AdvisoryTLP     string          `json:"advisory_tlp"`
	Participants    []string        `json:"participants"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	Products        []Product       `json:"products"`
	Embargo         Embargo         `json:"embargo"`
	Statuses        []Status        `json:"statuses"`
	// RemovedVendors are the vendors their coordinators removed (remove.go).
	RemovedVendors []RemovedVendor `json:"removed_vendors,omitempty"`
	// RemovedItems are the ids of removed vulnerabilities and products, never given
	// again: an entry that names one keeps meaning the item it meant.
	RemovedItems []string `json:"removed_items,omitempty"`
	Handoff      *Handoff `json:"handoff,omitempty"`
	// Owners is every team that has owned the case, the first first.
	Owners    []string  `json:"owners"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Held here only, never sent: the reporter (at the owner), this team's vendors,
	// the timeline (its own table).
	Reporter *Reporter `json:"reporter,omitempty"`
	Vendors  []Vendor  `json:"vendors,omitempty"`
	// VendorMail is the mail exchanged with this team's vendors.
	VendorMail []VendorMessage `json:"vendor_mail,omitempty"`
	Timeline   []Entry         `json:"timeline,omitempty"`
	// Advisories are this node's texts of the advisory per language (texts.go).
	Advisories map[string]Texts `json:"advisory_texts,omitempty"`
	vendorTLP  map[string]string

	lastPosition int64
}

// Vulnerability is one flaw of a case. Scores are computed from the vectors.
type Vulnerability struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	CWE         string  `json:"cwe,omitempty"`
	CVE         string  `json:"cve,omitempty"`
	CVSSv3      string  `json:"cvss_v3,omitempty"`
	CVSSv4      string  `json:"cvss_v4,omitempty"`
	ScoreV3     float64 `json:"score_v3,omitempty"`
	SeverityV3  string  `json:"severity_v3,omitempty"`
	ScoreV4     float64 `json:"score_v4,omitempty"`
	SeverityV4  string  `json:"severity_v4,omitempty"`
}

// Product is one affected product.
type Product struct {
	ID       string `json:"id"`
	Vendor   string `json:"vendor"`
	Product  string `json:"product"`
	Versions string `json:"versions"`
	PURL     string `json:"purl,omitempty"`
	CPE      string `json:"cpe,omitempty"`
}

// Embargo is the case's one publication instant and who agreed to it.
type Embargo struct {
	// State is draft, embargoed or public, as of the time the case was read.
	State      string      `json:"state"`
	PublishAt  *time.Time  `json:"publish_at,omitempty"`
	ProposedBy string      `json:"proposed_by,omitempty"`
	Agreed     []string    `json:"agreed"`
	Objections []Objection `json:"objections,omitempty"`
	Emergency  *Emergency  `json:"emergency,omitempty"`
}

// Objection is a coordinator's refusal of the proposed instant, with its reason.
type Objection struct {
	Team   string    `json:"team"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Emergency is an early publication: who decided it, why, when.
type Emergency struct {
	Team   string    `json:"team"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Status is one vendor's status for one vulnerability and product, as the vendor's
// coordinator reported it.
type Status struct {
	Team          string    `json:"team"`
	VendorRef     string    `json:"vendor_ref"`
	Vendor        string    `json:"vendor,omitempty"` // only when shared
	Vulnerability string    `json:"vulnerability"`
	Product       string    `json:"product"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	FixedVersion  string    `json:"fixed_version,omitempty"`
	Statement     string    `json:"statement,omitempty"`
	At            time.Time `json:"at"`
}

// Handoff is an offer of the case's ownership, waiting for the receiver to accept.
type Handoff struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
}

// Reporter is who reported the flaw; kept at the owner only.
type Reporter struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// Vendor is a vendor this team contacts about the case; it stays on this node.
type Vendor struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Contact  string   `json:"contact,omitempty"`
	Email    string   `json:"email,omitempty"`
	Products []string `json:"products"`
	Shared   bool     `json:"shared"`
	User     string   `json:"user,omitempty"`
	// TLP is the label the case was given to this vendor (vendors.go).
	TLP string `json:"tlp,omitempty"`
	// Removed: the vendor was removed from the case; nothing more goes to it.
	Removed bool `json:"removed,omitempty"`
}

// Entry is one signed timeline entry.
type Entry struct {
	ID        string    `json:"id"`
	Position  int64     `json:"position,omitempty"`
	Team      string    `json:"team"`
	Author    string    `json:"author"`
	Kind      string    `json:"kind"`
	Body      string    `json:"body,omitempty"`
	TLP       string    `json:"tlp"`
	Data      string    `json:"data,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// private is what the store keeps beside the shared state, on this node only.
type private struct {
	Reporter   *Reporter        `json:"reporter,omitempty"`
	Advisories map[string]Texts `json:"advisory_texts,omitempty"`
	// VendorTLP is the label the case was given to each of this team's vendors, by id.
	VendorTLP map[string]string `json:"vendor_tlp,omitempty"`
}

// Service runs vulnerability cases on one node.
type Service struct {
	st      store.Store
	fed     *federation.Federation
	dir     *team.Directory
	key     identity.Key
	clock   clock.Clock
	log     *slog.Logger
	changed []func(id string)
	mail    Mailer // nil: vendors are not mailed
}

// New makes the service and registers its envelope handlers with fed.
func New(st store.Store, fed *federation.Federation, key identity.Key, clk clock.Clock, log *slog.Logger) *Service {
	s := &Service{st: st, fed: fed, dir: fed.Directory(), key: key, clock: clk, log: log.With("component", "cvd")}
	fed.Handle(wire.TypeCVDCase, s.applyCase)
	fed.Handle(wire.TypeCVDSubmit, s.applySubmit)
	fed.Handle(wire.TypeCVDAppend, s.applyAppend)
	return s
}

// OnChange adds a function told, after commit, of every case that changed.
func (s *Service) OnChange(f func(id string)) { s.changed = append(s.changed, f) }

func (s *Service) notify(tx store.Tx, id string) {
	for _, f := range s.changed {
		tx.OnCommit(func() { f(id) })
	}
}

// Self is this node's team.
func (s *Service) Self() string { return s.dir.Self.ID }

// NewCase is what a person sends to open a case.
type NewCase struct {
	Title           string          `json:"title"`
	Description     string          `json:"description"`
	TLP             string          `json:"tlp"`
	AdvisoryTLP     string          `json:"advisory_tlp"`
	Participants    []string        `json:"participants"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	Products        []Product       `json:"products"`
	Reporter        *Reporter       `json:"reporter"`
}

// Create opens a case owned by this team and shares it with the participants.
func (s *Service) Create(ctx context.Context, a Actor, n NewCase) (Case, error) {
	self := s.dir.Self.ID
	if n.TLP == "" {
		n.TLP = string(tlp.Amber)
	}
	if n.AdvisoryTLP == "" {
		n.AdvisoryTLP = string(tlp.Clear)
	}
	label, err := tlp.Parse(n.TLP)
	if err != nil {
		return Case{}, problem.Invalid("tlp", "%v", err)
	}
	adv, err := tlp.Parse(n.AdvisoryTLP)
	if err != nil {
		return Case{}, problem.Invalid("advisory_tlp", "%v", err)
	}
	teams := []string{self}
	if len(n.Participants) > maxParticipants {
		return Case{}, problem.Invalid("participants", "more than %d teams", maxParticipants)
	}
	for _, p := range n.Participants {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == self:
		case !s.dir.Active(p):
			return Case{}, problem.Invalid("participants", "%q is not a peer of this node", p)
		case !slices.Contains(teams, p):
			teams = append(teams, p)
		}
	}
	now := s.now()
	c := Case{Owner: self, Title: strings.TrimSpace(n.Title), Description: n.Description, TLP: string(label), AdvisoryTLP: string(adv),
		Participants: teams, Vulnerabilities: n.Vulnerabilities, Products: n.Products, Owners: []string{self},
		CreatedBy: a.Name, CreatedAt: now, UpdatedAt: now, Reporter: n.Reporter, Statuses: []Status{}}
	for i := range c.Vulnerabilities {
		if c.Vulnerabilities[i].ID == "" {
			c.Vulnerabilities[i].ID = fmt.Sprintf("v%d", i+1)
		}
	}
	for i := range c.Products {
		if c.Products[i].ID == "" {
			c.Products[i].ID = fmt.Sprintf("p%d", i+1)
		}
	}
	if c.Reporter != nil {
		if err := problem.CheckLine("reporter", c.Reporter.Name, maxName, true); err != nil {
			return Case{}, err
		}
		if err := problem.CheckLine("reporter", c.Reporter.Email, maxName, false); err != nil {
			return Case{}, err
		}
		if _, err := time.LoadLocation(c.Reporter.Timezone); err != nil {
			return Case{}, problem.Invalid("timezone", "unknown time zone %q", c.Reporter.Timezone)
		}
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		num, err := tx.NextCounter(ctx, fmt.Sprintf("cvd-%d", now.Year()))
		if err != nil {
			return err
		}
		c.ID = fmt.Sprintf("%s-%d-v%04d", self, now.Year(), num)
		if err := validCase(c, self, s.clock.Now()); err != nil {
			return err
		}
		score(&c)
		if err := s.save(ctx, tx, &c); err != nil {
			return err
		}
		if err := s.sendCase(ctx, tx, c, teams[1:]); err != nil {
			return err
		}
		s.notify(tx, c.ID)
		return audit.Append(ctx, tx, now, a.Name, "cvd.create", c.ID, fmt.Sprintf("TLP:%s with %s", c.TLP, strings.Join(teams[1:], ",")))
	})
	if err != nil {
		return Case{}, err
	}
	return s.Get(ctx, c.ID)
}

// now is the time stamped on entries: what the database keeps (microseconds), so that a
// stored entry still verifies when it is relayed later.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// save writes the case's shared state and this node's private part.
func (s *Service) save(ctx context.Context, tx store.Tx, c *Case) error {
	shared := *c
	shared.Reporter, shared.Vendors, shared.Timeline, shared.Advisories = nil, nil, nil, nil
	shared.Embargo.State = ""
	state, err := json.Marshal(shared)
	if err != nil {
		return fmt.Errorf("cvd: case %s: %w", c.ID, err)
	}
	priv, err := json.Marshal(private{Reporter: c.Reporter, Advisories: c.Advisories, VendorTLP: c.vendorTLP})
	if err != nil {
		return fmt.Errorf("cvd: case %s: %w", c.ID, err)
	}
	return tx.PutCVDCase(ctx, store.CVDCase{ID: c.ID, Owner: c.Owner, Title: c.Title, State: state, Private: priv,
		LastPosition: c.lastPosition, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
}

// load reads a case's state (locking it in a transaction).
func load(ctx context.Context, tx store.Tx, id string) (Case, error) {
	k, err := tx.GetCVDCase(ctx, id)
	if err != nil {
		return Case{}, err
	}
	var c Case
	if err := json.Unmarshal(k.State, &c); err != nil {
		return Case{}, fmt.Errorf("cvd: case %s: %w", id, err)
	}
	var p private
	if len(k.Private) > 0 {
		if err := json.Unmarshal(k.Private, &p); err != nil {
			return Case{}, fmt.Errorf("cvd: case %s: %w", id, err)
		}
	}
	c.Reporter, c.Advisories, c.vendorTLP, c.lastPosition = p.Reporter, p.Advisories, p.VendorTLP, k.LastPosition
	if c.Statuses == nil {
		c.Statuses = []Status{}
	}
	if c.Embargo.Agreed == nil {
		c.Embargo.Agreed = []string{}
	}
	return c, nil
}

// loadLocal is load for a person's request: an unknown case is a 404 naming it.
func loadLocal(ctx context.Context, tx store.Tx, id string) (Case, error) {
	c, err := load(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, problem.NotFound("case %q not found", id)
	}
	return c, err
}

// Get returns a case with this node's vendors and the timeline, its embargo state as of
// now.
func (s *Service) Get(ctx context.Context, id string) (Case, error) {
	c, err := loadLocal(ctx, s.st, id)
	if err != nil {
		return c, err
	}
	c.Embargo.State = s.State(c)
	vs, err := s.st.ListCVDVendors(ctx, id)
	if err != nil {
		return c, err
	}
	for _, v := range vs {
		c.Vendors = append(c.Vendors, Vendor{ID: v.ID, Name: v.Name, Contact: v.Contact, Email: v.Email, Products: v.Products, Shared: v.Shared, User: v.User,
			TLP: c.VendorLabel(v.ID), Removed: s.cutOff(c, v.ID)})
	}
	ms, err := s.st.ListCVDVendorMessages(ctx, id)
	if err != nil {
		return c, err
	}
	for _, m := range ms {
		c.VendorMail = append(c.VendorMail, vendorMessage(m))
	}
	es, err := s.st.CVDTimeline(ctx, id)
	if err != nil {
		return c, err
	}
	c.Timeline = make([]Entry, len(es))
	for i, e := range es {
		c.Timeline[i] = Entry{ID: e.ID, Position: e.Position, Team: e.Team, Author: e.Author, Kind: e.Kind, Body: e.Body,
			TLP: e.TLP, Data: e.Data, CreatedAt: e.CreatedAt}
	}
	return c, nil
}

// List lists the cases this node holds, without vendors or timelines.
func (s *Service) List(ctx context.Context) ([]Case, error) {
	ks, err := s.st.ListCVDCases(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(ks))
	for _, k := range ks {
		var c Case
		if err := json.Unmarshal(k.State, &c); err != nil {
			return nil, fmt.Errorf("cvd: case %s: %w", k.ID, err)
		}
		// The advisory texts, for the provider's documents; the reporter stays out.
		var p private
		if len(k.Private) > 0 {
			if err := json.Unmarshal(k.Private, &p); err != nil {
				return nil, fmt.Errorf("cvd: case %s: %w", k.ID, err)
			}
		}
		c.Advisories, c.vendorTLP = p.Advisories, p.VendorTLP
		c.Embargo.State = s.State(c)
		out = append(out, c)
	}
	return out, nil
}

// sendCase sends the case's own fields to teams.
func (s *Service) sendCase(ctx context.Context, tx store.Tx, c Case, to []string) error {
	payload, err := encodeCase(c)
	if err != nil {
		return err
	}
	for _, t := range to {
		err := s.fed.Enqueue(ctx, tx, federation.Message{To: t, Type: wire.TypeCVDCase, ObjectID: c.ID, Payload: payload,
			Item: tlp.Item{Label: tlp.Label(c.TLP), Author: c.Owner, Recipients: c.Participants}, Participants: c.Participants})
		if err != nil && !errors.Is(err, federation.ErrNotAllowed) {
			return err
		}
	}
	return nil
}
