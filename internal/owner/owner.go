// Package owner manages the network owners of our constituency (issue 12, item 4): the
// organisations feed events are routed to, their networks, AS numbers and domains, and
// the abuse contacts that receive their reports. Every change is checked here, whoever
// makes it (API, CLI import, console), and audited in the same transaction.
package owner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/clock"
	"csirtlink/internal/notify"
	"csirtlink/internal/problem"
	"csirtlink/internal/route"
	"csirtlink/internal/store"
)

// Limits on one owner: enough for a large ISP, small enough that a typo cannot make the
// routing index huge.
const (
	MaxNetworks = 10000
	MaxASNs     = 1000
	MaxDomains  = 1000
	MaxContacts = 20
	maxName     = 200
	maxPGPKey   = 64 << 10
)

// The contacts' choices.
var (
	Languages = []string{"en", "zh-Hans", "ja", "ko"}
	Formats   = []string{"csv", "json"}
	Schedules = []string{"immediate", "daily"}
)

// Service manages network owners.
type Service struct {
	st    store.Store
	clock clock.Clock
	log   *slog.Logger
}

// New makes the service.
func New(st store.Store, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{st: st, clock: clk, log: log.With("component", "owner")}
}

// List lists every owner by id.
func (s *Service) List(ctx context.Context) ([]store.NetOwner, error) {
	return s.st.ListOwners(ctx)
}

// Get returns one owner.
func (s *Service) Get(ctx context.Context, id string) (store.NetOwner, error) {
	o, err := s.st.GetOwner(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return o, problem.NotFound("owner %q not found", id)
	}
	return o, err
}

// Create adds an owner.
func (s *Service) Create(ctx context.Context, actor string, o store.NetOwner) (store.NetOwner, error) {
	o, err := Normalize(o)
	if err != nil {
		return o, err
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	o.CreatedAt, o.UpdatedAt = now, now
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateOwner(ctx, o); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "owner.create", o.ID, summary(o))
	})
	if errors.Is(err, store.ErrConflict) {
		return o, problem.Conflict("owner %q exists", o.ID)
	}
	return o, err
}

// Update replaces the owner id with o (whose id, if given, must be id).
func (s *Service) Update(ctx context.Context, actor, id string, o store.NetOwner) (store.NetOwner, error) {
	if o.ID == "" {
		o.ID = id
	}
	if o.ID != id {
		return o, problem.Invalid("id", "differs from the URL")
	}
	o, err := Normalize(o)
	if err != nil {
		return o, err
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	o.UpdatedAt = now
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.GetOwner(ctx, id)
		if err != nil {
			return err
		}
		o.CreatedAt = old.CreatedAt
		if err := tx.UpdateOwner(ctx, o); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "owner.update", o.ID, summary(o))
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, problem.NotFound("owner %q not found", id)
	}
	return o, err
}

// Delete removes an owner. Reports already made for it stay with their runs.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	now := s.clock.Now()
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteOwner(ctx, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "owner.delete", id, "")
	})
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("owner %q not found", id)
	}
	return err
}

// ImportResult says what an import did.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// Import creates or replaces the owners read from a CSV file (see ParseCSV), all in one
// transaction: a file with one bad row changes nothing.
func (s *Service) Import(ctx context.Context, actor string, owners []store.NetOwner) (ImportResult, error) {
	var res ImportResult
	for i := range owners {
		o, err := Normalize(owners[i])
		if err != nil {
			return res, err
		}
		owners[i] = o
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		res = ImportResult{}
		for _, o := range owners {
			o.UpdatedAt = now
			old, err := tx.GetOwner(ctx, o.ID)
			switch {
			case err == nil:
				o.CreatedAt = old.CreatedAt
				err = tx.UpdateOwner(ctx, o)
				res.Updated++
			case errors.Is(err, store.ErrNotFound):
				o.CreatedAt = now
				err = tx.CreateOwner(ctx, o)
				res.Created++
			}
			if err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, now, actor, "owner.import", "", fmt.Sprintf("%d created, %d updated", res.Created, res.Updated))
	})
	return res, err
}

// Routes turns the stored owners into the routing index's owners.
func Routes(owners []store.NetOwner) []route.Owner {
	out := make([]route.Owner, 0, len(owners))
	for _, o := range owners {
		r := route.Owner{ID: o.ID, ASNs: o.ASNs, Domains: o.Domains}
		for _, n := range o.Networks {
			// Stored owners were normalised; a prefix that no longer parses is skipped
			// rather than stopping every run.
			if p, err := netip.ParsePrefix(n); err == nil {
				r.Networks = append(r.Networks, p)
			}
		}
		out = append(out, r)
	}
	return out
}

func summary(o store.NetOwner) string {
	return fmt.Sprintf("%s: %d networks, %d AS numbers, %d domains, %d contacts", o.Name, len(o.Networks), len(o.ASNs), len(o.Domains), len(o.Contacts))
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

var domainLabel = regexp.MustCompile(`^[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Normalize checks an owner and returns it in canonical form: networks masked and
// sorted, domains lower case without a trailing dot, e-mail addresses bare. Errors are
// problem.Invalid naming the field ("networks[2]", "contacts[0].email").
func Normalize(o store.NetOwner) (store.NetOwner, error) {
	o.ID = strings.TrimSpace(o.ID)
	if !idPattern.MatchString(o.ID) {
		return o, problem.Invalid("id", "use 1-64 of a-z, 0-9, '.', '_', '-'")
	}
	o.Name = strings.TrimSpace(o.Name)
	if err := problem.CheckLine("name", o.Name, maxName, true); err != nil {
		return o, err
	}
	if len(o.Networks) > MaxNetworks {
		return o, problem.Invalid("networks", "more than %d entries", MaxNetworks)
	}
	nets := make([]string, 0, len(o.Networks))
	seen := map[string]bool{}
	for i, n := range o.Networks {
		f := "networks[" + strconv.Itoa(i) + "]"
		n = strings.TrimSpace(n)
		p, err := netip.ParsePrefix(n)
		if err != nil {
			if a, aerr := netip.ParseAddr(n); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return o, problem.Invalid(f, "%q is not a network in CIDR notation", n)
			}
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Addr().Zone() != "" || !p.IsValid() {
			return o, problem.Invalid(f, "%q is not a network in CIDR notation", n)
		}
		if m := p.Masked(); m != p {
			return o, problem.Invalid(f, "%s has host bits set; did you mean %s?", n, m.String())
		}
		s := p.String()
		if seen[s] {
			return o, problem.Invalid(f, "%q is listed twice", s)
		}
		seen[s] = true
		nets = append(nets, s)
	}
	o.Networks = nets
	if len(o.ASNs) > MaxASNs {
		return o, problem.Invalid("asns", "more than %d entries", MaxASNs)
	}
	asns := slices.Clone(o.ASNs)
	for i, a := range asns {
		if a == 0 || a == 23456 || a == 65535 || a == 4294967295 {
			return o, problem.Invalid("asns["+strconv.Itoa(i)+"]", "%q is not an AS number", strconv.FormatUint(uint64(a), 10))
		}
	}
	slices.Sort(asns)
	if len(slices.Compact(slices.Clone(asns))) != len(asns) {
		return o, problem.Invalid("asns", "lists an AS number twice")
	}
	o.ASNs = asns
	if len(o.Domains) > MaxDomains {
		return o, problem.Invalid("domains", "more than %d entries", MaxDomains)
	}
	doms := make([]string, 0, len(o.Domains))
	for i, d := range o.Domains {
		f := "domains[" + strconv.Itoa(i) + "]"
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !validDomain(d) {
			return o, problem.Invalid(f, "%q is not a domain name of two labels or more", d)
		}
		if slices.Contains(doms, d) {
			return o, problem.Invalid(f, "%q is listed twice", d)
		}
		doms = append(doms, d)
	}
	o.Domains = doms
	if len(nets)+len(asns)+len(doms) == 0 {
		return o, problem.Invalid("networks", "an owner needs a network, AS number or domain")
	}
	if len(o.Contacts) == 0 {
		return o, problem.Invalid("contacts", "required")
	}
	if len(o.Contacts) > MaxContacts {
		return o, problem.Invalid("contacts", "more than %d entries", MaxContacts)
	}
	o.Contacts = slices.Clone(o.Contacts)
	for i := range o.Contacts {
		c, err := normContact("contacts["+strconv.Itoa(i)+"].", o.Contacts[i])
		if err != nil {
			return o, err
		}
		o.Contacts[i] = c
	}
	// The index's own checks (overlaps within the owner) have the last word.
	if _, err := route.Build(Routes([]store.NetOwner{o}), nil); err != nil {
		return o, problem.Invalid("networks", "%v", err)
	}
	return o, nil
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for l := range strings.SplitSeq(d, ".") {
		if !domainLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func normContact(prefix string, c store.OwnerContact) (store.OwnerContact, error) {
	c.Email = strings.TrimSpace(c.Email)
	addr, err := mail.ParseAddress(c.Email)
	if c.Email == "" {
		return c, problem.Invalid(prefix+"email", "required")
	}
	if err != nil || len(c.Email) > 254 {
		return c, problem.Invalid(prefix+"email", "not an e-mail address")
	}
	c.Email = addr.Address
	c.PGPKey = strings.TrimSpace(c.PGPKey)
	if c.PGPKey != "" {
		if len(c.PGPKey) > maxPGPKey {
			return c, problem.Invalid(prefix+"pgp_key", "larger than 64 KiB")
		}
		if _, err := notify.ReadArmoredKey(c.PGPKey); err != nil {
			return c, problem.Invalid(prefix+"pgp_key", "%v", err)
		}
	}
	if c.Language == "" {
		c.Language = "en"
	}
	if !slices.Contains(Languages, c.Language) {
		return c, problem.Invalid(prefix+"language", "must be one of %s", strings.Join(Languages, ", "))
	}
	if c.Format == "" {
		c.Format = "csv"
	}
	if !slices.Contains(Formats, c.Format) {
		return c, problem.Invalid(prefix+"format", "must be one of %s", strings.Join(Formats, ", "))
	}
	if c.Schedule == "" {
		c.Schedule = "daily"
	}
	if !slices.Contains(Schedules, c.Schedule) {
		return c, problem.Invalid(prefix+"schedule", "must be one of %s", strings.Join(Schedules, ", "))
	}
	if c.Schedule == "immediate" {
		switch {
		case c.DigestAt != "":
			return c, problem.Invalid(prefix+"digest_at", "only for a daily schedule")
		case c.BusinessDays:
			return c, problem.Invalid(prefix+"business_days", "only for a daily schedule")
		}
		if c.Timezone != "" {
			if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" {
				return c, problem.Invalid(prefix+"timezone", "unknown time zone %q", c.Timezone)
			}
		}
		return c, nil
	}
	if c.DigestAt == "" {
		c.DigestAt = "08:00"
	}
	if _, err := time.Parse("15:04", c.DigestAt); err != nil || len(c.DigestAt) != 5 {
		return c, problem.Invalid(prefix+"digest_at", "must be HH:MM, a time of day")
	}
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" {
		return c, problem.Invalid(prefix+"timezone", "unknown time zone %q", c.Timezone)
	}
	return c, nil
}
