package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fillInbox stores n handled updates received at recv, ids from first.
func fillInbox(t *testing.T, db *DB, first, n int64, recv time.Time, done bool) {
	t.Helper()
	payload := []byte(strings.Repeat("x", 400))
	mustTx(t, db, func(tx *sql.Tx) error {
		for id := first; id < first+n; id++ {
			var doneAt any
			if done {
				doneAt = Millis(recv)
			}
			if _, err := tx.Exec(`INSERT INTO inbox (update_id, kind, payload, received_at, done_at) VALUES (?, 'message', ?, ?, ?)`,
				id, payload, Millis(recv), doneAt); err != nil {
				return err
			}
		}
		return nil
	})
}

func inboxIDs(t *testing.T, db *DB) (ids []int64) {
	t.Helper()
	rows, err := db.R.Query(`SELECT update_id FROM inbox ORDER BY update_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// The batched purge deletes exactly the old handled rows, across batch
// boundaries, in one transaction per batch, and keeps the rest.
func TestPurgeBatchedDeletesExactlyTheOldRows(t *testing.T) {
	ctx := context.Background()
	var holds int
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{PurgeBatch: 7, ObserveHold: func(time.Duration) { holds++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old, recent := time.Now().Add(-30*24*time.Hour), time.Now()
	fillInbox(t, db, 1, 50, old, true)     // purged: 50 rows, 7 full batches and one of 1
	fillInbox(t, db, 51, 3, old, false)    // pending: kept however old
	fillInbox(t, db, 54, 10, recent, true) // recent: kept
	holds = 0
	n, err := PurgeInbox(ctx, db, recent.Add(-time.Hour))
	if err != nil || n != 50 {
		t.Fatalf("purged %d, %v; want 50", n, err)
	}
	ids := inboxIDs(t, db)
	if len(ids) != 13 || ids[0] != 51 || ids[12] != 63 {
		t.Fatalf("left %v", ids)
	}
	// 8 batches (the last one short), then the reclaim: a transaction
	// per step and one that finds nothing left to give back.
	if holds < 8 {
		t.Errorf("%d write transactions, want one per batch (8) at least", holds)
	}
	// Nothing left to purge: one batch, nothing deleted.
	if n, err := PurgeInbox(ctx, db, recent.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("second purge %d, %v", n, err)
	}
	// An exact multiple of the batch: the last full batch is followed by
	// an empty one, and nothing more.
	fillInbox(t, db, 100, 14, old, true)
	fillInbox(t, db, 200, 1, recent, true)
	if n, err := PurgeInbox(ctx, db, recent.Add(-time.Hour)); err != nil || n != 14 {
		t.Fatalf("purged %d, %v; want 14", n, err)
	}
}

// A purge stops when its context ends, between batches, returning what
// it deleted so far; what is left goes at the next run.
func TestPurgeBatchedStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelAfter bool
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), Options{PurgeBatch: 10, ObserveHold: func(time.Duration) {
		if cancelAfter {
			cancel() // the first batch has just committed
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := time.Now().Add(-30 * 24 * time.Hour)
	fillInbox(t, db, 1, 100, old, true)
	fillInbox(t, db, 1000, 1, time.Now(), true)
	cancelAfter = true
	n, err := PurgeInbox(ctx, db, time.Now().Add(-time.Hour))
	cancelAfter = false
	if !errors.Is(err, context.Canceled) || n != 10 {
		t.Fatalf("purged %d, %v; want 10 and context.Canceled", n, err)
	}
	if left := len(inboxIDs(t, db)); left != 91 {
		t.Fatalf("%d rows left, want 91", left)
	}
	n, err = PurgeInbox(context.Background(), db, time.Now().Add(-time.Hour))
	if err != nil || n != 90 {
		t.Fatalf("next run purged %d, %v; want 90", n, err)
	}
}

// A new database gives freed pages back: after a purge the file has
// fewer pages, no free ones, and is smaller on disk once the write-ahead
// log is checkpointed.
func TestPurgeShrinksTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if on, err := db.IncrementalVacuum(ctx); err != nil || !on {
		t.Fatalf("new database: incremental auto_vacuum %v, %v", on, err)
	}
	pages := func() (n, free int64) {
		t.Helper()
		if err := db.W.QueryRow(`PRAGMA page_count`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := db.W.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil {
			t.Fatal(err)
		}
		return n, free
	}
	size := func() int64 {
		t.Helper()
		if _, err := db.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	fillInbox(t, db, 1, 20_000, time.Now().Add(-30*24*time.Hour), true) // ~10 MB
	fillInbox(t, db, 100_000, 1, time.Now(), true)
	before, _ := pages()
	sizeBefore := size()
	if n, err := PurgeInbox(ctx, db, time.Now().Add(-time.Hour)); err != nil || n != 20_000 {
		t.Fatalf("purged %d, %v", n, err)
	}
	after, free := pages()
	sizeAfter := size()
	t.Logf("pages %d → %d (free %d), file %d → %d bytes", before, after, free, sizeBefore, sizeAfter)
	if free != 0 || after > before/10 {
		t.Errorf("pages %d → %d, %d free: the freed pages were not given back", before, after, free)
	}
	if sizeAfter > sizeBefore/10 {
		t.Errorf("file %d → %d bytes: it did not shrink", sizeBefore, sizeAfter)
	}
}

// An older database (auto_vacuum off) is switched once, keeping its rows.
func TestEnableIncrementalVacuum(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillInbox(t, db, 1, 10, time.Now(), true)
	// As rsvpbot before this change left it.
	if _, err := db.W.Exec(`PRAGMA auto_vacuum = NONE`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`VACUUM`); err != nil {
		t.Fatal(err)
	}
	if on, _ := db.IncrementalVacuum(ctx); on {
		t.Fatal("auto_vacuum still on")
	}
	// Nothing to give back on such a file: a no-op, not an error.
	if n, err := db.ReclaimFreePages(ctx); err != nil || n != 0 {
		t.Fatalf("reclaim on an old file: %d, %v", n, err)
	}
	db.Close()

	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if on, _ := db.IncrementalVacuum(ctx); on {
		t.Fatal("Open switched an existing database by itself")
	}
	if changed, err := db.EnableIncrementalVacuum(ctx); err != nil || !changed {
		t.Fatalf("switch: %v, %v", changed, err)
	}
	if on, _ := db.IncrementalVacuum(ctx); !on {
		t.Fatal("not switched")
	}
	if changed, err := db.EnableIncrementalVacuum(ctx); err != nil || changed {
		t.Fatalf("second switch: %v, %v", changed, err)
	}
	if ids := inboxIDs(t, db); len(ids) != 10 {
		t.Fatalf("rows after the switch: %v", ids)
	}
}

// queryPlan is EXPLAIN QUERY PLAN's lines for q (run with args).
func queryPlan(t *testing.T, q Querier, query string, args ...any) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

// Every purge batch finds its rows through an index: its plan searches,
// it never scans a table.
func TestPurgeStatementsSearchIndexes(t *testing.T) {
	db := openTest(t)
	for _, q := range append([]string{purgeInboxSQL}, purgeRemindersSQL...) {
		plan := queryPlan(t, db.R, q, 1, 2, 3, 4)
		t.Logf("%s\n  %s", q, strings.Join(plan, "\n  "))
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN ") {
				t.Errorf("a purge batch scans: %s\n%s", line, q)
			}
		}
	}
}
