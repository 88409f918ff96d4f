package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A failing COMMIT (here through the CommitFault seam, as a full disk
// fails it) is recorded as the latest write's outcome, keeps the time the
// failures began, is reported as "not the transaction's fault", and is
// cleared by the next commit that succeeds, a ProbeWrite included. A
// transaction rolled back by its own error changes nothing.
func TestWriteStateFollowsCommits(t *testing.T) {
	var full atomic.Bool
	diskFull := errors.New("database or disk is full")
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), Options{TxRetries: 1,
		CommitFault: func() error {
			if full.Load() {
				return diskFull
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	insert := func(id int) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_seen, last_seen) VALUES (?, 0, 0)`, id)
			return err
		})
	}
	if err := insert(1); err != nil {
		t.Fatal(err)
	}
	if st := db.WriteState(); st.Err != nil || st.LastOK.IsZero() {
		t.Fatalf("after a commit: %+v", st)
	}
	okAt := db.WriteState().LastOK

	full.Store(true)
	err = insert(2)
	if !errors.Is(err, diskFull) || !IsUnavailable(err) {
		t.Fatalf("commit on a full disk: %v (unavailable %v)", err, IsUnavailable(err))
	}
	st := db.WriteState()
	if !errors.Is(st.Err, diskFull) || st.FailingSince.IsZero() || !st.LastOK.Equal(okAt) {
		t.Fatalf("after a failed commit: %+v", st)
	}
	since := st.FailingSince
	if err := db.ProbeWrite(ctx); !errors.Is(err, diskFull) {
		t.Fatalf("probe on a full disk: %v", err)
	}
	if st := db.WriteState(); !st.FailingSince.Equal(since) {
		t.Fatalf("a second failure moved FailingSince: %+v", st)
	}
	// A transaction that fails on its own and is rolled back is no write.
	errOwn := errors.New("handler error")
	if err := db.Tx(ctx, func(*sql.Tx) error { return errOwn }); !errors.Is(err, errOwn) || IsUnavailable(err) {
		t.Fatalf("own error: %v", err)
	}
	if st := db.WriteState(); st.Err == nil {
		t.Fatal("a rolled-back transaction cleared the failure")
	}

	full.Store(false) // space returns
	var before int64
	db.R.QueryRow(`PRAGMA user_version`).Scan(&before)
	if err := db.ProbeWrite(ctx); err != nil {
		t.Fatal(err)
	}
	if st := db.WriteState(); st.Err != nil || !st.LastOK.After(okAt) || !st.FailingSince.IsZero() {
		t.Fatalf("after space returned: %+v", st)
	}
	var after int64
	db.R.QueryRow(`PRAGMA user_version`).Scan(&after)
	if after != before {
		t.Fatalf("ProbeWrite changed user_version %d -> %d", before, after)
	}
	var n int
	db.R.QueryRow(`SELECT count(*) FROM users`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d users: the failed commit left a row", n)
	}
}

// SQLite's own "database or disk is full" from a statement (here from a
// page limit on the writer, which SQLite reports exactly as a full disk) is
// a failed write too, and unavailable; a constraint violation is neither.
func TestStatementOnAFullDatabaseIsAFailedWrite(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	if _, err := db.W.Exec(`CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)`); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := db.W.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`PRAGMA max_page_count = ` + strconv.FormatInt(pages, 10)); err != nil {
		t.Fatal(err)
	}
	big := func(id int) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO blobs VALUES (?, zeroblob(200000))`, id)
			return err
		})
	}
	err := big(1)
	if err == nil || !strings.Contains(err.Error(), "full") || !IsUnavailable(err) {
		t.Fatalf("insert past the limit: %v (unavailable %v)", err, IsUnavailable(err))
	}
	if st := db.WriteState(); st.Err == nil {
		t.Fatal("a full database was not recorded")
	}
	if _, err := db.W.Exec(`PRAGMA max_page_count = 1000000`); err != nil {
		t.Fatal(err)
	}
	if err := big(1); err != nil {
		t.Fatal(err)
	}
	if st := db.WriteState(); st.Err != nil {
		t.Fatalf("after space returned: %+v", st)
	}
	err = big(1) // duplicate key: the transaction's own fault
	if err == nil || IsUnavailable(err) {
		t.Fatalf("constraint violation: %v (unavailable %v)", err, IsUnavailable(err))
	}
	if st := db.WriteState(); st.Err != nil {
		t.Fatalf("a constraint violation was recorded as a failed write: %+v", st)
	}
}

// WriteState reads the database's own clock (Options.Now), the one DB.Now
// gives transactions, not the wall clock.
func TestWriteStateUsesTheInjectedClock(t *testing.T) {
	var clock atomic.Int64
	at := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	clock.Store(time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	var full atomic.Bool
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), Options{TxRetries: 1, Now: at,
		CommitFault: func() error {
			if full.Load() {
				return errors.New("database or disk is full")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if !db.Now().Equal(at()) {
		t.Fatalf("DB.Now = %v, want the injected %v", db.Now(), at())
	}
	if err := db.ProbeWrite(ctx); err != nil {
		t.Fatal(err)
	}
	if st := db.WriteState(); !st.LastOK.Equal(at()) {
		t.Fatalf("last commit at %v, want the injected %v", st.LastOK, at())
	}
	clock.Add(int64(time.Minute))
	full.Store(true)
	if err := db.ProbeWrite(ctx); err == nil {
		t.Fatal("a commit on a full disk succeeded")
	}
	if st := db.WriteState(); !st.FailingSince.Equal(at()) {
		t.Fatalf("failing since %v, want the injected %v", st.FailingSince, at())
	}
}
