-- PostgreSQL twin of sqlite/0007_link_health.sql: the same columns and partial indexes
-- (PostgreSQL has partial indexes and length() of BYTEA too); text as TEXT COLLATE "C".

-- Link health in each direction, so that a duty officer sees the truth: a send error is
-- cleared only by a later successful send, never by traffic the peer sends us.
-- last_sent_at: our envelopes reached the peer, or it answered our heartbeat.
-- last_received_at: the peer reached us with a signed request, or answered our pull.
-- last_pull_error: our pull from the peer failed (cleared by a successful pull).
ALTER TABLE links ADD COLUMN last_sent_at BIGINT;
ALTER TABLE links ADD COLUMN last_received_at BIGINT;
ALTER TABLE links ADD COLUMN last_pull_error TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN last_pull_error_at BIGINT;

-- Retention compacts delivered outbox rows and old inbox rows by emptying their
-- envelope copies (the receipt, which names the envelope's digest, stays as evidence;
-- the inbox digest and receipt stay for replay detection). These partial indexes hold
-- only rows not yet compacted, so each pass reads what it will change, not history.
CREATE INDEX outbox_uncompacted ON outbox (delivered_at) WHERE length(envelope) > 0;
CREATE INDEX inbox_uncompacted ON inbox (received_at) WHERE length(envelope) > 0;
