package playground

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/store"
)

// botBinary is the rsvpbot binary the tests' playgrounds run as their
// child, built once by TestMain.
var botBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "playground-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	botBinary = filepath.Join(dir, "rsvpbot")
	build := exec.Command("go", "build", "-o", botBinary, "github.com/rsvpbot/rsvpbot/cmd/rsvpbot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building rsvpbot for the playground's child process:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// session is a running playground under test.
type session struct {
	t    *testing.T
	url  string
	db   string
	p    *Playground
	done chan error
	stop func() // stops the playground and waits for it
}

// realTelegramEnv is what an operator's shell may hold; the playground
// must ignore it.
var realTelegramEnv = []string{"TELEGRAM_BOT_TOKEN=987654:REAL-token-never-used", "TELEGRAM_API_URL=https://api.telegram.org"}

func startPlayground(t *testing.T, mutate func(*Config)) *session {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	cfg := Config{Addr: "127.0.0.1:0", DB: filepath.Join(dir, "data", "playground.db"), Offline: true,
		Exe: botBinary, Env: append(os.Environ(), realTelegramEnv...), RestartDelay: 300 * time.Millisecond,
		Ready: func(u string) { urls <- u }}
	if mutate != nil {
		mutate(&cfg)
	}
	s := &session{t: t, db: cfg.DB, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, cfg, func(p *Playground) { s.p = p }) }()
	select {
	case s.url = <-urls:
	case err := <-s.done:
		cancel()
		t.Fatalf("playground did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("playground did not start in 30s")
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("playground: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("playground did not stop in 30s")
			}
		})
	}
	t.Cleanup(s.stop)
	s.waitBot("running", 0)
	return s
}

// waitBot waits until the bot is in state, with a pid other than notPID.
func (s *session) waitBot(state string, notPID int) BotState {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := s.p.child.State()
		if st.State == state && st.PID != notPID {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("bot did not become %s (now %+v); log:\n%s", state, st, strings.Join(s.p.child.logs.Tail(20), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *session) push(chat models.Chat, from Person, text string) models.Update {
	return s.p.emulator().Fake.PushMessage(chat, from.user(), text)
}

// waitReplies waits until the bot has written n messages into chat.
func (s *session) waitReplies(chat int64, n int) []models.Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []models.Message
	f := s.p.emulator().Fake
	err := f.Wait(ctx, func() bool {
		got = got[:0]
		for _, m := range f.Messages(chat) {
			if m.From != nil && m.From.IsBot {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	if err != nil {
		s.t.Fatalf("chat %d: %d bot message(s), want %d; log:\n%s", chat, len(got), n, strings.Join(s.p.child.logs.Tail(20), "\n"))
	}
	return got
}

var (
	ann   = Person{ID: 1001, Name: "Ann", Lang: "en", Admin: true}
	boris = Person{ID: 1002, Name: "Boris", Lang: "ru"}
)

// TestBotAnswersThroughOutboxAndLedger: the playground's bot is the
// production one: its reply was an outbox row, sent, and every send the
// emulator answered is in the ledger with the message id Telegram gave.
func TestBotAnswersThroughOutboxAndLedger(t *testing.T) {
	s := startPlayground(t, nil)
	s.push(bottest.PrivateChat(ann.user()), ann, "/help")
	reply := s.waitReplies(ann.ID, 1)[0]
	if !strings.Contains(reply.Text, "/event") {
		t.Fatalf("reply to /help: %q", reply.Text)
	}
	// The sender records the ledger row in the transaction that marks the
	// row sent, just after Telegram answered: wait for it.
	// The group's welcome and the reply: the welcome may leave after the
	// reply (another chat, its own pacing).
	var sends []bottest.Call
	deadline := time.Now().Add(20 * time.Second)
	for len(sends) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("sends seen by the emulator: %d", len(sends))
		}
		time.Sleep(50 * time.Millisecond)
		sends = sends[:0]
		for _, c := range s.p.emulator().Fake.Calls() {
			if c.OK() && (c.Method == "sendMessage" || c.Method == "editMessageText") {
				sends = append(sends, c)
			}
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		missing := ""
		db, err := store.OpenReadOnly(context.Background(), s.db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range sends {
			var outcome, state string
			err := db.R.QueryRow(`
				SELECT l.outcome, o.state FROM ledger l JOIN outbox o ON o.id = l.outbox_id
				WHERE l.chat_id = ? AND l.tg_message_id = ? AND l.method = ?`, c.ChatID, c.MessageID, c.Method).Scan(&outcome, &state)
			if err != nil || outcome != "ok" || state != "sent" {
				missing += fmt.Sprintf("%s to %d (message %d): %v %q %q; ", c.Method, c.ChatID, c.MessageID, err, outcome, state)
			}
		}
		db.Close()
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sends without an ok ledger row of a sent outbox row: %s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBotNeverGetsARealToken: the child's actual environment (read from
// /proc) points at the playground's emulator with the playground token,
// although the playground's own environment holds a real-looking token and
// api.telegram.org.
func TestBotNeverGetsARealToken(t *testing.T) {
	s := startPlayground(t, nil)
	st := s.p.child.State()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", st.PID))
	if err != nil {
		t.Skipf("cannot read the child's environment on this system: %v", err)
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(raw, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	if env["TELEGRAM_API_URL"] != s.url || env["TELEGRAM_BOT_TOKEN"] != Token {
		t.Fatalf("child has TELEGRAM_API_URL=%q TELEGRAM_BOT_TOKEN=%q, want %q and %q",
			env["TELEGRAM_API_URL"], env["TELEGRAM_BOT_TOKEN"], s.url, Token)
	}
	if bytes.Contains(raw, []byte("api.telegram.org")) || bytes.Contains(raw, []byte("REAL-token")) {
		t.Fatal("the child's environment mentions the real Telegram or the real token")
	}
	if !strings.HasPrefix(env["OPEN_METEO_FORECAST_URL"], s.url+"/_weather/") {
		t.Fatalf("weather goes to %q, not through the playground", env["OPEN_METEO_FORECAST_URL"])
	}
}

// TestKillNineThenAnswersInOrder: SIGKILL the bot, write while it is
// down; the restarted bot answers every message, in order, once.
func TestKillNineThenAnswersInOrder(t *testing.T) {
	s := startPlayground(t, func(c *Config) { c.RestartDelay = 2 * time.Second })
	chat := bottest.PrivateChat(boris.user())
	s.push(chat, boris, "/help")
	s.waitReplies(boris.ID, 1)
	// Killed between Telegram's answer and the commit that records it, a
	// send is repeated after the restart (at-least-once, by design; the
	// ledger marks it ambiguous). This test is about what comes after the
	// kill, so it kills an idle bot.
	s.waitOutboxIdle()
	before := s.waitBot("running", 0)
	if !s.p.child.kill() {
		t.Fatal("kill: no bot to kill")
	}
	s.waitBot("down", -1)
	for _, text := range []string{"/events", "/myevents", "/help"} {
		s.push(chat, boris, text)
	}
	after := s.waitBot("running", before.PID)
	if after.Restarts != 1 || !strings.Contains(after.LastExit, "SIGKILL") {
		t.Fatalf("after the kill: %+v", after)
	}
	// In order and once each: the last reply answers the last message
	// (/help again, in Russian), and /help was answered exactly twice.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := s.p.emulator().Fake
	helps := func() (n int, last string) {
		for _, m := range f.Messages(boris.ID) {
			if m.From != nil && m.From.IsBot {
				last = m.Text
				if strings.Contains(m.Text, "Вот что я умею") {
					n++
				}
			}
		}
		return n, last
	}
	if err := f.Wait(ctx, func() bool { n, _ := helps(); return n >= 2 }); err != nil {
		t.Fatalf("the /help typed while the bot was down was not answered; log:\n%s", strings.Join(s.p.child.logs.Tail(20), "\n"))
	}
	s.waitOutboxIdle() // a duplicate or a late reply would show by now
	if n, last := helps(); n != 2 || !strings.Contains(last, "Вот что я умею") {
		for _, m := range f.Messages(boris.ID) {
			t.Logf("%d %v %.40q", m.ID, m.From.IsBot, m.Text)
		}
		t.Fatalf("/help answered %d times (want 2); last reply %q", n, last)
	}
	var msgs []int
	for _, m := range s.p.emulator().Fake.Messages(boris.ID) {
		msgs = append(msgs, m.ID)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i] <= msgs[i-1] {
			t.Fatalf("message ids out of order: %v", msgs)
		}
	}
}

// waitOutboxIdle waits until the bot's outbox has nothing pending or
// being sent (its database, read-only).
func (s *session) waitOutboxIdle() {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := -1
		if db, err := store.OpenReadOnly(context.Background(), s.db, store.Options{}); err == nil {
			_ = db.R.QueryRow(`SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`).Scan(&n)
			db.Close()
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("outbox not idle after 60s (%d rows)", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPortInUse: one line naming RSVPBOT_HTTP_ADDR and the port.
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	err = Run(context.Background(), Config{Addr: ln.Addr().String(), DB: filepath.Join(t.TempDir(), "pg.db"), Exe: botBinary, Offline: true})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "RSVPBOT_HTTP_ADDR") || !strings.Contains(err.Error(), port) ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want one line naming RSVPBOT_HTTP_ADDR and port %s", err, port)
	}
}

// TestNewerDatabaseRefused: a playground database migrated by a newer
// rsvpbot is refused, untouched, as the bot refuses it.
func TestNewerDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "playground.db")
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, latest, _ := db.SchemaVersion(ctx)
	if _, err := db.W.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, latest+5); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	err = Run(ctx, Config{Addr: "127.0.0.1:0", DB: path, Exe: botBinary, Offline: true})
	var ue *UsageError
	if !errors.As(err, &ue) || !errors.Is(err, store.ErrNewerSchema) && !strings.Contains(err.Error(), "newer") &&
		!strings.Contains(err.Error(), "knows only up to") {
		t.Fatalf("got %v, want the newer-schema refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the refused database was changed")
	}
}

// TestResetStartsAfresh: the reset deletes events and chats; the bot
// starts again on an empty database.
func TestResetStartsAfresh(t *testing.T) {
	s := startPlayground(t, nil)
	group := bottest.Group(-4001, "Hikers")
	s.push(group, ann, "/event Picnic | tomorrow 18:00 | Park")
	s.waitReplies(-4001, 2) // the welcome and the card
	before := s.p.child.State()
	resp, err := http.Post(s.url+"/api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %s", resp.Status)
	}
	s.waitBot("running", before.PID)
	s.waitReplies(-4001, 1) // the welcome again, in the new emulator
	db, err := store.OpenReadOnly(context.Background(), s.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("events after reset: %d (%v)", n, err)
	}
}

// TestWeatherSwitch: the weather pass-through serves the fake forecast
// offline and answers 503 while switched off.
func TestWeatherSwitch(t *testing.T) {
	s := startPlayground(t, nil)
	get := func() int {
		resp, err := http.Get(s.url + "/_weather/v1/search?name=Berlin&count=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("weather: %d", code)
	}
	post(t, s.url+"/api/weather", `{"down":true}`)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("weather while down: %d", code)
	}
	var sess Session
	getJSON(t, s.url+"/api/session", &sess)
	if !strings.Contains(sess.Weather, "fake") {
		t.Fatalf("session says weather is %q", sess.Weather)
	}
}

func emuChaos(storm, away bool) emu.ChaosRequest {
	return emu.ChaosRequest{Storm: &storm, Away: &away}
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestChaosLosesNothing: a 429 storm and Telegram away delay the replies
// written meanwhile; each arrives once, in order, when the chaos ends.
func TestChaosLosesNothing(t *testing.T) {
	s := startPlayground(t, nil)
	e := s.p.emulator()
	chat := bottest.PrivateChat(ann.user())
	s.push(chat, ann, "/start")
	s.waitReplies(ann.ID, 1)

	e.SetChaos(emuChaos(true, false))
	s.push(chat, ann, "/help")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Fake.Wait(ctx, func() bool { return e.Fake.Summary().TooManyRequests > 0 }); err != nil {
		t.Fatal("no 429 during the storm")
	}
	e.SetChaos(emuChaos(false, true))
	s.push(chat, ann, "/events")
	time.Sleep(2 * time.Second)
	e.SetChaos(emuChaos(false, false))
	s.waitReplies(ann.ID, 3)
	s.waitOutboxIdle()
	replies := s.waitReplies(ann.ID, 3)
	if len(replies) != 3 || !strings.Contains(replies[1].Text, "/event") {
		for _, r := range replies {
			t.Logf("%q", r.Text)
		}
		t.Fatalf("%d replies after the chaos, want 3 in order", len(replies))
	}
}

// TestRestartKeepsChats: a second run on the same data shows the chats of
// the first, and the bot answers a new message there (update ids continue
// above the ones its database holds; message ids continue too).
func TestRestartKeepsChats(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "playground.db")
	first := startPlayground(t, func(c *Config) { c.DB = db })
	first.push(bottest.PrivateChat(ann.user()), ann, "/help")
	before := first.waitReplies(ann.ID, 1)
	first.waitOutboxIdle()
	first.stop()

	second := startPlayground(t, func(c *Config) { c.DB = db })
	if got := second.waitReplies(ann.ID, 1); got[0].Text != before[0].Text || got[0].ID != before[0].ID {
		t.Fatalf("after the restart the chat shows %+v, want %+v", got[0], before[0])
	}
	u := second.push(bottest.PrivateChat(ann.user()), ann, "/help")
	replies := second.waitReplies(ann.ID, 2)
	if replies[1].ID <= u.Message.ID || replies[1].Text != before[0].Text {
		t.Fatalf("the second run's reply: %+v (to message %d)", replies[1], u.Message.ID)
	}
}

// TestReminderDemo: the demo creates an event four minutes ahead in the
// chat, gives it a one-minute reminder and marks the visitor going, through
// the bot's own commands and buttons.
func TestReminderDemo(t *testing.T) {
	s := startPlayground(t, nil)
	resp, err := http.Post(s.url+"/api/demo/reminder", "application/json", strings.NewReader(`{"chat":-4001,"user":1001}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Event  int64     `json:"event"`
		Starts time.Time `json:"starts"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || got.Event == 0 || time.Until(got.Starts) < 2*time.Minute || time.Until(got.Starts) > 5*time.Minute {
		t.Fatalf("demo: %s %+v", resp.Status, got)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var offsets string
		if db, err := store.OpenReadOnly(context.Background(), s.db, store.Options{}); err == nil {
			_ = db.R.QueryRow(`SELECT reminder_offsets FROM events WHERE id = ?`, got.Event).Scan(&offsets)
			db.Close()
		}
		var going int
		if db, err := store.OpenReadOnly(context.Background(), s.db, store.Options{}); err == nil {
			_ = db.R.QueryRow(`SELECT count(*) FROM rsvps WHERE event_id = ? AND user_id = ? AND status = 'going'`, got.Event, ann.ID).Scan(&going)
			db.Close()
		}
		if (offsets == "1m" || offsets == "60s" || offsets == "1m0s") && going == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %d has reminders %q and Ann going %d time(s), want one minute before and Ann going", got.Event, offsets, going)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSecondPlaygroundOnTheSameData: refused with one line naming the
// database, with or without --reset, and the first one's data survive.
func TestSecondPlaygroundOnTheSameData(t *testing.T) {
	s := startPlayground(t, nil)
	for _, reset := range []bool{false, true} {
		err := Run(context.Background(), Config{Addr: "127.0.0.1:0", DB: s.db, Exe: botBinary, Offline: true, Reset: reset})
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "RSVPBOT_DB") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("reset=%v: got %v, want one line naming RSVPBOT_DB", reset, err)
		}
	}
	if _, err := os.Stat(s.db); err != nil {
		t.Fatalf("the first playground's database: %v", err)
	}
	s.push(bottest.PrivateChat(ann.user()), ann, "/help")
	s.waitReplies(ann.ID, 1)
}
