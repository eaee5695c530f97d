-- TAXII 2.1 server and client (issue 16, items 2 and 3; docs/taxii.md).

-- A collection and its counter: last_seq is the sequence number of the newest object
-- added, last_added its date_added. An insert takes the next number and a date_added no
-- earlier than the last one while holding this row, so numbers are handed out in commit
-- order: a reader that sees number n sees every number below it, and paging by number
-- never skips an object that commits while a client is between pages.
CREATE TABLE taxii_collections (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    last_seq    BIGINT NOT NULL,
    last_added  BIGINT NOT NULL
);

-- One version of one STIX object in a collection, as it was added (raw, byte for byte).
-- version is the object's modified (or created) time in microseconds; latest says no
-- later version of the id is held. tlp is the label egress.Decide is asked about.
-- source is where the object came from: our own shared objects (local), a consumer's
-- POST (consumer:NAME), or a pulled TAXII source (source:ID).
CREATE TABLE taxii_objects (
    collection   TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    stix_id      TEXT NOT NULL,
    version      BIGINT NOT NULL,
    spec_version TEXT NOT NULL,
    type         TEXT NOT NULL,
    tlp          TEXT NOT NULL,
    date_added   BIGINT NOT NULL,
    latest       INTEGER NOT NULL,
    source       TEXT NOT NULL,
    raw          TEXT NOT NULL,
    PRIMARY KEY (collection, seq)
);
CREATE UNIQUE INDEX taxii_objects_version ON taxii_objects (collection, stix_id, version, spec_version);
CREATE INDEX taxii_objects_added ON taxii_objects (collection, date_added);

-- A consumer account: a SOC, a partner's tool. Only hashes of its secrets are kept (the
-- password's Argon2id, the bearer token's SHA-256). ceiling is the strictest label its
-- audience may receive; team, when set, names the one team it stands for.
CREATE TABLE taxii_consumers (
    name         TEXT PRIMARY KEY,
    password     TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    ceiling      TEXT NOT NULL,
    team         TEXT NOT NULL,
    can_write    INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    disabled_at  BIGINT,
    last_seen_at BIGINT
);
CREATE INDEX taxii_consumers_token ON taxii_consumers (token_hash);

-- The status resource of a POST, kept for its consumer to read (doc is the JSON).
CREATE TABLE taxii_status (
    id         TEXT PRIMARY KEY,
    consumer   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    doc        TEXT NOT NULL
);

-- A remote TAXII collection this node pulls from on a schedule. secret is the remote's
-- credential, which the node must present and so cannot hash. next_added is the newest
-- date_added seen (the resume point); state holds the last pull's counts and error.
CREATE TABLE taxii_sources (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    collection   TEXT NOT NULL,
    username     TEXT NOT NULL,
    secret       TEXT NOT NULL,
    tlp          TEXT NOT NULL,
    interval_s   BIGINT NOT NULL,
    next_added   TEXT NOT NULL,
    last_pull_at BIGINT,
    last_ok_at   BIGINT,
    last_count   BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    last_error   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
