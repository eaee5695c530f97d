-- PostgreSQL twin of sqlite/0002_hotline.sql: the hotline's pages, deliveries,
-- escalations, notification attempts, on-call documents, comm checks and the engine's
-- leases. Differences as in 0001: BYTEA for BLOB, TEXT COLLATE "C", BIGINT times,
-- INTEGER flags. The leases table is what lets several replicas share one database:
-- TryLease is one INSERT … ON CONFLICT … WHERE, atomic under PostgreSQL's row lock.

-- The hotline: pages between teams, the receiving team's escalation, every notification
-- attempt, on-call configuration and comm checks. Every timer lives here, not in memory,
-- so a crash or restart loses no page and skips no escalation step.

-- A page, as its sender and each receiver hold it.
CREATE TABLE pages (
    id           TEXT COLLATE "C" PRIMARY KEY,
    origin       TEXT COLLATE "C" NOT NULL,
    severity     TEXT COLLATE "C" NOT NULL,
    summary      TEXT COLLATE "C" NOT NULL,
    details      TEXT COLLATE "C" NOT NULL,
    incident_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    tlp          TEXT COLLATE "C" NOT NULL,
    drill        INTEGER NOT NULL DEFAULT 0,
    commcheck_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by   TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    resolved_at  BIGINT,
    resolved_by  TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX pages_created ON pages (created_at);

-- One row per receiving team: the sender has one for each team paged, a receiver one
-- for itself. States only move forward: sent, delivered, notified, acknowledged, resolved.
CREATE TABLE deliveries (
    page_id          TEXT COLLATE "C" NOT NULL REFERENCES pages(id),
    team             TEXT COLLATE "C" NOT NULL,
    state            TEXT COLLATE "C" NOT NULL,
    sent_at          BIGINT NOT NULL,
    delivered_at     BIGINT,
    notified_at      BIGINT,
    notified_channel TEXT COLLATE "C" NOT NULL DEFAULT '',
    acknowledged_at  BIGINT,
    acknowledged_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    ack_via          TEXT COLLATE "C" NOT NULL DEFAULT '',
    ack_statement    BYTEA,
    receipt          BYTEA,
    fallback_at      BIGINT,
    fallback_error   TEXT COLLATE "C" NOT NULL DEFAULT '',
    resolved_at      BIGINT,
    PRIMARY KEY (page_id, team)
);
CREATE INDEX deliveries_state ON deliveries (state, sent_at);

-- The receiving side's escalation of one page, under the policy as it was on arrival.
CREATE TABLE escalations (
    page_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES pages(id),
    policy      TEXT COLLATE "C" NOT NULL,
    round       BIGINT NOT NULL,
    level       BIGINT NOT NULL,
    next_at     BIGINT,
    started_at  BIGINT NOT NULL,
    stopped_at  BIGINT,
    stop_reason TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX escalations_due ON escalations (next_at);

-- Every attempt to reach a person. dedupe_key makes creating an attempt idempotent, and
-- an attempt is claimed (sending) before it is made, so a crash never sends it twice.
CREATE TABLE notifications (
    id          TEXT COLLATE "C" PRIMARY KEY,
    page_id     TEXT COLLATE "C" NOT NULL REFERENCES pages(id),
    user_name   TEXT COLLATE "C" NOT NULL,
    channel     TEXT COLLATE "C" NOT NULL,
    address     TEXT COLLATE "C" NOT NULL,
    round       BIGINT NOT NULL,
    level       BIGINT NOT NULL,
    dedupe_key  TEXT COLLATE "C" NOT NULL UNIQUE,
    state       TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    attempted_at BIGINT,
    finished_at BIGINT,
    error       TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX notifications_state ON notifications (state, created_at);
-- Rate limits and deduplication count a person's recent attempts on a channel.
CREATE INDEX notifications_contact ON notifications (user_name, channel, attempted_at);
-- Deduplication counts a person's attempts about one page; the timeline lists a page's.
CREATE INDEX notifications_page ON notifications (page_id, user_name, channel, attempted_at);

-- How to reach a person of this team besides the console.
CREATE TABLE contacts (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL,
    channel    TEXT COLLATE "C" NOT NULL,
    address    TEXT COLLATE "C" NOT NULL,
    pgp_key    TEXT COLLATE "C" NOT NULL DEFAULT '',
    secret     TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_user ON contacts (user_name);

-- One-time acknowledgement codes (only their hashes), sent by e-mail.
CREATE TABLE ack_codes (
    code_hash  TEXT COLLATE "C" PRIMARY KEY,
    page_id    TEXT COLLATE "C" NOT NULL REFERENCES pages(id),
    team       TEXT COLLATE "C" NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    purpose    TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- On-call configuration, as JSON documents validated in Go (internal/oncall).
CREATE TABLE rotations (
    id         TEXT COLLATE "C" PRIMARY KEY,
    data       TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE overrides (
    id          TEXT COLLATE "C" PRIMARY KEY,
    rotation_id TEXT COLLATE "C" NOT NULL,
    data        TEXT COLLATE "C" NOT NULL,
    end_at      BIGINT NOT NULL
);
CREATE TABLE policies (
    id         TEXT COLLATE "C" PRIMARY KEY,
    data       TEXT COLLATE "C" NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- Comm checks: drill pages to partners, and when they ran.
CREATE TABLE commchecks (
    id         TEXT COLLATE "C" PRIMARY KEY,
    page_id    TEXT COLLATE "C" NOT NULL,
    teams      TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX commchecks_created ON commchecks (created_at);

-- Leases give one replica the engine at a time (several replicas share one database).
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
