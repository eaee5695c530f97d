-- Routing feed runs on workers through a JetStream work queue (issue 15, item 4).

-- A batch of a queued run that a worker routed: recorded in the transaction that writes
-- its chunks, so a batch delivered again (its worker died before acknowledging) is
-- recognised and routed once. counts is JSON: per owner and per partner.
CREATE TABLE feed_run_batches (
    run_id          TEXT NOT NULL REFERENCES feed_runs(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    events          BIGINT NOT NULL,
    routed_owners   BIGINT NOT NULL,
    routed_partners BIGINT NOT NULL,
    unrouted        BIGINT NOT NULL,
    counts          TEXT NOT NULL,
    routed_by       TEXT NOT NULL,
    routed_at       BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- The ingesting process's last word on a queued run: how many batches it queued and the
-- parser's malformed rows (errors is JSON). The run is done when as many batches are
-- recorded.
CREATE TABLE feed_run_seals (
    run_id    TEXT PRIMARY KEY REFERENCES feed_runs(id) ON DELETE CASCADE,
    batches   BIGINT NOT NULL,
    malformed BIGINT NOT NULL,
    errors    TEXT NOT NULL,
    capped    BIGINT NOT NULL,
    sealed_at BIGINT NOT NULL
);
