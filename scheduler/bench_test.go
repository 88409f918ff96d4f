package scheduler

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// seedDueReminders makes n events, each in its own group, with two people
// who started the bot (reminded privately) and one who did not (mentioned
// in the group), starting within one minute at start.
func seedDueReminders(b *testing.B, db *store.DB, n int, start, now time.Time) {
	b.Helper()
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		ms := store.Millis(now)
		for i := range n {
			chat, ev := -1_000_000-int64(i), int64(i+1)
			if _, err := tx.Exec(`INSERT INTO chats (id, type, first_seen, last_seen) VALUES (?, 'group', ?, ?)`, chat, ms, ms); err != nil {
				return err
			}
			startsAt := store.Millis(start) + int64(i%60)*1000
			if _, err := tx.Exec(`INSERT INTO events (id, chat_id, creator_id, title, starts_at, timezone, created_at, updated_at)
VALUES (?, ?, ?, 'Board games', ?, 'Europe/Berlin', ?, ?)`, ev, chat, 1, startsAt, ms, ms); err != nil {
				return err
			}
			for k := range 3 {
				user := int64(1 + i*3 + k)
				if _, err := tx.Exec(`INSERT INTO users (id, first_name, language, started, first_seen, last_seen)
VALUES (?, 'P', 'en', ?, ?, ?)`, user, k < 2, ms, ms); err != nil {
					return err
				}
				if _, err := tx.Exec(`INSERT INTO rsvps (event_id, user_id, status, position, created_at, updated_at)
VALUES (?, ?, 'going', ?, ?, ?)`, ev, user, k+1, ms, ms); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEnqueueDueReminders: 10,000 events whose 1h reminders fall due
// in the same minute; one tick claims them all and enqueues 30,000
// messages (20,000 private, 10,000 group mentions).
func BenchmarkEnqueueDueReminders(b *testing.B) {
	const n = 10_000
	for range b.N {
		b.StopTimer()
		db := openDB(b, filepath.Join(b.TempDir(), "bench.db"))
		start := t0.Add(2 * time.Hour)
		seedDueReminders(b, db, n, start, t0)
		clk := newClock(t0)
		r := NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Now: clk.Now, Defaults: []time.Duration{time.Hour}})
		if res, err := r.Tick(context.Background()); err != nil || res.Planned != n {
			b.Fatalf("planning: %+v %v", res, err)
		}
		clk.Set(start.Add(-time.Hour + time.Minute)) // every reminder is due
		b.StartTimer()
		began := time.Now()
		res, err := r.Tick(context.Background())
		took := time.Since(began)
		b.StopTimer()
		if err != nil || res.Sent != n || res.Messages != 3*n {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "reminders/s")
		b.ReportMetric(float64(res.Messages)/took.Seconds(), "messages/s")
		db.Close()
	}
}

// BenchmarkSenderPacesReminders: the reminders of 10,000 events are
// drained by the outbox sender, configured with Telegram's limits (30/s
// overall, 1/s per private chat, 20/min per group), against bot/bottest
// enforcing the same limits, for 5 s. It reports the rate achieved and
// the 429s the fake answered (0 means the sender stayed within limits).
func BenchmarkSenderPacesReminders(b *testing.B) {
	const n = 10_000
	const window = 5 * time.Second
	for range b.N {
		b.StopTimer()
		db := openDB(b, filepath.Join(b.TempDir(), "pace.db"))
		start := t0.Add(2 * time.Hour)
		seedDueReminders(b, db, n, start, t0)
		clk := newClock(t0)
		r := NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Now: clk.Now, Defaults: []time.Duration{time.Hour}})
		if _, err := r.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
		clk.Set(start.Add(-time.Hour + time.Minute))
		if _, err := r.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
		fake := bottest.NewServer(bottest.WithLimits(bottest.Limits{GlobalPerSecond: 30, PrivatePerSecond: 1, GroupPerMinute: 20}))
		client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		lim := outbox.DefaultLimits()
		sender := outbox.NewSender(db, client, outbox.Config{Limits: &lim, Logger: slog.New(slog.DiscardHandler)})
		ctx, cancel := context.WithTimeout(context.Background(), window)
		b.StartTimer()
		began := time.Now()
		sender.Run(ctx)
		took := time.Since(began)
		b.StopTimer()
		cancel()
		sum := fake.Summary()
		b.ReportMetric(float64(sum.MessagesSent)/took.Seconds(), "sent/s")
		b.ReportMetric(float64(sum.TooManyRequests), "429s")
		var left int
		db.R.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&left)
		b.ReportMetric(float64(left), "pending")
		fake.Close()
		db.Close()
	}
}
