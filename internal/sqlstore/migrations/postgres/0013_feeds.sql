-- PostgreSQL twin of sqlite/0013_feeds.sql. Bulk feeds (issue 12): the network owners of our constituency, and each feed run with
-- its counts and the routed events it produced.

-- A network owner: an ISP, a university, a hosting company. The networks, AS numbers,
-- domains and abuse contacts are one JSON document (doc): an owner is always read whole,
-- to build the routing index or to send it its report, and route.Build checks the claims.
CREATE TABLE net_owners (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One ingestion of one feed file. state: running while events are being written, done
-- once every chunk and the counts are committed, failed when the input or the database
-- failed, interrupted when the process running it stopped (updated_at went stale).
-- Only a done run's chunks are ever delivered. counts is JSON: per owner, per partner,
-- the malformed rows' line numbers.
CREATE TABLE feed_runs (
    id              TEXT COLLATE "C" PRIMARY KEY,
    format          TEXT COLLATE "C" NOT NULL,
    report          TEXT COLLATE "C" NOT NULL DEFAULT '',
    feed            TEXT COLLATE "C" NOT NULL DEFAULT '',
    file_name       TEXT COLLATE "C" NOT NULL DEFAULT '',
    tlp             TEXT COLLATE "C" NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    state           TEXT COLLATE "C" NOT NULL,
    started_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    events          BIGINT NOT NULL DEFAULT 0,
    routed_owners   BIGINT NOT NULL DEFAULT 0,
    routed_partners BIGINT NOT NULL DEFAULT 0,
    unrouted        BIGINT NOT NULL DEFAULT 0,
    malformed       BIGINT NOT NULL DEFAULT 0,
    counts          TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    failure         TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX feed_runs_started ON feed_runs (started_at);

-- A run's routed events, a chunk at a time: kind is owner, partner or unrouted, target
-- the owner's or partner's id ('' when unrouted), data the events as JSON lines,
-- DEFLATE-compressed, each with its raw row.
CREATE TABLE feed_chunks (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES feed_runs(id) ON DELETE CASCADE,
    seq    BIGINT NOT NULL,
    kind   TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    events INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX feed_chunks_target ON feed_chunks (run_id, kind, target);
