-- Shared indicators at bulk scale (issue 11 with issue 8): streaming import, bulk sending
-- and faster search (docs/indicators.md, "Import" and "Search").
-- PostgreSQL twin of sqlite/0018_indicator_bulk.sql.

-- An indicator version written by an import and not yet queued for partners: written
-- in the transaction that writes the version, deleted in the one that queues its bulk
-- chunks, so a crash between the two neither loses a version nor sends it twice. One
-- row per object: a later version replaces an earlier one not yet sent (the receivers
-- need only the newest).
CREATE TABLE indicator_unsent (
    indicator_id TEXT COLLATE "C" PRIMARY KEY,
    version      BIGINT NOT NULL,
    queued_at    BIGINT NOT NULL
);
CREATE INDEX indicator_unsent_queued ON indicator_unsent (queued_at, indicator_id);

-- Search and correlation read a hit's shown columns from the index alone (no table row,
-- no JSON document): the covering index of exact value lookups.
CREATE INDEX indicators_value_cover ON indicators (value, state, modified_at, id)
    INCLUDE (type, author, tlp, category, confidence, valid_until);
DROP INDEX indicators_value;
