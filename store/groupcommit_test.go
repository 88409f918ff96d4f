package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Transactions that queue behind a running one are committed together,
// yet each keeps all-or-nothing for itself: a failing or panicking member
// leaves no trace, the others' writes all land, a caller whose context
// ended gets its error, and the panic is re-raised in its own goroutine.
func TestGroupCommitIsolatesMembers(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	if _, err := db.W.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var commits atomic.Int64
	counted := func(tx *sql.Tx) error { return OnCommit(ctx, tx, func() { commits.Add(1) }) }

	// A first transaction holds the writer until every other caller is
	// queued, so they run as one group.
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			close(started)
			<-release
			if err := counted(tx); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO kv VALUES (0, 'first')`)
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-started

	const n = 20
	errs := make([]error, n)
	panics := make([]any, n)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i-1] = recover() }()
			c := ctx
			if i == 7 {
				c = cancelled
			}
			errs[i-1] = db.Tx(c, func(tx *sql.Tx) error {
				// Each member writes two rows; the second one fails for
				// every fifth member, which must take the first with it.
				if err := counted(tx); err != nil {
					return err
				}
				if _, err := tx.Exec(`INSERT INTO kv VALUES (?, 'a')`, i*100); err != nil {
					return err
				}
				switch {
				case i%5 == 0:
					_, err := tx.Exec(`INSERT INTO kv VALUES (0, 'duplicate key')`)
					return err
				case i == 13:
					panic("member 13")
				}
				_, err := tx.Exec(`INSERT INTO kv VALUES (?, 'b')`, i*100+1)
				return err
			})
		}()
	}
	// Let them all queue behind the first.
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.group.mu.Lock()
		queued := len(db.group.queue)
		db.group.mu.Unlock()
		if queued == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()

	rows := map[int]bool{}
	r, err := db.R.Query(`SELECT k FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k int
		r.Scan(&k)
		rows[k] = true
	}
	r.Close()
	for i := 1; i <= n; i++ {
		failed := i%5 == 0 || i == 13 || i == 7
		if rows[i*100] == failed || rows[i*100+1] == failed {
			t.Errorf("member %d (failed %v): rows %d=%v %d=%v", i, failed, i*100, rows[i*100], i*100+1, rows[i*100+1])
		}
		switch {
		case i == 7:
			if !errors.Is(errs[i-1], context.Canceled) {
				t.Errorf("member 7 with a cancelled context: %v", errs[i-1])
			}
		case i == 13:
			if fmt.Sprint(panics[i-1]) != "member 13" {
				t.Errorf("member 13's panic came back as %v (err %v)", panics[i-1], errs[i-1])
			}
		case i%5 == 0:
			if errs[i-1] == nil {
				t.Errorf("member %d's failure was not returned", i)
			}
		default:
			if errs[i-1] != nil || panics[i-1] != nil {
				t.Errorf("member %d: %v %v", i, errs[i-1], panics[i-1])
			}
		}
	}
	if !rows[0] {
		t.Error("the first transaction's row is missing")
	}
	if want := int64(1 + n - 4 - 1 - 1); commits.Load() != want {
		t.Errorf("on-commit hooks ran %d times, want once per committed member (%d)", commits.Load(), want)
	}
}

// A Tx returns only once its work is durable: its rows are visible to a
// fresh reader the moment it returns, also when it ran in a group.
func TestGroupCommitReturnsAfterCommit(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	if _, err := db.W.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := w*1000 + i
				if err := db.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.Exec(`INSERT INTO kv VALUES (?)`, k)
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				var n int
				if err := db.R.QueryRow(`SELECT count(*) FROM kv WHERE k = ?`, k).Scan(&n); err != nil || n != 1 {
					t.Errorf("row %d not visible after Tx returned (%d, %v)", k, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// waitQueued waits until n callers wait behind the running transaction.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.group.mu.Lock()
		q := len(db.group.queue)
		db.group.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A member whose context ends mid-statement makes SQLite roll back the
// whole transaction (an interrupted write does that); the members it took
// down with it are run again, not failed.
func TestGroupCommitSurvivesAnInterruptedMember(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	if _, err := db.W.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		db.Tx(ctx, func(tx *sql.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	var innocent, interrupted error
	go func() {
		defer wg.Done()
		innocent = db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO kv VALUES (1, 'innocent')`)
			return err
		})
	}()
	waitQueued(t, db, 1)
	slow, cancel := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		interrupted = db.Tx(slow, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(slow, `INSERT INTO kv (v)
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50000000) SELECT 'slow' FROM c`)
			return err
		})
	}()
	waitQueued(t, db, 2)
	close(release)
	time.AfterFunc(100*time.Millisecond, cancel) // mid-statement: it runs for seconds
	wg.Wait()
	if innocent != nil {
		t.Fatalf("the innocent member failed: %v", innocent)
	}
	if interrupted == nil {
		t.Fatal("the interrupted member reported success")
	}
	var rows, slowRows int
	db.R.QueryRow(`SELECT count(*), count(*) FILTER (WHERE v = 'slow') FROM kv`).Scan(&rows, &slowRows)
	if rows != 1 || slowRows != 0 {
		t.Fatalf("%d rows (%d of the interrupted member), want only the innocent one", rows, slowRows)
	}
}

// A member's fn that ends its goroutine (runtime.Goexit, as t.FailNow
// does) must not leave the writer held or the lead with nobody.
func TestGroupCommitSurvivesGoexit(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		db.Tx(ctx, func(tx *sql.Tx) error { runtime.Goexit(); return nil })
	}()
	<-gone
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(`CREATE TABLE after_goexit (x)`); return err })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer is still held after a member's goroutine ended")
	}
}
