package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// TestReminderSentOnceAcrossSIGKILL runs the real binary with a reminder
// already due and kills it with SIGKILL around the moment its reminder job
// (every 10 s) claims it, several times, then lets it run. The reminder
// reaches the private chat and the group once each: claim and enqueue
// commit together, and the sender delivers what was enqueued (a duplicate
// is possible only where the ledger records an ambiguous send).
func TestReminderSentOnceAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	ctx := context.Background()
	fake := bottest.NewServer()
	defer fake.Close()
	dbPath := filepath.Join(t.TempDir(), "remind.db")

	// An event starting in 1 h minus 5 s, whose 1 h reminder is due now.
	now := time.Now()
	db, err := store.Open(ctx, dbPath, outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	const ann, bob, group = 7001, 7002, -7000
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		if err := store.UpsertChat(ctx, tx, store.Chat{ID: group, Type: "group", Title: "G"}, now); err != nil {
			return err
		}
		for _, u := range []int64{ann, bob} {
			if err := store.UpsertUser(ctx, tx, store.User{ID: u, FirstName: "U", Language: "en"}, now); err != nil {
				return err
			}
		}
		if err := store.SetUserStarted(ctx, tx, ann, true); err != nil {
			return err
		}
		id, err := store.CreateEvent(ctx, tx, store.Event{ChatID: group, CreatorID: ann, Title: "Night run",
			StartsAt: now.Add(time.Hour - 5*time.Second), Timezone: "UTC"}, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		for _, u := range []int64{ann, bob} {
			if _, err := store.ApplyRSVP(ctx, tx, id, u, store.ActGoing, now); err != nil {
				return err
			}
		}
		// Planned earlier, while the event was further ahead.
		return store.RescheduleReminders(ctx, tx, id, now.Add(time.Hour-5*time.Second), []time.Duration{time.Hour}, now.Add(-time.Hour))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	p := newBotProcess(t, fake, dbPath, "RSVPBOT_REMINDERS=1h", "LOG_LEVEL=info")
	// The job's first run is 10 s after the scheduler starts: kill around
	// it (info logs say when the process is up and what the job did).
	rdb := readDB(t, dbPath)
	defer rdb.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := rdb.R.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, after := range []time.Duration{9800 * time.Millisecond, 10050 * time.Millisecond, 10400 * time.Millisecond} {
		p.start()
		time.Sleep(after)
		p.kill()
		t.Logf("kill %d, %s after start: reminder claimed %d, rows enqueued %d, still pending %d", i+1, after,
			count(`SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL`), count(`SELECT count(*) FROM outbox WHERE dedup_key LIKE 'rem:%'`),
			count(`SELECT count(*) FROM outbox WHERE dedup_key LIKE 'rem:%' AND state IN ('pending', 'sending')`))
	}
	p.start()
	// Up (its signal handler installed) before it may be stopped.
	waitUntil(t, 20*time.Second, "the last start", func() bool { return strings.Count(p.log(), "connected to Telegram") == 4 })
	waitUntil(t, 40*time.Second, "the reminder sent and delivered", func() bool {
		return count(`SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL`) == 1 &&
			count(`SELECT count(*) FROM outbox WHERE state IN ('pending','sending')`) == 0
	})
	if code := p.stop(); code != 0 {
		t.Fatalf("exit %d (%s)\n%s", code, p.cmd.ProcessState, p.log())
	}
	if n := count(`SELECT count(*) FROM outbox WHERE dedup_key LIKE 'rem:%'`); n != 2 {
		t.Fatalf("%d reminder rows enqueued, want 2 (Ann privately, Bob in the group)", n)
	}
	delivered := func(chat int64) int {
		n := 0
		for _, m := range fake.Messages(chat) {
			if strings.Contains(m.Text, "Night run starts in") {
				n++
			}
		}
		return n
	}
	ambiguous := count(`SELECT count(*) FROM ledger WHERE ambiguous = 1`)
	for _, chat := range []int64{ann, group} {
		if n := delivered(chat); n < 1 || n-1 > ambiguous {
			t.Fatalf("chat %d shows the reminder %d times (ambiguous sends: %d)\n%s", chat, n, ambiguous, p.log())
		}
	}
	t.Logf("delivered: Ann %d, group %d; ambiguous sends %d", delivered(ann), delivered(group), ambiguous)
}
