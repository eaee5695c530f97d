-- Collaboration aggregates: each team's figures for a period (counts and percentiles,
-- no case content), the JSON of a wire.MetricsAggregate. This node's own row is the
-- last it published, each partner's the last it received; at is when the team computed
-- it (microseconds), so that an older aggregate arriving late never replaces a newer.
CREATE TABLE metrics_aggregates (
    team        TEXT NOT NULL,
    period      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    data        TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (team, period)
);
CREATE INDEX metrics_aggregates_period ON metrics_aggregates (period);
