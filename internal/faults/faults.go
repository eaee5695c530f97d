// Package faults makes real storage faults for tests: files that cannot be written,
// a disk that is full. Nothing is simulated: SQLite meets the same errors as on a
// broken machine.
package faults

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
)

// skip skips a test whose fault this machine cannot make (no root, no tmpfs, no
// immutable attribute). Each such fault has a variant that runs where this one cannot:
// the mode of a file as an unprivileged user, SQLite's own SQLITE_FULL.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Skipf(format, args...)
}

// Unwritable takes write access to the file at path away, by its mode or, as root
// (whom modes do not bind), by the immutable attribute. It returns what gives access
// back; that also runs at cleanup.
func Unwritable(t testing.TB, path string) (restore func()) {
	t.Helper()
	if os.Geteuid() == 0 {
		return Immutable(t, path)
	}
	return ReadOnlyMode(t, path)
}

// ReadOnlyMode takes the owner's write permission away (chmod 0400), as an operator's
// chmod or a restore from backup would; restore makes it 0600.
func ReadOnlyMode(t testing.TB, path string) (restore func()) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("mode bits do not bind root")
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	return once(t, func() error { return os.Chmod(path, 0o600) })
}

// Immutable sets the file's immutable attribute (chattr +i), which stops root too,
// and the writes of descriptors opened before. It needs root with CAP_LINUX_IMMUTABLE
// on a file system that has the attribute.
func Immutable(t testing.TB, path string) (restore func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("setting the immutable attribute needs root")
	}
	if err := setImmutable(path, true); err != nil {
		skip(t, "cannot make %s immutable: %v", path, err)
	}
	return once(t, func() error { return setImmutable(path, false) })
}

func once(t testing.TB, f func() error) func() {
	var o sync.Once
	restore := func() {
		o.Do(func() {
			if err := f(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// Fill writes to path until the file system has leave bytes left, or with leave 0 until
// it is full (ENOSPC).
func Fill(t testing.TB, path string, leave uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := int64(1 << 40)
	if leave > 0 {
		free, err := FreeBytes(path)
		if err != nil {
			t.Fatal(err)
		}
		n = int64(free) - int64(leave)
	}
	_, err = io.CopyN(f, zeros{}, n)
	switch {
	case leave == 0 && !errors.Is(err, syscall.ENOSPC):
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	case leave > 0 && err != nil:
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
