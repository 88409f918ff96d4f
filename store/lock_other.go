//go:build !unix

package store

import "os"

// tryLock is a no-op where flock does not exist: the lock then claims
// nothing, and running one bot per database is the operator's care.
func tryLock(*os.File) (held bool, err error) { return false, nil }
