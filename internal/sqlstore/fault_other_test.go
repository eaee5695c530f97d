//go:build !linux

package sqlstore

import (
	"errors"
	"os"
	"testing"
)

func setImmutable(string, bool) error { return errors.ErrUnsupported }

// asUnprivileged: mode bits bind everyone but root; as root elsewhere than Linux the
// variant cannot run.
func asUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("mode bits do not bind root")
	}
	return true
}
