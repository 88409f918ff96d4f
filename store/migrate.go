package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rsvpbot/rsvpbot/store/migrations"
)

// Migrations are plain SQL files run by goose, embedded so the binary carries
// its schema. Files are numbered NNNNN_name.sql; each feature adds its own.
// A change SQL cannot make alone (one needing crypto/rand) is a Go migration
// in package migrations, numbered the same way and registered here.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// PostgreSQL has its own migrations (migrations/postgres): its schema
// starts as one file, numbered as the SQLite history it equals, and each
// later change is a file in both directories under the same number.
//
//go:embed all:migrations
var migrationTree embed.FS

// ErrNewerSchema means the database was migrated by a newer rsvpbot.
var ErrNewerSchema = errors.New("database schema is newer than this binary")

func (db *DB) provider() (*goose.Provider, error) {
	if db.pg {
		sub, err := fs.Sub(migrationTree, "migrations/postgres")
		if err != nil {
			return nil, err
		}
		locker, err := db.migrationLock()
		if err != nil {
			return nil, err
		}
		return goose.NewProvider(goose.DialectPostgres, db.W, sub, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db.W, sub, goose.WithGoMigrations(migrations.ShareCodes(NewShareCode)))
}

// Schema is a package's own set of migrations, applied by Open after the
// store's (Options.Schemas): the package that alone queries some tables
// keeps their schema beside its code (the outbox does), numbered on its
// own and recorded in its own version table.
type Schema struct {
	// Name names the set in errors ("outbox").
	Name string
	// Table is goose's version table for the set ("goose_outbox"); it
	// must differ from every other set's.
	Table string
	// Files holds the set's NNNNN_name.sql files at its root.
	Files fs.FS
	// PostgresFiles holds the set's migrations for PostgreSQL.
	PostgresFiles fs.FS
}

func (db *DB) schemaProvider(s Schema) (*goose.Provider, error) {
	if s.Table == "" || s.Table == goose.DefaultTablename {
		return nil, fmt.Errorf("schema %s: needs a version table of its own", s.Name)
	}
	if db.pg {
		if s.PostgresFiles == nil {
			return nil, fmt.Errorf("schema %s: has no PostgreSQL migrations", s.Name)
		}
		locker, err := db.migrationLock()
		if err != nil {
			return nil, err
		}
		return goose.NewProvider(goose.DialectPostgres, db.W, s.PostgresFiles, goose.WithTableName(s.Table), goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(goose.DialectSQLite3, db.W, s.Files, goose.WithTableName(s.Table))
}

// providers are the store's migrations, then each of Options.Schemas.
func (db *DB) providers() (names []string, ps []*goose.Provider, err error) {
	p, err := db.provider()
	if err != nil {
		return nil, nil, err
	}
	names, ps = []string{"store"}, []*goose.Provider{p}
	for _, s := range db.opts.Schemas {
		p, err := db.schemaProvider(s)
		if err != nil {
			return nil, nil, err
		}
		names, ps = append(names, s.Name), append(ps, p)
	}
	return names, ps, nil
}

// migrationLock keeps replicas that start together on PostgreSQL from
// migrating at once (a race to create the same tables): goose holds a
// session advisory lock, keyed by the database and schema, while it
// migrates; the others wait for it (retrying every second, for up to 5
// minutes) and then find nothing left to do.
func (db *DB) migrationLock() (lock.SessionLocker, error) {
	return lock.NewPostgresSessionLocker(lock.WithLockID(db.lockID), lock.WithLockTimeout(1, 300))
}

func latestOf(p *goose.Provider) (latest int64) {
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	return latest
}

// SchemaVersion returns the version the database is at and the newest
// version this binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("database %s: reading schema version: %w", db.path, err)
	}
	return current, latestOf(p), nil
}

// Migrate applies pending migrations, the store's and then those of each
// of Options.Schemas, and returns how many ran. A database whose version
// of a set is above every migration this binary has was written by a
// newer rsvpbot: it is refused, untouched, rather than half-understood.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	names, ps, err := db.providers()
	if err != nil {
		return 0, err
	}
	for i, p := range ps {
		current, err := p.GetDBVersion(ctx)
		if err != nil {
			return 0, fmt.Errorf("database %s: reading %s schema version: %w", db.path, names[i], err)
		}
		if latest := latestOf(p); current > latest {
			return 0, fmt.Errorf("database %s is at %s schema version %d but this rsvpbot knows only up to %d; run the newer rsvpbot or restore a backup: %w",
				db.path, names[i], current, latest, ErrNewerSchema)
		}
	}
	n := 0
	for i, p := range ps {
		res, err := p.Up(ctx)
		n += len(res)
		if err != nil {
			return n, fmt.Errorf("database %s: migrating %s: %w", db.path, names[i], err)
		}
	}
	return n, nil
}
