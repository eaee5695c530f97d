//go:build !linux

package faults

import (
	"errors"
	"os"
	"testing"
)

func setImmutable(string, bool) error { return errors.ErrUnsupported }

// FreeBytes is not known here.
func FreeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }

// SmallDisk needs Linux's tmpfs.
func SmallDisk(t testing.TB, size int) string {
	t.Helper()
	t.Skip("a small disk is made with Linux's tmpfs")
	return ""
}

// AsUnprivileged: mode bits bind everyone but root; as root elsewhere than Linux the
// test cannot run.
func AsUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("mode bits do not bind root")
	}
	return true
}
