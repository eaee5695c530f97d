-- Who is on call at each partner team: the latest oncall.summary each peer sent.
-- data is the summary as JSON; at is when the partner's node made it (microseconds),
-- so that an older summary arriving late never replaces a newer one.
CREATE TABLE peer_oncall (
    team        TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
