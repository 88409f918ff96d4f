package bot_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// recorder is a Handler that writes one effects row per update inside the
// update's own Commit, so "handled exactly once" is countable in SQL.
type recorder struct {
	mu      sync.Mutex
	order   map[int64][]int64 // chat -> update ids in handling order
	slow    map[int64]chan struct{}
	fail    map[int64]error
	panicOn map[int64]bool
	failed  []int64
}

func newRecorder() *recorder {
	return &recorder{order: map[int64][]int64{}, slow: map[int64]chan struct{}{}, fail: map[int64]error{}, panicOn: map[int64]bool{}}
}

func (r *recorder) Handle(ctx context.Context, u *bot.Update) error {
	r.mu.Lock()
	gate := r.slow[u.ChatID]
	fail := r.fail[u.ID]
	pan := r.panicOn[u.ID]
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if pan {
		panic("poison update")
	}
	if fail != nil {
		return fail
	}
	return u.Commit(ctx, func(tx *sql.Tx) error {
		r.mu.Lock()
		r.order[u.ChatID] = append(r.order[u.ChatID], u.ID)
		r.mu.Unlock()
		_, err := tx.ExecContext(ctx, `INSERT INTO effects (update_id, chat_id) VALUES (?, ?)`, u.ID, u.ChatID)
		return err
	})
}

func (r *recorder) Failed(ctx context.Context, tx *sql.Tx, u *bot.Update, cause error) error {
	r.mu.Lock()
	r.failed = append(r.failed, u.ID)
	r.mu.Unlock()
	_, err := tx.ExecContext(ctx, `INSERT INTO effects (update_id, chat_id, apology) VALUES (?, ?, 1)`, u.ID, u.ChatID)
	return err
}

// dispatching runs a dispatcher over db that hands updates to h, fed by
// the intake it returns, until stop, which cancels it and waits for Run to
// return; stop also runs when the test ends.
func dispatching(t *testing.T, db *store.DB, h bot.Handler, cfg bot.DispatcherConfig) (in *bot.Intake, stop func()) {
	t.Helper()
	d := bot.NewDispatcher(db, h, cfg)
	in = bot.NewIntake(db, nil, bot.IntakeConfig{Stored: d.Add})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return in, stop
}

func dispatchDB(t *testing.T) *store.DB {
	db := openDB(t, "")
	if _, err := db.W.Exec(`CREATE TABLE effects (update_id INTEGER UNIQUE, chat_id INTEGER, apology INTEGER DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func message(id, chat int64, text string) json.RawMessage {
	up := models.Update{ID: id, Message: &models.Message{ID: int(id), Chat: models.Chat{ID: chat, Type: "private"},
		From: &models.User{ID: chat, FirstName: "U"}, Text: text}}
	raw, _ := json.Marshal(up)
	return raw
}

func TestDispatchOrderPerChatAndExactlyOnce(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	in, stop := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 4})
	ctx := t.Context()

	const chats, perChat = 20, 25
	id := int64(0)
	for range perChat {
		var batch []json.RawMessage
		for c := range chats {
			id++
			batch = append(batch, message(id, int64(100+c), "x"))
		}
		if _, err := in.Save(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all handled", func() bool {
		return count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == chats*perChat
	})
	stop()
	effects := count(t, db, `SELECT count(*) FROM effects`)
	if effects != chats*perChat {
		t.Fatalf("%d effects for %d updates", effects, chats*perChat)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for chat, ids := range rec.order {
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("chat %d handled out of order: %v", chat, ids)
			}
		}
	}
}

// One chat's slow handler (a weather lookup that hangs) must not delay
// other chats.
func TestDispatchSlowChatDoesNotBlockOthers(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	gate := make(chan struct{})
	rec.slow[1] = gate
	in, _ := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 2})
	ctx := t.Context()
	in.Save(ctx, []json.RawMessage{message(1, 1, "slow"), message(2, 1, "behind slow")})
	var raws []json.RawMessage
	for i := range 30 {
		raws = append(raws, message(int64(10+i), int64(2+i%3), "fast"))
	}
	in.Save(ctx, raws)
	waitFor(t, "other chats handled", func() bool {
		return count(t, db, `SELECT count(*) FROM effects WHERE chat_id <> 1`) == 30
	})
	if count(t, db, `SELECT count(*) FROM effects WHERE chat_id = 1`) != 0 {
		t.Fatal("slow chat's updates ran early")
	}
	close(gate)
	waitFor(t, "slow chat handled", func() bool {
		return count(t, db, `SELECT count(*) FROM effects WHERE chat_id = 1`) == 2
	})
}

// A handler that errors or panics is apologised for and marked done with
// the error recorded; the chat goes on with its next update.
func TestDispatchPoisonUpdates(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	rec.fail[1] = errors.New("weather exploded")
	rec.panicOn[2] = true
	in, _ := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 1})
	ctx := t.Context()
	in.Save(ctx, []json.RawMessage{message(1, 7, "a"), message(2, 7, "b"), message(3, 7, "c")})
	waitFor(t, "all three done", func() bool {
		return count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == 3
	})
	errs := map[int64]string{}
	rows, _ := db.R.Query(`SELECT update_id, error FROM inbox`)
	for rows.Next() {
		var id int64
		var e string
		rows.Scan(&id, &e)
		errs[id] = e
	}
	rows.Close()
	if errs[1] != "weather exploded" || errs[2] != "panic: poison update" || errs[3] != "" {
		t.Fatalf("recorded errors: %v", errs)
	}
	apologies := count(t, db, `SELECT count(*) FROM effects WHERE apology = 1`)
	if apologies != 2 {
		t.Fatalf("%d apologies", apologies)
	}
}

// Updates left pending by a dead process are handled at the next start,
// before newer ones of the same chat.
func TestDispatchLoadsPendingAtStart(t *testing.T) {
	db := dispatchDB(t)
	in := bot.NewIntake(db, nil, bot.IntakeConfig{})
	ctx := context.Background()
	var raws []json.RawMessage
	for i := range 10 {
		raws = append(raws, message(int64(i+1), int64(50+i%2), fmt.Sprint(i)))
	}
	in.Save(ctx, raws) // stored, never dispatched: the process "died"

	rec := newRecorder()
	d := bot.NewDispatcher(db, rec, bot.DispatcherConfig{})
	n, err := d.Load(ctx)
	if err != nil || n != 10 {
		t.Fatalf("loaded %d: %v", n, err)
	}
	in2 := bot.NewIntake(db, nil, bot.IntakeConfig{Stored: d.Add})
	in2.Save(ctx, []json.RawMessage{message(11, 50, "new"), message(3, 50, "resent old one")})
	rctx, cancel := context.WithCancel(ctx)
	go d.Run(rctx)
	waitFor(t, "11 handled", func() bool {
		return count(t, db, `SELECT count(*) FROM effects`) == 11
	})
	cancel()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.order[50]; len(got) != 6 || got[5] != 11 {
		t.Fatalf("chat 50 order %v", got)
	}
}

// Shutdown: a handler in flight finishes (within the grace period) and
// updates not started stay pending.
func TestDispatchGracefulStop(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	gate := make(chan struct{})
	rec.slow[9] = gate
	in, stop := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 1, Grace: 5 * time.Second})
	ctx := t.Context()
	in.Save(ctx, []json.RawMessage{message(1, 9, "in flight"), message(2, 9, "not started")})
	time.Sleep(50 * time.Millisecond)
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(gate) // the handler in flight finishes after the stop began
	}()
	stop()
	doneN := count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`)
	pending := count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NULL`)
	if doneN != 1 || pending != 1 {
		t.Fatalf("done %d pending %d", doneN, pending)
	}
}

// An update our models cannot decode is stored, marked done with the
// error, and does not hold up the updates after it (a poll would otherwise
// fetch the same batch forever).
func TestUndecodableUpdateDoesNotWedge(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	in, _ := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 1})
	ctx := t.Context()
	bad := json.RawMessage(`{"update_id":2,"message":{"message_id":"oops","chat":{"id":7,"type":"private"}}}`)
	ups, err := in.Save(ctx, []json.RawMessage{message(1, 7, "a"), bad, message(3, 7, "c")})
	if err != nil || len(ups) != 3 {
		t.Fatalf("saved %d: %v", len(ups), err)
	}
	waitFor(t, "all three done", func() bool {
		return count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == 3
	})
	var kind, errText string
	db.R.QueryRow(`SELECT kind, error FROM inbox WHERE update_id = 2`).Scan(&kind, &errText)
	if kind != "undecodable" || errText == "" {
		t.Fatalf("undecodable update stored as kind %q, error %q", kind, errText)
	}
	handled := count(t, db, `SELECT count(*) FROM effects WHERE apology = 0`)
	if handled != 2 {
		t.Fatalf("%d good updates handled, want 2", handled)
	}
}

// Concurrent webhook requests can commit update 9 after update 10: both
// are handled, in update_id order within the chat.
func TestLateCommittedUpdateIsHandled(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	gate := make(chan struct{})
	rec.slow[8] = gate // chat 8 is held until both updates are queued
	in, _ := dispatching(t, db, rec, bot.DispatcherConfig{})
	ctx := t.Context()
	in.Save(ctx, []json.RawMessage{message(5, 8, "first")})
	in.Save(ctx, []json.RawMessage{message(10, 8, "b")})
	in.Save(ctx, []json.RawMessage{message(9, 8, "a")})
	close(gate)
	waitFor(t, "three handled", func() bool {
		return count(t, db, `SELECT count(*) FROM effects`) == 3
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := fmt.Sprint(rec.order[8]); got != "[5 9 10]" {
		t.Fatalf("chat 8 order %s, want [5 9 10]", got)
	}
}
