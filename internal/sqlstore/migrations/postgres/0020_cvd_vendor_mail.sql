-- Mail exchanged with a case's vendor through the case's reply address (issue 13). It
-- stays on this node, like the vendor.
CREATE TABLE cvd_vendor_messages (
    id         TEXT COLLATE "C" PRIMARY KEY,
    case_id    TEXT COLLATE "C" NOT NULL REFERENCES cvd_cases (id),
    vendor_id  TEXT COLLATE "C" NOT NULL REFERENCES cvd_vendors (id),
    direction  TEXT COLLATE "C" NOT NULL,
    address    TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    body       TEXT COLLATE "C" NOT NULL,
    author     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cvd_vendor_messages_case ON cvd_vendor_messages (case_id, created_at);
