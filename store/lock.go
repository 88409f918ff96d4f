package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Lock is the claim of one bot process on a database file: two bots on one
// database would both reset the rows the other is sending and answer the
// same updates. It is a lock file beside the database (path + ".lock")
// that the process holds locked for as long as it runs; the operating
// system releases it when the process ends, however it ends, so a lock
// file left behind by a crash claims nothing. The file holds the pid of the
// process that holds it, for the message that refuses a second one.
type Lock struct {
	f *os.File
}

// LockedError means another process holds the database's Lock.
type LockedError struct {
	DB       string // the database file
	LockFile string
	PID      int // the holder's pid, 0 if unknown
}

func (e *LockedError) Error() string {
	who := "another rsvpbot process"
	if e.PID > 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("database %s is in use by %s, which holds %s; two bots on one database would answer the same updates twice: stop the other one, or give this one its own database",
		e.DB, who, e.LockFile)
}

// LockDatabase takes the Lock of the database at path, creating its
// directory and lock file if needed. A database another process holds is
// refused with a *LockedError naming it and the holder's pid. A symbolic
// link is followed, so two paths to one file share a lock.
func LockDatabase(path string) (*Lock, error) {
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("database %s: cannot create its directory: %w", path, err)
	}
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("database %s: cannot open its lock file: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("database %s: cannot lock %s: %w", path, name, err)
	}
	if held {
		b, _ := os.ReadFile(name)
		f.Close()
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &LockedError{DB: path, LockFile: name, PID: pid}
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("database %s: cannot write its lock file %s: %w", path, name, err)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up (ending the process does too). The file stays:
// removing it could let a second process lock a file that a third then
// replaces.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
