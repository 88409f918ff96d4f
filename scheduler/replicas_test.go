package scheduler

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Three replicas tick the reminders job at the same moment on one
// database (on PostgreSQL each claims rows with FOR UPDATE SKIP LOCKED;
// only the leader plans): every due reminder is enqueued exactly once,
// and settled once.
func TestRemindersClaimedOnceAcrossReplicas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	leader := openDB(t, path)
	clk := newClock(t0)
	const events = 40
	for i := range events {
		person(t, leader, int64(100+i), "P", true, t0)
		event(t, leader, -100-int64(i), t0.Add(2*time.Hour), "1h", t0, int64(100+i))
	}
	// The leader plans them.
	if res := tick(t, newReminders(leader, clk, nil, nil)); res.Planned != events {
		t.Fatalf("planned %d, want %d", res.Planned, events)
	}
	clk.Set(t0.Add(time.Hour + time.Second))
	var wg sync.WaitGroup
	results := make([]TickResult, 3)
	for i := range 3 {
		db := leader
		if i > 0 {
			db = openDB(t, path) // another replica: its own pool
		}
		isLeader := i == 0
		r := NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Now: clk.Now, Batch: 5,
			Leader: func() bool { return isLeader }})
		wg.Go(func() {
			res, err := r.Tick(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	sent := 0
	for _, r := range results {
		sent += r.Sent
	}
	if sent != events {
		t.Fatalf("replicas report %d reminders sent (%+v), want %d", sent, results, events)
	}
	if n := count(t, leader, `SELECT count(*) FROM outbox WHERE method = 'sendMessage'`); n != events {
		t.Fatalf("%d reminder messages enqueued, want %d (one per reminder)", n, events)
	}
	if n := count(t, leader, `SELECT count(*) FROM reminders WHERE sent_at IS NULL`); n != 0 {
		t.Fatalf("%d reminders left unsettled", n)
	}
}
