package outbox

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// A row enqueued while the sender finishes the last queued row of its line
// must become the line's head at once (not at the hourly repair). On
// PostgreSQL the two transactions overlap: the sender's promote cannot see
// the new row, and the new row's insert could see the old head still
// 'sending' — unless the enqueue waits for the transaction that holds the
// head (enqueue.go). On SQLite the writer serialises them: the same
// schedule runs one after the other.
func TestEnqueueDuringFinishOfLastRowMakesAHead(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	const chat = 601
	first := enqueue(t, db, textMsg(chat, Bulk, "first"))[0]
	// The sender claims it.
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		var j job
		var params string
		return tx.QueryRowContext(ctx, sqlClaim, first).Scan(
			&j.id, &j.chat, &j.lane, &j.method, &params, &j.attempts, &j.failures, &j.createdAt, &j.ref)
	}); err != nil {
		t.Fatal(err)
	}

	// The sender records its result (sent, next head promoted) and is slow
	// to commit; meanwhile a handler enqueues the line's next row.
	finishing := make(chan struct{})
	type result struct {
		id  int64
		err error
	}
	enqueued := make(chan result, 1)
	go func() {
		<-finishing
		var r result
		r.err = db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			r.id, err = Enqueue(ctx, tx, textMsg(chat, Bulk, "second"))
			return err
		})
		enqueued <- r
	}()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		now := store.Millis(time.Now())
		if _, err := tx.ExecContext(ctx, sqlFinish, StateSent, 1, 0, now, now, 1, "", first); err != nil {
			return err
		}
		if err := promote(ctx, tx, chat, Bulk); err != nil {
			return err
		}
		select {
		case <-finishing:
		default:
			close(finishing)
		}
		time.Sleep(300 * time.Millisecond) // the enqueue runs (PostgreSQL) or waits (SQLite)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := <-enqueued
	if r.err != nil {
		t.Fatal(r.err)
	}
	second := r.id
	var head int
	if err := db.R.QueryRow(`SELECT head FROM outbox WHERE id = ?`, second).Scan(&head); err != nil {
		t.Fatal(err)
	}
	if head != 1 {
		t.Fatalf("the line's only queued row %d has head %d: no head, stuck until the repair", second, head)
	}
}

// Rows loaded with explicit ids (InsertFinishedSQL) and the statements
// after them (AfterHistorySQL) leave the next Enqueue an id above them.
func TestEnqueueAfterLoadedHistory(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := store.Millis(time.Now())
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, InsertFinishedSQL, 1000, 7, int(Bulk), "sendMessage", `{"chat_id":7}`,
			StateSent, 1, now, now, now, now, 5); err != nil {
			return err
		}
		for _, q := range AfterHistorySQL(db.Postgres()) {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if id := enqueue(t, db, textMsg(7, Bulk, "after"))[0]; id <= 1000 {
		t.Fatalf("enqueued as %d, at or below the loaded row", id)
	}
}

// Two transactions enqueue one dedup key at once (handlers on two
// replicas): the second waits for the first and answers with its row, and
// its own transaction goes on; one row is queued.
func TestConcurrentDedupEnqueueAnswersTheFirstRow(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	msg := Message{ChatID: 602, Method: "sendMessage", Lane: Bulk, Params: sendParams{ChatID: 602, Text: "once"},
		DedupKey: "reminder:1:602", CoalesceKey: "card:602"}
	inFirst := make(chan struct{})
	type result struct {
		id  int64
		err error
	}
	second := make(chan result, 1)
	go func() {
		<-inFirst
		var r result
		r.err = db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if r.id, err = Enqueue(ctx, tx, msg); err != nil {
				return err
			}
			// The transaction is still usable after the lost race.
			_, err = Enqueue(ctx, tx, textMsg(602, Bulk, "and this"))
			return err
		})
		second <- r
	}()
	var first int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if first, err = Enqueue(ctx, tx, msg); err != nil {
			return err
		}
		select {
		case <-inFirst:
		default:
			close(inFirst)
		}
		time.Sleep(300 * time.Millisecond) // the second enqueue runs (PostgreSQL) or waits (SQLite)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil || r.id != first {
		t.Fatalf("second enqueue: row %d, %v; want the first's row %d", r.id, r.err, first)
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM outbox WHERE coalesce_key = 'card:602' OR dedup_key = 'reminder:1:602'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows with the keys, want 1: %v", n, err)
	}
}

// The PostgreSQL migrations make the schema SQLite's make: the same
// tables with the same columns, the same named indexes and triggers.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	lite := openSQLiteAt(t, filepath.Join(t.TempDir(), "rsvpbot.db"))
	pg := openDSN(t, storetest.Postgres(t, "schema"), store.Options{})
	tables := []string{"outbox", "ledger", "ledger_hourly", "outbox_hourly", "outbox_latency_hourly", "outbox_latency_bounds"}
	list := func(db *store.DB, q string, args ...any) []string {
		t.Helper()
		out := storetest.Strings(t, db.R, q, args...)
		sort.Strings(out)
		return out
	}

	for _, table := range tables {
		l := list(lite, `SELECT name FROM pragma_table_info(?)`, table)
		p := list(pg, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`, table)
		if len(l) == 0 || !slices.Equal(l, p) {
			t.Errorf("%s columns: SQLite %v, PostgreSQL %v", table, l, p)
		}
	}
	in := `('` + strings.Join(tables, `', '`) + `')`
	if l, p := list(lite, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN `+in+` AND name NOT LIKE 'sqlite_autoindex%'`),
		list(pg, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN `+in+`
		          AND indexname NOT LIKE '%\_pkey' AND indexname NOT LIKE '%\_key'`); !slices.Equal(l, p) {
		t.Errorf("indexes: SQLite %v, PostgreSQL %v", l, p)
	}
	if l, p := list(lite, `SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN `+in),
		list(pg, `SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_schema = current_schema() AND event_object_table IN `+in); !slices.Equal(l, p) {
		t.Errorf("triggers: SQLite %v, PostgreSQL %v", l, p)
	}
	var nl, np int
	lite.R.QueryRow(`SELECT count(*) FROM outbox_latency_bounds`).Scan(&nl)
	pg.R.QueryRow(`SELECT count(*) FROM outbox_latency_bounds`).Scan(&np)
	if nl != np || nl == 0 {
		t.Errorf("latency bounds: %d on SQLite, %d on PostgreSQL", nl, np)
	}
}
