-- PostgreSQL twin of sqlite/0016_stix_kept.sql. STIX objects a shared-indicator import could not map, kept as they came (issue 16,
-- item 1; docs/stix.md "Kept objects"). raw is the object's exact JSON; digest its
-- SHA-256 (hex), so the same bytes imported twice are held once while a different
-- object under the same id (another producer's SCO) is still kept. version is the
-- object's modified (else created) time in microseconds, 0 when it has neither. tlp is
-- the label egress.Decide is asked about for every way out; imported_by, imported_at
-- and source (the bundle) are the provenance; why says what the import could not map.
CREATE TABLE stix_kept (
    id          TEXT COLLATE "C" PRIMARY KEY,
    stix_id     TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    tlp         TEXT COLLATE "C" NOT NULL,
    digest      TEXT COLLATE "C" NOT NULL,
    imported_by TEXT COLLATE "C" NOT NULL,
    imported_at BIGINT NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    why         TEXT COLLATE "C" NOT NULL,
    raw         TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX stix_kept_object ON stix_kept (stix_id, digest);
CREATE INDEX stix_kept_imported ON stix_kept (imported_at, id);
