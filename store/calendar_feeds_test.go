package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// Feed tokens: one per person and per group, random and well formed;
// reset replaces it and the old one finds nothing; a group's feed follows
// the group to its supergroup.
func TestCalendarFeedTokens(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	feed := func(user, chat int64, reset bool) string {
		t.Helper()
		var tok string
		if err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			tok, err = CalendarFeedFor(ctx, tx, user, chat, 1, reset, t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !ValidFeedToken(tok) {
			t.Fatalf("token %q", tok)
		}
		return tok
	}
	mine, group := feed(7, 0, false), feed(0, -100, false)
	if mine == group || feed(7, 0, false) != mine || feed(0, -100, false) != group {
		t.Fatal("not one stable token per owner")
	}
	if f, ok, err := CalendarFeedByToken(ctx, db.R, mine); err != nil || !ok || f.UserID != 7 || f.ChatID != 0 {
		t.Fatalf("%+v %v %v", f, ok, err)
	}
	fresh := feed(7, 0, true)
	if fresh == mine {
		t.Fatal("reset kept the token")
	}
	for _, tok := range []string{mine, "", "short", fresh + "x", "0123456789012345678901"} {
		if _, ok, err := CalendarFeedByToken(ctx, db.R, tok); ok || err != nil {
			t.Errorf("%q: found %v, %v", tok, ok, err)
		}
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := CalendarFeedFor(ctx, tx, 7, -100, 1, false, t0); err == nil {
			t.Error("a feed of a person and a group at once")
		}
		return MigrateChat(ctx, tx, -100, -1001234, t0)
	}); err != nil {
		t.Fatal(err)
	}
	if f, ok, _ := CalendarFeedByToken(ctx, db.R, group); !ok || f.ChatID != -1001234 {
		t.Fatalf("after migration: %+v %v", f, ok)
	}
}

// FeedEvents: a person's events (organised or answered going, maybe,
// waitlisted; not declined) with their answer; a group's, all of them;
// ended and cancelled ones for 30 days.
func TestFeedEvents(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var going, declined, organised, elsewhere, old, later int64
	err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
		mk := func(chat, creator int64, start time.Time) int64 {
			id, e := CreateEvent(ctx, tx, Event{ChatID: chat, CreatorID: creator, Title: "x", StartsAt: start}, t0)
			if e != nil {
				err = e
			}
			return id
		}
		going, declined = mk(-100, 1, t0.Add(time.Hour)), mk(-100, 1, t0.Add(2*time.Hour))
		organised, elsewhere = mk(-200, 7, t0.Add(3*time.Hour)), mk(-200, 1, t0.Add(4*time.Hour))
		old = mk(-100, 7, t0.Add(-40*24*time.Hour))
		later = mk(-300, 7, t0.Add(90*24*time.Hour)) // called off long before it would start
		if err != nil {
			return err
		}
		if _, err := ApplyRSVP(ctx, tx, going, 7, ActGoing, t0); err != nil {
			return err
		}
		_, err = ApplyRSVP(ctx, tx, declined, 7, ActDecline, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(f CalendarFeed, now time.Time) map[int64]RSVPStatus {
		t.Helper()
		evs, err := FeedEvents(ctx, db.R, f, now)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]RSVPStatus{}
		for _, e := range evs {
			out[e.ID] = e.Mine
		}
		return out
	}
	got := ids(CalendarFeed{UserID: 7}, t0)
	if len(got) != 3 || got[going] != RSVPGoing || got[organised] != "" || got[later] != "" {
		t.Fatalf("personal: %v", got)
	}
	if got := ids(CalendarFeed{ChatID: -100}, t0); len(got) != 2 || got[going] != "" {
		t.Fatalf("group -100: %v (old %d)", got, old)
	}
	if got := ids(CalendarFeed{ChatID: -200}, t0); len(got) != 2 || got[elsewhere] != "" || got[organised] != "" {
		t.Fatalf("group -200: %v", got)
	}
	// Cancelled: kept until 30 days after the cancellation, even when
	// the event is still to come; ended: kept 30 days after the end.
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range []int64{going, later} {
			if _, err := CancelEvent(ctx, tx, id, t0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := ids(CalendarFeed{UserID: 7}, t0.Add(29*24*time.Hour)); len(got) != 3 {
		t.Fatalf("29 days on: %v", got)
	}
	if got := ids(CalendarFeed{UserID: 7}, t0.Add(31*24*time.Hour)); len(got) != 0 {
		t.Fatalf("31 days on: %v", got)
	}
}
