package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// openTest opens a fresh migrated database on the test backend (an SQLite
// file, or a PostgreSQL schema: storetest.DSN).
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), storetest.DSN(t, filepath.Join(t.TempDir(), "sub", "dir", "test.db")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openSQLiteTest opens a fresh migrated SQLite file whatever the backend,
// for tests of SQLite's own mechanics (pragmas, the WAL, the file).
func openSQLiteTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "dir", "test.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesDirAndMigrates(t *testing.T) {
	db := openSQLiteTest(t)
	cur, latest, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || latest < 2 {
		t.Fatalf("version %d of %d", cur, latest)
	}
	var mode string
	db.W.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %s", mode)
	}
	var fk int
	db.R.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Errorf("foreign_keys = %d on reader", fk)
	}
	if _, err := db.R.Exec("CREATE TABLE nope(x)"); err == nil {
		t.Error("reader pool can write")
	}
}

func TestMigrateExistingDatabaseKeepsData(t *testing.T) {
	ctx := context.Background()
	path := storetest.DSN(t, filepath.Join(t.TempDir(), "x.db"))
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		return UpsertUser(ctx, tx, User{ID: 7, FirstName: "Ann", Language: "de"}, now)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second migrate ran %d: %v", n, err)
	}
	u, ok, err := GetUser(ctx, db.R, 7)
	if err != nil || !ok || u.FirstName != "Ann" || u.Language != "de" {
		t.Fatalf("user after reopen: %+v %v %v", u, ok, err)
	}
}

func TestMigrateFromOldVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := OpenNoMigrate(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := db.provider()
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if cur, _, _ := db.SchemaVersion(ctx); cur != 1 {
		t.Fatalf("at %d", cur)
	}
	n, err := db.Migrate(ctx)
	if err != nil || n == 0 {
		t.Fatalf("migrate from v1: %d %v", n, err)
	}
	if _, err := db.W.Exec("SELECT update_id FROM inbox LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, latest, _ := db.SchemaVersion(ctx)
	if _, err := db.W.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, latest+10); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)

	_, err = Open(ctx, path, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want ErrNewerSchema naming the path", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, before) {
		t.Error("refused database was modified")
	}
}

func TestCorruptFileRefusedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	junk := []byte(strings.Repeat("this is not a database ", 400))
	os.WriteFile(path, junk, 0o600)
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a valid SQLite database") {
		t.Fatalf("got %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(junk) {
		t.Fatal("corrupt file was overwritten")
	}
}

func TestUnwritableDatabaseRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores file modes; use a path whose parent is a file instead.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o600)
		_, err := Open(context.Background(), filepath.Join(dir, "file", "db.sqlite"), Options{})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "file", "db.sqlite")) {
			t.Fatalf("got %v", err)
		}
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(path, 0o400)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	_, err = Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
}

func TestTxRollsBackOnErrorAndPanic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		UpsertUser(ctx, tx, User{ID: 1}, time.Now())
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		db.Tx(ctx, func(tx *sql.Tx) error {
			UpsertUser(ctx, tx, User{ID: 2}, time.Now())
			panic("kaboom")
		})
	}()
	for _, id := range []int64{1, 2} {
		if _, ok, _ := GetUser(ctx, db.R, id); ok {
			t.Errorf("user %d survived a rolled-back tx", id)
		}
	}
	// The writer connection is usable after the panic.
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return UpsertUser(ctx, tx, User{ID: 3}, time.Now()) }); err != nil {
		t.Fatal(err)
	}
}

// Two processes (here: two DB handles) writing the same file: the busy
// retry makes both succeed instead of surfacing SQLITE_BUSY.
func TestTxRetriesWhenAnotherWriterHoldsTheLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	a, err := Open(ctx, path, Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, Options{BusyTimeout: 20 * time.Millisecond, TxRetries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hold := make(chan struct{})
	held := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.Tx(ctx, func(tx *sql.Tx) error {
			close(held)
			<-hold
			return UpsertUser(ctx, tx, User{ID: 10}, time.Now())
		})
	}()
	<-held
	time.AfterFunc(60*time.Millisecond, func() { close(hold) })
	if err := b.Tx(ctx, func(tx *sql.Tx) error { return UpsertUser(ctx, tx, User{ID: 11}, time.Now()) }); err != nil {
		t.Fatalf("second writer: %v", err)
	}
	wg.Wait()
}

func TestInboxOffsetsAndDuplicates(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if off, _ := NextUpdateOffset(ctx, db.R); off != 0 {
		t.Fatalf("empty offset %d", off)
	}
	now := time.Now()
	ups := []InboxUpdate{{UpdateID: 5, ChatID: 1, Kind: "message", Payload: []byte(`{}`), ReceivedAt: now},
		{UpdateID: 6, ChatID: 2, Kind: "message", Payload: []byte(`{}`), ReceivedAt: now}}
	var ins []InboxUpdate
	db.Tx(ctx, func(tx *sql.Tx) (err error) { ins, err = InsertUpdates(ctx, tx, ups); return })
	if len(ins) != 2 {
		t.Fatalf("inserted %d", len(ins))
	}
	db.Tx(ctx, func(tx *sql.Tx) (err error) { ins, err = InsertUpdates(ctx, tx, ups[1:]); return })
	if len(ins) != 0 {
		t.Fatalf("duplicate inserted")
	}
	if off, _ := NextUpdateOffset(ctx, db.R); off != 7 {
		t.Fatalf("offset %d", off)
	}
	var first, again bool
	db.Tx(ctx, func(tx *sql.Tx) (err error) { first, err = MarkUpdateDone(ctx, tx, 5, "", now); return })
	db.Tx(ctx, func(tx *sql.Tx) (err error) { again, err = MarkUpdateDone(ctx, tx, 5, "", now); return })
	if !first || again {
		t.Fatalf("mark done %v %v", first, again)
	}
	p, _ := PendingUpdates(ctx, db.R, 0, 10)
	if len(p) != 1 || p[0].UpdateID != 6 {
		t.Fatalf("pending %+v", p)
	}
	// Purging keeps the newest row, so the offset survives.
	db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := MarkUpdateDone(ctx, tx, 6, "", now)
		return err
	})
	if _, err := PurgeInbox(ctx, db, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if off, _ := NextUpdateOffset(ctx, db.R); off != 7 {
		t.Fatalf("offset after purge %d", off)
	}
}

func TestMigrateChatMovesReferences(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		UpsertChat(ctx, tx, Chat{ID: -100, Type: "group", Title: "G"}, now)
		SetChatTimezone(ctx, tx, -100, "Europe/Berlin")
		SaveConversation(ctx, tx, Conversation{ChatID: -100, UserID: 1, Flow: "f", Step: "s", UpdatedAt: now, ExpiresAt: now})
		return MigrateChat(ctx, tx, -100, -1001, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, ok, _ := GetChat(ctx, db.R, -1001)
	if !ok || c.Timezone != "Europe/Berlin" || c.Type != "supergroup" || !c.Active {
		t.Fatalf("new chat %+v", c)
	}
	old, _, _ := GetChat(ctx, db.R, -100)
	if old.Active {
		t.Error("old chat still active")
	}
	if _, ok, _ := GetConversation(ctx, db.R, -1001, 1); !ok {
		t.Error("conversation not moved")
	}
}

// The statement cache must stay correct when the same query is used again
// while its rows are still open (the nested use takes the uncached path),
// and must leave multi-statement scripts alone.
func TestStatementCacheNestedAndMultiStatement(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 5 {
			if err := UpsertUser(ctx, tx, User{ID: int64(i + 1), FirstName: "u"}, time.Now()); err != nil {
				return err
			}
		}
		q := `SELECT id FROM users WHERE id >= ? ORDER BY id`
		rows, err := tx.QueryContext(ctx, q, 1)
		if err != nil {
			return err
		}
		defer rows.Close()
		outer := 0
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			outer++
			var inner int
			in, err := tx.QueryContext(ctx, q, id) // same text, rows still open
			if err != nil {
				return err
			}
			for in.Next() {
				inner++
			}
			in.Close()
			if inner != 5-int(id)+1 {
				t.Errorf("nested query for %d saw %d rows", id, inner)
			}
		}
		if outer != 5 {
			t.Errorf("outer saw %d rows", outer)
		}
		_, err = tx.ExecContext(ctx, `CREATE TABLE a(x); CREATE TABLE b(y); INSERT INTO b VALUES (1)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM b`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("multi-statement script: %d %v", n, err)
	}
}
