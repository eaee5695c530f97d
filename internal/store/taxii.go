package store

import (
	"context"
	"time"
)

// TAXIICollection is a TAXII 2.1 collection this node serves.
type TAXIICollection struct {
	ID          string
	Title       string
	Description string
	// LastSeq is the sequence number of the newest object added, LastAdded its
	// date_added.
	LastSeq   int64
	LastAdded time.Time
}

// TAXIIObject is one version of one STIX object in a collection.
type TAXIIObject struct {
	Collection string
	// Seq is the object's place in its collection, handed out at insert in commit
	// order: the paging cursor.
	Seq         int64
	ID          string
	Version     time.Time // modified, or created for an object without one
	SpecVersion string
	Type        string
	TLP         string
	// DateAdded is when the version entered the collection: strictly increasing with
	// Seq, so added_after is as exact as the cursor.
	DateAdded time.Time
	Latest    bool
	Source    string
	Raw       []byte
}

// TAXIIVersion selects versions of an object: the first, the last (the default),
// all, or the versions with these modified times.
type TAXIIVersion struct {
	First, Last, All bool
	At               []time.Time
}

// TAXIIQuery selects objects of one collection in Seq order.
type TAXIIQuery struct {
	Collection string
	// AfterSeq is the cursor: only objects added after that one.
	AfterSeq int64
	// AddedAfter, when set, keeps only objects added after that instant.
	AddedAfter *time.Time
	// IDs, Types, SpecVersions: empty matches all.
	IDs, Types, SpecVersions []string
	// Labels are the TLP labels the reader may receive; empty matches none.
	Labels  []string
	Version TAXIIVersion
	// Limit bounds the answer; the store returns up to Limit+1 objects so that the
	// caller knows whether there are more.
	Limit int
	// MetaOnly leaves Raw empty (manifest, versions).
	MetaOnly bool
}

// TAXIIConsumer is an outside client's account on the TAXII server.
type TAXIIConsumer struct {
	Name         string
	PasswordHash string // Argon2id (auth.HashPassword)
	TokenHash    string // SHA-256 of the bearer token (auth.HashToken)
	// Ceiling is the strictest TLP label the consumer's audience may receive; Team, when
	// set, is the one team it stands for.
	Ceiling    string
	Team       string
	CanWrite   bool
	CreatedAt  time.Time
	DisabledAt *time.Time
	LastSeenAt *time.Time
}

// TAXIISource is a remote TAXII collection pulled on a schedule.
type TAXIISource struct {
	ID         string
	URL        string // the remote API root
	Collection string
	Username   string
	Secret     string // a password with Username, else a bearer token
	TLP        string // the label pulled objects without a TLP marking get
	Interval   time.Duration
	// NextAdded is the resume point: the newest date_added seen, as the remote wrote it.
	NextAdded  string
	LastPullAt *time.Time
	LastOKAt   *time.Time
	LastCount  int64
	Total      int64
	LastError  string
	CreatedAt  time.Time
}

// TAXII stores the TAXII server's collections, objects, consumers and status resources,
// and the client's sources.
type TAXII interface {
	// EnsureTAXIICollection creates the collection if it is not there.
	EnsureTAXIICollection(ctx context.Context, c TAXIICollection) error
	TAXIICollections(ctx context.Context) ([]TAXIICollection, error)
	// AddTAXIIObjects adds objects to a collection, each taking the next Seq and a
	// DateAdded no earlier than now; a version already held is skipped. It returns the
	// objects added, with Seq and DateAdded set.
	AddTAXIIObjects(ctx context.Context, collection string, objs []TAXIIObject, now time.Time) ([]TAXIIObject, error)
	TAXIIObjects(ctx context.Context, q TAXIIQuery) ([]TAXIIObject, error)
	// DeleteTAXIIObjects deletes the versions of an object that q selects (its IDs,
	// Version, SpecVersions) and reports how many.
	DeleteTAXIIObjects(ctx context.Context, q TAXIIQuery) (int, error)

	PutTAXIIConsumer(ctx context.Context, c TAXIIConsumer) error
	TAXIIConsumer(ctx context.Context, name string) (TAXIIConsumer, error)
	TAXIIConsumerByToken(ctx context.Context, hash string) (TAXIIConsumer, error)
	TAXIIConsumers(ctx context.Context) ([]TAXIIConsumer, error)
	DeleteTAXIIConsumer(ctx context.Context, name string) error
	// TouchTAXIIConsumer records that the consumer was seen at at.
	TouchTAXIIConsumer(ctx context.Context, name string, at time.Time) error

	PutTAXIIStatus(ctx context.Context, id, consumer string, at time.Time, doc []byte) error
	TAXIIStatus(ctx context.Context, id string) (consumer string, doc []byte, err error)

	PutTAXIISource(ctx context.Context, s TAXIISource) error
	TAXIISource(ctx context.Context, id string) (TAXIISource, error)
	TAXIISources(ctx context.Context) ([]TAXIISource, error)
	DeleteTAXIISource(ctx context.Context, id string) error
}
