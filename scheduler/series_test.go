package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/store"
)

func TestParseRecurrence(t *testing.T) {
	cases := []struct {
		in, spec string
	}{
		{"every monday 19:00", "0 19 * * 1"},
		{"Every Monday at 7pm", "0 19 * * 1"},
		{"mondays 19:00", "0 19 * * 1"},
		{"weekly on tuesday 18:30", "30 18 * * 2"},
		{"every day 19:00", "0 19 * * *"},
		{"daily at 7:30 am", "30 7 * * *"},
		{"weekdays 8:30", "30 8 * * 1,2,3,4,5"},
		{"every weekday at 8:30", "30 8 * * 1,2,3,4,5"},
		{"weekends 10:00", "0 10 * * 0,6"},
		{"every monday and thursday 19:00", "0 19 * * 1,4"},
		{"every mon, wed, fri at 6pm", "0 18 * * 1,3,5"},
		{"every mon-fri 9:00", "0 9 * * 1,2,3,4,5"},
		{"каждый понедельник в 19:00", "0 19 * * 1"},
		{"каждую среду в 19", "0 19 * * 3"},
		{"по понедельникам 19:00", "0 19 * * 1"},
		{"по будням в 8:30", "30 8 * * 1,2,3,4,5"},
		{"ежедневно в 7 вечера", "0 19 * * *"},
		{"jeden Montag um 19 Uhr", "0 19 * * 1"},
		{"montags 19:30", "30 19 * * 1"},
		{"werktags 8.30 Uhr", "30 8 * * 1,2,3,4,5"},
		{"täglich um 7", "0 7 * * *"},
		{"todos los lunes a las 19:00", "0 19 * * 1"},
		{"cada miércoles 19h", "0 19 * * 3"},
		{"todos los días a las 7 de la tarde", "0 19 * * *"},
		{"entre semana a las 8:30", "30 8 * * 1,2,3,4,5"},
		{"0 19 * * 1", "0 19 * * 1"},
		{"30 8 * * 1-5", "30 8 * * 1-5"},
		{"0 19 1 * *", "0 19 1 * *"},
		{"0 19 * * mon", "0 19 * * mon"},
		{"@weekly", "0 0 * * 0"},
		{"@daily", "0 0 * * *"},
	}
	for _, c := range cases {
		r, err := ParseRecurrence(c.in)
		if err != nil || r.Spec != c.spec {
			t.Errorf("ParseRecurrence(%q) = %q, %v; want %q", c.in, r.Spec, err, c.spec)
		}
	}
}

func TestParseRecurrenceRejects(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrScheduleEmpty},
		{"   ", ErrScheduleEmpty},
		{"monday 19:00", ErrScheduleUnknown}, // a date (next Monday), not a series
		{"every monday", ErrScheduleNoTime},
		{"every 19:00", ErrScheduleNoDays},
		{"every blursday 19:00", ErrScheduleUnknown},
		{"every monday 25:00", ErrScheduleBadTime},
		{"every monday 13pm", ErrScheduleBadTime},
		{"every monday 19:00 and 20:00", ErrScheduleUnknown},
		{"every 2 weeks on monday 19:00", ErrScheduleUnknown},
		{"monthly 19:00", ErrScheduleMonthly},
		{"every month on the 1st 19:00", ErrScheduleMonthly},
		{"* * * * *", ErrScheduleTooOften},
		{"*/30 * * * *", ErrScheduleTooOften},
		{"0 * * * *", ErrScheduleTooOften},
		{"0 0 30 2 *", ErrScheduleNever},
		{"0 0 31 4 *", ErrScheduleNever},
		{"@hourly", ErrScheduleCron},
		{"@every 1h", ErrScheduleCron},
		{"0 19 * * 1 *", ErrScheduleCron},
		{"60 19 * * 1", ErrScheduleCron},
		{"0 19 * * 8", ErrScheduleCron},
		{"0 0 * * 1-5/0", ErrScheduleCron},
		// Inputs that make robfig/cron panic without ParseSpec's guard.
		{"CRON_TZ=UTC", ErrScheduleTimeZone},
		{"TZ=Europe/Berlin", ErrScheduleTimeZone},
		{"cron_tz=europe/berlin 0 19 * * 1", ErrScheduleTimeZone},
		{"@", ErrScheduleCron},
		{strings.Repeat("every monday ", 20) + "19:00", ErrScheduleUnknown},
	}
	for _, c := range cases {
		r, err := ParseRecurrence(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("ParseRecurrence(%q) = %q, %v; want %v", c.in, r.Spec, err, c.want)
		}
	}
}

// robfig/cron panics on these; ParseSpec must turn every panic into an error.
func TestParseSpecGuardsPanics(t *testing.T) {
	for _, s := range []string{"CRON_TZ=UTC", "TZ=", "CRON_TZ=Nowhere/Land", "TZ=UTC"} {
		if _, err := ParseSpec(s); err == nil {
			t.Errorf("ParseSpec(%q) accepted", s)
		}
	}
}

func TestStoredRecurrenceRoundTrip(t *testing.T) {
	for _, in := range []string{"every monday 19:00", "weekdays 8:30", "every day 6pm", "0 19 1 * *"} {
		r, err := ParseRecurrence(in)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseStoredRecurrence(r.Spec)
		if err != nil || s.Spec != r.Spec || s.Cron != r.Cron || !slices.Equal(s.Days, r.Days) || s.Hour != r.Hour || s.Minute != r.Minute {
			t.Errorf("%q: stored %+v, parsed %+v, %v", in, s, r, err)
		}
	}
}

// FuzzParseRecurrence: any text either parses into a schedule that fires,
// not too often, and whose spec parses again, or is refused with one of
// the documented errors. It never panics.
func FuzzParseRecurrence(f *testing.F) {
	for _, s := range []string{"every monday 19:00", "0 19 * * 1", "CRON_TZ=UTC", "TZ=", "@every 1h", "@", "каждый день в 19",
		"jeden Montag um 19 Uhr", "todos los lunes a las 19:00", "*/5 * * * *", "0 0 30 2 *", "every mon-fri 9:00", "1-7 * * * *",
		"0 0 * * 1-5/0", "every monday 7pm 19:00", "L W # ?", "0 19 ? * mon#2"} {
		f.Add(s)
	}
	known := []error{ErrScheduleEmpty, ErrScheduleUnknown, ErrScheduleNoTime, ErrScheduleNoDays, ErrScheduleBadTime,
		ErrScheduleTimeZone, ErrScheduleTooOften, ErrScheduleNever, ErrScheduleMonthly, ErrScheduleCron}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRecurrence(in)
		if err != nil {
			if !slices.ContainsFunc(known, func(k error) bool { return errors.Is(err, k) }) {
				t.Fatalf("%q: undocumented error %v", in, err)
			}
			return
		}
		if !utf8.ValidString(r.Spec) || len(strings.Fields(r.Spec)) != 5 {
			t.Fatalf("%q: spec %q", in, r.Spec)
		}
		again, err := ParseStoredRecurrence(r.Spec)
		if err != nil {
			t.Fatalf("%q: spec %q does not parse again: %v", in, r.Spec, err)
		}
		loc, _ := time.LoadLocation("Europe/Berlin")
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
		a, b := r.Next(from, loc), again.Next(from, loc)
		if a.IsZero() || !a.Equal(b) || !a.After(from) {
			t.Fatalf("%q: next %v / %v", in, a, b)
		}
	})
}

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
	rec, err := ParseRecurrence("every monday 19:00")
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
