package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// A card changes between being queued and being sent: the on-sent hook
// records its message id and queues the edit it missed; a card that is
// current is left alone, and unknown references are ignored.
func TestOnSentCatchesUpACardThatMissedAChange(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := testApp(t)
	a.DB = db
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return now }
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
	db.R.QueryRow(`SELECT on_sent FROM outbox WHERE method = 'sendMessage'`).Scan(&ref)
	if !strings.HasPrefix(ref, "card:") {
		t.Fatalf("on_sent %q", ref)
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
