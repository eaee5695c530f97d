package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"csirtlink/internal/store"
)

const userCols = `id, name, display_name, email, role, password_hash, created_at`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created int64
	err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.PasswordHash, &created)
	u.CreatedAt = fromMicros(created)
	return u, err
}

// CreateUser inserts a user.
func (c conn) CreateUser(ctx context.Context, u store.User) error {
	_, err := c.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.DisplayName, u.Email, u.Role, u.PasswordHash, micros(u.CreatedAt))
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

// TokenByHash returns a live (unrevoked, unexpired) token and its user.
func (c conn) TokenByHash(ctx context.Context, hash string, now time.Time) (store.Token, store.User, error) {
	var t store.Token
	var created int64
	var expires, revoked, used sql.NullInt64
	row := c.row(ctx, `SELECT t.id, t.user_id, t.label, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, `+
		`u.id, u.name, u.display_name, u.email, u.role, u.password_hash, u.created_at `+
		`FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash)
	var u store.User
	var ucreated int64
	err := row.Scan(&t.ID, &t.UserID, &t.Label, &created, &expires, &revoked, &used,
		&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.PasswordHash, &ucreated)
	if err != nil {
		return t, u, notFound(err, "token")
	}
	t.Hash, t.CreatedAt, u.CreatedAt = hash, fromMicros(created), fromMicros(ucreated)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = ptrMicros(expires), ptrMicros(revoked), ptrMicros(used)
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return t, u, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	// Record use at most once a minute: a write on every API call would serialise readers.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if _, err := c.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, micros(now), t.ID); err != nil {
			return t, u, fmt.Errorf("sqlstore: token use: %w", err)
		}
	}
	return t, u, nil
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
