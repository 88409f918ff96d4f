package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// snapshot is what a read must not change: the directory's names and the
// database file's size, mode and modification time.
func snapshot(t *testing.T, path string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(names, fi.Mode(), fi.ModTime(), fi.Size())
}

func addChats(t *testing.T, db *store.DB, ids ...int64) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		for _, id := range ids {
			if err := store.UpsertChat(context.Background(), tx, store.Chat{ID: id, Type: "private"}, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func chatCount(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM chats`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenReadOnlyNeverWrites: a closed database opened read-only is read
// (schema version, rows) without a byte or a file changing, and writes
// through it fail (root is not stopped by permission bits; SQLite's
// read-only open is what holds).
func TestOpenReadOnlyNeverWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rsvpbot.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addChats(t, db, 1, 2)
	db.Close()
	before := snapshot(t, path)
	time.Sleep(10 * time.Millisecond) // a write would show in the modification time

	ro, err := store.OpenReadOnly(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cur, latest, err := ro.SchemaVersion(ctx); err != nil || cur != latest {
		t.Errorf("schema version %d/%d, %v", cur, latest, err)
	}
	if n := chatCount(t, ro); n != 2 {
		t.Errorf("%d chats", n)
	}
	err = ro.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM chats`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("a write through the read-only DB: %v", err)
	}
	if _, err := ro.R.Exec(`DELETE FROM chats`); err == nil {
		t.Error("a write through the read pool succeeded")
	}
	if after := snapshot(t, path); after != before {
		t.Errorf("while open: %s, before %s", after, before)
	}
	ro.Close()
	if after := snapshot(t, path); after != before {
		t.Errorf("after: %s, before %s", after, before)
	}

	if _, err := store.OpenReadOnly(ctx, filepath.Join(t.TempDir(), "missing.db"), store.Options{}); err == nil {
		t.Error("a missing file opened")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o644)
	if _, err := store.OpenReadOnly(ctx, junk, store.Options{}); err == nil || !strings.Contains(err.Error(), "not a valid SQLite database") {
		t.Errorf("junk: %v", err)
	}
}

// TestOpenReadOnlyBesideWriter: while a bot holds the database open, a
// read-only open sees its latest commits, and the bot keeps writing.
func TestOpenReadOnlyBesideWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rsvpbot.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	addChats(t, db, 1)
	ro, err := store.OpenReadOnly(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := chatCount(t, ro); n != 1 {
		t.Errorf("%d chats", n)
	}
	addChats(t, db, 2)
	if n := chatCount(t, ro); n != 2 {
		t.Errorf("after the writer's commit: %d chats", n)
	}
}

// TestOpenReadOnlyPostgres: on PostgreSQL a read-only open reads the
// writer's commits, and a write through it fails.
func TestOpenReadOnlyPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.Postgres(t, "ro")
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	addChats(t, db, 1)
	ro, err := store.OpenReadOnly(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := chatCount(t, ro); n != 1 {
		t.Errorf("%d chats", n)
	}
	err = ro.Tx(ctx, func(tx *sql.Tx) error {
		return store.UpsertChat(ctx, tx, store.Chat{ID: 2, Type: "private"}, time.Now())
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write through the read-only DB: %v", err)
	}
	if _, err := store.Backup(ctx, dsn, filepath.Join(t.TempDir(), "b.db"), store.Options{}); !errors.Is(err, store.ErrPostgresBackup) {
		t.Errorf("Backup of PostgreSQL: %v, want ErrPostgresBackup", err)
	}
}
