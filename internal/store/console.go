package store

import (
	"context"
	"time"
)

// Passwords stores people's password hashes (argon2id, made by package auth).
type Passwords interface {
	// SetPasswordHash replaces a user's password hash; ErrNotFound if no such user.
	SetPasswordHash(ctx context.Context, userID, hash string) error
}

// Session is a signed-in browser. Only the SHA-256 of its cookie secret is stored.
type Session struct {
	Hash     string
	UserID   string
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time
	// Pending is a session that gave the right password and still owes its second
	// factor: it may only finish signing in.
	Pending   bool
	RemoteIP  string
	UserAgent string
}

// Sessions stores the web console's sign-in sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns a session that has not expired at now, and its user; a
	// disabled user's sessions are not found.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, User, error)
	// TouchSession records activity, and moves the idle expiry to expires.
	TouchSession(ctx context.Context, hash string, at, expires time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	// DeleteUserSessions ends every session of a user except keep (which may be "").
	DeleteUserSessions(ctx context.Context, userID, keep string) error
	// DeleteExpiredSessions removes sessions that expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}

// TOTP is a user's time-based second factor.
type TOTP struct {
	UserID string
	Secret string // base32
	// Enabled is false while the user has not yet proved their app has the secret.
	Enabled bool
	// LastStep is the newest time step accepted; older or equal codes are refused.
	LastStep  int64
	CreatedAt time.Time
}

// SecondFactors stores TOTP secrets.
type SecondFactors interface {
	GetTOTP(ctx context.Context, userID string) (TOTP, error)
	PutTOTP(ctx context.Context, t TOTP) error
	DeleteTOTP(ctx context.Context, userID string) error
	// UseTOTPStep records step as used if it is newer than the last one used, and
	// returns ErrConflict if it is not: each code signs in once.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
}

// Preferences are a person's console settings.
type Preferences struct {
	UserID   string
	Language string // BCP 47 tag, "" for the browser's choice
	Timezone string // IANA zone, "" for the team's
}

// Prefs stores console preferences.
type Prefs interface {
	// GetPrefs returns a user's preferences, empty ones if none are stored.
	GetPrefs(ctx context.Context, userID string) (Preferences, error)
	PutPrefs(ctx context.Context, p Preferences) error
}

// Console is what the web console keeps beyond the shared aggregates. It is not part
// of Tx: the console's writes never share a transaction with federation.
type Console interface {
	Passwords
	Sessions
	SecondFactors
	Prefs
}
