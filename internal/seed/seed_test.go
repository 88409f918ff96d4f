package seed_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/internal/seed"
	"github.com/rsvpbot/rsvpbot/store"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)

func seeded(t *testing.T, scale float64) (string, seed.Result) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seed.db")
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := seed.Run(ctx, db, seed.Config{Scale: scale, Seed: 7, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Checkpoint(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, res
}

func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestSeed seeds once at 1% and runs the checks on copies.
func TestSeed(t *testing.T) {
	path, res := seeded(t, 0.01)
	copyOf := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "copy.db")
		if err := seed.Copy(path, dst); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	t.Run("counts and invariants", func(t *testing.T) { countsAndInvariants(t, copyOf(t), res) })
	t.Run("the bot runs on it", func(t *testing.T) { botRuns(t, copyOf(t), res) })
}

// countsAndInvariants checks that the tables hold what Run says it
// wrote, in the proportions of the full scale, and that the data is
// consistent the way the bot keeps it.
func countsAndInvariants(t *testing.T, path string, res seed.Result) {
	ctx := context.Background()
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := res.Counts
	for table, want := range map[string]int{"users": c.Users, "chats": c.Chats, "chat_members": c.ChatMembers, "events": c.Events,
		"series": c.Series, "rsvps": c.RSVPs, "event_cards": c.EventCards, "reminders": c.Reminders, "reminder_plans": c.ReminderPlans,
		"outbox": c.Outbox, "ledger": c.Ledger, "inbox": c.Inbox} {
		if got := count(t, db, `SELECT count(*) FROM `+table); got != want {
			t.Errorf("%s: %d rows, Run says %d", table, got, want)
		}
	}
	// Sizes: exact where the scale fixes them, near it where they are drawn.
	if c.Users != max(seed.FullUsers/100, seed.FixtureUsers) || c.Events != seed.FullEvents/100+seed.FixtureEvents || c.Outbox != seed.FullOutbox/100 ||
		c.Ledger != seed.FullLedger/100 || c.Series != seed.FullSeries/100 {
		t.Errorf("sizes at 1%%: %s", c)
	}
	near := func(what string, got, want int) {
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("%s: %d, want about %d", what, got, want)
		}
	}
	near("the crowd's rsvps", count(t, db, `SELECT count(*) FROM rsvps WHERE event_id > ?`, seed.FixtureEvents), seed.FullRSVPs/100)
	near("the crowd's reminders", count(t, db, `SELECT count(*) FROM reminders WHERE event_id > ?`, seed.FixtureEvents), seed.FullReminders/100)

	var ok string
	if err := db.R.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	if n := count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("%d foreign key violations", n)
	}
	checks := []struct{ what, q string }{
		{"rsvps of unknown users", `SELECT count(*) FROM rsvps r LEFT JOIN users u ON u.id = r.user_id WHERE u.id IS NULL`},
		{"rsvps of people who are not members of the event's group",
			`SELECT count(*) FROM rsvps r JOIN events e ON e.id = r.event_id
			 LEFT JOIN chat_members m ON m.chat_id = e.chat_id AND m.user_id = r.user_id WHERE m.user_id IS NULL`},
		{"events whose seq is not their last position",
			`SELECT count(*) FROM events e WHERE seq <> (SELECT coalesce(max(position), 0) FROM rsvps WHERE event_id = e.id)`},
		{"events over capacity", `SELECT count(*) FROM events e WHERE capacity > 0 AND capacity <
			(SELECT coalesce(sum(1 + guests), 0) FROM rsvps WHERE event_id = e.id AND status = 'going')`},
		{"events without a card", `SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_cards WHERE event_id = e.id AND message_id IS NOT NULL)`},
		{"upcoming active events without a current plan", `SELECT count(*) FROM events e LEFT JOIN reminder_plans p ON p.event_id = e.id
			WHERE e.status = 'active' AND e.starts_at > ? AND (p.event_id IS NULL OR p.starts_at <> e.starts_at OR p.offsets <> ?)`},
		{"pending reminders already due", `SELECT count(*) FROM reminders WHERE sent_at IS NULL AND due_at <= ?`},
		{"sent reminders not yet due", `SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL AND (due_at > ? OR outcome <> 'sent')`},
		{"reminders of cancelled events", `SELECT count(*) FROM reminders r JOIN events e ON e.id = r.event_id WHERE e.status = 'cancelled'`},
		{"unfinished outbox rows", `SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending') OR done_at IS NULL`},
		{"ledger rows outside the history", `SELECT count(*) FROM ledger WHERE created_at < ? - 121 * 86400000 OR created_at > ?`},
		{"pending updates", `SELECT count(*) FROM inbox WHERE done_at IS NULL`},
		{"events queued for replanning", `SELECT count(*) FROM reminder_replan`},
		{"community counts that differ from the rows", `SELECT count(*) FROM community_counts c WHERE n <> CASE name
			WHEN 'users' THEN (SELECT count(*) FROM users)
			WHEN 'rsvps' THEN (SELECT count(*) FROM rsvps)
			WHEN 'rsvps_going' THEN (SELECT count(*) FROM rsvps WHERE status = 'going')
			WHEN 'events_active' THEN (SELECT count(*) FROM events WHERE status = 'active')
			WHEN 'events_cancelled' THEN (SELECT count(*) FROM events WHERE status = 'cancelled')
			WHEN 'chats_private_active' THEN (SELECT count(*) FROM chats WHERE type = 'private' AND active = 1)
			WHEN 'chats_group_active' THEN (SELECT count(*) FROM chats WHERE type <> 'private' AND active = 1)
			WHEN 'chats_private_inactive' THEN (SELECT count(*) FROM chats WHERE type = 'private' AND active = 0)
			WHEN 'chats_group_inactive' THEN (SELECT count(*) FROM chats WHERE type <> 'private' AND active = 0) END`},
	}
	now := store.Millis(t0)
	for _, ch := range checks {
		var args []any
		switch {
		case strings.Contains(ch.what, "plan"):
			args = []any{now, seed.ReminderOffsets}
		case strings.Contains(ch.what, "history"):
			args = []any{now, now}
		case strings.Contains(ch.q, "?"):
			args = []any{now}
		}
		if n := count(t, db, ch.q, args...); n != 0 {
			t.Errorf("%d %s", n, ch.what)
		}
	}
	// Spread: past and upcoming events, a series with its occurrences,
	// the ledger over every week of the history, skewed attendance.
	if up, past := count(t, db, `SELECT count(*) FROM events WHERE starts_at > ?`, now), count(t, db, `SELECT count(*) FROM events WHERE starts_at <= ?`, now); up < c.Events/5 || past < c.Events/2 {
		t.Errorf("%d upcoming and %d past events", up, past)
	}
	if n := count(t, db, `SELECT count(*) FROM events WHERE series_id IS NOT NULL`); n < c.Series*5 {
		t.Errorf("%d occurrences of %d series", n, c.Series)
	}
	if weeks := count(t, db, `SELECT count(DISTINCT (? - created_at) / (7 * 86400000)) FROM ledger`, now); weeks < 17 {
		t.Errorf("ledger spread over %d weeks, want the 120 days' 17", weeks)
	}
	fx := res.Fixtures
	if want := seed.FixturesAt(t0); fx.BigEvent != want.BigEvent || fx.BigEventCard != want.BigEventCard || fx.HotChat != want.HotChat || !fx.DueFrom.Equal(want.DueFrom) {
		t.Errorf("fixtures %+v differ from FixturesAt", fx)
	}
	if n := count(t, db, `SELECT count(*) FROM rsvps WHERE event_id = ? AND status = 'going'`, fx.BigEvent); n != seed.HotAttendees {
		t.Errorf("big event: %d going, want %d", n, seed.HotAttendees)
	}
	if n := count(t, db, `SELECT count(*) FROM event_cards WHERE event_id = ? AND chat_id = ? AND message_id = ?`, fx.BigEvent, fx.HotChat, fx.BigEventCard); n != 1 {
		t.Errorf("big event's card: %d rows", n)
	}
	due := store.Millis(fx.DueFrom)
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE sent_at IS NULL AND due_at >= ? AND due_at < ?`, due, due+int64(time.Minute/time.Millisecond)); n != seed.DuePerMinute {
		t.Errorf("%d reminders due in the first minute, want %d", n, seed.DuePerMinute)
	}
	if n := count(t, db, `SELECT max(n) FROM (SELECT count(*) n FROM rsvps WHERE event_id > ? GROUP BY event_id)`, fx.BigEvent+seed.HotUpcoming); n < 40 {
		t.Errorf("largest crowd event has %d RSVPs: attendance not skewed", n)
	}
	if n := count(t, db, `SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM chat_members WHERE user_id = u.id)`); n > c.Users/2 {
		t.Errorf("%d of %d users are in no group", n, c.Users)
	}
}

// botRuns starts the whole bot on a seeded file and uses it: the lists,
// an RSVP press on the big event's card, and the reminders falling due in
// the first minute.
func botRuns(t *testing.T, path string, res seed.Result) {
	fx := res.Fixtures
	ctx := context.Background()
	db, err := seed.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	next, err := store.NextUpdateOffset(ctx, db.R)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	fake := bottest.NewServer(bottest.WithFirstUpdateID(next), bottest.WithClock(func() time.Time { return clock }))
	defer fake.Close()
	h := handlerstest.Start(t, handlerstest.Options{DBPath: path, Fake: fake, Now: func() time.Time { return clock }})
	defer h.Stop()

	busy := handlerstest.User(fx.BusyUser, "Anna", "en")
	group := models.Chat{ID: fx.HotChat, Type: models.ChatTypeSupergroup, Title: "Hot"}
	h.Send(group, busy, "/events")
	if got := h.LastText(fx.HotChat); !strings.Contains(got, "Summer festival") {
		t.Errorf("/events in the hot group:\n%s", got)
	}
	private := models.Chat{ID: fx.BusyUser, Type: models.ChatTypePrivate}
	h.Send(private, busy, "/myevents")
	if got := h.LastText(fx.BusyUser); strings.Count(got, "•") < 20 {
		t.Errorf("/myevents of the busy user lists fewer than 20 events:\n%s", got)
	}
	// Someone who had not answered presses Going on the big event's card:
	// the answer counts, and the card is edited (an edit row is enqueued).
	newcomer := handlerstest.User(fx.Members[len(fx.Members)-1], "Zoe", "en")
	edits := h.Count(`SELECT count(*) FROM outbox WHERE method = 'editMessageText'`)
	h.Click(group, newcomer, fx.BigEventCard, "rsvp:"+strconv.FormatInt(fx.BigEvent, 10)+":go")
	if n := h.Count(`SELECT count(*) FROM rsvps WHERE event_id = ? AND status = 'going'`, fx.BigEvent); n != seed.HotAttendees+1 {
		t.Errorf("big event: %d going after the press, want %d", n, seed.HotAttendees+1)
	}
	if n := h.Count(`SELECT count(*) FROM outbox WHERE method = 'editMessageText'`); n <= edits {
		t.Errorf("no card edit enqueued after the press (%d edit rows, %d before)", n, edits)
	}
	// The first due minute: its reminders are claimed, nothing else is.
	clock = fx.DueFrom.Add(time.Minute - time.Second)
	h.RunJob("reminders")
	due := store.Millis(fx.DueFrom)
	if n := h.Count(`SELECT count(*) FROM reminders WHERE outcome = 'sent' AND due_at >= ?`, due); n != seed.DuePerMinute {
		t.Errorf("%d reminders sent in the first due minute, want %d", n, seed.DuePerMinute)
	}
	if n := h.Count(`SELECT count(*) FROM reminders WHERE sent_at IS NULL AND due_at <= ?`, store.Millis(clock)); n != 0 {
		t.Errorf("%d due reminders left pending", n)
	}
}
