package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// The PostgreSQL schema (migrations/postgres) has the tables, columns
// (in order, with their NOT NULL), indexes and triggers' tables of the
// SQLite one, and nothing more but the counters' shard columns (see
// 00016_schema.sql). What the triggers compute is checked on both
// backends by TestCommunityCountsFollowTheRows.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "lite.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, storetest.Postgres(t, "schema"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if a, b := schemaVersion(t, lite), schemaVersion(t, pg); a != b {
		t.Errorf("schema version: SQLite %d, PostgreSQL %d", a, b)
	}

	want := strings.Join(sqliteSchema(t, lite.R), "\n")
	got := strings.Join(postgresSchema(t, pg.R), "\n")
	if got != want {
		t.Errorf("PostgreSQL schema differs from SQLite's:\n--- SQLite\n%s\n--- PostgreSQL\n%s", want, got)
	}
}

func schemaVersion(t *testing.T, db *DB) int64 {
	t.Helper()
	cur, _, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cur
}

// sharded are the counter tables whose PostgreSQL rows carry a shard.
var sharded = []string{"community_counts", "users_seen_days", "events_start_days"}

// A schema as lines: "table: col [not null], ...", then "index table.name".
func sqliteSchema(t *testing.T, q *sql.DB) []string {
	t.Helper()
	var out []string
	for _, table := range storetest.Strings(t, q, `SELECT name FROM sqlite_schema WHERE type = 'table'
AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`) {
		// A primary key column is NOT NULL on PostgreSQL whatever it says.
		cols := storetest.Strings(t, q, `SELECT name || CASE WHEN "notnull" = 1 OR pk > 0 THEN ' not null' ELSE '' END
FROM pragma_table_info('`+table+`') ORDER BY cid`)
		out = append(out, table+": "+strings.Join(cols, ", "))
	}
	idx := storetest.Strings(t, q, `SELECT tbl_name || '.' || name FROM sqlite_schema WHERE type = 'index'
AND name NOT LIKE 'sqlite_autoindex_%'`)
	for _, i := range idx {
		out = append(out, "index "+i)
	}
	for _, tb := range storetest.Strings(t, q, `SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'trigger'`) {
		out = append(out, "triggers on "+tb)
	}
	return sortTail(out)
}

func postgresSchema(t *testing.T, q *sql.DB) []string {
	t.Helper()
	var out []string
	for _, table := range storetest.Strings(t, q, `SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version' ORDER BY table_name`) {
		cols := storetest.Strings(t, q, `SELECT column_name || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '`+table+`'
AND NOT (column_name = 'shard' AND table_name IN ('`+strings.Join(sharded, "', '")+`'))
ORDER BY ordinal_position`)
		out = append(out, table+": "+strings.Join(cols, ", "))
	}
	// Indexes other than those of primary keys and UNIQUE constraints
	// (SQLite's autoindexes).
	idx := storetest.Strings(t, q, `SELECT i.tablename || '.' || i.indexname FROM pg_indexes i
WHERE i.schemaname = current_schema() AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.contype IN ('p', 'u'))`)
	for _, i := range idx {
		out = append(out, "index "+i)
	}
	for _, tb := range storetest.Strings(t, q, `SELECT DISTINCT event_object_table FROM information_schema.triggers
WHERE trigger_schema = current_schema()`) {
		out = append(out, "triggers on "+tb)
	}
	return sortTail(out)
}

// sortTail sorts the index and trigger lines (the table lines come sorted).
func sortTail(lines []string) []string {
	i := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "index ") })
	if i >= 0 {
		slices.Sort(lines[i:])
	}
	return lines
}
