-- Vulnerability coordination (internal/cvd).
-- A case's shared state is the JSON the cvd package folds from its timeline; private
-- holds what only this node keeps (the reporter, at the owner). Vendors are this team's
-- own contacts for a case and never leave the node unless shared.
CREATE TABLE cvd_cases (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    title         TEXT NOT NULL,
    state         TEXT NOT NULL,
    private       TEXT NOT NULL DEFAULT '{}',
    last_position BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX cvd_cases_updated ON cvd_cases (updated_at);
CREATE TABLE cvd_entries (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cvd_cases (id),
    position   BIGINT NOT NULL DEFAULT 0,
    team       TEXT NOT NULL,
    author     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    tlp        TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    signature  BLOB NOT NULL
);
CREATE INDEX cvd_entries_case ON cvd_entries (case_id, position);
CREATE TABLE cvd_vendors (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cvd_cases (id),
    name       TEXT NOT NULL,
    contact    TEXT NOT NULL,
    email      TEXT NOT NULL,
    products   TEXT NOT NULL,
    shared     INTEGER NOT NULL,
    user_name  TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cvd_vendors_case ON cvd_vendors (case_id);
