package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// BenchmarkCalendarFeed measures one feed request of 500 events on a real
// SQLite file, as a calendar app's poll costs it: the token lookup, the
// events query, rendering every VEVENT, the ETag hash and the response.
// "personal" is someone going to 500 events across 50 groups (their
// answer in each title); "group" is one group's 500 events; "not-modified"
// is the personal poll answered 304 (it renders all the same, to hash).
func BenchmarkCalendarFeed(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cat, err := locales.New()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	app := handlers.New(handlers.Deps{DB: db, Catalog: cat, Now: func() time.Time { return now },
		BotUsername: "rsvp_bench_bot", PublicURL: "https://rsvp.example.com"})
	const user, group = int64(7), int64(-1000)
	var personal, groupFeed string
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 500 {
			chat := group - 1 - int64(i%50)
			if i < 250 {
				chat = group // half of them in the one group, so both feeds have 500 with the other half below
			}
			id, err := store.CreateEvent(ctx, tx, store.Event{ChatID: chat, CreatorID: 99, Title: fmt.Sprintf("Event number %d", i),
				Description: "Bring snacks, please.\nAnd a friend; or two, if they like board games.", Place: "Cafe Central, Berlin",
				StartsAt: now.Add(time.Hour + time.Duration(i)*7*time.Hour), Timezone: "Europe/Berlin"}, now)
			if err != nil {
				return err
			}
			if _, err := store.ApplyRSVP(ctx, tx, id, user, store.ActGoing, now); err != nil {
				return err
			}
		}
		for i := range 250 { // the group's other 250
			if _, err := store.CreateEvent(ctx, tx, store.Event{ChatID: group, CreatorID: 99, Title: fmt.Sprintf("Group event %d", i),
				Place: "Park", StartsAt: now.Add(time.Duration(i) * 5 * time.Hour)}, now); err != nil {
				return err
			}
		}
		if personal, err = store.CalendarFeedFor(ctx, tx, user, 0, user, false, now); err != nil {
			return err
		}
		groupFeed, err = store.CalendarFeedFor(ctx, tx, 0, group, 99, false, now)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(app.CalendarFeed())
	defer srv.Close()
	get := func(b *testing.B, token, etag string, want int) (string, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/cal/"+token+".ics", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != want {
			b.Fatalf("status %d, want %d: %v", resp.StatusCode, want, err)
		}
		return resp.Header.Get("ETag"), body
	}
	for _, bc := range []struct {
		name, token string
		notModified bool
	}{{"personal", personal, false}, {"group", groupFeed, false}, {"not-modified", personal, true}} {
		b.Run(bc.name, func(b *testing.B) {
			first, body := get(b, bc.token, "", http.StatusOK)
			if n := bytes.Count(body, []byte("BEGIN:VEVENT")); n != 500 {
				b.Fatalf("%d events in the feed, want 500", n)
			}
			b.SetBytes(int64(len(body)))
			etag, want := "", http.StatusOK
			if bc.notModified {
				etag, want = first, http.StatusNotModified
			}
			b.ResetTimer()
			for b.Loop() {
				get(b, bc.token, etag, want)
			}
		})
	}
}
