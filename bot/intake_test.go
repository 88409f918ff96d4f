package bot_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/logtest"
	"github.com/rsvpbot/rsvpbot/store"
)

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "bot.db")
	}
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newClient(t *testing.T, fake *bottest.Server) *bot.Client {
	t.Helper()
	c, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count is the one number query q answers, such as a count(*).
func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func countInbox(t *testing.T, db *store.DB) int { return count(t, db, "SELECT count(*) FROM inbox") }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 10*time.Second, what, cond)
}

// waitWithin polls cond until it holds, failing the test after limit.
func waitWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var ann = models.User{ID: 1001, FirstName: "Ann", LanguageCode: "en"}

func TestPollStoresBeforeConfirming(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t, "")
	var mu sync.Mutex
	var got []store.InboxUpdate
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Stored: func(ups []store.InboxUpdate) { mu.Lock(); got = append(got, ups...); mu.Unlock() }})
	for i := range 5 {
		fake.PushCommand(bottest.PrivateChat(ann), ann, fmt.Sprintf("/help %d", i))
	}
	group := bottest.Group(-500, "G")
	fake.PushMessage(group, ann, "hello group")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- in.Poll(ctx) }()
	waitFor(t, "6 stored updates", func() bool { return countInbox(t, db) == 6 })
	// Telegram forgets a batch only when the next poll confirms it.
	waitFor(t, "confirmation", func() bool { return fake.PendingUpdates() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 6 || got[0].ChatID != ann.ID || got[5].ChatID != -500 || got[0].Kind != "message" {
		t.Fatalf("stored callback got %+v", got)
	}
	off, _ := store.NextUpdateOffset(context.Background(), db.R)
	if off != got[5].UpdateID+1 {
		t.Fatalf("offset %d", off)
	}
}

// A restart resumes from the offset in the database: nothing Telegram still
// holds is lost, nothing already stored is stored twice.
func TestPollResumesFromDatabaseOffset(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "resume.db")
	db := openDB(t, path)
	// An update that was stored but (say) not yet confirmed when the
	// process died: Telegram will send it again.
	first := fake.PushCommand(bottest.PrivateChat(ann), ann, "/start")
	raw, _ := json.Marshal(first)
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if _, err := in.Save(context.Background(), []json.RawMessage{raw}); err != nil {
		t.Fatal(err)
	}
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.Poll(ctx)
	waitFor(t, "second update", func() bool { return countInbox(t, db) == 2 })
	waitFor(t, "queue drained", func() bool { return fake.PendingUpdates() == 0 })
	cancel()
	if n := countInbox(t, db); n != 2 {
		t.Fatalf("inbox has %d rows", n)
	}
}

func TestPollUnauthorizedStops(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t, "")
	c, _ := bot.NewClient("999:wrong-token-value", fake.URL, bot.ClientOptions{})
	in := bot.NewIntake(db, c, bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Poll(ctx); err != bot.ErrUnauthorized {
		t.Fatalf("got %v", err)
	}
}

// 409 (a webhook is set, or another instance polls) is explained once and
// retried; once the conflict is gone, polling works.
func TestPollConflictReportedOnceAndRetried(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t, "")
	client := newClient(t, fake)
	var logs logtest.Buffer
	in := bot.NewIntake(db, client, bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	hook := httptest.NewServer(http.NotFoundHandler())
	defer hook.Close()
	if err := in.SetWebhook(context.Background(), hook.URL+"/hook", "sek"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.Poll(ctx)
	waitFor(t, "conflict logged", func() bool { return strings.Contains(logs.String(), "another process is polling") })
	time.Sleep(100 * time.Millisecond) // several retries happen meanwhile
	if n := strings.Count(logs.String(), "another process is polling"); n != 1 {
		t.Fatalf("conflict reported %d times", n)
	}
	if err := in.DeleteWebhook(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")
	waitFor(t, "update after conflict", func() bool { return countInbox(t, db) == 1 })
	if strings.Contains(logs.String(), "token") && strings.Contains(logs.String(), fake.Token) {
		t.Fatal("token in logs")
	}
}

func TestWebhook(t *testing.T) {
	db := openDB(t, "")
	fake := bottest.NewServer()
	defer fake.Close()
	var stored int
	var mu sync.Mutex
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{Stored: func(ups []store.InboxUpdate) {
		mu.Lock()
		stored += len(ups)
		mu.Unlock()
	}})
	srv := httptest.NewServer(in.Webhook("right-secret"))
	defer srv.Close()
	post := func(secret, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := `{"update_id":77,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"E"},"text":"/start"}}`
	if c := post("", good); c != http.StatusForbidden {
		t.Errorf("missing secret: %d", c)
	}
	if c := post("wrong", good); c != http.StatusForbidden {
		t.Errorf("wrong secret: %d", c)
	}
	if n := countInbox(t, db); n != 0 {
		t.Fatalf("refused requests stored %d rows", n)
	}
	if c := post("right-secret", `{not json`); c != http.StatusBadRequest {
		t.Errorf("malformed: %d", c)
	}
	if c := post("right-secret", `{"hello":1}`); c != http.StatusBadRequest {
		t.Errorf("no update_id: %d", c)
	}
	if c := post("right-secret", good); c != http.StatusOK {
		t.Errorf("good: %d", c)
	}
	// Telegram retries a webhook it thinks failed: stored once, handed on once.
	if c := post("right-secret", good); c != http.StatusOK {
		t.Errorf("redelivery: %d", c)
	}
	if n := countInbox(t, db); n != 1 {
		t.Fatalf("inbox has %d rows", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if stored != 1 {
		t.Fatalf("handed on %d times", stored)
	}
}

// The fake delivers to the webhook like Telegram: with the secret header,
// re-sending until answered 200.
func TestWebhookEndToEnd(t *testing.T) {
	db := openDB(t, "")
	fake := bottest.NewServer()
	defer fake.Close()
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{})
	srv := httptest.NewServer(in.Webhook("s3cret"))
	defer srv.Close()
	if err := in.SetWebhook(context.Background(), srv.URL+"/tg", "s3cret"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")
	}
	waitFor(t, "webhook deliveries", func() bool { return countInbox(t, db) == 3 })
}

// Keep the helper used: a stored update payload is the JSON Telegram sent.
func TestSavedPayloadIsRaw(t *testing.T) {
	db := openDB(t, "")
	fake := bottest.NewServer()
	defer fake.Close()
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{})
	raw := json.RawMessage(`{"update_id":9,"callback_query":{"id":"q","from":{"id":3,"is_bot":false,"first_name":"C"},"chat_instance":"1","data":"x:1","message":{"message_id":4,"date":1,"chat":{"id":-9,"type":"group","title":"T"}}}}`)
	ups, err := in.Save(context.Background(), []json.RawMessage{raw})
	if err != nil || len(ups) != 1 {
		t.Fatal(ups, err)
	}
	var payload []byte
	var kind string
	var chat, user int64
	db.R.QueryRow("SELECT payload, kind, chat_id, user_id FROM inbox WHERE update_id = 9").Scan(&payload, &kind, &chat, &user)
	if string(payload) != string(raw) || kind != "callback_query" || chat != -9 || user != 3 {
		t.Fatalf("%s %s %d %d", payload, kind, chat, user)
	}
	_ = sql.ErrNoRows
}

// sleeps records the pauses Poll chooses instead of taking them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	// Yield a little so a failing loop does not spin the CPU flat out.
	select {
	case <-ctx.Done():
	case <-time.After(time.Millisecond):
	}
}

func (s *sleeps) taken() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// A failed save backs off (doubling), but once a save succeeds the poller
// is back at full speed: the next updates are fetched without any pause.
// (It used to keep the doubled pause until a getUpdates error cleared, so
// one full-disk episode or one backup holding the lock slowed every later
// poll, up to 60 s each, until restart.)
func TestPollBackoffEndsWithTheFirstSuccessfulSave(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "backoff.db")
	db, err := store.Open(context.Background(), path, store.Options{BusyTimeout: 20 * time.Millisecond, TxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sl sleeps
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{PollTimeout: time.Second,
		MinBackoff: time.Second, MaxBackoff: time.Minute, Sleep: sl.sleep})

	// Another process (a backup, the CLI) holds the write lock: saves fail.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(`INSERT INTO users (id, first_seen, last_seen) VALUES (1, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help 1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Poll(ctx) }()
	waitFor(t, "three failed saves", func() bool { return len(sl.taken()) >= 3 })
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first update stored", func() bool { return countInbox(t, db) == 1 })
	failed := sl.taken()
	for i, d := range failed[:3] {
		if want := time.Second << i; d != want {
			t.Fatalf("pause %d after failed saves: %v, want %v (all %v)", i, d, want, failed)
		}
	}
	for i := 2; i <= 4; i++ {
		fake.PushCommand(bottest.PrivateChat(ann), ann, fmt.Sprintf("/help %d", i))
		waitFor(t, "the next update stored", func() bool { return countInbox(t, db) == i })
	}
	if after := sl.taken()[len(failed):]; len(after) != 0 {
		t.Fatalf("pauses after a successful save: %v", after)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
