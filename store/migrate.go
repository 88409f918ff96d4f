package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/rsvpbot/rsvpbot/store/migrations"
)

// Migrations are plain SQL files run by goose, embedded so the binary carries
// its schema. Files are numbered NNNNN_name.sql; each feature adds its own.
// A change SQL cannot make alone (one needing crypto/rand) is a Go migration
// in package migrations, numbered the same way and registered here.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNewerSchema means the database was migrated by a newer rsvpbot.
var ErrNewerSchema = errors.New("database schema is newer than this binary")

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db.W, sub, goose.WithGoMigrations(migrations.ShareCodes(NewShareCode)))
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
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	return current, latest, nil
}

// Migrate applies pending migrations and returns how many ran. A database
// whose version is above every migration this binary has was written by a
// newer rsvpbot: it is refused, untouched, rather than half-understood.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	current, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if current > latest {
		return 0, fmt.Errorf("database %s is at schema version %d but this rsvpbot knows only up to %d; run the newer rsvpbot or restore a backup: %w",
			db.path, current, latest, ErrNewerSchema)
	}
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("database %s: migrating: %w", db.path, err)
	}
	return len(res), nil
}
