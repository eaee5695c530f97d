-- What each owner report carried (issue 12, item 6): per run, the range of the owner's
-- chunk numbers and the events in it, recorded when the report is sent. A resend
-- (resend_of: the report it repeats) carries the same ranges, so it holds exactly the
-- events the first one did, of that owner only.
ALTER TABLE owner_reports ADD COLUMN resend_of TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE owner_report_runs (
    report_id TEXT COLLATE "C" NOT NULL REFERENCES owner_reports(id) ON DELETE CASCADE,
    run_id    TEXT COLLATE "C" NOT NULL,
    seq_from  BIGINT NOT NULL,
    seq_to    BIGINT NOT NULL,
    events    BIGINT NOT NULL,
    PRIMARY KEY (report_id, run_id)
);
