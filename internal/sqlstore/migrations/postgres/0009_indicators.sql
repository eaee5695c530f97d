-- PostgreSQL twin of sqlite/0009_indicators.sql (differences as in 0001: TEXT COLLATE "C", BYTEA).
-- Shared indicators and sightings (issue 11; docs/indicators.md).

-- One row per shared object this node holds: its own and its partners'. The author team
-- alone writes an object; version grows with each of its changes and a holder applies a
-- version only when it is newer than the one it holds. state is active, or revoked (the
-- author's signed tombstone: kept forever, so a late copy never resurrects it) or
-- withdrawn (the author narrowed the audience and we are no longer in it). A tombstone
-- keeps the id, author and version and forgets the content. The columns searched or
-- filtered on are columns; the rest of the object is one JSON document (doc).
CREATE TABLE indicators (
    id          TEXT COLLATE "C" PRIMARY KEY,
    author      TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    category    TEXT COLLATE "C" NOT NULL,
    tlp         TEXT COLLATE "C" NOT NULL,
    confidence  INTEGER NOT NULL,
    valid_until BIGINT,
    modified_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL
);
-- Search: an exact value, an address's enclosing CIDRs, a host's parent domains — all
-- are lookups of exact values (internal/indicator/search.go).
CREATE INDEX indicators_value ON indicators (value);
CREATE INDEX indicators_modified ON indicators (modified_at);

-- The teams the author's node sent an object to, with the last version each got: a
-- tombstone goes to every one of them, whatever the audience is by then.
CREATE TABLE indicator_holders (
    indicator_id TEXT COLLATE "C" NOT NULL,
    team         TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL,
    PRIMARY KEY (indicator_id, team)
);

-- Sightings and feedback on an object, each owned by the team that reported it and never
-- changed: seen (count, first and last seen), false-positive, taken-down, blocked.
CREATE TABLE sightings (
    id           TEXT COLLATE "C" PRIMARY KEY,
    indicator_id TEXT COLLATE "C" NOT NULL,
    team         TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    count        BIGINT NOT NULL,
    first_seen   BIGINT,
    last_seen    BIGINT,
    tlp          TEXT COLLATE "C" NOT NULL,
    at           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    doc          TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sightings_indicator ON sightings (indicator_id, at);

-- Search across incidents' observables by their canonical value.
CREATE INDEX entries_observable ON entries (body) WHERE kind = 'observable';
