package outbox

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"go/scanner"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

func tableExists(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`
	if db.Postgres() {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := db.R.QueryRow(q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func outboxVersion(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var v int64
	if err := db.R.QueryRow(`SELECT max(version_id) FROM goose_outbox WHERE is_applied`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// latestOutboxVersion is the version of the newest outbox migration.
func latestOutboxVersion(t *testing.T) int64 {
	t.Helper()
	return latestIn(t, migrationFiles, "migrations/*.sql")
}

// latestIn is the version of the newest migration matching pattern.
func latestIn(t *testing.T, fsys fs.FS, pattern string) int64 {
	t.Helper()
	files, err := fs.Glob(fsys, pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("outbox migrations %s: %v", pattern, err)
	}
	v, err := strconv.ParseInt(strings.SplitN(path.Base(files[len(files)-1]), "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Both dialects' migration sets end at the same version: a change is a
// file in each, under the same number.
func TestDialectsAtTheSameVersion(t *testing.T) {
	if sq, pg := latestOutboxVersion(t), latestIn(t, postgresMigrationFiles, "migrations/postgres/*.sql"); sq != pg {
		t.Errorf("newest migration: %d on SQLite, %d on PostgreSQL", sq, pg)
	}
}

// The store alone no longer creates the outbox's tables; the outbox's own
// migration set does, recorded in its own version table.
func TestOutboxOwnsItsSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	plain, err := store.Open(ctx, storetest.DSN(t, filepath.Join(dir, "plain.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, table := range []string{"outbox", "ledger", "goose_outbox"} {
		if tableExists(t, plain, table) {
			t.Errorf("store.Open without the outbox's schema created %s", table)
		}
	}

	db := openDBAt(t, filepath.Join(dir, "full.db"))
	for _, table := range []string{"outbox", "ledger"} {
		if !tableExists(t, db, table) {
			t.Errorf("WithSchema did not create %s", table)
		}
	}
	if v, want := outboxVersion(t, db), latestOutboxVersion(t); v != want {
		t.Errorf("goose_outbox at %d, want %d", v, want)
	}
	if n, err := db.Migrate(ctx); err != nil || n != 0 {
		t.Errorf("migrating again ran %d: %v", n, err)
	}
	enqueue(t, db, textMsg(7, Interactive, "hello"))

	// Each call of WithSchema leaves the caller's options alone.
	base := store.Options{Readers: 2}
	if got := WithSchema(base); len(got.Schemas) != 1 || len(base.Schemas) != 0 || got.Readers != 2 {
		t.Errorf("WithSchema: %+v from %+v", got, base)
	}
}

// A database written before the outbox owned its schema (its tables made
// by the store's old migration 00003) is recognised: the outbox's first
// migration is recorded as applied without recreating anything, and its
// rows are what they were — the pending one is sent, the dead letter is
// still one, with its ledger row.
func TestUpgradeFromStoreOwnedOutbox(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	gz, err := os.ReadFile(filepath.Join("testdata", "store_owned_outbox.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	db := openSQLiteAt(t, path) // an SQLite file of an old release
	if v, want := outboxVersion(t, db), latestOutboxVersion(t); v != want {
		t.Fatalf("goose_outbox at %d after the upgrade, want %d", v, want)
	}
	if cur, latest, err := db.SchemaVersion(ctx); err != nil || cur != latest {
		t.Fatalf("store schema %d of %d: %v", cur, latest, err)
	}
	dead, err := ListDead(ctx, db.R, 0)
	if err != nil || len(dead) != 1 || dead[0].ChatID != 43 {
		t.Fatalf("dead letters after the upgrade: %+v %v", dead, err)
	}
	if _, atts, err := Get(ctx, db.R, dead[0].ID); err != nil || len(atts) != 1 || atts[0].Outcome != ClassBadRequest {
		t.Fatalf("the dead letter's ledger: %+v %v", atts, err)
	}
	// The old row's dedup key still deduplicates.
	var again int64
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		again, err = Enqueue(ctx, tx, Message{ChatID: 42, Method: "sendMessage", Lane: Interactive,
			Params: sendParams{ChatID: 42, Text: "again"}, DedupKey: "old:1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	fake := newFake(t)
	s := NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}})
	startSender(t, s)
	waitFor(t, 10*time.Second, "the old pending row sent", func() bool {
		r, _, err := Get(ctx, db.R, again)
		return err == nil && r.State == StateSent
	})
	if calls := callsFor(fake, 42); len(calls) != 1 {
		t.Fatalf("chat 42 got %d calls, want the one queued before the upgrade", len(calls))
	}
	if m := countState(t, db); m[StateSent] != 1 || m[StateDead] != 1 || len(m) != 2 {
		t.Fatalf("states after the upgrade: %v", m)
	}
}

// Only a transaction that enqueued (or requeued) wakes the sender: the
// sender's own transactions, and everyone else's, do not; an enqueue
// rolled back does not either.
func TestOnlyEnqueuingCommitsWakeTheSender(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	s := NewSender(db, nil, Config{Logger: testLogger(t)})
	woken := func() bool {
		select {
		case <-s.notify:
			return true
		default:
			return false
		}
	}
	// On PostgreSQL wakes also come as NOTIFYs through the store's
	// listener: every waker once when it connects, and the echo of this
	// process's own enqueues a moment after their commit. They are hints
	// and come late; quiet lets them arrive and drops them, so that what
	// is checked next is the wake of the transaction just made.
	quiet := func() {
		if db.Postgres() {
			time.Sleep(300 * time.Millisecond)
			woken()
		}
	}
	tx := func(fn func(tx *sql.Tx) error) error { return db.Tx(ctx, fn) }

	quiet()
	if err := tx(func(tx *sql.Tx) error {
		return store.UpsertChat(ctx, tx, store.Chat{ID: 7, Type: "private"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if woken() {
		t.Fatal("a transaction that enqueued nothing woke the sender")
	}
	errNo := errors.New("changed my mind")
	if err := tx(func(tx *sql.Tx) error {
		if _, err := Enqueue(ctx, tx, textMsg(7, Interactive, "never")); err != nil {
			return err
		}
		return errNo
	}); !errors.Is(err, errNo) {
		t.Fatal(err)
	}
	if woken() {
		t.Fatal("an enqueue that was rolled back woke the sender")
	}
	ids := enqueue(t, db, textMsg(7, Interactive, "hello"))
	if !woken() {
		t.Fatal("a committed enqueue did not wake the sender")
	}
	quiet()

	// The sender's own record transaction (a dead letter here) does not
	// wake it; requeueing the dead letter does.
	if err := tx(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE outbox SET state = 'sending' WHERE id = ?`, ids[0])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.events = make(chan event, 1) // Run's channel to the dispatcher
	j := job{id: ids[0], chat: 7, lane: Interactive, method: "sendMessage"}
	s.recordBatch(ctx, ctx, []result{{job: j, out: outcome{class: ClassBadRequest, act: actDead}, at: time.Now(), charge: true}})
	<-s.events // the dispatcher's copy, which Run would read
	if woken() {
		t.Fatal("the sender's own record transaction woke it")
	}
	if err := tx(func(tx *sql.Tx) error { return Requeue(ctx, tx, ids[0]) }); err != nil {
		t.Fatal(err)
	}
	if !woken() {
		t.Fatal("a requeue did not wake the sender")
	}
}

// The fate hook hears every final state a sender gives a row with a
// reference, in the transaction that records it: sent (with the message
// id), dead, dropped by a 403 (the row called and the chat's queue behind
// it), dropped at claim for a chat already inactive, and dropped as an
// expired callback. Rows without a reference are not heard.
func TestFateHookHearsEveryFinalState(t *testing.T) {
	ctx := context.Background()
	fake := newFake(t)
	db := openDB(t)
	if _, err := db.W.Exec(`CREATE TABLE fates (ref TEXT PRIMARY KEY, state TEXT, class TEXT, chat_id INTEGER, message_id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const sent, dead, blocked, inactive = 701, 702, 703, 704
	fake.FailNext(bottest.Fault{Method: "sendMessage", ChatID: dead, Status: 400, Description: "Bad Request: chat not found"})
	fake.BlockUser(blocked)
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		if err := store.UpsertChat(ctx, tx, store.Chat{ID: inactive, Type: "private"}, time.Now()); err != nil {
			return err
		}
		return store.SetChatActive(ctx, tx, inactive, false, "bot was blocked by the user")
	}); err != nil {
		t.Fatal(err)
	}
	ref := func(m Message, r string) Message { m.Ref = r; return m }
	enqueue(t, db,
		ref(textMsg(sent, Interactive, "hello"), "sent"),
		textMsg(sent, Interactive, "no ref"),
		ref(textMsg(dead, Interactive, "nobody"), "dead"),
		ref(textMsg(blocked, Interactive, "first"), "blocked"),
		ref(textMsg(blocked, Bulk, "behind"), "behind"),
		ref(textMsg(inactive, Bulk, "too late"), "inactive"),
		ref(Message{ChatID: sent, Method: "answerCallbackQuery", Lane: Interactive,
			Params: map[string]any{"callback_query_id": "gone"}}, "expired"))
	hook := func(ctx context.Context, tx *sql.Tx, f Fate) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fates VALUES (?, ?, ?, ?, ?)`, f.Ref, f.State, f.Class, f.ChatID, f.MessageID)
		return err
	}
	s := NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}, OnFate: hook})
	startSender(t, s)
	waitFor(t, 10*time.Second, "all final", func() bool { return allFinal(t, db) })

	type heard struct {
		state        State
		class        Class
		chat         int64
		hasMessageID bool
	}
	got := map[string]heard{}
	rows, err := db.R.Query(`SELECT ref, state, class, chat_id, message_id FROM fates`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		var h heard
		var msg int
		if err := rows.Scan(&r, &h.state, &h.class, &h.chat, &msg); err != nil {
			t.Fatal(err)
		}
		h.hasMessageID = msg != 0
		got[r] = h
	}
	rows.Close()
	want := map[string]heard{
		"sent":     {StateSent, ClassOK, sent, true},
		"dead":     {StateDead, ClassBadRequest, dead, false},
		"blocked":  {StateDropped, ClassBlocked, blocked, false},
		"behind":   {StateDropped, "", blocked, false},
		"inactive": {StateDropped, "", inactive, false},
		"expired":  {StateDropped, ClassExpired, sent, false},
	}
	if len(got) != len(want) {
		t.Errorf("heard %d fates, want %d: %+v", len(got), len(want), got)
	}
	for r, w := range want {
		if got[r] != w {
			t.Errorf("fate of %q: %+v, want %+v", r, got[r], w)
		}
	}
}

// No package but this one names the outbox's tables in SQL or spells one
// of its states: they read through ReadQueue, Get, Lookup, HasQueued...
// and compare State and Class values. The check reads every string
// literal of the repository's non-test Go files outside outbox/.
func TestOnlyOutboxNamesItsTables(t *testing.T) {
	table := regexp.MustCompile(`(?i)\b(from|join|into|update|table|exists|index\s+\w+\s+on)\s+(outbox|ledger)\b`)
	quoted := regexp.MustCompile(`'(pending|sending|sent|dead|dropped|replaced)'`)
	isState := map[string]bool{}
	for _, s := range States() {
		isState[string(s)] = true
	}
	// Other vocabularies that share a word with a state, each with its
	// own owner.
	allowed := map[string]string{
		`store/reminders.go "sent"`: "reminders.outcome: a reminder enqueued on time (store.ReminderSent)",
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "outbox" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		fset := token.NewFileSet()
		var sc scanner.Scanner
		sc.Init(fset.AddFile(rel, -1, len(src)), src, nil, 0)
		for {
			pos, tok, lit := sc.Scan()
			if tok == token.EOF {
				break
			}
			if tok != token.STRING {
				continue
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				continue
			}
			where := fset.Position(pos)
			switch {
			case table.MatchString(v):
				t.Errorf("%s: SQL on the outbox's tables outside package outbox: %.80s", where, v)
			case quoted.MatchString(v) || isState[v]:
				if _, ok := allowed[filepath.ToSlash(rel)+" "+lit]; !ok {
					t.Errorf("%s: an outbox state spelled outside package outbox (use outbox.State): %.80s", where, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d files from %s: not the repository?", files, root)
	}
}
