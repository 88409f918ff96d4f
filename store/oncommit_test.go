package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"runtime"
	"sync"
	"testing"
)

// A hook runs after the commit of the caller that registered it and for
// no one else: a transaction that registered nothing runs nothing, one
// that failed runs nothing, and the hook sees the caller's work committed.
func TestOnCommitOnlyForTheCallerThatAsked(t *testing.T) {
	db := openSQLiteTest(t) // the callers commit as one group: SQLite's group commit
	ctx := context.Background()
	if _, err := db.W.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ran []string
	seen := map[string]bool{} // the hook's row was visible to a reader when it ran
	hook := func(tx *sql.Tx, name string, k int) error {
		return OnCommit(ctx, tx, func() {
			var n int
			db.R.QueryRow(`SELECT count(*) FROM kv WHERE k = ?`, k).Scan(&n)
			mu.Lock()
			ran = append(ran, name)
			seen[name] = n == 1
			mu.Unlock()
		})
	}

	// Held open so that the others queue and commit as one group.
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			close(started)
			<-release
			_, err := tx.Exec(`INSERT INTO kv VALUES (1)`)
			return err
		}); err != nil {
			t.Error(err)
		}
	})
	<-started
	errFail := errors.New("fails after asking")
	results := make([]error, 3)
	wg.Go(func() {
		results[0] = db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO kv VALUES (2)`); err != nil {
				return err
			}
			return hook(tx, "asked", 2)
		})
	})
	wg.Go(func() {
		results[1] = db.Tx(ctx, func(tx *sql.Tx) error {
			if err := hook(tx, "failed", 3); err != nil {
				return err
			}
			return errFail
		})
	})
	wg.Go(func() {
		results[2] = db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO kv VALUES (4)`)
			return err
		})
	})
	for {
		db.group.mu.Lock()
		queued := len(db.group.queue)
		db.group.mu.Unlock()
		if queued == 3 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if results[0] != nil || !errors.Is(results[1], errFail) || results[2] != nil {
		t.Fatalf("results %v", results)
	}
	snapshot := func() ([]string, map[string]bool) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ran...), maps.Clone(seen)
	}
	if got, visible := snapshot(); len(got) != 1 || got[0] != "asked" || !visible["asked"] {
		t.Fatalf("hooks ran: %v (row visible: %v), want only the committed caller that asked, after its commit", got, visible)
	}

	// A transaction alone, that asks and then fails: nothing.
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if err := hook(tx, "alone", 5); err != nil {
			return err
		}
		return errFail
	})
	if got, _ := snapshot(); !errors.Is(err, errFail) || len(got) != 1 {
		t.Fatalf("a failed lone transaction: %v, hooks %v", err, got)
	}
}

// Only the DB's write transactions take hooks.
func TestOnCommitNeedsAWriteTransaction(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	tx, err := db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := OnCommit(ctx, tx, func() {}); !errors.Is(err, ErrNotWriter) {
		t.Fatalf("on a reader: %v, want ErrNotWriter", err)
	}
}
