package hotline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"csirtlink/internal/identity"
	"csirtlink/internal/notify"
	"csirtlink/internal/oncall"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

var configID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// onCallConfig is the team's on-call configuration as stored.
type onCallConfig struct {
	rotations     map[string]oncall.Rotation
	overrides     []oncall.Override
	policies      map[string]oncall.Policy
	defaultPolicy string
}

func (s *Service) loadOnCall(ctx context.Context, st store.Hotline, now time.Time) (onCallConfig, error) {
	cfg := onCallConfig{rotations: map[string]oncall.Rotation{}, policies: map[string]oncall.Policy{}}
	rs, err := st.Rotations(ctx)
	if err != nil {
		return cfg, err
	}
	for id, b := range rs {
		var r oncall.Rotation
		if err := json.Unmarshal(b, &r); err != nil {
			return cfg, fmt.Errorf("rotation %s: %w", id, err)
		}
		cfg.rotations[id] = r
	}
	os, err := st.Overrides(ctx, now)
	if err != nil {
		return cfg, err
	}
	for _, b := range os {
		var o oncall.Override
		if err := json.Unmarshal(b, &o); err != nil {
			return cfg, fmt.Errorf("override: %w", err)
		}
		cfg.overrides = append(cfg.overrides, o)
	}
	sort.Slice(cfg.overrides, func(i, j int) bool { return cfg.overrides[i].Start.Before(cfg.overrides[j].Start) })
	ps, def, err := st.Policies(ctx)
	if err != nil {
		return cfg, err
	}
	for id, b := range ps {
		var p oncall.Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return cfg, fmt.Errorf("policy %s: %w", id, err)
		}
		cfg.policies[id] = p
	}
	cfg.defaultPolicy = def
	return cfg, nil
}

// checkConfigID checks the id of a rotation or policy; a missing one is the oncall
// package's to report.
func checkConfigID(id string) error {
	if id != "" && !configID.MatchString(id) {
		return problem.Invalid("id", "use 1-64 of a-z, 0-9, '_', '-'")
	}
	return nil
}

// fieldProblem turns the oncall package's field errors (joined) into one client error
// that names every field at fault; nil for nil.
func fieldProblem(err error) error {
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var errs []error
	for _, e := range list {
		var fe *oncall.FieldError
		if errors.As(e, &fe) {
			errs = append(errs, problem.Invalid(fe.Field, "%s", fe.Reason))
		} else {
			errs = append(errs, problem.Invalid("", "%v", e))
		}
	}
	return problem.Join(errs...)
}

func (s *Service) userExists(ctx context.Context, st store.Users) func(string) bool {
	return func(name string) bool { _, err := st.UserByName(ctx, name); return err == nil }
}

// PutRotation creates or replaces a rotation, and returns it as stored. Pages already
// escalating keep the rota as it was when they arrived.
func (s *Service) PutRotation(ctx context.Context, a Actor, r oncall.Rotation) (oncall.Rotation, error) {
	r = s.rotationDefaults(r)
	if err := problem.Join(checkConfigID(r.ID), fieldProblem(r.Validate())); err != nil {
		return r, err
	}
	return r, s.st.InTx(ctx, func(tx store.Tx) error {
		for i, m := range r.Members {
			if !s.userExists(ctx, tx)(m) {
				return problem.Invalid(fmt.Sprintf("members[%d]", i), "no user %q", m)
			}
		}
		b, _ := json.Marshal(r)
		if err := tx.PutRotation(ctx, r.ID, b, s.clock.Now()); err != nil {
			return err
		}
		tx.OnCommit(s.onCallChanged)
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "oncall.rotation", r.ID, strings.Join(r.Members, ","))
	})
}

func (s *Service) rotationDefaults(r oncall.Rotation) oncall.Rotation {
	if r.Timezone == "" {
		r.Timezone = s.dir.Self.Timezone
	}
	return r
}

// CheckRotation reports every mistake PutRotation would find in r, writing nothing:
// for a form that shows them all at once.
func (s *Service) CheckRotation(ctx context.Context, r oncall.Rotation) error {
	r = s.rotationDefaults(r)
	errs := []error{checkConfigID(r.ID), fieldProblem(r.Validate())}
	for i, m := range r.Members {
		if strings.TrimSpace(m) != "" && !s.userExists(ctx, s.st)(m) {
			errs = append(errs, problem.Invalid(fmt.Sprintf("members[%d]", i), "no user %q", m))
		}
	}
	return problem.Join(errs...)
}

// CheckPolicy reports every mistake PutPolicy would find in p, writing nothing.
func (s *Service) CheckPolicy(ctx context.Context, p oncall.Policy) error {
	rs, err := s.st.Rotations(ctx)
	if err != nil {
		return err
	}
	return s.policyProblem(ctx, s.st, p, rs)
}

func (s *Service) policyProblem(ctx context.Context, st store.Users, p oncall.Policy, rs map[string][]byte) error {
	verr := p.Validate(s.userExists(ctx, st), func(id string) bool { _, ok := rs[id]; return ok })
	return problem.Join(checkConfigID(p.ID), fieldProblem(verr))
}

// DeleteRotation removes a rotation no policy uses.
func (s *Service) DeleteRotation(ctx context.Context, a Actor, id string) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		cfg, err := s.loadOnCall(ctx, tx, s.clock.Now())
		if err != nil {
			return err
		}
		for _, p := range cfg.policies {
			for _, l := range p.Levels {
				for _, t := range l.Targets {
					if t.Type == oncall.TargetRotation && t.ID == id {
						return problem.Conflict("policy %s uses rotation %s", p.ID, id)
					}
				}
			}
		}
		if err := tx.DeleteRotation(ctx, id); errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("rotation %q not found", id)
		} else if err != nil {
			return err
		}
		tx.OnCommit(s.onCallChanged)
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "oncall.rotation.delete", id, "")
	})
}

// maxOverrideNote caps an override's note, in characters.
const maxOverrideNote = 500

// AddOverride puts someone on call instead for a window.
func (s *Service) AddOverride(ctx context.Context, a Actor, o oncall.Override) (oncall.Override, error) {
	o.ID = identity.RandomID(12)
	var errs []error
	if err := o.Validate(); err != nil {
		errs = append(errs, fieldProblem(err))
	}
	if !o.End.IsZero() && !o.End.After(s.clock.Now()) {
		errs = append(errs, problem.Invalid("end", "is in the past"))
	}
	// The note is free text every duty officer reads.
	if err := problem.Join(append(errs, problem.CheckLine("note", o.Note, maxOverrideNote, false))...); err != nil {
		return o, err
	}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		rs, err := tx.Rotations(ctx)
		if err != nil {
			return err
		}
		if _, ok := rs[o.RotationID]; !ok {
			return problem.Invalid("rotation_id", "no rotation %q", o.RotationID)
		}
		if !s.userExists(ctx, tx)(o.User) {
			return problem.Invalid("user", "no user %q", o.User)
		}
		b, _ := json.Marshal(o)
		if err := tx.PutOverride(ctx, o.ID, o.RotationID, b, o.End); err != nil {
			return err
		}
		tx.OnCommit(s.onCallChanged)
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "oncall.override", o.RotationID,
			fmt.Sprintf("%s from %s to %s", o.User, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339)))
	})
	return o, err
}

// DeleteOverride removes an override.
func (s *Service) DeleteOverride(ctx context.Context, a Actor, id string) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteOverride(ctx, id); errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("override %q not found", id)
		} else if err != nil {
			return err
		}
		tx.OnCommit(s.onCallChanged)
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "oncall.override.delete", id, "")
	})
}

// PutPolicy creates or replaces an escalation policy; the default one escalates every
// page that arrives.
func (s *Service) PutPolicy(ctx context.Context, a Actor, p oncall.Policy, isDefault bool) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		rs, err := tx.Rotations(ctx)
		if err != nil {
			return err
		}
		if err := s.policyProblem(ctx, tx, p, rs); err != nil {
			return err
		}
		b, _ := json.Marshal(p)
		if err := tx.PutPolicy(ctx, p.ID, b, isDefault, s.clock.Now()); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "oncall.policy", p.ID, fmt.Sprintf("default=%v", isDefault))
	})
}

// OnCallConfig is the whole on-call configuration, for display and editing.
type OnCallConfig struct {
	Rotations     []oncall.Rotation `json:"rotations"`
	Overrides     []oncall.Override `json:"overrides"`
	Policies      []oncall.Policy   `json:"policies"`
	DefaultPolicy string            `json:"default_policy"`
}

// Config returns the on-call configuration.
func (s *Service) Config(ctx context.Context) (OnCallConfig, error) {
	cfg, err := s.loadOnCall(ctx, s.st, s.clock.Now())
	if err != nil {
		return OnCallConfig{}, err
	}
	out := OnCallConfig{Overrides: cfg.overrides, DefaultPolicy: cfg.defaultPolicy, Rotations: []oncall.Rotation{}, Policies: []oncall.Policy{}}
	if out.Overrides == nil {
		out.Overrides = []oncall.Override{}
	}
	for _, r := range cfg.rotations {
		out.Rotations = append(out.Rotations, r)
	}
	for _, p := range cfg.policies {
		out.Policies = append(out.Policies, p)
	}
	sort.Slice(out.Rotations, func(i, j int) bool { return out.Rotations[i].ID < out.Rotations[j].ID })
	sort.Slice(out.Policies, func(i, j int) bool { return out.Policies[i].ID < out.Policies[j].ID })
	return out, nil
}

// OnCallNow is who is on call in one rotation at an instant.
type OnCallNow struct {
	Rotation string       `json:"rotation"`
	Name     string       `json:"name"`
	Timezone string       `json:"timezone"`
	Current  oncall.Shift `json:"current"`
	Next     oncall.Shift `json:"next"`
}

// WhoIsOnCall reports, for every rotation, the current and next shift at t.
func (s *Service) WhoIsOnCall(ctx context.Context, t time.Time) ([]OnCallNow, error) {
	cfg, err := s.loadOnCall(ctx, s.st, t)
	if err != nil {
		return nil, err
	}
	out := []OnCallNow{}
	for _, r := range cfg.rotations {
		cur, err := oncall.OnCall(r, cfg.overrides, t)
		if err != nil {
			return nil, err
		}
		next, err := oncall.OnCall(r, cfg.overrides, cur.End)
		if err != nil {
			return nil, err
		}
		out = append(out, OnCallNow{Rotation: r.ID, Name: r.Name, Timezone: r.Timezone, Current: cur, Next: next})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rotation < out[j].Rotation })
	return out, nil
}

// NewContact is a way to reach a person.
type NewContact struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
	PGPKey  string `json:"pgp_key"`
	Secret  string `json:"secret"`
}

// AddContact adds a channel for one of our people: an e-mail address (with an optional
// OpenPGP key, so hotline mail to it is encrypted) or a webhook URL with its secret.
func (s *Service) AddContact(ctx context.Context, a Actor, user string, c NewContact) (store.Contact, error) {
	ct := store.Contact{ID: identity.RandomID(12), User: user, Channel: c.Channel, Address: strings.TrimSpace(c.Address), PGPKey: strings.TrimSpace(c.PGPKey),
		Secret: c.Secret, CreatedAt: s.clock.Now()}
	switch c.Channel {
	case ChannelEmail:
		addr, err := mail.ParseAddress(ct.Address)
		if err != nil || len(ct.Address) > 254 {
			return ct, problem.Invalid("address", "not an e-mail address")
		}
		ct.Address = addr.Address
		if ct.PGPKey != "" {
			if len(ct.PGPKey) > 64<<10 {
				return ct, problem.Invalid("pgp_key", "larger than 64 KiB")
			}
			if _, err := notify.ReadArmoredKey(ct.PGPKey); err != nil {
				return ct, problem.Invalid("pgp_key", "%v", err)
			}
		}
		if ct.Secret != "" {
			return ct, problem.Invalid("secret", "only for webhooks")
		}
	case ChannelWebhook:
		u, err := url.Parse(ct.Address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(ct.Address) > 2048 {
			return ct, problem.Invalid("address", "not an http(s) URL")
		}
		if len(ct.Secret) < 16 || len(ct.Secret) > 256 {
			return ct, problem.Invalid("secret", "16 to 256 characters, shared with the receiver to sign each call")
		}
		if ct.PGPKey != "" {
			return ct, problem.Invalid("pgp_key", "only for e-mail")
		}
	default:
		return ct, problem.Invalid("channel", "must be email or webhook (the console is always on)")
	}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if !s.userExists(ctx, tx)(user) {
			return problem.NotFound("no user %q", user)
		}
		if err := tx.PutContact(ctx, ct); err != nil {
			return err
		}
		// The audit log is read by every admin, long after: it keeps the address redacted.
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "contact.add", user, ct.Channel+" "+RedactAddress(ct.Channel, ct.Address))
	})
	return ct, err
}

// Contacts lists a person's contacts, their addresses redacted unless v may see them.
func (s *Service) Contacts(ctx context.Context, user string, v Viewer) ([]store.Contact, error) {
	cs, err := s.st.Contacts(ctx, user)
	if !v.Sees(user) {
		for i := range cs {
			cs[i].Address = RedactAddress(cs[i].Channel, cs[i].Address)
		}
	}
	return cs, err
}

// DeleteContact removes a contact.
func (s *Service) DeleteContact(ctx context.Context, a Actor, id string) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteContact(ctx, id); errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("contact %q not found", id)
		} else if err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.clock.Now(), a.Name, "contact.delete", id, "")
	})
}
