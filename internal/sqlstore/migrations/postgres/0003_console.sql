-- PostgreSQL twin of sqlite/0003_console.sql: the web console's sessions, TOTP second
-- factors and preferences. Kept in the database, not in a replica's memory, so that a
-- browser signed in through one replica is signed in on all of them. Differences as in
-- 0001: TEXT COLLATE "C", BIGINT times, INTEGER flags.

-- The web console's own tables (migration 0002 is the hotline's).

-- Signed-in browsers. The cookie holds a random secret; only its SHA-256 is kept, so a
-- copy of the database signs no one in. expires_at is the idle limit, moved on use;
-- created_at bounds the whole life. pending = 1 while a second factor is still owed.
CREATE TABLE console_sessions (
    hash         TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    pending      INTEGER NOT NULL DEFAULT 0,
    remote_ip    TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_agent   TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- A person's TOTP second factor (RFC 6238). last_step makes each code single-use.
CREATE TABLE console_totp (
    user_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES users(id),
    secret     TEXT COLLATE "C" NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A person's console language and time zone, when they chose one.
CREATE TABLE console_prefs (
    user_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES users(id),
    language TEXT COLLATE "C" NOT NULL DEFAULT '',
    timezone TEXT COLLATE "C" NOT NULL DEFAULT ''
);
