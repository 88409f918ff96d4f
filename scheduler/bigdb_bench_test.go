package scheduler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/seed"
	"github.com/rsvpbot/rsvpbot/store"
)

// BenchmarkLargeDBReminderMinute: one tick of the reminder job in a
// minute when seed.DuePerMinute events' reminders fall due (each with
// seed.DueAttendees people going, reminded privately), on the empty
// database (the seed's fixtures alone) and on the large one (package
// internal/seed; RSVPBOT_BENCH_SCALE sets its scale, default 1), in one
// run. The tick plans (nothing: every upcoming event has its plan),
// follows up (nothing) and claims and enqueues the due minute. After each
// tick the minute is set back (reminders pending again, their messages
// deleted), untimed.
func BenchmarkLargeDBReminderMinute(b *testing.B) {
	scale, err := seed.BenchScale()
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []struct {
		name  string
		scale float64
	}{{"empty", 0}, {"large", scale}} {
		b.Run("db="+kind.name, func(b *testing.B) {
			ctx := context.Background()
			path, err := seed.BenchCopy(ctx, kind.scale, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			db := openDB(b, path)
			cfg := seed.BenchConfig(kind.scale)
			fx := seed.FixturesAt(cfg.Now)
			var lastOutbox int64
			if err := db.R.QueryRow(`SELECT coalesce(max(id), 0) FROM outbox`).Scan(&lastOutbox); err != nil {
				b.Fatal(err)
			}
			at := fx.DueFrom.Add(time.Minute - time.Second)
			r := NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Now: func() time.Time { return at }})
			from, to := store.Millis(fx.DueFrom), store.Millis(fx.DueFrom.Add(time.Minute))
			reset := func() {
				for _, q := range []string{
					`DELETE FROM reminder_sends WHERE reminder_id IN (SELECT id FROM reminders WHERE due_at >= ? AND due_at < ?)`,
					`UPDATE reminders SET sent_at = NULL, outcome = '', recipients = 0 WHERE due_at >= ? AND due_at < ?`,
				} {
					if _, err := db.W.Exec(q, from, to); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := db.W.Exec(`DELETE FROM outbox WHERE id > ?`, lastOutbox); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N + 3 {
				if i == 3 { // a few untimed ticks warm the caches
					b.ResetTimer()
				}
				b.StartTimer()
				start := time.Now()
				res, err := r.Tick(ctx)
				took := time.Since(start)
				b.StopTimer()
				if err != nil || res.Planned != 0 || res.Sent != seed.DuePerMinute || res.Messages != seed.DuePerMinute*seed.DueAttendees {
					b.Fatalf("tick: %+v %v", res, err)
				}
				if i >= 3 {
					lat = append(lat, took)
				}
				reset()
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		})
	}
}
