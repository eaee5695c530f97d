// Package auth knows this node's people: their roles, and the API tokens that stand for them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Roles, from most to least powerful.
const (
	Admin       = "admin"        // manages people and tokens, and everything below
	DutyOfficer = "duty_officer" // runs the hotline shift, and everything below
	Handler     = "handler"      // works incidents: creates, comments, changes status
	Observer    = "observer"     // reads
	// Vendor is a vendor's person on its national coordinator's node: it reaches only
	// the vulnerability cases its vendor is in (CaseAccess), nothing else. It is not in
	// Roles, which are the team's own people.
	Vendor = "vendor"
)

// Roles lists the roles in order of power.
var Roles = []string{Admin, DutyOfficer, Handler, Observer}

// Permissions a request may need.
type Permission int

const (
	Read      Permission = iota
	Write                // work incidents and pages
	Configure            // on-call rotas, policies, people's contacts
	Manage               // people, tokens, audit
	// CaseAccess: the vulnerability case routes, which also let a vendor in; the
	// handlers scope a vendor to its own cases.
	CaseAccess
)

// Allows reports whether role grants p.
func Allows(role string, p Permission) bool {
	switch p {
	case Read:
		return slices.Contains(Roles, role)
	case Write:
		return role == Admin || role == DutyOfficer || role == Handler
	case Configure:
		return role == Admin || role == DutyOfficer
	case Manage:
		return role == Admin
	case CaseAccess:
		return role == Vendor || slices.Contains(Roles, role)
	}
	return false
}

const tokenPrefix = "csl_"

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Store is what the service keeps people in: the users aggregate and their passwords,
// the console's sessions (ended when a person is signed out, disabled or given a new
// password), and transactions, so that each change commits with its audit record.
type Store interface {
	store.Users
	store.Passwords
	DeleteUserSessions(ctx context.Context, userID, keep string) error
	InTx(ctx context.Context, fn func(store.Tx) error) error
}

// Service creates people and tokens, checks tokens, and lets an administrator disable
// people and end their sessions.
type Service struct {
	st    Store
	clock clock.Clock
	log   *slog.Logger
}

// New makes the service.
func New(st Store, clk clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, clock: clk, log: log.With("component", "auth")}
}

// HashToken is the only form in which a token is stored.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// CreateUser adds a person.
func (s *Service) CreateUser(ctx context.Context, name, displayName, email, role string) (store.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !namePattern.MatchString(name) {
		return store.User{}, problem.Invalid("name", "use 1-64 of a-z, 0-9, '.', '_', '-'")
	}
	if !slices.Contains(Roles, role) && role != Vendor {
		return store.User{}, problem.Invalid("role", "must be one of %s", strings.Join(append(slices.Clone(Roles), Vendor), ", "))
	}
	if displayName == "" {
		displayName = name
	}
	u := store.User{ID: identity.RandomID(12), Name: name, DisplayName: displayName, Email: email, Role: role, CreatedAt: s.clock.Now()}
	if err := s.st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return u, problem.Conflict("user %q exists", name)
		}
		return u, err
	}
	return u, nil
}

// IssueToken makes a token for a user and returns its secret, shown only this once.
func (s *Service) IssueToken(ctx context.Context, userName, label string, ttl time.Duration) (string, store.Token, error) {
	u, err := s.st.UserByName(ctx, userName)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.Token{}, problem.Invalid("user", "no user %q", userName)
	}
	if err != nil {
		return "", store.Token{}, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", store.Token{}, fmt.Errorf("auth: token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	t := store.Token{ID: identity.RandomID(12), UserID: u.ID, Hash: HashToken(secret), Label: label, CreatedAt: s.clock.Now()}
	if ttl > 0 {
		exp := t.CreatedAt.Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.st.CreateToken(ctx, t); err != nil {
		return "", t, err
	}
	return secret, t, nil
}

// ErrBadToken means the token is unknown, expired or revoked, or its user disabled.
var ErrBadToken = errors.New("invalid or expired token")

// ErrUnavailable means the database could not answer whether a credential is good:
// the caller should hear "try again", never "your token is invalid".
var ErrUnavailable = errors.New("the node's database is not answering")

// Authenticate returns the user a bearer token stands for: ErrBadToken if it stands
// for no one, an error wrapping ErrUnavailable if the database cannot tell. Recording
// the token's use is best-effort: a database that reads but cannot write still lets
// people work.
func (s *Service) Authenticate(ctx context.Context, tok string) (store.User, error) {
	if !strings.HasPrefix(tok, tokenPrefix) || len(tok) > 128 {
		return store.User{}, ErrBadToken
	}
	now := s.clock.Now()
	t, u, err := s.st.TokenByHash(ctx, HashToken(tok), now)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrBadToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("%w: token lookup: %w", ErrUnavailable, err)
	}
	if u.DisabledAt != nil {
		return store.User{}, ErrBadToken
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.st.TouchToken(ctx, t.ID, now); err != nil {
			s.log.Warn("could not record a token's use", "token", t.ID, "user", u.Name, "err", err)
		}
	}
	return u, nil
}

// Tokens lists a user's tokens, without their secrets (which are never stored).
func (s *Service) Tokens(ctx context.Context, userName string) ([]store.Token, error) {
	u, err := s.st.UserByName(ctx, userName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Invalid("user", "no user %q", userName)
	}
	if err != nil {
		return nil, err
	}
	return s.st.ListTokens(ctx, u.ID)
}

// RevokeToken ends a token now.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	err := s.st.RevokeToken(ctx, id, s.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return problem.Invalid("id", "no token %q", id)
	}
	return err
}
