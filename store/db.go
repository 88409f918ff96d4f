package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is the database: one writer connection and a pool of readers.
type DB struct {
	// W is the single-connection writer pool. Use Tx rather than W directly
	// so that busy retries and commit/rollback are handled in one place.
	W *sql.DB
	// R is the read-only pool for queries that need no transaction.
	R *sql.DB

	path string
	opts Options
	// hooks collects the on-commit hooks of the transaction running on
	// the writer (oncommit.go).
	hooks *commitHooks
	// group batches concurrent transactions into one commit (groupcommit.go).
	group groupCommit

	// pg: the database is PostgreSQL (postgres.go); W and R are one pool.
	pg bool
	// lockID is the advisory lock migrations hold on PostgreSQL.
	lockID int64
	// The NOTIFY listener of PostgreSQL (postgres.go's listen).
	stopListen func()
	listening  sync.WaitGroup

	// writes is the outcome of the latest real write (WriteState).
	writesMu sync.Mutex
	writes   WriteState
}

// Options tune Open. The zero value is what production uses.
type Options struct {
	// Readers is the size of the read pool (default 4).
	Readers int
	// BusyTimeout is how long a connection waits on another process's lock
	// (the CLI, a backup) before SQLite reports busy (default 5 s).
	BusyTimeout time.Duration
	// Synchronous is the PRAGMA synchronous value (default NORMAL; see the
	// package doc for the trade-off).
	Synchronous string
	// TxRetries is how many times Tx retries a transaction that failed with
	// SQLITE_BUSY or SQLITE_LOCKED (default 5).
	TxRetries int
	// CommitFault, if set, is asked before every COMMIT; an error from it
	// fails that COMMIT (the transaction is rolled back and the error is
	// what COMMIT would have returned), as a full disk fails the commit of a
	// transaction whose statements all ran in memory. It is the seam tests
	// inject write failures through; production leaves it nil.
	CommitFault func() error
	// Schemas are packages' own migration sets, applied by Open (and
	// Migrate) after the store's, each with its own version table. A
	// package that owns tables offers its set (outbox.WithSchema); every
	// Open of a database those packages use passes it.
	Schemas []Schema
	// Now is the database's clock (default time.Now): what WriteState's
	// times are read from, and what callers without a clock of their own
	// stamp a transaction's rows with (DB.Now).
	Now func() time.Time
	// PurgeBatch is the most rows one transaction of PurgeBatched deletes
	// (default 500).
	PurgeBatch int
	// ObserveHold, if set, hears how long each write transaction held the
	// writer, from BEGIN to the end of its COMMIT or ROLLBACK: the time
	// every other write waited for it. Benchmarks read the longest hold
	// from it.
	ObserveHold func(time.Duration)
}

func (o Options) withDefaults() Options {
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	if o.TxRetries <= 0 {
		o.TxRetries = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PurgeBatch <= 0 {
		o.PurgeBatch = defaultPurgeBatch
	}
	return o
}

// Open opens (creating if needed) the database at path, checks that it is a
// healthy SQLite file the process can write, and applies pending migrations.
// Errors name the path. A file that is not a database, or one written by a
// newer rsvpbot, is refused and left untouched. A postgres:// URL opens
// PostgreSQL instead (postgres.go); errors name it with its password
// redacted.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	db, err := OpenNoMigrate(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate is Open without applying migrations; the migrate subcommand
// and tests of the migrator use it.
func OpenNoMigrate(ctx context.Context, path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if IsPostgresURL(path) {
		return openPostgres(ctx, path, opts)
	}
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("database %s: cannot create its directory: %w", path, err)
		}
	}
	drv := &sqlite.Driver{}
	hooks := &commitHooks{}
	w := sql.OpenDB(connector{dsn: dsn(path, opts, false), drv: drv, hooks: hooks})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	r := sql.OpenDB(connector{dsn: dsn(path, opts, true), drv: drv})
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)

	db := &DB{W: w, R: r, path: path, opts: opts, hooks: hooks}
	if err := db.check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// readerCacheKiB bounds each reader's page cache (PRAGMA cache_size, in
// KiB; SQLite's default is 2000). A reader's cache is emptied whenever
// another connection has committed since its last read (WAL), and the
// writer commits all the time, so a bigger one rarely serves a second
// query; yet each cached page (4 KiB and its header) takes an 8 KiB slot
// of modernc's allocator, so four full default caches hold about 15 MB of
// RSS. The writer's cache survives its own commits and keeps the default.
const readerCacheKiB = 512

// dsn builds a modernc.org/sqlite DSN. Pragmas are applied to every new
// connection of the pool, so they hold even after a connection is recycled.
func dsn(path string, o Options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	if readOnly {
		// query_only keeps a reader from writing by accident; WAL mode is a
		// property of the file, set once by the writer.
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", readerCacheKiB))
		q.Set("_txlock", "deferred")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// Group commit runs each caller in a savepoint, whose undo pages go
		// to a sub-journal: keep it in memory rather than a temp file.
		q.Add("_pragma", "temp_store(MEMORY)")
		// Checkpoints run in the background (groupcommit.go); this is the
		// writer's safety net.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walSafetyNet))
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// check proves the file is a database this process can write, so a bad path
// fails at start with a message naming it instead of at the first update.
func (db *DB) check(ctx context.Context) error {
	var mode string
	if err := db.W.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return db.explain(err)
	}
	if err := db.newFileVacuum(ctx); err != nil {
		return db.explain(err)
	}
	var res string
	if err := db.W.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return db.explain(err)
	}
	if res != "ok" {
		return fmt.Errorf("database %s is damaged (quick_check: %s); restore it from a backup, it was not modified", db.path, res)
	}
	// A write probe that is rolled back: it fails on a read-only file or
	// directory and leaves a good file exactly as it was.
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return db.explain(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "CREATE TABLE _write_probe(x)"); err != nil {
		return db.explain(err)
	}
	return nil
}

func (db *DB) explain(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("database %s is not a valid SQLite database or is damaged; it was not modified (move it aside or restore a backup): %w", db.path, err)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			return fmt.Errorf("database %s cannot be opened for writing; check the file and directory permissions: %w", db.path, err)
		}
	}
	return fmt.Errorf("database %s: %w", db.path, err)
}

// Now reads the database's clock (Options.Now). A transaction takes it
// once and stamps every row it writes with that one instant.
func (db *DB) Now() time.Time { return db.opts.Now() }

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// Options is what the database was opened with (a backup of it opens
// its connections the same way).
func (db *DB) Options() Options { return db.opts }

// Close closes both pools.
func (db *DB) Close() error {
	db.stopCheckpoints()
	if db.stopListen != nil {
		db.stopListen()
		db.listening.Wait()
	}
	if db.R == db.W {
		return db.W.Close()
	}
	return errors.Join(db.R.Close(), db.W.Close())
}

// Tx runs fn in a write transaction and commits it if fn returns nil.
//
// If the transaction cannot start or commit because another process holds
// the lock (SQLITE_BUSY/LOCKED after busy_timeout), Tx rolls back and runs fn
// again, up to Options.TxRetries times with a short jittered pause; so fn
// must have no effects outside tx. The same goes when fn's work was rolled
// back with the rest of its group (groupcommit.go) through no fault of its
// own. Any other error from fn rolls back and is
// returned as is. A fence in ctx (WithFence) runs first in every attempt. A panic in fn rolls back and is re-raised.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	fn = fenced(ctx, fn) // a lease holder's work (lease.go)
	var err error
	for attempt := 0; ; attempt++ {
		if db.pg {
			err = db.pgTx(ctx, fn)
		} else {
			err = db.tx1(ctx, fn)
		}
		if err == nil || !(IsBusy(err) || isPGRetry(err) || errors.Is(err, errGroupAborted)) || attempt >= db.opts.TxRetries {
			break
		}
		pause := time.Duration(10<<attempt)*time.Millisecond + time.Duration(rand.IntN(10))*time.Millisecond
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
	if err != nil && IsBusy(err) {
		return fmt.Errorf("database %s stayed locked by another process: %w", db.path, err)
	}
	return err
}

// IsUnavailable reports whether err means that the database could not take
// a write through no fault of what was written: the disk is full, an I/O
// error, the file turned read-only or could not be opened, memory ran out,
// another process kept the lock (busy/locked), or the transaction was rolled
// back with the others of its group. The same transaction may well succeed
// later, unchanged, so a caller keeps its work for a retry rather than
// recording it as failed.
func IsUnavailable(err error) bool {
	if errors.Is(err, errGroupAborted) || IsBusy(err) || isPGRetry(err) {
		return true
	}
	return isStorageFault(err) || isPGUnavailable(err)
}

// isStorageFault reports whether err is SQLite failing to write the file
// itself (as opposed to lock contention or a statement's own error).
func isStorageFault(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
			return true
		}
	}
	return false
}

// WriteState is what the latest real writes did. The readiness check
// reports it: a write probe that is rolled back never needs disk space, so
// it cannot see a full disk; commits can.
type WriteState struct {
	// LastOK is when a transaction last committed (zero if none has yet).
	LastOK time.Time
	// Err is why the latest write failed, nil if the latest write committed.
	Err error
	// FailingSince is when the current run of failed writes began (zero
	// while Err is nil).
	FailingSince time.Time
}

// WriteState returns the outcome of the latest write: a COMMIT, or a
// statement that failed because the file could not be written (disk full,
// I/O error, read-only). A success clears an earlier failure.
func (db *DB) WriteState() WriteState {
	db.writesMu.Lock()
	defer db.writesMu.Unlock()
	return db.writes
}

// noteWrite records the outcome of one write (see WriteState).
func (db *DB) noteWrite(err error) {
	now := db.Now()
	db.writesMu.Lock()
	defer db.writesMu.Unlock()
	if err == nil {
		db.writes = WriteState{LastOK: now}
		return
	}
	if db.writes.Err == nil {
		db.writes.FailingSince = now
	}
	db.writes.Err = err
}

// ProbeWrite commits a real write of one page (the header's user_version,
// rewritten with its own value), so it needs what any commit needs: the
// lock, and space for the write-ahead log to grow. Its outcome is recorded
// like any other commit's, so it turns WriteState back to ok once the disk
// has room again, even if nothing else writes.
func (db *DB) ProbeWrite(ctx context.Context) error {
	if db.pg {
		// A transaction id is a real write to PostgreSQL's log.
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_current_xact_id()`)
			return err
		})
	}
	return db.Tx(ctx, func(tx *sql.Tx) error {
		var v int64
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
		return err
	})
}

// IsBusy reports whether err is SQLite's "database is locked/busy".
func IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// Querier is what *sql.DB, *sql.Tx and *sql.Conn have in common; read
// helpers take it so they work inside and outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Millis converts a time to the Unix milliseconds stored in every time column.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the inverse of Millis; 0 is the zero time.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
