package taxii

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Consumers manages consumer accounts.
type Consumers struct {
	st    store.TAXII
	dir   *team.Directory
	clock clock.Clock
}

// NewConsumers makes the account manager.
func NewConsumers(st store.TAXII, dir *team.Directory, clk clock.Clock) *Consumers {
	return &Consumers{st: st, dir: dir, clock: clk}
}

var consumerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Credentials are a consumer's secrets, shown once when made.
type Credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// ConsumerInput is what an admin sets of a consumer.
type ConsumerInput struct {
	Name string
	// Ceiling is the strictest label its audience may receive.
	Ceiling string
	// Team, when set, is the one team (ours or an active peer) the consumer stands for.
	Team     string
	CanWrite bool
}

func (c *Consumers) check(in ConsumerInput) (tlp.Label, error) {
	if !consumerName.MatchString(in.Name) {
		return "", problem.Invalid("name", "use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
	}
	l, err := tlp.Parse(in.Ceiling)
	if err != nil {
		return "", problem.Invalid("ceiling", "%v", err)
	}
	if in.Team == "" && l.Rank() > tlp.Amber.Rank() {
		return "", problem.Invalid("ceiling", "an audience outside the federation receives at most TLP:AMBER, never %s", l)
	}
	if in.Team != "" && in.Team != c.dir.Self.ID {
		p, ok := c.dir.Peer(in.Team)
		if !ok || !p.IsActive() {
			return "", problem.Invalid("team", "%q is neither this node's team nor an active peer", in.Team)
		}
	}
	return l, nil
}

// Create makes a consumer with a new password and token.
func (c *Consumers) Create(ctx context.Context, in ConsumerInput) (Credentials, error) {
	l, err := c.check(in)
	if err != nil {
		return Credentials{}, err
	}
	if _, err := c.st.TAXIIConsumer(ctx, in.Name); err == nil {
		return Credentials{}, problem.Conflict("TAXII consumer %q exists", in.Name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Credentials{}, err
	}
	cred, tc, err := newSecrets(in.Name)
	if err != nil {
		return Credentials{}, err
	}
	tc.Ceiling, tc.Team, tc.CanWrite, tc.CreatedAt = string(l), in.Team, in.CanWrite, c.clock.Now()
	if err := c.st.PutTAXIIConsumer(ctx, tc); err != nil {
		return Credentials{}, err
	}
	return cred, nil
}

func newSecrets(name string) (Credentials, store.TAXIIConsumer, error) {
	secret := func() string {
		b := make([]byte, 24)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	cred := Credentials{Name: name, Password: secret(), Token: "taxii_" + secret()}
	hash, err := auth.HashPassword(cred.Password)
	if err != nil {
		return cred, store.TAXIIConsumer{}, fmt.Errorf("taxii: consumer %s: %w", name, err)
	}
	return cred, store.TAXIIConsumer{Name: name, PasswordHash: hash, TokenHash: auth.HashToken(cred.Token)}, nil
}

// Update sets a consumer's audience and write access.
func (c *Consumers) Update(ctx context.Context, in ConsumerInput) (store.TAXIIConsumer, error) {
	l, err := c.check(in)
	if err != nil {
		return store.TAXIIConsumer{}, err
	}
	tc, err := c.get(ctx, in.Name)
	if err != nil {
		return tc, err
	}
	tc.Ceiling, tc.Team, tc.CanWrite = string(l), in.Team, in.CanWrite
	return tc, c.st.PutTAXIIConsumer(ctx, tc)
}

func (c *Consumers) get(ctx context.Context, name string) (store.TAXIIConsumer, error) {
	tc, err := c.st.TAXIIConsumer(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return tc, problem.NotFound("no TAXII consumer %q", name)
	}
	return tc, err
}

// Rotate gives a consumer a new password and token; the old ones stop working.
func (c *Consumers) Rotate(ctx context.Context, name string) (Credentials, error) {
	tc, err := c.get(ctx, name)
	if err != nil {
		return Credentials{}, err
	}
	cred, fresh, err := newSecrets(name)
	if err != nil {
		return cred, err
	}
	tc.PasswordHash, tc.TokenHash = fresh.PasswordHash, fresh.TokenHash
	return cred, c.st.PutTAXIIConsumer(ctx, tc)
}

// SetDisabled disables or enables a consumer.
func (c *Consumers) SetDisabled(ctx context.Context, name string, disabled bool) error {
	tc, err := c.get(ctx, name)
	if err != nil {
		return err
	}
	tc.DisabledAt = nil
	if disabled {
		now := c.clock.Now()
		tc.DisabledAt = &now
	}
	return c.st.PutTAXIIConsumer(ctx, tc)
}

// Delete removes a consumer.
func (c *Consumers) Delete(ctx context.Context, name string) error {
	if err := c.st.DeleteTAXIIConsumer(ctx, name); errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("no TAXII consumer %q", name)
	} else if err != nil {
		return err
	}
	return nil
}

// List lists the consumers.
func (c *Consumers) List(ctx context.Context) ([]store.TAXIIConsumer, error) {
	return c.st.TAXIIConsumers(ctx)
}
