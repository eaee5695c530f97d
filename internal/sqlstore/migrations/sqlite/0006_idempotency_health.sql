-- Idempotency-Key (internal/api): the first answer to a POST, kept for a day, so that a
-- client that lost the answer and sends the request again gets that answer instead of
-- a second incident, entry or page. One key per user. request_hash covers the method,
-- path and body, so the same key with another request is refused. state: applied (the
-- row is written in the request's own transaction, so it commits with the effect: the
-- request never runs again) → done (status, content_type, location and body hold the
-- answer). expires_at is created_at + 24 h by the node's clock; an engine module
-- deletes expired rows.
CREATE TABLE idempotency (
    user_id      TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    body         BLOB,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- One row that /readyz rewrites, at most every few seconds, to prove the node can write:
-- a database that answers reads can still refuse every write (read-only file, full disk).
CREATE TABLE write_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    written_at BIGINT NOT NULL
);
INSERT INTO write_probe (id, written_at) VALUES (1, 0);
