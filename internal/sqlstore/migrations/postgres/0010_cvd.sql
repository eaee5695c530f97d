-- PostgreSQL twin of sqlite/0010_cvd.sql (differences as in 0001: TEXT COLLATE "C", BYTEA, BIGINT microsecond times).
-- A case's shared state is the JSON the cvd package folds from its timeline; private
-- holds what only this node keeps (the reporter, at the owner). Vendors are this team's
-- own contacts for a case and never leave the node unless shared.
CREATE TABLE cvd_cases (
    id            TEXT COLLATE "C" PRIMARY KEY,
    owner         TEXT COLLATE "C" NOT NULL,
    title         TEXT COLLATE "C" NOT NULL,
    state         TEXT COLLATE "C" NOT NULL,
    private       TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    last_position BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX cvd_cases_updated ON cvd_cases (updated_at);
CREATE TABLE cvd_entries (
    id         TEXT COLLATE "C" PRIMARY KEY,
    case_id    TEXT COLLATE "C" NOT NULL REFERENCES cvd_cases (id),
    position   BIGINT NOT NULL DEFAULT 0,
    team       TEXT COLLATE "C" NOT NULL,
    author     TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    body       TEXT COLLATE "C" NOT NULL,
    tlp        TEXT COLLATE "C" NOT NULL,
    data       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    signature  BYTEA NOT NULL
);
CREATE INDEX cvd_entries_case ON cvd_entries (case_id, position);
CREATE TABLE cvd_vendors (
    id         TEXT COLLATE "C" PRIMARY KEY,
    case_id    TEXT COLLATE "C" NOT NULL REFERENCES cvd_cases (id),
    name       TEXT COLLATE "C" NOT NULL,
    contact    TEXT COLLATE "C" NOT NULL,
    email      TEXT COLLATE "C" NOT NULL,
    products   TEXT COLLATE "C" NOT NULL,
    shared     INTEGER NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cvd_vendors_case ON cvd_vendors (case_id);
