package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"csirtlink/internal/store"
)

// MinFreeBytes is the free space below which the node calls its disk full even though a
// small write still went through: SQLite rewrites the probe's one page in the -wal's
// space, while the next incident may need room the disk no longer has.
const MinFreeBytes = 1 << 20

// ProbeWrite proves that the node can write: it rewrites the one row of write_probe in
// an immediate transaction, committed to disk like every other, and checks that the
// database's file system has room left. The error wraps store.ErrStorageFull or
// store.ErrStorageReadOnly when it is one of those.
func (db *DB) ProbeWrite(ctx context.Context, now time.Time) error {
	_, err := db.inTx(ctx, func(t store.Tx) error {
		_, err := t.(conn).exec(ctx, `UPDATE write_probe SET written_at = ? WHERE id = 1`, micros(now))
		return err
	})
	if err != nil {
		if p := db.d.storageProblem(err); p != nil {
			return fmt.Errorf("%w: %v", p, err)
		}
		return fmt.Errorf("sqlstore: write probe: %w", err)
	}
	if db.path == "" {
		return nil // a database server's disk is its own to watch (PostgreSQL says 53100 when full)
	}
	if free, err := freeBytes(filepath.Dir(db.path)); err == nil && free < MinFreeBytes {
		return fmt.Errorf("%w: %d bytes left on the database's file system", store.ErrStorageFull, free)
	}
	return nil
}
