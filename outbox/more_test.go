package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		method string
		res    bot.Result
		err    error
		class  Class
		act    action
		amb    bool
	}{
		{"ok", "sendMessage", bot.Result{HTTPStatus: 200, MessageID: 5, Sent: true}, nil, ClassOK, actSent, false},
		{"not modified", "editMessageText", bot.Result{HTTPStatus: 400, ErrorCode: 400,
			Description: "Bad Request: message is not modified: specified new message content ..."},
			fmt.Errorf("%w, message is not modified", tgbot.ErrorBadRequest), ClassNotModified, actSent, false},
		{"delete gone", "deleteMessage", bot.Result{HTTPStatus: 400, ErrorCode: 400,
			Description: "Bad Request: message to delete not found"}, tgbot.ErrorBadRequest, ClassGone, actSent, false},
		{"callback too old", "answerCallbackQuery", bot.Result{HTTPStatus: 400, ErrorCode: 400,
			Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"},
			tgbot.ErrorBadRequest, ClassExpired, actDrop, false},
		{"other 400", "sendMessage", bot.Result{HTTPStatus: 400, ErrorCode: 400, Description: "Bad Request: chat not found"},
			tgbot.ErrorBadRequest, ClassBadRequest, actDead, false},
		{"429", "sendMessage", bot.Result{HTTPStatus: 429, ErrorCode: 429, RetryAfter: 7},
			&tgbot.TooManyRequestsError{RetryAfter: 7}, ClassRateLimited, actWait, false},
		{"429 from the error only", "sendMessage", bot.Result{}, &tgbot.TooManyRequestsError{RetryAfter: 3},
			ClassRateLimited, actWait, false},
		{"403", "sendMessage", bot.Result{HTTPStatus: 403, ErrorCode: 403, Description: "Forbidden: bot was blocked by the user"},
			fmt.Errorf("%w, blocked", tgbot.ErrorForbidden), ClassBlocked, actBlock, false},
		{"migrate", "sendMessage", bot.Result{HTTPStatus: 400, ErrorCode: 400, MigrateTo: -100123},
			&tgbot.MigrateError{MigrateToChatID: -100123}, ClassMigrated, actMigrate, false},
		{"401", "sendMessage", bot.Result{HTTPStatus: 401, ErrorCode: 401}, tgbot.ErrorUnauthorized,
			ClassUnauthorized, actPause, false},
		{"500", "sendMessage", bot.Result{HTTPStatus: 500, ErrorCode: 500, Sent: true}, errors.New("500"),
			ClassServerError, actRetry, true},
		{"refused", "sendMessage", bot.Result{Sent: false}, errors.New("connection refused"), ClassNetwork, actRetry, false},
		{"timeout after write", "sendMessage", bot.Result{Sent: true}, context.DeadlineExceeded, ClassAmbiguous, actRetry, true},
		{"200 unreadable", "sendMessage", bot.Result{HTTPStatus: 200, Sent: true}, errors.New("unexpected EOF"),
			ClassAmbiguous, actRetry, true},
		{"bad params", "sendMessage", bot.Result{}, fmt.Errorf("%w: x", bot.ErrBadParams), ClassInvalid, actDead, false},
		{"unknown method", "sendPoll", bot.Result{}, fmt.Errorf("%w sendPoll", bot.ErrUnknownMethod), ClassInvalid, actDead, false},
	}
	seen := map[Class]bool{ClassInterrupted: true} // found at start, never classified
	for _, tt := range tests {
		got := classify(tt.method, tt.res, tt.err)
		if got.class != tt.class || got.act != tt.act || got.ambiguous != tt.amb {
			t.Errorf("%s: got %s/%d/%v, want %s/%d/%v", tt.name, got.class, got.act, got.ambiguous, tt.class, tt.act, tt.amb)
		}
		// The exported rules agree with what the sender does: a delivered
		// class is marked sent, a retrying one goes back to pending.
		c := got.class
		seen[c] = true
		if c.Delivered() != (got.act == actSent) {
			t.Errorf("%s: %s.Delivered() = %v, but the sender's action is %d", tt.name, c, c.Delivered(), got.act)
		}
		if c.Retrying() != (got.act == actRetry || got.act == actWait || got.act == actPause) {
			t.Errorf("%s: %s.Retrying() = %v, but the sender's action is %d", tt.name, c, c.Retrying(), got.act)
		}
	}
	for _, c := range Classes() {
		if !seen[c] {
			t.Errorf("class %s is not covered by a case", c)
		}
	}
	if got := classify("sendMessage", bot.Result{HTTPStatus: 429, ErrorCode: 429, RetryAfter: 7}, nil); got.retryAfter != 7*time.Second {
		t.Errorf("retry_after %s", got.retryAfter)
	}
}

func TestOnSentHookAndExpiredCallback(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	db := openDB(t)
	if _, err := db.W.Exec(`CREATE TABLE cards (ref TEXT PRIMARY KEY, chat_id INTEGER, message_id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	hook := func(ctx context.Context, tx *sql.Tx, f Fate) error {
		ref, chatID, messageID := f.Ref, f.ChatID, f.MessageID
		if ref == "fail" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cards VALUES ('fail', 0, 0)`); err != nil {
				return err
			}
			return errors.New("hook says no")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cards VALUES (?, ?, ?)`, ref, chatID, messageID)
		return err
	}
	card := textMsg(601, Interactive, "card")
	card.Ref = "event:1"
	bad := textMsg(602, Interactive, "other")
	bad.Ref = "fail"
	cb := Message{ChatID: 601, Method: "answerCallbackQuery", Lane: Interactive, Params: map[string]any{"callback_query_id": "nope"}}
	ids := enqueue(t, db, card, bad, cb)
	s := NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}, OnFate: hook})
	startSender(t, s)
	waitFor(t, 10*time.Second, "all final", func() bool { return allFinal(t, db) })

	r, _ := getRow(t, db, ids[0])
	var chat int64
	var msgID int
	if err := db.R.QueryRow(`SELECT chat_id, message_id FROM cards WHERE ref = 'event:1'`).Scan(&chat, &msgID); err != nil {
		t.Fatalf("hook effect not committed: %v", err)
	}
	if chat != 601 || msgID != r.TgMessageID || msgID == 0 {
		t.Errorf("hook got chat %d message %d; row has message %d", chat, msgID, r.TgMessageID)
	}
	// A failing hook is rolled back alone: the row is still sent.
	r2, _ := getRow(t, db, ids[1])
	var n int
	db.R.QueryRow(`SELECT COUNT(*) FROM cards WHERE ref = 'fail'`).Scan(&n)
	if r2.State != StateSent || !strings.Contains(r2.LastError, "hook says no") || n != 0 {
		t.Errorf("failing hook: state %s, last_error %q, partial effects %d", r2.State, r2.LastError, n)
	}
	// A callback answered too late is dropped as expired, not dead.
	r3, atts := getRow(t, db, ids[2])
	if r3.State != StateDropped || len(atts) != 1 || atts[0].Outcome != ClassExpired {
		t.Errorf("expired callback: state %s, attempts %+v", r3.State, atts)
	}
}

func TestUnauthorizedPausesEverything(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	var fail atomic.Bool
	fail.Store(true)
	caller := &scriptCaller{clk: clk, respond: func(n int, method string, chat int64) (bot.Result, error) {
		if fail.Load() {
			return bot.Result{HTTPStatus: 401, ErrorCode: 401, Description: "Unauthorized"}, tgbot.ErrorUnauthorized
		}
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}}
	s := NewSender(db, caller, Config{Clock: clk, Logger: slog.New(slog.DiscardHandler), Workers: 1, Limits: &Limits{}})
	ids := enqueue(t, db, textMsg(1, Interactive, "a"), textMsg(2, Interactive, "b"))
	startSender(t, s)
	first := caller.waitCalls(t, 1)[0]
	r := waitRow(t, db, ids[0], 1)
	if r.State != StatePending || r.Failures != 0 {
		t.Errorf("after a 401: state %s failures %d (must not count toward dead-lettering)", r.State, r.Failures)
	}
	clk.Set(first.at.Add(30 * time.Second))
	if n := len(caller.Calls()); n != 1 {
		t.Fatalf("%d calls during the pause after a 401", n)
	}
	fail.Store(false)
	clk.Set(first.at.Add(unauthorizedPause))
	caller.waitCalls(t, 3)
	waitFor(t, 10*time.Second, "all sent", func() bool { return allFinal(t, db) })
}

// captureHandler records log messages.
type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }
func (h *captureHandler) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func TestMonitorWarnsOnDepthAndDeadGrowth(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	// Chat 1's messages fail for good; the rest wait (the clock is frozen,
	// so only a couple go out).
	caller := &scriptCaller{clk: clk, respond: func(n int, method string, chat int64) (bot.Result, error) {
		if chat == 1 {
			return bot.Result{HTTPStatus: 400, ErrorCode: 400, Description: "Bad Request: nope"}, tgbot.ErrorBadRequest
		}
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}}
	var msgs []Message
	for i := range 12 {
		msgs = append(msgs, textMsg(1, Interactive, fmt.Sprint("doomed ", i)))
	}
	for range 1100 {
		msgs = append(msgs, textMsg(-5, Bulk, "waiting"))
	}
	enqueue(t, db, msgs...)
	logs := &captureHandler{}
	// Private chats unlimited, so chat 1's twelve die at once; the group's
	// limit (and the frozen clock) keeps its rows waiting.
	s := NewSender(db, caller, Config{Clock: clk, Logger: slog.New(logs), Limits: &Limits{GroupPerMinute: 20}})
	startSender(t, s)
	waitFor(t, 10*time.Second, "chat 1's rows dead", func() bool {
		return countState(t, db)[StateDead] == 12
	})
	st, err := ReadQueue(context.Background(), db.R, clk.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeadTotal() != 12 || st.DeadNew != 12 || st.PendingTotal() < 1000 || len(st.Warnings()) != 2 {
		t.Errorf("stats: %+v, warnings %q", st, st.Warnings())
	}
	if logs.has("pending depth above") || logs.has("dead letters in the last hour above") {
		t.Fatal("warned before the periodic check")
	}
	// (Advanced more than once in case the monitor had not yet started
	// waiting when the clock first moved.)
	warned := func() bool { return logs.has("pending depth above") && logs.has("dead letters in the last hour above") }
	for i := 0; i < 5 && !warned(); i++ {
		clk.Advance(monitorEvery)
		deadline := time.Now().Add(2 * time.Second)
		for !warned() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !warned() {
		t.Fatal("no warnings after the periodic check")
	}
}

func TestPurgeLedger(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	ids := enqueue(t, db, textMsg(1, Bulk, "old"), textMsg(2, Bulk, "dead"), textMsg(3, Bulk, "pending"))
	old := time.Now().Add(-100 * 24 * time.Hour)
	exec := func(q string, args ...any) {
		if _, err := db.W.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE outbox SET state = 'sent', done_at = ?, sent_at = ? WHERE id = ?`, store.Millis(old), store.Millis(old), ids[0])
	exec(`UPDATE outbox SET state = 'dead', done_at = ? WHERE id = ?`, store.Millis(old), ids[1])
	for _, id := range ids {
		exec(`INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, created_at) VALUES (?, 1, 'sendMessage', 1, 'ok', ?)`,
			id, store.Millis(old))
	}
	exec(`INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, created_at) VALUES (?, 1, 'sendMessage', 2, 'ok', ?)`,
		ids[2], store.Millis(time.Now()))
	n, err := PurgeLedger(ctx, db, time.Now().Add(-DefaultRetention))
	if err != nil {
		t.Fatal(err)
	}
	// 3 old ledger rows + the old sent row; the dead and pending rows stay.
	if n != 4 {
		t.Errorf("purged %d rows, want 4", n)
	}
	if st := countState(t, db); st[StateSent] != 0 || st[StateDead] != 1 || st[StatePending] != 1 {
		t.Errorf("after purge: %v", st)
	}
	var left int
	db.R.QueryRow(`SELECT COUNT(*) FROM ledger`).Scan(&left)
	if left != 1 {
		t.Errorf("%d ledger rows left, want 1", left)
	}
}

// The purge goes in batches: with a batch of 5, 23 old ledger rows and 12
// old finished rows all go, across batch boundaries; dead letters,
// queued rows and recent rows stay.
func TestPurgeLedgerInBatches(t *testing.T) {
	ctx := context.Background()
	var txs int
	db := openDSN(t, storetest.DSN(t, filepath.Join(t.TempDir(), "rsvpbot.db")), store.Options{PurgeBatch: 5,
		ObserveHold: func(time.Duration) { txs++ }})
	old, recent := store.Millis(time.Now().Add(-100*24*time.Hour)), store.Millis(time.Now())
	var msgs []Message
	for i := range 16 {
		msgs = append(msgs, textMsg(int64(i+1), Bulk, "m"))
	}
	ids := enqueue(t, db, msgs...)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.W.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		switch {
		case i < 12: // old and finished: purged
			exec(`UPDATE outbox SET state = ?, done_at = ? WHERE id = ?`, []State{StateSent, StateDropped, StateReplaced}[i%3], old, id)
		case i == 12: // an old dead letter: kept
			exec(`UPDATE outbox SET state = 'dead', done_at = ? WHERE id = ?`, old, id)
		case i == 13: // sent recently: kept
			exec(`UPDATE outbox SET state = 'sent', done_at = ? WHERE id = ?`, recent, id)
		}
	}
	for i := range 30 {
		at := old
		if i >= 23 {
			at = recent
		}
		exec(`INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, created_at) VALUES (?, 1, 'sendMessage', 1, 'ok', ?)`, ids[i%16], at)
	}
	txs = 0
	n, err := PurgeLedger(ctx, db, time.Now().Add(-DefaultRetention))
	if err != nil || n != 23+12 {
		t.Fatalf("purged %d, %v; want 35", n, err)
	}
	// 23 ledger rows: 5 batches; 12 outbox rows: 3; and the reclaim.
	if txs < 8 {
		t.Errorf("%d write transactions, want 8 batches at least", txs)
	}
	var ledger int
	db.R.QueryRow(`SELECT count(*) FROM ledger`).Scan(&ledger)
	if ledger != 7 {
		t.Errorf("%d ledger rows left, want 7", ledger)
	}
	if st := countState(t, db); st[StateSent] != 1 || st[StateDead] != 1 || st[StatePending] != 2 || st[StateDropped]+st[StateReplaced] != 0 {
		t.Errorf("after purge: %v", st)
	}
	// Each batch finds its rows through an index: SQLite's planner, which
	// the statements' INDEXED BY steers (PostgreSQL plans by its
	// statistics, and scans tables this small whatever the index).
	if db.Postgres() {
		return
	}
	for _, q := range []string{purgeLedgerSQL, purgeFinishedSQL} {
		rows, err := db.R.Query("EXPLAIN QUERY PLAN "+q, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			if strings.HasPrefix(detail, "SCAN ") {
				t.Errorf("a purge batch scans: %s\n%s", detail, q)
			}
		}
		rows.Close()
	}
}

// countingObserver counts events, to check the Observer contract.
type countingObserver struct {
	NopObserver
	mu                                         sync.Mutex
	attempts, rateLimited, retries, dead, sent int
	ambiguous                                  int
	maxLatency                                 time.Duration
}

func (o *countingObserver) Attempt(method string, class Class, latency time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts++
	if class == ClassAmbiguous || class == ClassInterrupted {
		o.ambiguous++
	}
}
func (o *countingObserver) RateLimited(int64, time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rateLimited++
}
func (o *countingObserver) Retry(string, Class, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries++
}
func (o *countingObserver) DeadLetter(string, Class) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dead++
}
func (o *countingObserver) Sent(_ string, _ Lane, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent++
	o.maxLatency = max(o.maxLatency, d)
}

func TestObserverSeesEverything(t *testing.T) {
	t.Parallel() // mostly waiting on real time
	fake := newFake(t, bottest.WithFaults(bottest.Faults{ErrorRate: 0.2}))
	db := openDB(t)
	const chat = 701
	fake.FailNext(bottest.Fault{Method: "sendMessage", ChatID: chat, Status: 429, RetryAfter: 1})
	obs := &countingObserver{}
	s := NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}, Observer: obs,
		RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, MaxAttempts: 50})
	var msgs []Message
	for i := range 50 {
		msgs = append(msgs, textMsg(int64(chat+i), Bulk, "x"))
	}
	enqueue(t, db, msgs...)
	startSender(t, s)
	waitFor(t, 20*time.Second, "all final", func() bool { return allFinal(t, db) })
	st, _ := ReadQueue(context.Background(), db.R, time.Now(), time.Hour)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.sent != 50 || obs.rateLimited != 1 || int64(obs.retries) != st.Failed-1 || obs.attempts != fake.Summary().Calls {
		t.Errorf("observer: %+v; stats %+v; calls %d", obs, st, fake.Summary().Calls)
	}
}

// TestIdleChatsAreEvicted: per-chat state exists only while it carries
// information, so memory does not grow with the number of chats served.
func TestIdleChatsAreEvicted(t *testing.T) {
	s := NewSender(nil, nil, Config{}) // default limits; no database needed
	now := time.Now()
	for id := int64(1); id <= 100_000; id++ {
		c := id
		if id%2 == 0 {
			c = -id
		}
		s.chat(c).lim.AllowN(now, 1) // one message each
	}
	s.chat(5).blockedUntil = now.Add(time.Hour) // a 429 wait
	s.chat(7).busy = true                       // a call in flight
	s.sweep(now.Add(2 * time.Second))
	// Private buckets (1/s) are full again; group buckets (20/min) not yet.
	if n := len(s.chats); n != 50_000+2 {
		t.Fatalf("%d chat states after 2 s, want the 50,000 groups + 2", n)
	}
	s.sweep(now.Add(4 * time.Second))
	if n := len(s.chats); n != 2 {
		t.Fatalf("%d chat states after 4 s, want the blocked and the busy one", n)
	}
	s.chat(7).busy = false
	s.sweep(now.Add(2 * time.Hour))
	if n := len(s.chats); n != 0 {
		t.Fatalf("%d chat states left", n)
	}
}

// TestShutdownFinishesCallsInFlight: cancelling Run makes no new calls,
// waits for the calls in flight, records them, and leaves the rest pending.
func TestShutdownFinishesCallsInFlight(t *testing.T) {
	db := openDB(t)
	release := make(chan struct{})
	caller := &scriptCaller{clk: realClock{}, respond: func(n int, method string, chat int64) (bot.Result, error) {
		<-release
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}}
	var msgs []Message
	for i := range 10 {
		msgs = append(msgs, textMsg(int64(800+i), Bulk, "x"))
	}
	enqueue(t, db, msgs...)
	s := NewSender(db, caller, Config{Logger: testLogger(t), Workers: 3, Limits: &Limits{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	caller.waitCalls(t, 3)
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned with calls in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := countState(t, db)
	if st[StateSent] != 3 || st[StatePending] != 7 || st[StateSending] != 0 || len(caller.Calls()) != 3 {
		t.Errorf("after shutdown: %v, %d calls; want 3 sent, 7 pending, nothing sending", st, len(caller.Calls()))
	}
}
