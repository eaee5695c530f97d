-- The first schema of a node. Times are integer microseconds since the Unix epoch, UTC:
-- portable between SQLite and PostgreSQL, sortable, and exact. Ids are text made in Go.

-- People of this team. Other teams' people never have rows here.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

-- API tokens, stored only as SHA-256 of the secret: a stolen database yields no token.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    hash         TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- Named counters, e.g. the per-year incident number.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Incidents this node holds: its own (coordinator = this team) and copies of partners'.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY,
    coordinator   TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    category      TEXT NOT NULL,
    severity      TEXT NOT NULL,
    tlp           TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_position BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incidents_updated ON incidents (updated_at);

-- Each participant's own status; written only from that participant's signed entries.
CREATE TABLE participants (
    incident_id     TEXT NOT NULL REFERENCES incidents(id),
    team            TEXT NOT NULL,
    status          TEXT NOT NULL,
    acknowledged_at BIGINT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (incident_id, team)
);

-- The timeline. position is assigned by the coordinator; NULL while an entry written
-- here waits for the coordinator to sequence it.
CREATE TABLE entries (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    position    BIGINT,
    team        TEXT NOT NULL,
    author      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    tlp         TEXT NOT NULL,
    recipients  TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    signature   BLOB NOT NULL
);
CREATE UNIQUE INDEX entries_position ON entries (incident_id, position);

-- One row per peer: sequence counters and what operators need to see of the link.
CREATE TABLE links (
    peer              TEXT PRIMARY KEY,
    next_seq          BIGINT NOT NULL DEFAULT 1,
    last_in_seq       BIGINT NOT NULL DEFAULT 0,
    last_contact_at   BIGINT,
    last_delivered_at BIGINT,
    last_error        TEXT NOT NULL DEFAULT '',
    last_error_at     BIGINT
);

-- Envelopes waiting for (or done with) delivery. Written in the transaction of the
-- change that caused them; kept with the peer's receipt as evidence.
CREATE TABLE outbox (
    peer         TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    type         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    envelope     BLOB NOT NULL,
    created_at   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT,
    receipt      BLOB,
    PRIMARY KEY (peer, seq)
);
CREATE INDEX outbox_pending ON outbox (peer, delivered_at, seq);

-- Envelopes applied here, with the receipt we signed: exactly-once by (origin, seq).
CREATE TABLE inbox (
    origin      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    digest      BLOB NOT NULL,
    type        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    envelope    BLOB NOT NULL,
    receipt     BLOB NOT NULL,
    PRIMARY KEY (origin, seq)
);

-- Federation traffic refused before it was applied, and why.
CREATE TABLE refusals (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    peer    TEXT NOT NULL,
    remote  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX refusals_at ON refusals (at);

-- Who did what. Each row's hash covers the previous row's, so an edit shows.
CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
