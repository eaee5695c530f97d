//go:build !unix

package sqlstore

import "errors"

// freeBytes is not known here; the write probe alone decides.
func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
