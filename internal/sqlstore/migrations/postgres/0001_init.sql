-- PostgreSQL twin of sqlite/0001_init.sql, the first schema of a node: the same tables,
-- columns, keys and indexes, so that one set of queries (internal/sqlstore) serves both
-- databases. Why it differs:
--   * BYTEA for SQLite's BLOB (signatures, envelopes, receipts);
--   * TEXT COLLATE "C": text compares and sorts byte by byte, as in SQLite, whatever
--     collation the database was created with (lists are ordered by ids and names, and the
--     store suite expects the same order from both);
--   * times stay BIGINT microseconds and flags INTEGER 0/1, as in SQLite: the queries bind
--     the same Go values on both.

-- The first schema of a node. Times are integer microseconds since the Unix epoch, UTC:
-- portable between SQLite and PostgreSQL, sortable, and exact. Ids are text made in Go.

-- People of this team. Other teams' people never have rows here.
CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C" NOT NULL DEFAULT '',
    role          TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

-- API tokens, stored only as SHA-256 of the secret: a stolen database yields no token.
CREATE TABLE tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    hash         TEXT COLLATE "C" NOT NULL UNIQUE,
    label        TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- Named counters, e.g. the per-year incident number.
CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Incidents this node holds: its own (coordinator = this team) and copies of partners'.
CREATE TABLE incidents (
    id            TEXT COLLATE "C" PRIMARY KEY,
    coordinator   TEXT COLLATE "C" NOT NULL,
    title         TEXT COLLATE "C" NOT NULL,
    description   TEXT COLLATE "C" NOT NULL,
    category      TEXT COLLATE "C" NOT NULL,
    severity      TEXT COLLATE "C" NOT NULL,
    tlp           TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_position BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incidents_updated ON incidents (updated_at);

-- Each participant's own status; written only from that participant's signed entries.
CREATE TABLE participants (
    incident_id     TEXT COLLATE "C" NOT NULL REFERENCES incidents(id),
    team            TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    acknowledged_at BIGINT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (incident_id, team)
);

-- The timeline. position is assigned by the coordinator; NULL while an entry written
-- here waits for the coordinator to sequence it.
CREATE TABLE entries (
    id          TEXT COLLATE "C" PRIMARY KEY,
    incident_id TEXT COLLATE "C" NOT NULL REFERENCES incidents(id),
    position    BIGINT,
    team        TEXT COLLATE "C" NOT NULL,
    author      TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL,
    tlp         TEXT COLLATE "C" NOT NULL,
    recipients  TEXT COLLATE "C" NOT NULL DEFAULT '',
    data        TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    signature   BYTEA NOT NULL
);
CREATE UNIQUE INDEX entries_position ON entries (incident_id, position);

-- One row per peer: sequence counters and what operators need to see of the link.
CREATE TABLE links (
    peer              TEXT COLLATE "C" PRIMARY KEY,
    next_seq          BIGINT NOT NULL DEFAULT 1,
    last_in_seq       BIGINT NOT NULL DEFAULT 0,
    last_contact_at   BIGINT,
    last_delivered_at BIGINT,
    last_error        TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_error_at     BIGINT
);

-- Envelopes waiting for (or done with) delivery. Written in the transaction of the
-- change that caused them; kept with the peer's receipt as evidence.
CREATE TABLE outbox (
    peer         TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,
    object_id    TEXT COLLATE "C" NOT NULL,
    envelope     BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT,
    receipt      BYTEA,
    PRIMARY KEY (peer, seq)
);
CREATE INDEX outbox_pending ON outbox (peer, delivered_at, seq);

-- Envelopes applied here, with the receipt we signed: exactly-once by (origin, seq).
CREATE TABLE inbox (
    origin      TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    digest      BYTEA NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    object_id   TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    received_at BIGINT NOT NULL,
    envelope    BYTEA NOT NULL,
    receipt     BYTEA NOT NULL,
    PRIMARY KEY (origin, seq)
);

-- Federation traffic refused before it was applied, and why.
CREATE TABLE refusals (
    id      TEXT COLLATE "C" PRIMARY KEY,
    at      BIGINT NOT NULL,
    peer    TEXT COLLATE "C" NOT NULL,
    remote  TEXT COLLATE "C" NOT NULL,
    reason  TEXT COLLATE "C" NOT NULL,
    detail  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX refusals_at ON refusals (at);

-- Who did what. Each row's hash covers the previous row's, so an edit shows.
CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    object    TEXT COLLATE "C" NOT NULL,
    detail    TEXT COLLATE "C" NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);
