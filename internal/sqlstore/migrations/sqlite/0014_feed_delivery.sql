-- Delivering feed runs (issue 12 items 5 and 6, issue 8 item 3): partners' routed reports
-- received over federation, what each finished run still has to deliver, and the reports
-- sent to network owners.

-- A run received from a partner is a feed run with its origin (the partner's team id) and
-- the partner's run id; a local run has origin ''.
ALTER TABLE feed_runs ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE feed_runs ADD COLUMN source_run TEXT NOT NULL DEFAULT '';
CREATE INDEX feed_runs_origin ON feed_runs (origin, started_at);

-- What a finished run has to deliver, written in the transaction that finishes it: kind
-- partner (a bulk report to the partner's node; contact '') or owner (one row per abuse
-- contact of the owner). state: pending until due_at, then sent (the partner's chunks
-- are in the outbox), reported (the owner's events are in report report_id) or refused
-- (the egress rule kept every event home).
CREATE TABLE feed_deliveries (
    run_id     TEXT NOT NULL REFERENCES feed_runs(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    contact    TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL,
    due_at     BIGINT NOT NULL,
    report_id  TEXT NOT NULL DEFAULT '',
    events     BIGINT NOT NULL DEFAULT 0,
    refused    BIGINT NOT NULL DEFAULT 0,
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind, target, contact)
);
CREATE INDEX feed_deliveries_due ON feed_deliveries (kind, state, due_at);
CREATE INDEX feed_deliveries_report ON feed_deliveries (report_id);

-- One e-mail to one contact of a network owner with its events of one or more runs.
-- state: pending (to send at next_at), sending (claimed: an attempt is under way),
-- sent, failed (gave up after retries), unknown (the process stopped during the attempt:
-- never sent again automatically, so no owner gets a report twice).
CREATE TABLE owner_reports (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    contact    TEXT NOT NULL,
    language   TEXT NOT NULL,
    format     TEXT NOT NULL,
    encrypted  INTEGER NOT NULL DEFAULT 0,
    events     BIGINT NOT NULL DEFAULT 0,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at    BIGINT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX owner_reports_owner ON owner_reports (owner_id, created_at);
CREATE INDEX owner_reports_due ON owner_reports (state, next_at);
