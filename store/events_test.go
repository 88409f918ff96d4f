package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func newEvent(t *testing.T, db *DB, capacity int) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
		id, err = CreateEvent(ctx, tx, Event{ChatID: -100, CreatorID: 1, Title: "Board games", Place: "Cafe",
			StartsAt: t0.Add(48 * time.Hour), Timezone: "Europe/Berlin", Capacity: capacity}, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func apply(t *testing.T, db *DB, ev, user int64, act RSVPAction) RSVPChange {
	t.Helper()
	ctx := context.Background()
	var ch RSVPChange
	err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
		ch, err = ApplyRSVP(ctx, tx, ev, user, act, t0)
		return err
	})
	if err != nil {
		t.Fatalf("user %d action %d: %v", user, act, err)
	}
	return ch
}

func counts(t *testing.T, db *DB, ev int64) RSVPCounts {
	t.Helper()
	c, err := CountRSVPs(context.Background(), db.R, ev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	id := newEvent(t, db, 12)
	e, ok, err := GetEvent(ctx, db.R, id)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if e.Title != "Board games" || !e.StartsAt.Equal(t0.Add(48*time.Hour)) || e.Capacity != 12 || e.Status != EventActive ||
		e.Zone().String() != "Europe/Berlin" || !e.End().Equal(e.StartsAt.Add(DefaultEventLength)) || e.SeriesID != 0 {
		t.Fatalf("%+v", e)
	}
	if !e.RSVPClosesAt().Equal(e.StartsAt) {
		t.Error("RSVPs should close at the start without a deadline")
	}
	e.Title, e.RSVPDeadline = "Chess", e.StartsAt.Add(-time.Hour)
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, e, t0) }); err != nil {
		t.Fatal(err)
	}
	e2, _, _ := GetEvent(ctx, db.R, id)
	if e2.Title != "Chess" || e2.Version != e.Version+1 || !e2.RSVPClosesAt().Equal(e.RSVPDeadline) {
		t.Fatalf("after update %+v", e2)
	}
	up, err := UpcomingChatEvents(ctx, db.R, -100, t0, 10)
	if err != nil || len(up) != 1 {
		t.Fatalf("upcoming %v %v", up, err)
	}
	var cancelled, again bool
	db.Tx(ctx, func(tx *sql.Tx) (err error) { cancelled, err = CancelEvent(ctx, tx, id, t0); return })
	db.Tx(ctx, func(tx *sql.Tx) (err error) { again, err = CancelEvent(ctx, tx, id, t0); return })
	if !cancelled || again {
		t.Fatalf("cancel %v %v", cancelled, again)
	}
	if up, _ := UpcomingChatEvents(ctx, db.R, -100, t0, 10); len(up) != 0 {
		t.Error("cancelled event still listed")
	}
}

func TestRSVPTransitions(t *testing.T) {
	db := openTest(t)
	ev := newEvent(t, db, 0)
	if ch := apply(t, db, ev, 1, ActGoing); ch.After.Status != RSVPGoing || ch.Before.Status != "" || ch.Refused != RefusedNone {
		t.Fatalf("%+v", ch)
	}
	if ch := apply(t, db, ev, 1, ActGoing); ch.Refused != RefusedUnchanged {
		t.Fatalf("second going: %+v", ch)
	}
	if ch := apply(t, db, ev, 1, ActMaybe); ch.After.Status != RSVPMaybe {
		t.Fatalf("%+v", ch)
	}
	if ch := apply(t, db, ev, 1, ActDecline); ch.After.Status != RSVPDeclined {
		t.Fatalf("%+v", ch)
	}
	// +1 from declined: going with one guest.
	if ch := apply(t, db, ev, 1, ActAddGuest); ch.After.Status != RSVPGoing || ch.After.Guests != 1 {
		t.Fatalf("%+v", ch)
	}
	if ch := apply(t, db, ev, 1, ActRemoveGuest); ch.After.Guests != 0 || ch.After.Status != RSVPGoing {
		t.Fatalf("%+v", ch)
	}
	if ch := apply(t, db, ev, 1, ActRemoveGuest); ch.Refused != RefusedNoGuests {
		t.Fatalf("%+v", ch)
	}
	for range MaxGuests {
		apply(t, db, ev, 1, ActAddGuest)
	}
	if ch := apply(t, db, ev, 1, ActAddGuest); ch.Refused != RefusedTooManyGuests || ch.After.Guests != MaxGuests {
		t.Fatalf("%+v", ch)
	}
	if c := counts(t, db, ev); c.Going != 1 || c.GoingSeats != 1+MaxGuests {
		t.Fatalf("%+v", c)
	}
}

func TestCapacityWaitlistAndPromotion(t *testing.T) {
	db := openTest(t)
	ev := newEvent(t, db, 3)
	apply(t, db, ev, 1, ActGoing)
	apply(t, db, ev, 2, ActAddGuest) // 2 + guest: 3 of 3
	if c := counts(t, db, ev); c.GoingSeats != 3 {
		t.Fatalf("%+v", c)
	}
	ch := apply(t, db, ev, 3, ActGoing)
	if ch.After.Status != RSVPWaitlist || ch.WaitlistRank != 1 {
		t.Fatalf("%+v", ch)
	}
	ch = apply(t, db, ev, 4, ActAddGuest) // a party of two waits second
	if ch.After.Status != RSVPWaitlist || ch.WaitlistRank != 2 || ch.After.Guests != 1 {
		t.Fatalf("%+v", ch)
	}
	apply(t, db, ev, 5, ActGoing) // third
	// Going again while waitlisted keeps the place in line.
	if ch := apply(t, db, ev, 3, ActGoing); ch.Refused != RefusedUnchanged || ch.WaitlistRank != 1 {
		t.Fatalf("%+v", ch)
	}
	// A guest cannot be added when full.
	if ch := apply(t, db, ev, 1, ActAddGuest); ch.Refused != RefusedNoRoomForGuest {
		t.Fatalf("%+v", ch)
	}
	// User 1 leaves: one place; the first in line (3) fits.
	ch = apply(t, db, ev, 1, ActDecline)
	if len(ch.Promoted) != 1 || ch.Promoted[0].UserID != 3 {
		t.Fatalf("promoted %+v", ch.Promoted)
	}
	// User 2's guest stays home: one place; 4 needs two, so 5 goes first.
	ch = apply(t, db, ev, 2, ActRemoveGuest)
	if len(ch.Promoted) != 1 || ch.Promoted[0].UserID != 5 {
		t.Fatalf("promoted %+v", ch.Promoted)
	}
	if r, _ := WaitlistRank(context.Background(), db.R, ev, 4); r != 1 {
		t.Fatalf("rank of 4 = %d", r)
	}
	// 2 changes to maybe: one place, but 4's party needs two.
	apply(t, db, ev, 2, ActMaybe)
	if c := counts(t, db, ev); c.Waitlist != 1 || c.GoingSeats != 2 || c.Going != 2 {
		t.Fatalf("%+v", c)
	}
	// Raising capacity promotes; lowering it never demotes.
	ctx := context.Background()
	raise := func(capacity int) []RSVP {
		e, _, _ := GetEvent(ctx, db.R, ev)
		e.Capacity = capacity
		var promoted []RSVP
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			if err = UpdateEventDetails(ctx, tx, e, t0); err != nil {
				return err
			}
			promoted, err = PromoteWaitlist(ctx, tx, ev, t0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return promoted
	}
	if p := raise(4); len(p) != 1 || p[0].UserID != 4 {
		t.Fatalf("promoted %+v", p)
	}
	apply(t, db, ev, 6, ActGoing)
	apply(t, db, ev, 7, ActGoing)
	if p := raise(5); len(p) != 1 || p[0].UserID != 6 {
		t.Fatalf("promoted %+v", p)
	}
	if p := raise(1); len(p) != 0 {
		t.Fatalf("promoted %+v", p)
	}
	if c := counts(t, db, ev); c.GoingSeats != 5 || c.Waitlist != 1 {
		t.Fatalf("%+v", c)
	}
	att, err := ListAttendees(ctx, db.R, ev)
	if err != nil {
		t.Fatal(err)
	}
	var order []int64
	for _, a := range att {
		order = append(order, a.UserID)
	}
	// going in joining order (3, 5, 4, 6), waitlist (7), maybe (2), declined (1)
	want := []int64{3, 5, 4, 6, 7, 2, 1}
	if len(order) != len(want) {
		t.Fatalf("order %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
}

func TestRSVPRefusedByEvent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ev := newEvent(t, db, 0)
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := ApplyRSVP(ctx, tx, ev, 1, ActGoing, t0.Add(49*time.Hour))
		return err
	})
	if !errors.Is(err, ErrRSVPClosed) {
		t.Fatalf("after start: %v", err)
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error { _, err := ApplyRSVP(ctx, tx, ev+100, 1, ActGoing, t0); return err })
	if !errors.Is(err, ErrEventNotFound) {
		t.Fatalf("missing: %v", err)
	}
	db.Tx(ctx, func(tx *sql.Tx) error { _, err := CancelEvent(ctx, tx, ev, t0); return err })
	err = db.Tx(ctx, func(tx *sql.Tx) error { _, err := ApplyRSVP(ctx, tx, ev, 1, ActGoing, t0); return err })
	if !errors.Is(err, ErrEventCancelled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Fifty people click "going" at once for ten places: exactly ten go, the
// rest wait in the order their transactions ran, and nobody is lost.
func TestConcurrentGoingNeverOverbooks(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ev := newEvent(t, db, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []int64
	for u := int64(1); u <= 50; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := ApplyRSVP(ctx, tx, ev, u, ActGoing, t0)
				if err == nil {
					mu.Lock()
					order = append(order, u)
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c := counts(t, db, ev)
	if c.Going != 10 || c.GoingSeats != 10 || c.Waitlist != 40 {
		t.Fatalf("%+v", c)
	}
	att, _ := ListAttendees(ctx, db.R, ev)
	for i, a := range att {
		if a.UserID != order[i] {
			t.Fatalf("attendee %d is %d, commit order %v", i, a.UserID, order)
		}
	}
}

func TestEventCardsAndMigration(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ev := newEvent(t, db, 0)
	var a, b int64
	err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
		UpsertChat(ctx, tx, Chat{ID: -100, Type: "group"}, t0)
		if a, err = AddEventCard(ctx, tx, EventCard{EventID: ev, ChatID: -100, Lang: "en"}, t0); err != nil {
			return err
		}
		b, err = AddEventCard(ctx, tx, EventCard{EventID: ev, ChatID: 7, MessageID: 3, Lang: "de"}, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Recording the same message again returns the same row.
	var again int64
	db.Tx(ctx, func(tx *sql.Tx) (err error) {
		again, err = AddEventCard(ctx, tx, EventCard{EventID: ev, ChatID: 7, MessageID: 3}, t0)
		return err
	})
	if again != b {
		t.Fatalf("card recorded twice: %d %d", again, b)
	}
	db.Tx(ctx, func(tx *sql.Tx) error { return SetEventCardMessage(ctx, tx, a, -100, 42) })
	if c, ok, _ := FindEventCard(ctx, db.R, -100, 42); !ok || c.ID != a || c.Lang != "en" {
		t.Fatalf("%+v %v", c, ok)
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return MigrateChat(ctx, tx, -100, -1001, t0) }); err != nil {
		t.Fatal(err)
	}
	e, _, _ := GetEvent(ctx, db.R, ev)
	cards, _ := EventCards(ctx, db.R, ev)
	if e.ChatID != -1001 || len(cards) != 2 || cards[0].ChatID != -1001 || cards[0].MessageID != 42 {
		t.Fatalf("after migration: event chat %d, cards %+v", e.ChatID, cards)
	}
	var n int
	db.Tx(ctx, func(tx *sql.Tx) (err error) { n, err = ForgetEventCards(ctx, tx, ev, 7); return })
	if cards, _ := EventCards(ctx, db.R, ev); n != 1 || len(cards) != 1 {
		t.Fatalf("forgot %d, left %+v", n, cards)
	}
}

func TestUserUpcomingEvents(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := newEvent(t, db, 1)
	b := newEvent(t, db, 0)
	newEvent(t, db, 0)
	apply(t, db, a, 1, ActGoing)
	apply(t, db, a, 2, ActGoing)
	apply(t, db, b, 2, ActMaybe)
	got, err := UserUpcomingEvents(ctx, db.R, 2, t0, 10)
	if err != nil || len(got) != 1 || got[0].ID != a || got[0].RSVP.Status != RSVPWaitlist || got[0].WaitlistRank != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	soon, err := EventsStartingBetween(ctx, db.R, t0, t0.Add(72*time.Hour), 10)
	if err != nil || len(soon) != 3 {
		t.Fatalf("%d %v", len(soon), err)
	}
}

// A forecast looked up for the event as it was is not written once its
// place or day changed meanwhile; an edit that keeps both keeps the line.
func TestForecastLineFollowsEdits(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	id := newEvent(t, db, 0)
	read, _, _ := GetEvent(ctx, db.R, id)
	set := func(ev Event, line string) bool {
		t.Helper()
		var changed bool
		if err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			changed, err = SetEventWeatherLine(ctx, tx, ev, line, t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return changed
	}
	if !set(read, `{"code":1}`) || set(read, `{"code":1}`) {
		t.Fatal("a new line must change the card once, the same line never")
	}
	// A title edit keeps the forecast.
	cur, _, _ := GetEvent(ctx, db.R, id)
	cur.Title = "Chess"
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, cur, t0) }); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := GetEvent(ctx, db.R, id); e.WeatherLine != `{"code":1}` {
		t.Fatalf("a title edit dropped the forecast: %q", e.WeatherLine)
	}
	// A new place drops it; a lookup made for the old place is not stored.
	cur, _, _ = GetEvent(ctx, db.R, id)
	cur.Place = "Library"
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, cur, t0) }); err != nil {
		t.Fatal(err)
	}
	if set(read, `{"code":2}`) {
		t.Fatal("a forecast for the old place was written")
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return MarkEventForecastChecked(ctx, tx, read, t0) }); err != nil {
		t.Fatal(err)
	}
	due, err := EventsNeedingForecast(ctx, db.R, t0, t0.Add(30*24*time.Hour), t0, 10)
	if err != nil || len(due) != 1 || due[0].WeatherLine != "" {
		t.Fatalf("after the place changed the event must be due at once with no line: %+v %v", due, err)
	}
}

// The organizer's upcoming events, in any chat: not someone else's, not a
// cancelled one, not one that is over; soonest first.
func TestUpcomingEventsOrganizedBy(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mk := func(chat, creator int64, starts time.Time) int64 {
		var id int64
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			id, err = CreateEvent(ctx, tx, Event{ChatID: chat, CreatorID: creator, Title: "x", StartsAt: starts}, t0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	later := mk(-100, 1, t0.Add(72*time.Hour))
	sooner := mk(-200, 1, t0.Add(24*time.Hour))
	mk(-100, 2, t0.Add(24*time.Hour))                            // someone else's
	mk(-100, 1, t0.Add(-DefaultEventLength-time.Minute))         // over
	running := mk(1, 1, t0.Add(-DefaultEventLength+time.Minute)) // still on, in a private chat
	cancelled := mk(-100, 1, t0.Add(48*time.Hour))
	if err := db.Tx(ctx, func(tx *sql.Tx) error { _, err := CancelEvent(ctx, tx, cancelled, t0); return err }); err != nil {
		t.Fatal(err)
	}
	got, err := UpcomingEventsOrganizedBy(ctx, db.R, 1, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []int64{running, sooner, later}; !slices.Equal(ids, want) {
		t.Fatalf("organized by 1: %v, want %v", ids, want)
	}
}
