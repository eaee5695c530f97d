package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"csirtlink/internal/store"
)

const userCols = `id, name, display_name, email, role, password_hash, created_at, disabled_at, last_signin_at`

// userColsOf is userCols of the table aliased as alias.
func userColsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(userCols, ", ", ", "+alias+".")
}

// userScan holds the columns of userCols while they are scanned.
type userScan struct {
	u                store.User
	created          int64
	disabled, signin sql.NullInt64
}

func (s *userScan) dest() []any {
	return []any{&s.u.ID, &s.u.Name, &s.u.DisplayName, &s.u.Email, &s.u.Role, &s.u.PasswordHash, &s.created, &s.disabled, &s.signin}
}

func (s *userScan) user() store.User {
	s.u.CreatedAt, s.u.DisabledAt, s.u.LastSigninAt = fromMicros(s.created), ptrMicros(s.disabled), ptrMicros(s.signin)
	return s.u
}

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var us userScan
	err := sc.Scan(us.dest()...)
	return us.user(), err
}

// CreateUser inserts a user.
func (c conn) CreateUser(ctx context.Context, u store.User) error {
	_, err := c.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.DisplayName, u.Email, u.Role, u.PasswordHash, micros(u.CreatedAt), nullMicros(u.DisabledAt), nullMicros(u.LastSigninAt))
	if c.d.isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	return nil
}

// UserByName finds a user by login name.
func (c conn) UserByName(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(c.row(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if err != nil {
		return u, notFound(err, "user "+name)
	}
	return u, nil
}

// UserByID finds a user by id.
func (c conn) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(c.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return u, notFound(err, "user "+id)
	}
	return u, nil
}

// ListUsers lists all users by name.
func (c conn) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := c.query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateToken inserts a token.
func (c conn) CreateToken(ctx context.Context, t store.Token) error {
	_, err := c.exec(ctx, `INSERT INTO tokens (id, user_id, hash, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Hash, t.Label, micros(t.CreatedAt), nullMicros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create token: %w", err)
	}
	return nil
}

// SetUserDisabled disables a user at *at, or enables them (nil).
func (c conn) SetUserDisabled(ctx context.Context, userID string, at *time.Time) error {
	res, err := c.exec(ctx, `UPDATE users SET disabled_at = ? WHERE id = ?`, nullMicros(at), userID)
	if err != nil {
		return fmt.Errorf("sqlstore: disable user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
	}
	return nil
}

// RecordSignin notes a completed sign-in.
func (c conn) RecordSignin(ctx context.Context, userID string, at time.Time) error {
	if _, err := c.exec(ctx, `UPDATE users SET last_signin_at = ? WHERE id = ?`, micros(at), userID); err != nil {
		return fmt.Errorf("sqlstore: record sign-in: %w", err)
	}
	return nil
}

// TokenByHash returns a live (unrevoked, unexpired, of an enabled user) token and its
// user. It only reads; TouchToken records the use.
func (c conn) TokenByHash(ctx context.Context, hash string, now time.Time) (store.Token, store.User, error) {
	var t store.Token
	var created int64
	var expires, revoked, used sql.NullInt64
	var us userScan
	row := c.row(ctx, `SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, `+
		userColsOf("u")+` FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash)
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Label, &created, &expires, &revoked, &used}, us.dest()...)...)
	u := us.user()
	if err != nil {
		return t, u, notFound(err, "token")
	}
	t.Hash, t.CreatedAt = hash, fromMicros(created)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = ptrMicros(expires), ptrMicros(revoked), ptrMicros(used)
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) || u.DisabledAt != nil {
		return t, u, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	return t, u, nil
}

// TouchToken records a use at most once a minute: the condition is in the statement,
// so concurrent requests write once.
func (c conn) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := c.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
		micros(at), id, micros(at.Add(-time.Minute)))
	if err != nil {
		return fmt.Errorf("sqlstore: token use: %w", err)
	}
	return nil
}

// ListTokens lists a user's tokens, oldest first.
func (c conn) ListTokens(ctx context.Context, userID string) ([]store.Token, error) {
	rows, err := c.query(ctx, `SELECT id, user_id, label, created_at, expires_at, revoked_at, last_used_at FROM tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list tokens: %w", err)
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		var t store.Token
		var created int64
		var expires, revoked, used sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Label, &created, &expires, &revoked, &used); err != nil {
			return nil, fmt.Errorf("sqlstore: list tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(created), ptrMicros(expires), ptrMicros(revoked), ptrMicros(used)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token; revoking twice keeps the first time.
func (c conn) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(at), id)
	if err != nil {
		return fmt.Errorf("sqlstore: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	return nil
}
