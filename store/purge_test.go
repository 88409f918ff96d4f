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

	"github.com/rsvpbot/rsvpbot/store/storetest"
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
	db, err := Open(ctx, storetest.DSN(t, filepath.Join(t.TempDir(), "p.db")), Options{PurgeBatch: 7, ObserveHold: func(time.Duration) { holds++ }})
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
	db, err := Open(context.Background(), storetest.DSN(t, filepath.Join(t.TempDir(), "p.db")), Options{PurgeBatch: 10, ObserveHold: func(time.Duration) {
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
	db := openSQLiteTest(t) // SQLite's query plans
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

// PurgeReminders in batches: the reminders, private sends, plans and mutes
// of events that ended before the cutoff go, those of later events stay.
func TestPurgeRemindersInBatches(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, storetest.DSN(t, filepath.Join(t.TempDir(), "p.db")), Options{PurgeBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cutoff := time.Now().Add(-90 * 24 * time.Hour)
	// Events 1-4 ended before the cutoff (4 with no end: the default
	// length); 5 started before it but ends after; 6 is upcoming.
	starts := []time.Time{cutoff.Add(-30 * 24 * time.Hour), cutoff.Add(-20 * 24 * time.Hour), cutoff.Add(-10 * 24 * time.Hour),
		cutoff.Add(-DefaultEventLength - time.Minute), cutoff.Add(-time.Hour), time.Now().Add(24 * time.Hour)}
	mustTx(t, db, func(tx *sql.Tx) error {
		for i, st := range starts {
			ev := int64(i + 1)
			var ends any = Millis(st.Add(3 * time.Hour))
			if ev == 4 {
				ends = nil
			}
			if _, err := tx.Exec(`INSERT INTO events (id, chat_id, creator_id, title, starts_at, ends_at, created_at, updated_at)
VALUES (?, -100, 1, 'E', ?, ?, 0, 0)`, ev, Millis(st), ends); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO reminder_plans (event_id, starts_at, spec, offsets, planned_at) VALUES (?, ?, '', '', 0)`, ev, Millis(st)); err != nil {
				return err
			}
			for k, off := range []time.Duration{time.Hour, 24 * time.Hour} {
				var rid int64
				if err := tx.QueryRow(`INSERT INTO reminders (event_id, offset_ms, due_at, starts_at, created_at) VALUES (?, ?, ?, ?, 0) RETURNING id`,
					ev, off.Milliseconds(), Millis(st.Add(-off)), Millis(st)).Scan(&rid); err != nil {
					return err
				}
				for u := range 4 {
					if _, err := tx.Exec(`INSERT INTO reminder_sends (reminder_id, user_id, outbox_id, created_at) VALUES (?, ?, ?, ?)`,
						rid, u, 1000*ev+int64(10*k+u), Millis(st.Add(-off))); err != nil {
						return err
					}
				}
			}
			for u := range 2 {
				if _, err := tx.Exec(`INSERT INTO reminder_mutes (event_id, user_id, created_at) VALUES (?, ?, ?)`, ev, u, Millis(st.Add(-time.Hour))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	n, err := PurgeReminders(ctx, db, cutoff)
	if err != nil || n != 8 {
		t.Fatalf("purged %d reminders, %v; want 8 (two of each of 4 events)", n, err)
	}
	for table, want := range map[string]int{"reminders": 4, "reminder_sends": 16, "reminder_plans": 2, "reminder_mutes": 4} {
		col := "event_id"
		if table == "reminder_sends" {
			col = "(SELECT event_id FROM reminders r WHERE r.id = reminder_id)"
		}
		var left, stray int
		db.R.QueryRow(`SELECT count(*), count(*) FILTER (WHERE `+col+` < 5) FROM `+table).Scan(&left, &stray)
		if left != want || stray != 0 {
			t.Errorf("%s: %d rows left (%d of ended events), want %d of events 5 and 6", table, left, stray, want)
		}
	}
}
