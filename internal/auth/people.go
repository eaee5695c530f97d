package auth

import (
	"context"
	"errors"
	"fmt"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Actor is who changes a person's standing, as the audit log names them.
type Actor struct {
	UserID string // "" for the command line on the node itself
	Name   string // a user's name, or "cli"
}

// CLI is the actor of commands run on the node itself.
var CLI = Actor{Name: "cli"}

// Users lists every person, disabled or not, by name.
func (s *Service) Users(ctx context.Context) ([]store.User, error) {
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if us == nil {
		us = []store.User{}
	}
	return us, nil
}

// User finds a person by name.
func (s *Service) User(ctx context.Context, name string) (store.User, error) {
	if len(name) > 64 {
		return store.User{}, problem.NotFound("no user %q", name[:64])
	}
	u, err := s.st.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, problem.NotFound("no user %q", name)
	}
	return u, err
}

// Disable stops a person at once: they cannot sign in, and their console sessions and
// API tokens stop working (the lookups refuse a disabled user; the sessions are also
// deleted). No one disables themselves, and the last enabled administrator stays, so
// that someone can always undo it. Disabling a disabled person changes nothing.
func (s *Service) Disable(ctx context.Context, a Actor, name string) (store.User, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return u, err
	}
	if u.ID == a.UserID {
		return u, problem.Conflict("you cannot disable yourself")
	}
	now := s.clock.Now()
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		// Read again inside the transaction: two admins disabling each other at once
		// must not leave none.
		all, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		admins := 0
		for _, x := range all {
			if x.ID == u.ID {
				u = x
			}
			if x.Role == Admin && x.DisabledAt == nil {
				admins++
			}
		}
		if u.DisabledAt != nil {
			return nil
		}
		if u.Role == Admin && admins <= 1 {
			return problem.Conflict("the last enabled administrator cannot be disabled")
		}
		if err := tx.SetUserDisabled(ctx, u.ID, &now); err != nil {
			return err
		}
		u.DisabledAt = &now
		return audit.Append(ctx, tx, now, a.Name, "user.disable", u.Name, "sessions and tokens stopped")
	})
	if err != nil {
		return u, err
	}
	// The lookups already refuse the sessions; deleting them keeps the table honest.
	if err := s.st.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		s.log.Warn("delete a disabled user's sessions", "user", u.Name, "err", err)
	}
	return u, nil
}

// Enable lets a disabled person sign in again; their tokens work again unless revoked
// or expired. Their sessions were ended and stay ended.
func (s *Service) Enable(ctx context.Context, a Actor, name string) (store.User, error) {
	u, err := s.User(ctx, name)
	if err != nil || u.DisabledAt == nil {
		return u, err
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SetUserDisabled(ctx, u.ID, nil); err != nil {
			return err
		}
		return audit.Append(ctx, tx, s.clock.Now(), a.Name, "user.enable", u.Name, "")
	})
	if err != nil {
		return u, err
	}
	u.DisabledAt = nil
	return u, nil
}

// SignOut ends every console session of a person (a lost laptop, a shift handed over).
// API tokens are not sessions: revoke them one by one, or disable the person.
func (s *Service) SignOut(ctx context.Context, a Actor, name string) (store.User, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return u, err
	}
	if err := s.st.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return u, err
	}
	return u, s.audit(ctx, a, "user.signout", u.Name, "every console session ended")
}

// SetPassword gives a person a new password on an administrator's word (the CLI, an
// admin's screen) and ends all their sessions: whoever had signed in with the old one
// is out. A person changing their own password in the console keeps that session.
func (s *Service) SetPassword(ctx context.Context, a Actor, name, password string) (store.User, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return u, err
	}
	if err := SetPassword(ctx, s.st, u.ID, password); err != nil {
		return u, err
	}
	// After the new hash is in place, so that no session made with the old password
	// outlives this; a session made in between used the new one.
	if err := s.st.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return u, fmt.Errorf("password set, but the sessions of %s could not be ended: %w", u.Name, err)
	}
	return u, s.audit(ctx, a, "user.password_set", u.Name, "every console session ended")
}

func (s *Service) audit(ctx context.Context, a Actor, action, object, detail string) error {
	return s.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, s.clock.Now(), a.Name, action, object, detail)
	})
}
