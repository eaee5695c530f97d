-- The shared indicators each MISP feed has carried (issue 16; docs/misp.md). An
-- indicator whose label is later made stricter, so that the feed's audience may no longer
-- have it, stays in that feed as a deleted attribute without content: MISP then drops
-- the copy it holds, as it does for a revoked one.
CREATE TABLE misp_feed_served (
    feed         TEXT COLLATE "C" NOT NULL,
    indicator_id TEXT COLLATE "C" NOT NULL,
    served_at    BIGINT NOT NULL,
    PRIMARY KEY (feed, indicator_id)
);
