package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secureFiles makes the database's files readable by the node's user alone. SQLite
// creates a database 0644 and gives its -wal and -shm the database file's mode, so a
// database created here first, 0600, keeps all three private. An existing file that
// others may read is tightened; a data directory others may enter is reported, not
// changed, since it may be shared (the files in it are private either way). It returns
// what it found and did, for the node's log.
func secureFiles(path string) ([]string, error) {
	var notes []string
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				notes = append(notes, fmt.Sprintf("%s is mode %04o and could not be made private: %v", p, perm, err))
				continue
			}
			notes = append(notes, fmt.Sprintf("%s was mode %04o; now %04o", p, perm, perm&0o700))
		}
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		notes = append(notes, fmt.Sprintf("data directory %s is mode %04o: others can list it; chmod 700 it unless it is shared on purpose", dir, fi.Mode().Perm()))
	}
	return notes, nil
}

// PermissionNotes says what opening the database found wrong with its files'
// permissions, and what it changed.
func (db *DB) PermissionNotes() []string { return db.notes }
