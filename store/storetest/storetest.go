// Package storetest gives tests the database they run on: an SQLite file,
// or, when RSVPBOT_TEST_BACKEND=postgres, a fresh PostgreSQL schema. The
// store, outbox and scheduler tests open their databases through DSN, so
// `make test` runs the same tests on both backends (a test matrix, not a
// copy of the tests).
//
// RSVPBOT_TEST_POSTGRES is the PostgreSQL server's URL
// (postgres://user@host:5432/db?sslmode=disable). CI sets it; a test that
// needs PostgreSQL (Postgres) then fails if the server is not there, and
// on a laptop without it such a test skips with one line.
package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Names of the environment variables.
const (
	EnvBackend  = "RSVPBOT_TEST_BACKEND"
	EnvPostgres = "RSVPBOT_TEST_POSTGRES"
)

// defaultURL is the PostgreSQL a laptop asking for the postgres backend
// without naming a server gets: the project machines' local one.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// OnPostgres reports whether the tests run on PostgreSQL.
func OnPostgres() bool { return os.Getenv(EnvBackend) == "postgres" }

// DSN returns what to pass store.Open for the test database at path: path
// itself on SQLite; on PostgreSQL the URL of a schema of its own, named
// after path (the same path gives the same schema, so a test can reopen
// its database), created empty and dropped when the test ends.
func DSN(t testing.TB, path string) string {
	t.Helper()
	if !OnPostgres() {
		return path
	}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		base = defaultURL
	}
	return Schema(t, base, path)
}

// Postgres returns the URL of a fresh PostgreSQL schema for a test that
// needs PostgreSQL whatever the backend: it fails if RSVPBOT_TEST_POSTGRES
// is set and the server is not reachable, and skips with one line if it is
// not set.
func Postgres(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip("no PostgreSQL: set RSVPBOT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (CI does)")
	}
	// Test names repeat across packages, whose tests run at once: the
	// package's directory makes the key unique.
	dir, _ := os.Getwd()
	return Schema(t, base, dir+"/"+t.Name()+"/"+name)
}

// Schema creates the schema named after key in the database at base
// (dropping one left by an earlier run first, once per test) and returns
// base with search_path set to it.
func Schema(t testing.TB, base, key string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	schema := "t_" + hex.EncodeToString(sum[:10])
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			t.Fatalf("PostgreSQL: create schema: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, base)
			if err != nil {
				t.Logf("PostgreSQL: dropping schema %s: %v", schema, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
				t.Logf("PostgreSQL: dropping schema %s: %v", schema, err)
			}
		})
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Strings runs query on db (a *sql.DB or *sql.Tx) and returns its one
// text column, row by row: what schema comparisons between the two
// backends read.
func Strings(t testing.TB, db interface {
	Query(query string, args ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
