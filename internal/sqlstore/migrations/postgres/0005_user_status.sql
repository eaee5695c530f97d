-- PostgreSQL twin of sqlite/0005_user_status.sql: the same two columns, BIGINT
-- microseconds as everywhere, so that disabling a person stops them on every replica.

-- An administrator can disable a person: sign-in is refused and their sessions and API
-- tokens stop at once (the lookups read disabled_at, so nothing waits for a clean-up).
-- last_signin_at is shown on the people screen, so that an admin sees a dormant
-- account before disabling it. Both are integer microseconds, NULL for never.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN last_signin_at BIGINT;
