package scheduler

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// After its first tick (a pass over every upcoming event), the job plans
// from the replan queue: events created, moved, given other offsets or
// cancelled meanwhile, and only those that need it (not the cancelled
// one); each is taken off the queue.
func TestTicksAfterTheFirstPlanFromTheQueue(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	a := event(t, db, -100, t0.Add(48*time.Hour), "", t0, 10)
	b := event(t, db, -101, t0.Add(72*time.Hour), "", t0, 10)
	r := newReminders(db, clk, nil, nil)
	if res := tick(t, r); res.Planned != 2 {
		t.Fatalf("first tick planned %d, want 2", res.Planned)
	}
	queued := func() int {
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM reminder_replan`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if res := tick(t, r); res.Planned != 0 || queued() != 0 {
		t.Fatalf("second tick planned %d, %d left queued; want 0, 0", res.Planned, queued())
	}
	c := event(t, db, -102, t0.Add(96*time.Hour), "", t0, 10)
	tx(t, db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE events SET starts_at = starts_at + 3600000 WHERE id = ?`, a); err != nil {
			return err
		}
		_, err := store.CancelEvent(ctx, tx, b, clk.Now())
		return err
	})
	if res := tick(t, r); res.Planned != 2 || queued() != 0 {
		t.Fatalf("tick after the changes planned %d, %d left queued; want 2 (the new and the moved event), 0", res.Planned, queued())
	}
	for _, ev := range []struct {
		id      int64
		pending int
	}{{a, 2}, {b, 2}, {c, 2}} { // b's stay: a cancelled event's reminders are dropped when claimed
		rems, err := store.EventReminders(ctx, db.R, ev.id)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, rm := range rems {
			if rm.Pending() {
				pending++
				if ev.id == a && !rm.StartsAt.Equal(t0.Add(49*time.Hour)) {
					t.Errorf("event %d: reminder for start %v, want the moved start", ev.id, rm.StartsAt)
				}
			}
		}
		if pending != ev.pending {
			t.Errorf("event %d: %d pending reminders, want %d", ev.id, pending, ev.pending)
		}
	}
}
