package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

// SetPasswordHash replaces a user's password hash.
func (c conn) SetPasswordHash(ctx context.Context, userID, hash string) error {
	res, err := c.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
	}
	return nil
}

func consoleFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateSession inserts a session.
func (c conn) CreateSession(ctx context.Context, s store.Session) error {
	_, err := c.exec(ctx, `INSERT INTO console_sessions (hash, user_id, created_at, last_seen_at, expires_at, pending, remote_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Hash, s.UserID, micros(s.Created), micros(s.LastSeen), micros(s.Expires), consoleFlag(s.Pending), s.RemoteIP, s.UserAgent)
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// SessionByHash returns a live session and its user; a disabled user has none.
func (c conn) SessionByHash(ctx context.Context, hash string, now time.Time) (store.Session, store.User, error) {
	var s store.Session
	var created, seen, expires int64
	var pending int
	var us userScan
	err := c.row(ctx, `SELECT s.hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.pending, s.remote_ip, s.user_agent, `+
		userColsOf("u")+` FROM console_sessions s JOIN users u ON u.id = s.user_id `+
		`WHERE s.hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`, hash, micros(now)).
		Scan(append([]any{&s.Hash, &s.UserID, &created, &seen, &expires, &pending, &s.RemoteIP, &s.UserAgent}, us.dest()...)...)
	u := us.user()
	if err != nil {
		return s, u, notFound(err, "session")
	}
	s.Created, s.LastSeen, s.Expires, s.Pending = fromMicros(created), fromMicros(seen), fromMicros(expires), pending != 0
	return s, u, nil
}

// TouchSession records activity on a session.
func (c conn) TouchSession(ctx context.Context, hash string, at, expires time.Time) error {
	if _, err := c.exec(ctx, `UPDATE console_sessions SET last_seen_at = ?, expires_at = ? WHERE hash = ?`, micros(at), micros(expires), hash); err != nil {
		return fmt.Errorf("sqlstore: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func (c conn) DeleteSession(ctx context.Context, hash string) error {
	if _, err := c.exec(ctx, `DELETE FROM console_sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends a user's sessions but keep.
func (c conn) DeleteUserSessions(ctx context.Context, userID, keep string) error {
	if _, err := c.exec(ctx, `DELETE FROM console_sessions WHERE user_id = ? AND hash <> ?`, userID, keep); err != nil {
		return fmt.Errorf("sqlstore: delete sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes expired sessions.
func (c conn) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	if _, err := c.exec(ctx, `DELETE FROM console_sessions WHERE expires_at <= ?`, micros(now)); err != nil {
		return fmt.Errorf("sqlstore: delete expired sessions: %w", err)
	}
	return nil
}

// GetTOTP returns a user's TOTP secret.
func (c conn) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	t := store.TOTP{UserID: userID}
	var enabled int
	var created int64
	err := c.row(ctx, `SELECT secret, enabled, last_step, created_at FROM console_totp WHERE user_id = ?`, userID).
		Scan(&t.Secret, &enabled, &t.LastStep, &created)
	if err != nil {
		return t, notFound(err, "totp")
	}
	t.Enabled, t.CreatedAt = enabled != 0, fromMicros(created)
	return t, nil
}

// PutTOTP inserts or replaces a user's TOTP secret.
func (c conn) PutTOTP(ctx context.Context, t store.TOTP) error {
	_, err := c.exec(ctx, `INSERT INTO console_totp (user_id, secret, enabled, last_step, created_at) VALUES (?, ?, ?, ?, ?) `+
		`ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled, last_step = excluded.last_step, created_at = excluded.created_at`,
		t.UserID, t.Secret, consoleFlag(t.Enabled), t.LastStep, micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put totp: %w", err)
	}
	return nil
}

// DeleteTOTP removes a user's TOTP secret.
func (c conn) DeleteTOTP(ctx context.Context, userID string) error {
	if _, err := c.exec(ctx, `DELETE FROM console_totp WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlstore: delete totp: %w", err)
	}
	return nil
}

// UseTOTPStep marks a step used, once.
func (c conn) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := c.exec(ctx, `UPDATE console_totp SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
	if err != nil {
		return fmt.Errorf("sqlstore: use totp step: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("totp step %d: %w", step, store.ErrConflict)
	}
	return nil
}

// GetPrefs returns a user's console preferences (empty if none).
func (c conn) GetPrefs(ctx context.Context, userID string) (store.Preferences, error) {
	p := store.Preferences{UserID: userID}
	err := c.row(ctx, `SELECT language, timezone FROM console_prefs WHERE user_id = ?`, userID).Scan(&p.Language, &p.Timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("sqlstore: get prefs: %w", err)
	}
	return p, nil
}

// PutPrefs stores a user's console preferences.
func (c conn) PutPrefs(ctx context.Context, p store.Preferences) error {
	_, err := c.exec(ctx, `INSERT INTO console_prefs (user_id, language, timezone) VALUES (?, ?, ?) `+
		`ON CONFLICT (user_id) DO UPDATE SET language = excluded.language, timezone = excluded.timezone`, p.UserID, p.Language, p.Timezone)
	if err != nil {
		return fmt.Errorf("sqlstore: put prefs: %w", err)
	}
	return nil
}

var _ store.Console = (*DB)(nil)
