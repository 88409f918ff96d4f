package scheduler

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/recurrence"
	"github.com/rsvpbot/rsvpbot/store"
)

// fakePoster records posted occurrences.
type fakePoster struct{ posted []int64 }

func (p *fakePoster) PostOccurrence(_ context.Context, _ *sql.Tx, _ store.Series, id int64) error {
	p.posted = append(p.posted, id)
	return nil
}

func newSeries(t *testing.T, db *store.DB, spec, tz string, lead time.Duration, now time.Time) int64 {
	t.Helper()
	var id int64
	tx(t, db, func(tx *sql.Tx) (err error) {
		id, err = store.CreateSeries(context.Background(), tx, store.Series{ChatID: -100, CreatorID: 1, Schedule: spec,
			ScheduleText: spec, Timezone: tz, Title: "Weekly run", Place: "Park", Lead: lead, NextAt: now}, now)
		return err
	})
	return id
}

func occurrences(t *testing.T, db *store.DB, seriesID int64) []store.Event {
	t.Helper()
	rows, err := db.R.Query(`SELECT id FROM events WHERE series_id = ? ORDER BY starts_at`, seriesID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []store.Event
	for _, id := range ids {
		e, _, err := store.GetEvent(context.Background(), db.R, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// A weekly 19:00 Europe/Berlin series stays at 19:00 local time across the
// end of summer time (25 October 2026): 17:00 UTC before, 18:00 UTC after.
// Each occurrence is created when the previous one ends, once, however
// often the job ticks.
func TestWeeklySeriesAcrossDSTInBerlin(t *testing.T) {
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := newClock(time.Date(2026, 10, 10, 12, 0, 0, 0, berlin)) // a Saturday
	db := openDB(t, "")
	rec, err := recurrence.ParseRecurrence("every monday 19:00")
	if err != nil {
		t.Fatal(err)
	}
	id := newSeries(t, db, rec.Spec, "Europe/Berlin", 0, clk.Now())
	poster := &fakePoster{}
	s := NewSeries(SeriesConfig{DB: db, Poster: poster, Now: clk.Now})

	// Tick every 30 minutes for four weeks.
	for clk.Now().Before(time.Date(2026, 11, 7, 0, 0, 0, 0, berlin)) {
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(30 * time.Minute)
	}
	occ := occurrences(t, db, id)
	var got []string
	for _, e := range occ {
		got = append(got, e.StartsAt.In(berlin).Format("Mon 2006-01-02 15:04 MST")+" = "+e.StartsAt.UTC().Format("15:04Z"))
	}
	want := []string{
		"Mon 2026-10-12 19:00 CEST = 17:00Z",
		"Mon 2026-10-19 19:00 CEST = 17:00Z",
		"Mon 2026-10-26 19:00 CET = 18:00Z",
		"Mon 2026-11-02 19:00 CET = 18:00Z",
		"Mon 2026-11-09 19:00 CET = 18:00Z",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("occurrences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(poster.posted) != len(occ) {
		t.Fatalf("%d cards posted for %d occurrences", len(poster.posted), len(occ))
	}
	// The next one was created when the previous one ended (19:00 + 2h).
	for i := 1; i < len(occ); i++ {
		created, prevEnd := occ[i].CreatedAt, occ[i-1].End()
		if created.Before(prevEnd) || created.Sub(prevEnd) > 30*time.Minute {
			t.Errorf("occurrence %d created at %v; the previous ended at %v", i, created, prevEnd)
		}
	}
	for _, e := range occ {
		if e.SeriesID != id || e.Timezone != "Europe/Berlin" || e.Title != "Weekly run" {
			t.Fatalf("occurrence %+v", e)
		}
	}
}

// With a lead time the next occurrence appears that long before it starts
// (never before the current one ends); a skipped slot is passed over; a
// cancelled occurrence lets the next one appear without waiting for its
// end; a series in a chat the bot left skips occurrences.
func TestSeriesLeadSkipCancelAndInactiveChat(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)) // Monday
	db := openDB(t, "")
	tx(t, db, func(tx *sql.Tx) error {
		return store.UpsertChat(ctx, tx, store.Chat{ID: -100, Type: "group"}, clk.Now())
	})
	id := newSeries(t, db, "0 19 * * 1", "UTC", 3*24*time.Hour, clk.Now())
	s := NewSeries(SeriesConfig{DB: db, Now: clk.Now})
	tick := func() SeriesResult {
		t.Helper()
		r, err := s.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := tick(); r.Created != 1 {
		t.Fatalf("first tick: %+v", r)
	}
	// Current ends 1 June 21:00. Next slot 8 June 19:00; lead 3 days: 5 June 19:00.
	clk.Set(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC))
	if r := tick(); r.Created != 0 {
		t.Fatalf("created before the lead: %+v", r)
	}
	x, _, _ := store.GetSeries(ctx, db.R, id)
	if want := time.Date(2026, 6, 5, 19, 0, 0, 0, time.UTC); !x.NextAt.Equal(want) {
		t.Fatalf("next_at %v, want %v", x.NextAt, want)
	}
	// Skip 8 June before it exists.
	tx(t, db, func(tx *sql.Tx) error {
		return store.SetSeriesSkip(ctx, tx, id, time.Date(2026, 6, 8, 19, 0, 0, 0, time.UTC), clk.Now())
	})
	clk.Set(time.Date(2026, 6, 5, 19, 0, 0, 0, time.UTC))
	tick() // recomputes: next is 15 June, lead → 12 June
	clk.Set(time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC))
	if r := tick(); r.Created != 1 {
		t.Fatalf("15 June not created: %+v", r)
	}
	occ := occurrences(t, db, id)
	if len(occ) != 2 || !occ[1].StartsAt.Equal(time.Date(2026, 6, 15, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("occurrences %v", occ)
	}
	// Cancelling it lets the next (22 June) appear at the next tick.
	tx(t, db, func(tx *sql.Tx) error { _, err := store.CancelEvent(ctx, tx, occ[1].ID, clk.Now()); return err })
	clk.Add(time.Minute)
	tick()
	// With a 3-day lead, 22 June may be created from 19 June: it waits.
	clk.Set(time.Date(2026, 6, 19, 19, 0, 0, 0, time.UTC))
	if r := tick(); r.Created != 1 {
		t.Fatalf("22 June not created: %+v", r)
	}
	// The bot leaves the group: occurrences are skipped, not posted.
	tx(t, db, func(tx *sql.Tx) error { return store.SetChatActive(ctx, tx, -100, false, "kicked") })
	clk.Set(time.Date(2026, 6, 26, 19, 0, 0, 0, time.UTC))
	if r := tick(); r.Skipped != 1 || r.Created != 0 {
		t.Fatalf("inactive chat: %+v", r)
	}
	if n := len(occurrences(t, db, id)); n != 3 {
		t.Fatalf("%d occurrences", n)
	}

	// A schedule on a date that exists only in leap years still fires.
	tx(t, db, func(tx *sql.Tx) error { return store.SetChatActive(ctx, tx, -100, true, "") })
	once := newSeries(t, db, "0 12 29 2 *", "UTC", 0, clk.Now())
	tick()
	if n := len(occurrences(t, db, once)); n != 1 {
		t.Fatalf("29 Feb series: %d occurrences", n)
	}
}

// A series whose stored schedule cannot be read is stopped, not retried
// forever.
func TestSeriesUnreadableScheduleStops(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	db := openDB(t, "")
	id := newSeries(t, db, "CRON_TZ=UTC", "UTC", 0, clk.Now())
	s := NewSeries(SeriesConfig{DB: db, Now: clk.Now})
	r, err := s.Tick(ctx)
	if err != nil || r.Stopped != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	x, _, _ := store.GetSeries(ctx, db.R, id)
	if x.Active() {
		t.Fatal("still active")
	}
}
