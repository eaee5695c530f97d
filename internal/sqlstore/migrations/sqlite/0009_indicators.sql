-- Shared indicators and sightings (issue 11; docs/indicators.md).

-- One row per shared object this node holds: its own and its partners'. The author team
-- alone writes an object; version grows with each of its changes and a holder applies a
-- version only when it is newer than the one it holds. state is active, or revoked (the
-- author's signed tombstone: kept forever, so a late copy never resurrects it) or
-- withdrawn (the author narrowed the audience and we are no longer in it). A tombstone
-- keeps the id, author and version and forgets the content. The columns searched or
-- filtered on are columns; the rest of the object is one JSON document (doc).
CREATE TABLE indicators (
    id          TEXT PRIMARY KEY,
    author      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    state       TEXT NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    category    TEXT NOT NULL,
    tlp         TEXT NOT NULL,
    confidence  INTEGER NOT NULL,
    valid_until BIGINT,
    modified_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
-- Search: an exact value, an address's enclosing CIDRs, a host's parent domains — all
-- are lookups of exact values (internal/indicator/search.go).
CREATE INDEX indicators_value ON indicators (value);
CREATE INDEX indicators_modified ON indicators (modified_at);

-- The teams the author's node sent an object to, with the last version each got: a
-- tombstone goes to every one of them, whatever the audience is by then.
CREATE TABLE indicator_holders (
    indicator_id TEXT NOT NULL,
    team         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL,
    PRIMARY KEY (indicator_id, team)
);

-- Sightings and feedback on an object, each owned by the team that reported it and never
-- changed: seen (count, first and last seen), false-positive, taken-down, blocked.
CREATE TABLE sightings (
    id           TEXT PRIMARY KEY,
    indicator_id TEXT NOT NULL,
    team         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    count        BIGINT NOT NULL,
    first_seen   BIGINT,
    last_seen    BIGINT,
    tlp          TEXT NOT NULL,
    at           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX sightings_indicator ON sightings (indicator_id, at);

-- Search across incidents' observables by their canonical value.
CREATE INDEX entries_observable ON entries (body) WHERE kind = 'observable';
