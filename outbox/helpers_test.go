package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(sigkillChild())
	}
	if os.Getenv(memChildEnv) != "" {
		os.Exit(memChild())
	}
	os.Exit(m.Run())
}

func openDB(t testing.TB) *store.DB {
	t.Helper()
	return openDBAt(t, filepath.Join(t.TempDir(), "rsvpbot.db"))
}

// openDBAt opens the test database keyed by path: the SQLite file at path,
// or its PostgreSQL schema when the tests run on PostgreSQL
// (storetest.DSN), so every test through it runs on both backends.
func openDBAt(t testing.TB, path string) *store.DB {
	t.Helper()
	return openDSN(t, storetest.DSN(t, path), store.Options{})
}

// openSQLiteAt opens the SQLite file at path whatever the backend, for
// the tests of SQLite's own mechanics (an old file, a killed process
// holding the file, file sizes).
func openSQLiteAt(t testing.TB, path string) *store.DB {
	t.Helper()
	return openDSN(t, path, store.Options{})
}

func openDSN(t testing.TB, dsn string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, WithSchema(opts))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testLogger logs to the test at Warn and above (Debug with -v and
// OUTBOX_DEBUG=1).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("OUTBOX_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

var _ io.Writer = tlogWriter{}

type sendParams struct {
	ChatID int64  `json:"chat_id"`
	Text   string `json:"text"`
}

func textMsg(chat int64, lane Lane, text string) Message {
	return Message{ChatID: chat, Method: "sendMessage", Lane: lane, Params: sendParams{ChatID: chat, Text: text}}
}

// enqueue commits msgs in one transaction and returns their ids.
func enqueue(t testing.TB, db *store.DB, msgs ...Message) []int64 {
	t.Helper()
	var ids []int64
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		ids = ids[:0]
		for _, m := range msgs {
			id, err := Enqueue(context.Background(), tx, m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return ids
}

func newFake(t testing.TB, opts ...bottest.Option) *bottest.Server {
	t.Helper()
	s := bottest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func newClient(t testing.TB, s *bottest.Server) *bot.Client {
	t.Helper()
	c, err := bot.NewClient(s.Token, s.URL, bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("bot.NewClient: %v", err)
	}
	return c
}

// startSender runs s until the test ends (or stop is called) and fails the
// test if Run returns an error.
func startSender(t testing.TB, s *Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Sender.Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Sender.Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds; it is synchronisation with the
// sender's goroutines, not a pacing assertion.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countState(t testing.TB, db *store.DB) map[State]int {
	t.Helper()
	rows, err := db.R.Query(`SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[State]int{}
	for rows.Next() {
		var s State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		m[s] = n
	}
	return m
}

// allFinal reports whether no row is pending or sending.
func allFinal(t testing.TB, db *store.DB) bool {
	t.Helper()
	var queued bool
	if err := db.R.QueryRow(`SELECT EXISTS (SELECT 1 FROM outbox WHERE state IN ('pending', 'sending'))`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	return !queued
}

func getRow(t testing.TB, db *store.DB, id int64) (Row, []Attempt) {
	t.Helper()
	r, atts, err := Get(context.Background(), db.R, id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return r, atts
}

// fakeClock is a manual clock: time moves only when the test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

// newFakeClock starts an hour after the real time, so rows enqueued (with
// the real time) during the test are due at once.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Add(time.Hour).Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: t, ch: ch})
	return ch
}

// Set moves the clock to t (never back) and fires the waiters due by then.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// scriptCaller is a Caller for fake-clock tests: it records calls with the
// fake time and answers with respond.
type scriptCaller struct {
	clk     Clock
	mu      sync.Mutex
	calls   []scriptCall
	respond func(n int, method string, chat int64) (bot.Result, error)
}

type scriptCall struct {
	at     time.Time
	method string
	chat   int64
	params json.RawMessage
}

func (c *scriptCaller) Call(_ context.Context, method string, params json.RawMessage) (bot.Result, error) {
	var p struct {
		ChatID int64 `json:"chat_id"`
	}
	_ = json.Unmarshal(params, &p)
	c.mu.Lock()
	c.calls = append(c.calls, scriptCall{at: c.clk.Now(), method: method, chat: p.ChatID, params: params})
	n := len(c.calls)
	c.mu.Unlock()
	if c.respond == nil {
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}
	return c.respond(n, method, p.ChatID)
}

func (c *scriptCaller) Calls() []scriptCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]scriptCall(nil), c.calls...)
}

func (c *scriptCaller) waitCalls(t testing.TB, n int) []scriptCall {
	t.Helper()
	var calls []scriptCall
	waitFor(t, 10*time.Second, fmt.Sprintf("%d calls", n), func() bool {
		calls = c.Calls()
		return len(calls) >= n
	})
	return calls
}

func serverError() (bot.Result, error) {
	return bot.Result{HTTPStatus: 500, ErrorCode: 500, Description: "Internal Server Error", Sent: true},
		fmt.Errorf("error response from telegram for method sendMessage, 500 Internal Server Error")
}
