// Package handlerstest runs the whole bot in a test, assembled by package
// app exactly as rsvpbot runs it — a real SQLite file, the intake
// long-polling the fake Bot API, the dispatcher behind the flood guard, the
// handlers, the outbox sender, the metrics and every scheduled job (run on
// demand with RunJob rather than by the clock) — so handler tests drive
// flows the way users do (push an update into bot/bottest, wait, read what
// the chat shows) and restart tests can stop the bot and start it again on
// the same file.
package handlerstest

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Options tune Start. The zero value is a fresh bot with no admins, UTC,
// real time, no rate limits, no weather and production's policies
// (reminder offsets, retention, job schedules).
type Options struct {
	// DBPath reuses a database file (a restart); empty makes a new one.
	DBPath string
	// Fake reuses a fake Bot API (a restart); nil starts a new one, closed
	// with the harness.
	Fake   *bottest.Server
	Admins []int64
	// Now is the clock of the handlers and the jobs (default time.Now).
	Now func() time.Time
	TZ  *time.Location
	// Limits for the sender; nil means unlimited.
	Limits *outbox.Limits
	// Reminders are the default reminder offsets (nil: the scheduler's
	// defaults, as RSVPBOT_REMINDERS' default).
	Reminders []time.Duration
	// Configure may adjust the handler dependencies before the app is built
	// (e.g. to plug in a weather service).
	Configure func(*handlers.Deps)
	// Logger defaults to one that writes to the test log at warn level.
	Logger *slog.Logger
	// Flood, if set, sets the flood budgets in front of the handlers, as
	// RSVPBOT_FLOOD_* do; nil means no budgets.
	Flood *handlers.FloodConfig
}

// Harness is a running bot.
type Harness struct {
	T testing.TB
	// Main is the assembled app (package app), as cmd/rsvpbot builds it.
	Main    *app.App
	Fake    *bottest.Server
	DB      *store.DB
	App     *handlers.App
	Catalog *locales.Catalog
	Sender  *outbox.Sender
	Flood   *handlers.Flood // the guard in front of the handlers
	Path    string
	opts    Options

	ownFake bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// config is the app configuration Start runs with: production's, but for
// the fake Bot API, the options, jobs run on demand and short delays.
func config(fake *bottest.Server, path string, opts Options, log *slog.Logger) app.Config {
	limits := opts.Limits
	if limits == nil {
		limits = &outbox.Limits{}
	}
	var flood handlers.FloodConfig
	if opts.Flood != nil {
		flood = *opts.Flood
	}
	return app.Config{
		Token:          fake.Token,
		APIURL:         fake.URL,
		DB:             path,
		Admins:         opts.Admins,
		Timezone:       opts.TZ,
		Version:        "test",
		Logger:         log,
		Limits:         limits,
		Flood:          flood,
		Reminders:      opts.Reminders,
		Now:            opts.Now,
		ManualJobs:     true,
		AdjustHandlers: opts.Configure,
		Timing: app.Timing{ClientTimeout: 10 * time.Second, PollTimeout: time.Second,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			SenderPollInterval: 50 * time.Millisecond, DispatchGrace: 5 * time.Second},
	}
}

// Start starts a bot; it is stopped when the test ends.
func Start(t testing.TB, opts Options) *Harness {
	t.Helper()
	h := &Harness{T: t, opts: opts, Path: opts.DBPath, Fake: opts.Fake}
	if h.Path == "" {
		h.Path = filepath.Join(t.TempDir(), "rsvpbot.db")
	}
	if h.Fake == nil {
		h.Fake = bottest.NewServer()
		h.ownFake = true
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel

	a, err := app.New(ctx, config(h.Fake, h.Path, opts, log))
	if err != nil {
		cancel()
		if h.ownFake {
			h.Fake.Close()
		}
		t.Fatal(err)
	}
	h.Main, h.DB, h.App, h.Catalog, h.Sender, h.Flood = a, a.DB(), a.Handlers(), a.Catalog(), a.Sender(), a.Flood()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := a.Run(ctx); err != nil {
			t.Errorf("bot failed: %v", err)
		}
	}()
	t.Cleanup(h.Stop)
	return h
}

// RunJob runs the app's scheduled job called name once (as its schedule
// would) and waits until what it enqueued was delivered.
func (h *Harness) RunJob(name string) string {
	h.T.Helper()
	res, err := h.Main.RunJob(context.Background(), name)
	if err != nil {
		h.T.Fatalf("job %s: %v", name, err)
	}
	h.WaitIdle()
	return res
}

// Stop stops the bot gracefully and closes the database (and the fake if
// the harness started it).
func (h *Harness) Stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	h.cancel()
	h.wg.Wait()
	h.Main.Close()
	if h.ownFake {
		h.Fake.Close()
	}
}

// Restart stops the bot and starts a new one on the same database and fake
// Bot API, as a process restart would.
func (h *Harness) Restart() *Harness {
	h.ownFake = false // the new harness takes the fake over
	h.Stop()
	opts := h.opts
	opts.DBPath, opts.Fake = h.Path, h.Fake
	n := Start(h.T, opts)
	n.ownFake = true
	return n
}

// Send pushes a text message (a command if it starts with "/") from user in
// chat and waits until the bot has handled it and delivered its replies.
func (h *Harness) Send(chat models.Chat, user models.User, text string) {
	h.T.Helper()
	h.Fake.PushMessage(chat, user, text)
	h.WaitIdle()
}

// Click pushes a button press on message messageID and waits until idle.
func (h *Harness) Click(chat models.Chat, user models.User, messageID int, data string) {
	h.T.Helper()
	h.Fake.PushCallback(chat, user, messageID, data)
	h.WaitIdle()
}

// WaitIdle waits until every pushed update has been fetched and handled and
// every outbox row has reached a final state (sent, dead, dropped...).
func (h *Harness) WaitIdle() {
	h.T.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if h.idle() {
			// Twice, a little apart: a sent row may enqueue follow-ups
			// through the fate hook, and a commit may be on its way.
			time.Sleep(10 * time.Millisecond)
			if h.idle() {
				return
			}
		}
		if time.Now().After(deadline) {
			h.T.Fatalf("bot not idle after 20s: %d updates at the fake, inbox pending %d, outbox pending %d",
				h.Fake.PendingUpdates(), h.count(`SELECT count(*) FROM inbox WHERE done_at IS NULL`),
				h.unfinished())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *Harness) idle() bool {
	return h.Fake.PendingUpdates() == 0 &&
		h.count(`SELECT count(*) FROM inbox WHERE done_at IS NULL`) == 0 &&
		h.unfinished() == 0
}

// unfinished is how many outbox rows are still on their way.
func (h *Harness) unfinished() int64 {
	n, err := outbox.Unfinished(context.Background(), h.DB.R)
	if err != nil {
		h.T.Fatalf("outbox: %v", err)
	}
	return n
}

func (h *Harness) count(q string, args ...any) int {
	var n int
	if err := h.DB.R.QueryRow(q, args...).Scan(&n); err != nil && err != sql.ErrNoRows {
		h.T.Fatalf("%s: %v", q, err)
	}
	return n
}

// Count runs a count query on the database.
func (h *Harness) Count(q string, args ...any) int { return h.count(q, args...) }

// Texts returns the texts of the messages a chat shows, oldest first.
func (h *Harness) Texts(chatID int64) []string {
	var out []string
	for _, m := range h.Fake.Messages(chatID) {
		out = append(out, m.Text)
	}
	return out
}

// Last returns the newest message the bot sent to the chat (not the
// user's own), or fails the test.
func (h *Harness) Last(chatID int64) models.Message {
	h.T.Helper()
	msgs := h.Fake.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].From != nil && msgs[i].From.IsBot {
			return msgs[i]
		}
	}
	h.T.Fatalf("the bot sent nothing to chat %d", chatID)
	return models.Message{}
}

// LastText is Last's text.
func (h *Harness) LastText(chatID int64) string { h.T.Helper(); return h.Last(chatID).Text }

// Toasts returns the texts of the callback answers the bot gave, in order.
func (h *Harness) Toasts() []string {
	var out []string
	for _, c := range h.Fake.CallsTo("answerCallbackQuery") {
		out = append(out, c.Params["text"])
	}
	return out
}

// Buttons returns the callback data of every inline button of m, by label.
func Buttons(m models.Message) map[string]string {
	out := map[string]string{}
	if m.ReplyMarkup == nil {
		return out
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			out[b.Text] = b.CallbackData
		}
	}
	return out
}

// Button returns the callback data of the button whose label contains
// label, or fails the test.
func (h *Harness) Button(m models.Message, label string) string {
	h.T.Helper()
	for text, data := range Buttons(m) {
		if strings.Contains(text, label) {
			return data
		}
	}
	h.T.Fatalf("no button labelled %q in %v", label, Buttons(m))
	return ""
}

// User makes a test user.
func User(id int64, name, lang string) models.User {
	return models.User{ID: id, FirstName: name, LanguageCode: lang, Username: strings.ToLower(name)}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("HARNESS_QUIET") == "" {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
