package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
)

// Committed pages reach the database file through the background
// checkpoints, well before the writer's own automatic checkpoint (the
// safety net) would copy them: the main file alone, without its -wal,
// holds what was committed before the first checkpoint.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	var auto int
	if err := db.W.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != walSafetyNet {
		t.Fatalf("the writer's wal_autocheckpoint is %d, want the safety net %d", auto, walSafetyNet)
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE ckpt(n INTEGER)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const commits = 2*checkpointEvery + 10 // a few pages each: far below the safety net
	for i := range commits {
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO ckpt(n) VALUES (?)", i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.stopCheckpoints() // waits for the one in flight

	// A copy of the main file alone.
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "main-only.db")
	if err := os.WriteFile(cp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := sql.OpenDB(connector{dsn: "file:" + cp, drv: &sqlite.Driver{}})
	defer c.Close()
	var n int
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM ckpt").Scan(&n); err != nil {
		t.Fatalf("the database file alone has no table committed %d commits ago: %v", commits, err)
	}
	if n < checkpointEvery {
		t.Fatalf("the database file alone holds %d of %d committed rows, want at least %d", n, commits, checkpointEvery)
	}
}

// Close waits for a background checkpoint, and none starts after it.
func TestCloseStopsCheckpoints(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range checkpointEvery - 1 {
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db.noteCommit() // the hundredth: too late to start one
	db.group.mu.Lock()
	running := db.group.checkpointing
	db.group.mu.Unlock()
	if running {
		t.Fatal("a checkpoint started after Close")
	}
}
