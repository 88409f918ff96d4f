package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

func rmBerlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// "/event Weekly run | every monday 19:00 | Park" in a Berlin group: the
// first occurrence's card is posted at once; the next one when it ends,
// still at 19:00 local after the end of summer time; skip cancels the
// posted one and posts the next; stop ends the series.
func TestSeriesFromEventCommand(t *testing.T) {
	berlin := rmBerlin(t)
	h := startRem(t, berlin, nil)
	h.set(time.Date(2026, 10, 14, 10, 0, 0, 0, berlin)) // Wednesday
	h.Send(rmGroup, rmAnn, "/event Weekly run | every monday 19:00 | Park")
	reply := h.LastText(rmGroup.ID)
	if !strings.Contains(reply, "repeats every Monday at 19:00 (Europe/Berlin)") || !strings.Contains(reply, "Mon, 19 Oct 2026, 19:00 CEST") {
		t.Fatalf("reply: %q", reply)
	}
	first := h.lastEvent()
	if first.SeriesID == 0 || !first.StartsAt.Equal(time.Date(2026, 10, 19, 19, 0, 0, 0, berlin)) {
		t.Fatalf("first occurrence %+v", first)
	}
	h.cardOf(rmGroup.ID, first.ID)

	// The scheduler ticks; nothing new until the first one has ended.
	tickSeries := func() {
		t.Helper()
		if _, err := h.ser.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.WaitIdle()
	}
	tickSeries()
	if h.lastEvent().ID != first.ID {
		t.Fatal("next occurrence created before the current one ended")
	}
	h.set(first.End().Add(time.Minute))
	tickSeries()
	second := h.lastEvent()
	if want := time.Date(2026, 10, 26, 19, 0, 0, 0, berlin); !second.StartsAt.Equal(want) || second.StartsAt.UTC().Hour() != 18 {
		t.Fatalf("second occurrence at %v, want %v (18:00 UTC, after the DST change)", second.StartsAt.In(berlin), want)
	}
	h.cardOf(rmGroup.ID, second.ID)

	// /series lists it with its buttons; Bob may not skip.
	h.Send(rmGroup, rmAnn, "/series")
	item := h.Last(rmGroup.ID)
	for _, m := range h.Fake.Messages(rmGroup.ID) {
		if strings.Contains(m.Text, "Weekly run (series") {
			item = m
		}
	}
	if !strings.Contains(item.Text, "Next: Mon, 26 Oct 2026, 19:00 CET") {
		t.Fatalf("/series item: %q", item.Text)
	}
	skip := h.Button(item, "Skip")
	h.Click(rmGroup, rmBob, item.ID, skip)
	if got := h.Toasts(); !strings.Contains(got[len(got)-1], "Only the organizer") {
		t.Fatalf("Bob's skip: %q", got)
	}
	h.Click(rmGroup, rmAnn, item.ID, skip)
	if ev, _, _ := store.GetEvent(context.Background(), h.DB.R, second.ID); !ev.Cancelled() {
		t.Fatal("skipped occurrence not cancelled")
	}
	third := h.lastEvent()
	if want := time.Date(2026, 11, 2, 19, 0, 0, 0, berlin); !third.StartsAt.Equal(want) {
		t.Fatalf("after skip: next at %v, want %v", third.StartsAt.In(berlin), want)
	}
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "Mon, 2 Nov 2026, 19:00 CET") {
		t.Fatalf("skip reply: %q", got)
	}
	h.cardOf(rmGroup.ID, third.ID)

	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series stop %d", third.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "won't repeat any more") || !strings.Contains(got, fmt.Sprintf("/cancelevent %d", third.ID)) {
		t.Fatalf("stop: %q", got)
	}
	h.set(third.End().Add(time.Hour))
	tickSeries()
	if h.lastEvent().ID != third.ID {
		t.Fatal("a stopped series created an occurrence")
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series skip %d", third.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "doesn't exist or was stopped") {
		t.Fatalf("skip after stop: %q", got)
	}
}

// Schedules that cannot be used are refused with a clear message in the
// user's language, and nothing is created.
func TestSeriesRejectsBadSchedules(t *testing.T) {
	h := startRem(t, time.UTC, nil)
	ru := bottest.PrivateChat(rmDina)
	cases := []struct{ user, text, want string }{
		{"en", "/event Run | every monday | Park", "add a time of day"},
		{"en", "/event Run | every 19:00 | Park", "say which days"},
		{"en", "/event Run | every monday 25:00 | Park", "time of day doesn't exist"},
		{"en", "/event Run | * * * * * | Park", "at least 3 hours apart"},
		{"en", "/event Run | 0 0 30 2 * | Park", "never happens"},
		{"en", "/event Run | @every 1h | Park", "cron expression isn't valid"},
		{"en", "/event Run | every month 19:00 | Park", "monthly event"},
		{"en", "/event Run | every blursday 19:00 | Park", "can't read “every blursday 19:00” as a schedule"},
		{"ru", "/event Бег | каждый понедельник | Парк", "Добавьте, пожалуйста, время"},
	}
	for _, c := range cases {
		if c.user == "ru" {
			h.Send(ru, rmDina, c.text)
			if got := h.LastText(rmDina.ID); !strings.Contains(got, c.want) {
				t.Errorf("%q: %q, want %q", c.text, got, c.want)
			}
			continue
		}
		h.Send(rmGroup, rmAnn, c.text)
		if got := h.LastText(rmGroup.ID); !strings.Contains(got, c.want) {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if n := h.Count(`SELECT count(*) FROM series`) + h.Count(`SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("%d series/events created from bad schedules", n)
	}
	// A cron expression works for power users.
	h.Send(rmGroup, rmAnn, "/event Standup | 30 9 * * 1-5 | Office")
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "on the schedule 30 9 * * 1-5") {
		t.Fatalf("cron series: %q", got)
	}
}

// /series lead: each next occurrence is posted that long before it starts
// (never before the previous one ends); off goes back to "when it ends".
func TestSeriesLeadCommand(t *testing.T) {
	h := startRem(t, time.UTC, nil)
	h.set(time.Date(2026, 10, 14, 10, 0, 0, 0, time.UTC))
	h.Send(rmGroup, rmAnn, "/event Weekly run | every monday 19:00 | Park")
	first := h.lastEvent()
	h.Send(rmGroup, rmBob, fmt.Sprintf("/series lead %d 3d", first.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "Only the organizer") {
		t.Fatalf("Bob: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series lead %d soon", first.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "can't read “soon”") {
		t.Fatalf("bad lead: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series lead %d 3d", first.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "posted 3 days before it starts") {
		t.Fatalf("lead: %q", got)
	}
	tick := func(at time.Time) {
		t.Helper()
		h.set(at)
		if _, err := h.ser.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.WaitIdle()
	}
	tick(first.End().Add(time.Minute)) // 19 Oct 21:01: 26 Oct is more than 3 days ahead
	if h.lastEvent().ID != first.ID {
		t.Fatal("created before the lead time")
	}
	tick(time.Date(2026, 10, 23, 19, 0, 0, 0, time.UTC))
	next := h.lastEvent()
	if next.ID == first.ID || !next.StartsAt.Equal(time.Date(2026, 10, 26, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("next occurrence %+v", next)
	}
	h.cardOf(rmGroup.ID, next.ID)
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series lead %d off", first.SeriesID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "posted when the previous one ends") {
		t.Fatalf("off: %q", got)
	}
}

// A series occurrence the handlers create (the first one, by /event; the
// next one, by skipping the posted one) has its reminders planned in the
// transaction that created it, before any tick of the reminders job: the
// handlers use the app's one series runner, the one with the planning.
func TestSeriesOccurrenceHasItsRemindersAtOnce(t *testing.T) {
	berlin := rmBerlin(t)
	h := startRem(t, berlin, []time.Duration{24 * time.Hour, time.Hour})
	h.set(time.Date(2026, 10, 14, 10, 0, 0, 0, berlin)) // Wednesday
	planned := func(ev store.Event) []time.Duration {
		t.Helper()
		rems, err := store.EventReminders(context.Background(), h.DB.R, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Duration
		for _, r := range rems {
			if !r.StartsAt.Equal(ev.StartsAt) {
				t.Errorf("reminder %d computed for %v, the occurrence starts %v", r.ID, r.StartsAt, ev.StartsAt)
			}
			out = append(out, r.Offset)
		}
		return out
	}
	want := fmt.Sprint([]time.Duration{24 * time.Hour, time.Hour})

	h.Send(rmGroup, rmAnn, "/event Weekly run | every monday 19:00 | Park")
	first := h.lastEvent()
	if first.SeriesID == 0 {
		t.Fatalf("no series: %q", h.LastText(rmGroup.ID))
	}
	if got := planned(first); fmt.Sprint(got) != want {
		t.Fatalf("first occurrence's reminders: %v, want %v", got, want)
	}

	h.Send(rmGroup, rmAnn, fmt.Sprintf("/series skip %d", first.SeriesID))
	second := h.lastEvent()
	if second.ID == first.ID || second.SeriesID != first.SeriesID {
		t.Fatalf("skipping posted no next occurrence: %q", h.LastText(rmGroup.ID))
	}
	if got := planned(second); fmt.Sprint(got) != want {
		t.Fatalf("next occurrence's reminders: %v, want %v", got, want)
	}
	if got := planned(first); len(got) != 0 {
		t.Errorf("the skipped occurrence keeps reminders %v", got)
	}
}
