-- Mail exchanged with a case's vendor through the case's reply address (issue 13). It
-- stays on this node, like the vendor.
CREATE TABLE cvd_vendor_messages (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cvd_cases (id),
    vendor_id  TEXT NOT NULL REFERENCES cvd_vendors (id),
    direction  TEXT NOT NULL,
    address    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cvd_vendor_messages_case ON cvd_vendor_messages (case_id, created_at);
