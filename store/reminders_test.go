package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"
)

func mustTx(t *testing.T, db *DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func reminderState(t *testing.T, db *DB, ev int64) map[time.Duration]Reminder {
	t.Helper()
	rs, err := EventReminders(context.Background(), db.R, ev)
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Duration]Reminder{}
	for _, r := range rs {
		out[r.Offset] = r
	}
	return out
}

func TestRescheduleReminders(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ev := newEvent(t, db, 0) // starts t0 + 48h
	start := t0.Add(48 * time.Hour)
	offs := []time.Duration{72 * time.Hour, 24 * time.Hour, time.Hour}
	mustTx(t, db, func(tx *sql.Tx) error { return RescheduleReminders(ctx, tx, ev, start, offs, t0) })
	got := reminderState(t, db, ev)
	if len(got) != 2 || !got[24*time.Hour].DueAt.Equal(t0.Add(24*time.Hour)) || !got[time.Hour].StartsAt.Equal(start) {
		t.Fatalf("planned %+v (72h is already past: not created)", got)
	}
	// The 24h one goes out.
	mustTx(t, db, func(tx *sql.Tx) error {
		ok, err := SettleReminder(ctx, tx, got[24*time.Hour].ID, ReminderSent, 1, t0.Add(24*time.Hour))
		if err == nil && !ok {
			err = errors.New("not settled")
		}
		if ok2, _ := SettleReminder(ctx, tx, got[24*time.Hour].ID, ReminderSent, 1, t0.Add(24*time.Hour)); ok2 {
			err = errors.New("settled twice")
		}
		return err
	})
	// Same start again (an RSVP, another edit): nothing re-arms.
	now := t0.Add(25 * time.Hour)
	mustTx(t, db, func(tx *sql.Tx) error { return RescheduleReminders(ctx, tx, ev, start, offs, now) })
	if got := reminderState(t, db, ev); got[24*time.Hour].Pending() {
		t.Fatal("a sent reminder was re-armed without a change of start")
	}
	// Moved two days later: the 24h reminder is armed again for the new start.
	later := start.Add(48 * time.Hour)
	mustTx(t, db, func(tx *sql.Tx) error { return RescheduleReminders(ctx, tx, ev, later, offs, now) })
	got = reminderState(t, db, ev)
	if r := got[24*time.Hour]; !r.Pending() || !r.DueAt.Equal(later.Add(-24*time.Hour)) || !r.StartsAt.Equal(later) {
		t.Fatalf("24h after the move: %+v", r)
	}
	if _, ok := got[72*time.Hour]; ok {
		t.Fatal("72h before the new start is still in the past: it must not be created")
	}
	// Offsets changed to 2h only: the other pending ones go.
	mustTx(t, db, func(tx *sql.Tx) error {
		return RescheduleReminders(ctx, tx, ev, later, []time.Duration{2 * time.Hour}, now)
	})
	got = reminderState(t, db, ev)
	if len(got) != 1 || !got[2*time.Hour].Pending() {
		t.Fatalf("after new offsets: %+v", got)
	}
	// Moved to 30 minutes from now: the 2h one would be in the past.
	mustTx(t, db, func(tx *sql.Tx) error {
		return RescheduleReminders(ctx, tx, ev, now.Add(30*time.Minute), []time.Duration{2 * time.Hour}, now)
	})
	if got := reminderState(t, db, ev); len(got) != 0 {
		t.Fatalf("a reminder due in the past was kept: %+v", got)
	}
	if n, err := DeleteReminders(ctx, db.W, ev); err != nil || n != 0 {
		t.Fatal(n, err)
	}
}

func TestEventsToPlan(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	def := OffsetsKey([]time.Duration{time.Hour, 24 * time.Hour})
	a := newEvent(t, db, 0)
	b := newEvent(t, db, 0)
	ids := func(key string) []int64 {
		t.Helper()
		cs, err := EventsToPlan(ctx, db.R, t0, key, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, c := range cs {
			out = append(out, c.EventID)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(def); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("unplanned: %v", got)
	}
	plan := func(id int64, offs []time.Duration) {
		e, _, _ := GetEvent(ctx, db.R, id)
		mustTx(t, db, func(tx *sql.Tx) error { return RescheduleReminders(ctx, tx, id, e.StartsAt, offs, t0) })
	}
	plan(a, []time.Duration{24 * time.Hour, time.Hour})
	plan(b, []time.Duration{24 * time.Hour, time.Hour})
	if got := ids(def); len(got) != 0 {
		t.Fatalf("planned events listed: %v", got)
	}
	if got := ids(OffsetsKey([]time.Duration{2 * time.Hour})); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("a new default replans events that use it: %v", got)
	}
	mustTx(t, db, func(tx *sql.Tx) error { return SetEventReminderOffsets(ctx, tx, a, "2h", t0) })
	e, _, _ := GetEvent(ctx, db.R, b)
	e.StartsAt = e.StartsAt.Add(time.Hour)
	mustTx(t, db, func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, e, t0) })
	if got := ids(def); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("changed offsets and start: %v", got)
	}
	mustTx(t, db, func(tx *sql.Tx) error { _, err := CancelEvent(ctx, tx, a, t0); return err })
	if got := ids(def); !slices.Equal(got, []int64{b}) {
		t.Fatalf("cancelled events are not planned: %v", got)
	}
}

func TestReminderRecipientsMutesAndSends(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ev := newEvent(t, db, 2)
	mustTx(t, db, func(tx *sql.Tx) error {
		for _, u := range []int64{1, 2, 3, 4, 5} {
			if err := UpsertUser(ctx, tx, User{ID: u, FirstName: "U"}, t0); err != nil {
				return err
			}
			if err := SetUserStarted(ctx, tx, u, u != 2); err != nil {
				return err
			}
		}
		if err := SetUserBlocked(ctx, tx, 3, true); err != nil {
			return err
		}
		if err := UpsertChat(ctx, tx, Chat{ID: 4, Type: "private"}, t0); err != nil {
			return err
		}
		return SetChatActive(ctx, tx, 4, false, "Forbidden: bot can't initiate conversation with a user")
	})
	for _, u := range []int64{1, 2, 3, 4, 5} {
		apply(t, db, ev, u, ActGoing) // capacity 2: 3, 4, 5 wait
	}
	apply(t, db, ev, 5, ActDecline)
	mustTx(t, db, func(tx *sql.Tx) error { _, err := SetReminderMute(ctx, tx, ev, 1, true, t0); return err })
	ps, err := ReminderRecipients(ctx, db.R, ev)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id      int64
		rank    int
		private bool
		muted   bool
	}
	var got []row
	for _, p := range ps {
		got = append(got, row{p.User.ID, p.WaitlistRank, p.Private, p.Muted})
	}
	want := []row{{1, 0, true, true}, {2, 0, false, false}, {3, 1, false, false}, {4, 2, false, false}}
	if !slices.Equal(got, want) {
		t.Fatalf("recipients %v, want %v", got, want)
	}
	if m, _ := ReminderMuted(ctx, db.R, ev, 1); !m {
		t.Fatal("mute not stored")
	}
	mustTx(t, db, func(tx *sql.Tx) error { _, err := SetReminderMute(ctx, tx, ev, 1, false, t0); return err })
	if m, _ := ReminderMuted(ctx, db.R, ev, 1); m {
		t.Fatal("unmute not stored")
	}

	// A reminder that keeps failing is given up after max attempts.
	mustTx(t, db, func(tx *sql.Tx) error {
		return RescheduleReminders(ctx, tx, ev, t0.Add(48*time.Hour), []time.Duration{time.Hour}, t0)
	})
	r := reminderState(t, db, ev)[time.Hour]
	for i := 1; i <= 3; i++ {
		var gaveUp bool
		mustTx(t, db, func(tx *sql.Tx) (err error) {
			gaveUp, err = RecordReminderFailure(ctx, tx, r.ID, errors.New("boom"), 3, t0)
			return err
		})
		if gaveUp != (i == 3) {
			t.Fatalf("attempt %d: gave up %v", i, gaveUp)
		}
	}
	if r, _, _ := GetReminder(ctx, db.R, r.ID); r.Outcome != ReminderFailed || r.LastError != "boom" || r.Pending() {
		t.Fatalf("%+v", r)
	}
	// Sends are listed once their fate is known, until settled.
	mustTx(t, db, func(tx *sql.Tx) error { return AddReminderSend(ctx, tx, r.ID, 4, 77, t0) })
	if open, err := OpenReminderSends(ctx, db.R, 10); err != nil || len(open) != 0 {
		t.Fatalf("a send on its way is listed: %+v %v", open, err)
	}
	mustTx(t, db, func(tx *sql.Tx) error { return RecordReminderSendFate(ctx, tx, 77, "dropped") })
	open, err := OpenReminderSends(ctx, db.R, 10)
	if err != nil || len(open) != 1 || open[0].Fate != "dropped" {
		t.Fatalf("%+v %v", open, err)
	}
	if ok, _ := SettleReminderSend(ctx, db.W, r.ID, 4); !ok {
		t.Fatal("not settled")
	}
	if ok, _ := SettleReminderSend(ctx, db.W, r.ID, 4); ok {
		t.Fatal("settled twice")
	}
	// Purging after the event removes its reminder rows.
	n, err := PurgeReminders(ctx, db, t0.Add(365*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
}

func TestSeriesStoreAndMigration(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var id int64
	mustTx(t, db, func(tx *sql.Tx) (err error) {
		id, err = CreateSeries(ctx, tx, Series{ChatID: -100, CreatorID: 1, Schedule: "0 19 * * 1", ScheduleText: "every monday 19:00",
			Timezone: "Europe/Berlin", Title: "Run", Capacity: 5, Length: 90 * time.Minute, Lead: time.Hour, NextAt: t0}, t0)
		return err
	})
	s, ok, err := GetSeries(ctx, db.R, id)
	if err != nil || !ok || s.Zone().String() != "Europe/Berlin" || s.OccurrenceLength() != 90*time.Minute || s.Lead != time.Hour ||
		!s.Active() || !s.NextAt.Equal(t0) {
		t.Fatalf("%+v %v %v", s, ok, err)
	}
	due, _ := DueSeries(ctx, db.R, t0, 10)
	if len(due) != 1 {
		t.Fatal("not due")
	}
	ev := newEvent(t, db, 0)
	mustTx(t, db, func(tx *sql.Tx) error {
		return SetSeriesOccurrence(ctx, tx, id, ev, t0.Add(48*time.Hour), t0.Add(50*time.Hour), t0)
	})
	if due, _ := DueSeries(ctx, db.R, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Fatal("due before next_at")
	}
	mustTx(t, db, func(tx *sql.Tx) error { _, err := CancelEvent(ctx, tx, ev, t0); return err })
	if due, _ := DueSeries(ctx, db.R, t0.Add(time.Hour), 10); len(due) != 1 {
		t.Fatal("a cancelled current occurrence makes the series due")
	}
	mustTx(t, db, func(tx *sql.Tx) error { return MigrateChat(ctx, tx, -100, -1009999, t0) })
	if list, _ := ChatSeries(ctx, db.R, -1009999, 10); len(list) != 1 {
		t.Fatal("series not moved with its chat")
	}
	mustTx(t, db, func(tx *sql.Tx) error {
		ok, err := StopSeries(ctx, tx, id, t0)
		if err == nil && !ok {
			err = errors.New("not stopped")
		}
		return err
	})
	if s, _, _ := GetSeries(ctx, db.R, id); s.Active() || !s.NextAt.IsZero() || s.StoppedAt.IsZero() {
		t.Fatalf("%+v", s)
	}
}
