package outbox

import (
	"embed"
	"io/fs"

	"github.com/rsvpbot/rsvpbot/store"
)

// The outbox's tables (outbox, ledger) are defined here, beside the only
// code that queries them, as numbered goose migrations recorded in their
// own version table.
//
// PostgreSQL has its own files (migrations/postgres: the same schema in
// its dialect, same version numbers).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed migrations/postgres/*.sql
var postgresMigrationFiles embed.FS

// Schema is the outbox's migration set.
func Schema() store.Schema {
	return store.Schema{Name: "outbox", Table: "goose_outbox", Files: sub(migrationFiles, "migrations"),
		PostgresFiles: sub(postgresMigrationFiles, "migrations/postgres")}
}

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded directory exists: a build error, not a runtime one
	}
	return s
}

// WithSchema adds the outbox's schema to opts: every store.Open of a
// database the outbox is used with passes it, so that Open creates (or
// upgrades) the outbox's tables.
func WithSchema(opts store.Options) store.Options {
	opts.Schemas = append(append([]store.Schema(nil), opts.Schemas...), Schema())
	return opts
}
