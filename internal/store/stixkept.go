package store

import (
	"context"
	"time"
)

// STIXKeptObject is a STIX object an import could not map, kept byte for byte with
// where it came from, so that it is served again unchanged.
type STIXKeptObject struct {
	ID      string
	STIXID  string
	Type    string
	Version time.Time // modified, else created; zero for an object with neither
	// TLP is the label every way out decides on: the strictest TLP marking of the
	// object, or the import's label when it carries none it can be read from.
	TLP string
	// Digest is the SHA-256 (hex) of Raw: the same bytes are held once.
	Digest     string
	ImportedBy string
	ImportedAt time.Time
	Source     string // the bundle it came in
	Why        string // what the import could not map
	Raw        []byte
}

// STIXKeptQuery selects kept objects in the order they were imported.
type STIXKeptQuery struct {
	// AfterAt and AfterID are the cursor: objects imported after that one (by
	// ImportedAt, then ID).
	AfterAt time.Time
	AfterID string
	// Labels are the TLP labels the reader may receive; nil matches all.
	Labels []string
	Limit  int
}

// STIXKept stores the objects STIX imports keep unmapped (migration 0016).
type STIXKept interface {
	// AddSTIXKept stores the objects whose (STIXID, Digest) is not held yet and
	// returns those it stored.
	AddSTIXKept(ctx context.Context, objs []STIXKeptObject) ([]STIXKeptObject, error)
	STIXKeptObjects(ctx context.Context, q STIXKeptQuery) ([]STIXKeptObject, error)
}
