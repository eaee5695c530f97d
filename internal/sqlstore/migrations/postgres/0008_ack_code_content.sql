-- PostgreSQL twin of sqlite/0008_ack_code_content.sql: the same flag, INTEGER 0/1 as
-- every flag here, so that the queries bind the same values on both databases.

-- Whether the mail that carried an acknowledgement code showed the page's content, as
-- the egress decision for that mail allowed: the acknowledgement form shows no more
-- than the mail did. Codes made before this migration count as notices (0), the
-- discreet choice.
ALTER TABLE ack_codes ADD COLUMN shows_content INTEGER NOT NULL DEFAULT 0;
