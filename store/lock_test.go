//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two opens of one lock file conflict as two processes do (flock belongs
// to the open file description): the second is refused with the file and
// the holder's pid; a symbolic link to the database shares its lock; after
// Release the next one gets it.
func TestLockDatabaseRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "bot.db")
	first, err := LockDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDatabase(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.DB != path || le.LockFile != path+".lock" {
		t.Fatalf("second lock: %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("message: %s", msg)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LockDatabase(link); !errors.As(err, &le) {
		t.Fatalf("through a symlink: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := LockDatabase(path)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}
