package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// cardTestApp is an App on a fresh database with a fixed clock.
func cardTestApp(t *testing.T) (*App, *store.DB, time.Time) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := testApp(t)
	a.DB = db
	a.Logger = slog.New(slog.DiscardHandler)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return now }
	return a, db, now
}

// A card changes between being queued and being sent: the on-sent hook
// records its message id and queues the edit it missed; a card that is
// current is left alone, and unknown references are ignored.
func TestOnSentCatchesUpACardThatMissedAChange(t *testing.T) {
	ctx := context.Background()
	a, db, now := cardTestApp(t)
	var err error
	var eventID int64
	err = db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if err := store.UpsertUser(ctx, tx, store.User{ID: 5, FirstName: "Bob"}, now); err != nil {
			return err
		}
		eventID, err = store.CreateEvent(ctx, tx, store.Event{ChatID: -9, CreatorID: 1, Title: "Jam",
			StartsAt: now.Add(48 * time.Hour), Timezone: "UTC"}, now)
		if err != nil {
			return err
		}
		if err := a.postCard(ctx, tx, eventID, -9, "en"); err != nil {
			return err
		}
		// A click before Telegram has answered: no message id yet, so no edit.
		if _, err := store.ApplyRSVP(ctx, tx, eventID, 5, store.ActGoing, now); err != nil {
			return err
		}
		return a.RefreshEventCards(ctx, tx, eventID)
	})
	if err != nil {
		t.Fatal(err)
	}
	edits := func() []string {
		rows, err := db.R.Query(`SELECT params FROM outbox WHERE method = 'editMessageText' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var p string
			rows.Scan(&p)
			out = append(out, p)
		}
		return out
	}
	if n := len(edits()); n != 0 {
		t.Fatalf("%d edits of an unsent card", n)
	}
	var ref string
	db.R.QueryRow(`SELECT ref FROM outbox WHERE method = 'sendMessage'`).Scan(&ref)
	if !strings.HasPrefix(ref, "card:") {
		t.Fatalf("ref %q", ref)
	}
	hook := func(ref string, msg int) {
		t.Helper()
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return a.OnSent(ctx, tx, ref, -9, msg) }); err != nil {
			t.Fatal(err)
		}
	}
	hook(ref, 77)
	got := edits()
	if len(got) != 1 {
		t.Fatalf("edits %v", got)
	}
	var p struct {
		MessageID int    `json:"message_id"`
		Text      string `json:"text"`
	}
	json.Unmarshal([]byte(got[0]), &p)
	if p.MessageID != 77 || !strings.Contains(p.Text, "Going: Bob") {
		t.Fatalf("edit %+v", p)
	}
	// Sent again (a retried row): already current, nothing more to do.
	hook(ref, 77)
	hook("weather:1", 5)
	hook("card:notanumber", 5)
	hook("card:999", 5)
	if n := len(edits()); n != 1 {
		t.Fatalf("%d edits", n)
	}
}

// OnMigrated posts each upcoming event's card once in the supergroup: not
// when a copy is still on its way there (it is the fresh one), and not
// again if the hook runs a second time.
func TestOnMigratedPostsEachCardOnce(t *testing.T) {
	ctx := context.Background()
	a, db, now := cardTestApp(t)
	var err error
	const to = -1_000_000_000_009
	var posted, onItsWay int64
	err = db.Tx(ctx, func(tx *sql.Tx) (err error) {
		for _, id := range []*int64{&posted, &onItsWay} {
			if *id, err = store.CreateEvent(ctx, tx, store.Event{ChatID: to, CreatorID: 1, Title: "Jam",
				StartsAt: now.Add(48 * time.Hour), Timezone: "UTC"}, now); err != nil {
				return err
			}
		}
		// One card the old group showed (message 7), one not sent yet.
		if _, err := store.AddEventCard(ctx, tx, store.EventCard{EventID: posted, ChatID: to, MessageID: 7, Lang: "en"}, now); err != nil {
			return err
		}
		if _, err := store.AddEventCard(ctx, tx, store.EventCard{EventID: onItsWay, ChatID: to, MessageID: 8, Lang: "en"}, now); err != nil {
			return err
		}
		_, err = store.AddEventCard(ctx, tx, store.EventCard{EventID: onItsWay, ChatID: to, Lang: "en"}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return a.OnMigrated(ctx, tx, -9, to) }); err != nil {
			t.Fatal(err)
		}
	}
	var sends int
	db.R.QueryRow(`SELECT count(*) FROM outbox WHERE method = 'sendMessage' AND chat_id = ?`, to).Scan(&sends)
	if sends != 1 {
		t.Fatalf("%d cards posted again, want 1 (the event whose copy is on its way needs none)", sends)
	}
	count := func(event int64, q string) int {
		var n int
		db.R.QueryRow(`SELECT count(*) FROM event_cards WHERE event_id = ? AND `+q, event).Scan(&n)
		return n
	}
	if count(posted, "message_id IS NOT NULL") != 0 || count(posted, "message_id IS NULL") != 1 {
		t.Error("the old copy was not replaced by one fresh copy")
	}
	if count(onItsWay, "message_id IS NOT NULL") != 0 || count(onItsWay, "message_id IS NULL") != 1 {
		t.Error("the copy on its way was not kept alone")
	}
}
