-- The partner directory (issue 9): partners added at runtime, their key history, and
-- the node's own directory settings (its constituency and version, its key history).

-- A partner: status (pending, active, suspended, revoked) and its description as one
-- JSON document (doc), always read whole to rebuild the in-memory directory.
CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every key a partner has signed with. A retired key verifies what was signed before
-- retired_at until grace_until; reason: introduced, rotated, compromised, replaced.
CREATE TABLE partner_keys (
    team        TEXT NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    retired_at  BIGINT,
    grace_until BIGINT,
    reason      TEXT NOT NULL,
    PRIMARY KEY (team, public_key)
);

-- Settings of the directory that are this node's own, as JSON.
CREATE TABLE directory_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
