-- PostgreSQL twin of sqlite/0004_peer_oncall.sql: who is on call at each partner team,
-- the latest summary each peer sent. Differences as in 0001: TEXT COLLATE "C", BIGINT times.

-- Who is on call at each partner team: the latest oncall.summary each peer sent.
-- data is the summary as JSON; at is when the partner's node made it (microseconds),
-- so that an older summary arriving late never replaces a newer one.
CREATE TABLE peer_oncall (
    team        TEXT COLLATE "C" PRIMARY KEY,
    data        TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
