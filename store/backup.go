package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// BackupResult describes a copy Backup wrote and checked.
type BackupResult struct {
	// Path is the copy's file.
	Path string
	// Size is its size in bytes.
	Size int64
	// SchemaVersion is the store schema version the copy is at (the
	// source's, read in the same run).
	SchemaVersion int64
	// Took is how long the copy and its check took.
	Took time.Duration
}

// ErrBackupExists means the file a backup was asked to write exists: a
// backup never overwrites a file.
var ErrBackupExists = errors.New("backup file already exists")

// ErrPostgresBackup is Backup's answer for a PostgreSQL database, which
// PostgreSQL's own tools back up consistently while it runs.
var ErrPostgresBackup = errors.New("backups of PostgreSQL: use pg_dump (or the server's base backups), not rsvpbot backup")

// Backup writes a consistent copy of the database at src to the new file
// dst, while a bot may be running on src, and checks it before it calls
// it done.
//
// The copy is SQLite's VACUUM INTO, run on a connection of its own (the
// bot's lock, store.LockDatabase, is not taken). In WAL mode it reads one
// snapshot in a read transaction: it never takes the write lock, so
// writers (the bot's updates) go on committing meanwhile; they only
// compete for the CPU and the disk. Checkpoints cannot pass the snapshot,
// so the -wal file grows during the copy and is checkpointed after it.
//
// The copy runs at the lowest CPU and I/O priority (on Linux, for its
// thread alone), so it takes what the bot leaves free.
//
// dst is written under a hidden temporary name beside it
// (.NAME.*.partial), synced, opened and checked (quick_check, and the
// same schema version as the source), and only then linked to dst, which
// fails if dst exists: the file at dst, if any, is never overwritten, and
// a file at dst is always a complete, checked copy. The temporary file is
// removed on every error (a crash can leave one behind; it is never read).
// The copy is compact (VACUUM) and in rollback-journal mode; a bot started
// on it switches it to WAL.
//
// A PostgreSQL database (src a postgres:// URL) is not copied here: ErrPostgresBackup.
func Backup(ctx context.Context, src, dst string, opts Options) (BackupResult, error) {
	opts = opts.withDefaults()
	start := time.Now()
	res := BackupResult{Path: dst}
	if IsPostgresURL(src) {
		return res, ErrPostgresBackup
	}
	if src == "" || dst == "" {
		return res, errors.New("backup: database path and backup file must both be given")
	}
	if fi, err := os.Stat(src); err != nil {
		return res, fmt.Errorf("database %s: %w", src, err)
	} else if !fi.Mode().IsRegular() {
		return res, fmt.Errorf("database %s is not a regular file", src)
	}
	if _, err := os.Lstat(dst); err == nil {
		return res, fmt.Errorf("%w: %s; a backup never overwrites a file: give a new name, or move the old file away first", ErrBackupExists, dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("backup file %s: %w", dst, err)
	}
	dir := filepath.Dir(dst)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return res, fmt.Errorf("backup file %s: directory %s does not exist", dst, dir)
	}

	tmpf, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".*.partial")
	if err != nil {
		return res, fmt.Errorf("backup file %s: cannot write in %s: %w", dst, dir, err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()

	version, err := vacuumInto(ctx, src, tmp, opts)
	if err != nil {
		return res, err
	}
	if err := syncFile(tmp); err != nil {
		return res, fmt.Errorf("backup file %s: %w", dst, err)
	}
	if err := checkBackup(ctx, tmp, version, opts); err != nil {
		return res, fmt.Errorf("backup of %s failed its check, nothing was written to %s: %w", src, dst, err)
	}
	if err := linkNew(tmp, dst); err != nil {
		return res, err
	}
	done = true
	os.Remove(tmp)
	syncDir(dir)

	fi, err := os.Stat(dst)
	if err != nil {
		return res, fmt.Errorf("backup file %s: %w", dst, err)
	}
	res.Size, res.SchemaVersion, res.Took = fi.Size(), version, time.Since(start)
	return res, nil
}

// vacuumInto copies src into the empty file tmp and returns the source's
// schema version, read in the same snapshot's run.
func vacuumInto(ctx context.Context, src, tmp string, opts Options) (int64, error) {
	// A read-write connection of its own: VACUUM INTO writes its output
	// through the connection, so a read-only one (mode=ro, query_only)
	// cannot run it. mode=rw never creates a database at a mistyped path,
	// and nothing here writes to src.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Set("mode", "rw")
	conn := sql.OpenDB(connector{dsn: "file:" + src + "?" + q.Encode(), drv: &sqlite.Driver{}})
	conn.SetMaxOpenConns(1)
	defer conn.Close()
	srcDB := &DB{W: conn, R: conn, path: src, opts: opts, hooks: &commitHooks{}}

	var tables int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&tables); err != nil {
		return 0, srcDB.explain(err)
	}
	if tables == 0 {
		return 0, fmt.Errorf("database %s is not an rsvpbot database (no schema version); nothing to back up", src)
	}
	version, _, err := srcDB.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	// The copy yields to the bot: lowest CPU and I/O priority.
	inBackground(func() { _, err = conn.ExecContext(ctx, `VACUUM INTO ?`, tmp) })
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("backup of %s stopped: %w", src, ctx.Err())
		}
		return 0, fmt.Errorf("backup of %s: %w", src, srcDB.explain(err))
	}
	return version, nil
}

// checkBackup opens the copy read-only and checks it is a sound database
// at the schema version of its source.
func checkBackup(ctx context.Context, path string, version int64, opts Options) error {
	db, err := OpenReadOnly(ctx, path, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.R.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fmt.Errorf("quick_check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("quick_check: %s", res)
	}
	got, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if got != version {
		return fmt.Errorf("the copy is at schema version %d, its source at %d (was the database migrated meanwhile? run the backup again)", got, version)
	}
	return nil
}

// linkNew gives the file at tmp the name dst, failing if dst exists
// (a hard link, which the kernel refuses over an existing name). Where
// hard links are not supported it renames, after checking dst is free.
func linkNew(tmp, dst string) error {
	err := os.Link(tmp, dst)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s (written meanwhile by someone else; it was left as it was)", ErrBackupExists, dst)
	}
	if _, serr := os.Lstat(dst); serr == nil {
		return fmt.Errorf("%w: %s (written meanwhile by someone else; it was left as it was)", ErrBackupExists, dst)
	}
	if rerr := os.Rename(tmp, dst); rerr != nil {
		return fmt.Errorf("backup file %s: %w", dst, errors.Join(err, rerr))
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// syncDir makes a new name in dir durable; best effort (not every
// platform can sync a directory).
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// BackupPrefix starts the name of each file BackupToDir writes:
// rsvpbot-20261207T031500Z.db.
const BackupPrefix = "rsvpbot-"

// backupStamp is the time in a backup's name: UTC, sortable as text.
const backupStamp = "20060102T150405Z"

// BackupToDir writes a Backup of src into dir, named after the time at
// (BackupPrefix, then the UTC time, then .db), and then removes the
// oldest such files beyond the newest keep (keep < 1 keeps them all).
// Only files of that exact name pattern are ever removed; a failed backup
// removes nothing. It returns the new backup and the files removed; an
// error with a result whose Size is set means the backup was written and
// only removing an old one failed.
func BackupToDir(ctx context.Context, src, dir string, at time.Time, keep int, opts Options) (BackupResult, []string, error) {
	name := filepath.Join(dir, BackupPrefix+at.UTC().Format(backupStamp)+".db")
	res, err := Backup(ctx, src, name, opts)
	if err != nil {
		return res, nil, err
	}
	all, err := BackupsIn(dir)
	if err != nil || keep < 1 || len(all) <= keep {
		return res, nil, err
	}
	var removed []string
	var errs []error
	for _, old := range all[:len(all)-keep] {
		if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, old)
	}
	return res, removed, errors.Join(errs...)
}

// BackupTime is the time in the name of a file BackupToDir wrote; ok is
// false for any other name.
func BackupTime(path string) (at time.Time, ok bool) {
	stamp, ok := strings.CutPrefix(filepath.Base(path), BackupPrefix)
	if !ok {
		return time.Time{}, false
	}
	stamp, ok = strings.CutSuffix(stamp, ".db")
	at, err := time.Parse(backupStamp, stamp)
	return at, ok && err == nil
}

// BackupsIn lists the files BackupToDir wrote in dir, oldest first.
func BackupsIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if _, ok := BackupTime(name); !ok || !e.Type().IsRegular() {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	slices.Sort(out)
	return out, nil
}
