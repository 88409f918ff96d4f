package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// OpenReadOnly opens an existing database for reading only: the
// operator's read commands (rsvpbot outbox dead, show, stats) use it. It
// never migrates, creates or changes a file, so it works on a read-only
// file, directory or mount, beside a running bot, and as another user
// (it leaves no root-owned -shm or -wal file behind for the bot to trip
// on). Any write through the returned DB, Tx included, fails with SQLite's
// "attempt to write a readonly database".
//
// How it opens depends on the -wal file beside the database:
//
//   - with one, a process has the database open (or crashed with it open),
//     and newer commits may sit in the WAL: it opens with mode=ro, which
//     reads them through the existing -wal and -shm;
//   - without one, no connection has the database open in WAL mode (SQLite
//     removes the WAL when the last one closes), the file is the whole
//     database, and it opens with immutable=1: no locks, no -shm, nothing
//     created. (mode=ro alone would create -shm and -wal in a writable
//     directory, and cannot open the file where it cannot create them.) A
//     bot that starts while such a read is under way may make that read
//     fail; running it again is enough.
//
// On PostgreSQL (path a postgres:// URL) every transaction of the returned
// DB is read-only (default_transaction_read_only): a write fails with
// PostgreSQL's "cannot execute ... in a read-only transaction".
func OpenReadOnly(ctx context.Context, path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if IsPostgresURL(path) {
		if u, err := url.Parse(path); err == nil {
			q := u.Query()
			q.Set("default_transaction_read_only", "on")
			u.RawQuery = q.Encode()
			path = u.String()
		}
		return openPostgres(ctx, path, opts)
	}
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	_, walErr := os.Stat(path + "-wal")
	inUse := walErr == nil

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	q.Set("_txlock", "deferred")
	q.Set("mode", "ro")
	if !inUse {
		q.Set("immutable", "1")
	}
	dsn := "file:" + path + "?" + q.Encode()

	drv := &sqlite.Driver{}
	w := sql.OpenDB(connector{dsn: dsn, drv: drv})
	w.SetMaxOpenConns(1)
	r := sql.OpenDB(connector{dsn: dsn, drv: drv})
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	db := &DB{W: w, R: r, path: path, opts: opts, hooks: &commitHooks{}}

	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		db.Close()
		var se *sqlite.Error
		if errors.As(err, &se) {
			switch se.Code() & 0xff {
			case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
				return nil, fmt.Errorf("database %s is not a valid SQLite database or is damaged: %w", path, err)
			case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
				if inUse {
					return nil, fmt.Errorf("database %s cannot be read: it has a -wal file (a bot has it open, or stopped without closing it) "+
						"and its -shm file cannot be opened or created here; run this where the bot's files are writable, or start and stop the bot once: %w", path, err)
				}
			}
		}
		return nil, fmt.Errorf("database %s cannot be read: %w", path, err)
	}
	return db, nil
}
