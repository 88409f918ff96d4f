package handlers_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/internal/logtest"
	"github.com/rsvpbot/rsvpbot/store"
)

// startWithStats starts a bot with admin as its admin and /stats enabled.
func startWithStats(t *testing.T, opts handlerstest.Options) *handlerstest.Harness {
	t.Helper()
	opts.Admins = append(opts.Admins, admin.ID)
	h := handlerstest.Start(t, opts)
	h.App.EnableStats(handlers.StatsInfo{Version: "1.2.3<beta>", Started: time.Now().Add(-(3*24*time.Hour + 4*time.Hour))})
	return h
}

// botTexts returns what the bot itself wrote in a chat.
func botTexts(h *handlerstest.Harness, chatID int64) []string {
	var out []string
	for _, m := range h.Fake.Messages(chatID) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m.Text)
		}
	}
	return out
}

// ask pushes a message and waits for the bot's next message in replyChat
// (without waiting for the whole outbox to drain, which a test that seeds
// pending rows cannot do).
func ask(t *testing.T, h *handlerstest.Harness, chat models.Chat, from models.User, text string, replyChat int64) string {
	t.Helper()
	before := len(botTexts(h, replyChat))
	h.Fake.PushMessage(chat, from, text)
	deadline := time.Now().Add(20 * time.Second)
	for len(botTexts(h, replyChat)) == before {
		if time.Now().After(deadline) {
			t.Fatalf("no answer to %q in chat %d", text, replyChat)
		}
		time.Sleep(5 * time.Millisecond)
	}
	texts := botTexts(h, replyChat)
	return texts[len(texts)-1]
}

func exec(t *testing.T, h *handlerstest.Harness, q string, args ...any) {
	t.Helper()
	if err := h.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(q, args...)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// seedStats writes a known population: every figure /stats shows is set.
// now is the bot's clock, so that "the oldest for 45 s" is exact.
func seedStats(t *testing.T, h *handlerstest.Harness, now time.Time) {
	t.Helper()
	ms := func(d time.Duration) int64 { return store.Millis(now.Add(d)) }
	// 1,234 users: 1,200 not seen for 40 days, 34 seen now (4 of them blocked the bot).
	exec(t, h, `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
INSERT INTO users (id, first_seen, last_seen, blocked)
SELECT 50000 + i, ?, CASE WHEN i <= 1200 THEN ? ELSE ? END, i > 1230 FROM n`,
		ms(-60*24*time.Hour), ms(-40*24*time.Hour), ms(0))
	// Chats: 20 private active, 3 private blocked, 5 groups, 2 without the bot.
	exec(t, h, `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO chats (id, type, active, first_seen, last_seen)
SELECT CASE WHEN i <= 23 THEN 50000 + i ELSE -50000 - i END,
       CASE WHEN i <= 23 THEN 'private' ELSE 'supergroup' END,
       NOT (i BETWEEN 21 AND 23 OR i > 28), 0, 0 FROM n`)
	// Events: 2 upcoming, 1 past, 1 cancelled; 3 RSVPs, 2 going.
	for i, e := range []struct {
		start  time.Duration
		status string
	}{{48 * time.Hour, "active"}, {72 * time.Hour, "active"}, {-48 * time.Hour, "active"}, {24 * time.Hour, "cancelled"}} {
		exec(t, h, `INSERT INTO events (id, chat_id, creator_id, title, starts_at, status, created_at, updated_at)
VALUES (?, -50029, 50001, 'E', ?, ?, 0, 0)`, i+1, ms(e.start), e.status)
	}
	exec(t, h, `INSERT INTO rsvps (event_id, user_id, status, position, created_at, updated_at) VALUES
(1, 50001, 'going', 1, 0, 0), (1, 50002, 'going', 2, 0, 0), (2, 50001, 'declined', 1, 0, 0)`)
	// Outbox: pending 1 interactive and 2 bulk (due tomorrow, so they stay
	// queued), 2 dead, 4 sent in the last hour (100 ms, 200 ms, 300 ms and
	// 2 s after enqueue) and one 5 hours ago.
	row := `INSERT INTO outbox (chat_id, lane, method, params, state, next_attempt_at, created_at, sent_at, done_at)
VALUES (?, ?, 'sendMessage', '{}', ?, ?, ?, ?, ?)`
	for _, r := range []struct {
		lane                     int
		state                    string
		created, sent, done, due time.Duration
	}{
		{0, "pending", -time.Minute, 0, 0, 24 * time.Hour},
		{2, "pending", -time.Minute, 0, 0, 24 * time.Hour},
		{2, "pending", -time.Minute, 0, 0, 24 * time.Hour},
		{2, "dead", -10 * time.Minute, 0, -9 * time.Minute, 0},
		{2, "dead", -3 * time.Hour, 0, -3 * time.Hour, 0},
		{0, "sent", -10*time.Minute - 100*time.Millisecond, -10 * time.Minute, -10 * time.Minute, 0},
		{0, "sent", -10*time.Minute - 200*time.Millisecond, -10 * time.Minute, -10 * time.Minute, 0},
		{0, "sent", -10*time.Minute - 300*time.Millisecond, -10 * time.Minute, -10 * time.Minute, 0},
		{2, "sent", -10*time.Minute - 2*time.Second, -10 * time.Minute, -10 * time.Minute, 0},
		{2, "sent", -5*time.Hour - time.Second, -5 * time.Hour, -5 * time.Hour, 0},
	} {
		opt := func(d time.Duration) any {
			if d == 0 {
				return nil
			}
			return ms(d)
		}
		exec(t, h, row, 90000+r.lane, r.lane, r.state, ms(r.due), ms(r.created), opt(r.sent), opt(r.done))
	}
	// Ledger: in the last hour 4 ok, a 429 and a 500 on a second attempt;
	// 5 hours ago another 500 on a third attempt.
	for _, l := range []struct {
		attempt int
		outcome string
		at      time.Duration
	}{
		{1, "ok", -10 * time.Minute}, {1, "ok", -10 * time.Minute}, {1, "ok", -10 * time.Minute}, {1, "ok", -10 * time.Minute},
		{1, "rate_limited", -20 * time.Minute}, {2, "server_error", -15 * time.Minute}, {3, "server_error", -5 * time.Hour},
	} {
		exec(t, h, `INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, created_at) VALUES (1, 90000, 'sendMessage', ?, ?, ?)`,
			l.attempt, l.outcome, ms(l.at))
	}
	// 30 updates handled in the last 10 minutes, and 2 waiting (for another
	// chat), the older for 45 s. Negative ids stay clear of the fake's, and
	// the waiting ones are not handed to the dispatcher (they were stored
	// behind its back), so they stay waiting.
	exec(t, h, `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO inbox (update_id, kind, payload, received_at, done_at) SELECT -i, 'message', '{}', ?, ? FROM n`,
		ms(-5*time.Minute), ms(-5*time.Minute))
	exec(t, h, `INSERT INTO inbox (update_id, chat_id, kind, payload, received_at) VALUES
(-100, 77, 'message', '{}', ?), (-101, 77, 'message', '{}', ?)`, ms(-45*time.Second), ms(-2*time.Second))
}

func TestStatsShowsEveryFigureToAnAdmin(t *testing.T) {
	// The bot's clock stands still, so the ages it prints are the seeded ones.
	now := time.Now()
	h := startWithStats(t, handlerstest.Options{Now: func() time.Time { return now }})
	seedStats(t, h, now)
	got := ask(t, h, bottest.PrivateChat(admin), admin, "/stats", admin.ID)
	for _, want := range []string{
		"Bot statistics",
		"Version 1.2.3<beta>, running for 3 d 4 h",
		"Users: 1,234 (active in the last 30 days: 30)",
		"Private chats: 20 active, 3 blocked the bot",
		"Groups: 5 active, 2 without the bot",
		"Events: 2 upcoming, 1 past, 1 cancelled",
		"RSVPs: 3 (going: 2)",
		"Queue now: 3 waiting (interactive 1, edits 0, bulk 2), 0 sending, 2 failed for good",
		"Last hour: 4 sent, 2 failed attempts, 1 rate limits (429), 1 retries",
		"Last 24 hours: 5 sent, 3 failed attempts, 1 rate limits (429), 2 retries",
		// Percentiles are their latency bucket's upper bound (outbox.Queue):
		// 200 ms is a bound, 300 ms falls in the bucket up to 316 ms.
		"Time to delivery (last hour): median 200 ms, 95th percentile 316 ms",
		"Incoming: 3.0 updates per minute, 2 waiting, the oldest for 45 s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/stats lacks %q:\n%s", want, got)
		}
	}
	// One screen: a heading, a few short sections.
	if lines := strings.Count(got, "\n") + 1; lines > 18 || len([]rune(got)) > 1200 {
		t.Errorf("/stats is %d lines, %d characters:\n%s", lines, len([]rune(got)), got)
	}
	// Headings are bold (so the HTML went through, escaped where needed).
	msgs := h.Fake.Messages(admin.ID)
	last := msgs[len(msgs)-1]
	bold := 0
	for _, e := range last.Entities {
		if e.Type == models.MessageEntityTypeBold {
			bold++
		}
	}
	if bold != 3 {
		t.Errorf("%d bold headings, want 3", bold)
	}
	if strings.Contains(got, "Warning") || strings.Contains(got, "⚠️") {
		t.Errorf("warnings without cause:\n%s", got)
	}
}

func TestStatsWarnsAndSpeaksTheAdminsLanguage(t *testing.T) {
	h := startWithStats(t, handlerstest.Options{})
	ruAdmin := admin
	ruAdmin.LanguageCode = "ru"
	// 11 dead letters in the last hour and 1,001 messages waiting.
	now := store.Millis(time.Now())
	exec(t, h, `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1012)
INSERT INTO outbox (chat_id, lane, method, params, state, next_attempt_at, created_at, done_at)
SELECT 90000 + i, 2, 'sendMessage', '{}', CASE WHEN i <= 11 THEN 'dead' ELSE 'pending' END, ? + 86400000, ?,
       CASE WHEN i <= 11 THEN ? END FROM n`, now, now, now)
	got := ask(t, h, bottest.PrivateChat(ruAdmin), ruAdmin, "/stats", admin.ID)
	for _, want := range []string{
		"Статистика бота",
		"работает 3 д 4 ч",
		"ждут 1\u00a0001",
		"⚠️ В очереди на отправку больше 1\u00a0000 сообщений.",
		"⚠️ За последний час окончательно не доставлено сообщений: 11",
		"за последний час ничего не отправлено",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/stats in Russian lacks %q:\n%s", want, got)
		}
	}
}

func TestStatsLooksUnknownToOthers(t *testing.T) {
	var logs logtest.Buffer
	h := startWithStats(t, handlerstest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h.Send(bottest.PrivateChat(ann), ann, "/frobnicate")
	unknown := strings.ReplaceAll(h.LastText(ann.ID), "/frobnicate", "/stats")
	h.Send(bottest.PrivateChat(ann), ann, "/stats")
	if got := h.LastText(ann.ID); got != unknown {
		t.Fatalf("non-admin /stats: %q, want the unknown-command answer %q", got, unknown)
	}
	if !strings.Contains(logs.String(), "/stats refused") || !strings.Contains(logs.String(), "user_id=1001") {
		t.Fatalf("refusal not logged:\n%s", logs.String())
	}
	// In a group, like any unknown command: silence.
	g := bottest.Group(-500, "Club")
	h.Send(g, ann, "/stats")
	if texts := botTexts(h, g.ID); len(texts) != 0 {
		t.Fatalf("bot answered a non-admin's /stats in a group: %q", texts)
	}
	// /help does not mention it to them, and does to the admin.
	h.Send(bottest.PrivateChat(ann), ann, "/help")
	if strings.Contains(h.LastText(ann.ID), "/stats") {
		t.Fatal("/help shows /stats to a non-admin")
	}
	h.Send(bottest.PrivateChat(admin), admin, "/help")
	if !strings.Contains(h.LastText(admin.ID), "/stats") {
		t.Fatal("/help hides /stats from the admin")
	}
}

func TestStatsInAGroupGoPrivately(t *testing.T) {
	h := startWithStats(t, handlerstest.Options{})
	g := bottest.Group(-600, "Climbers")
	// The admin never started the bot: the group is asked nothing but to do so.
	h.Send(g, admin, "/stats")
	texts := botTexts(h, g.ID)
	if len(texts) != 1 || !strings.Contains(texts[0], "@"+h.Fake.Bot().Username) || strings.Contains(texts[0], "Queue") {
		t.Fatalf("group answer without a private chat: %q", texts)
	}
	if len(botTexts(h, admin.ID)) != 0 {
		t.Fatal("stats sent to a private chat the admin never opened")
	}
	// Once started, the stats go to the private chat and the group is told.
	h.Send(bottest.PrivateChat(admin), admin, "/start")
	h.Send(g, admin, "/stats")
	texts = botTexts(h, g.ID)
	if len(texts) != 2 || texts[1] != "I've sent you the statistics in a private chat." {
		t.Fatalf("group notice: %q", texts)
	}
	if got := h.LastText(admin.ID); !strings.Contains(got, "Bot statistics") || !strings.Contains(got, "Queue now") {
		t.Fatalf("private stats: %q", got)
	}
	// The notice replies to the admin's command in the group.
	calls := h.Fake.CallsTo("sendMessage")
	var notice bottest.Call
	for _, c := range calls {
		if c.ChatID == g.ID {
			notice = c
		}
	}
	if !strings.Contains(notice.Params["reply_parameters"], "message_id") {
		t.Fatalf("group notice is not a reply: %v", notice.Params)
	}
}
