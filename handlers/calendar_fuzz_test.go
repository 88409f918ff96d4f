package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// The feed path is whatever a client requests: feedToken accepts only
// FeedPathPrefix + a well-formed token + ".ics", and never panics.
func FuzzFeedToken(f *testing.F) {
	for _, s := range []string{"/cal/0123456789abcdefghijKL.ics", "/cal/.ics", "/cal/", "/cal/x.ics", "/cal/../../etc/passwd",
		"/cal/0123456789abcdefghijKL.ics.ics", "/cal/0123456789abcdefghijK%.ics", "/CAL/0123456789abcdefghijKL.ics", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		token, ok := feedToken(path)
		if !ok {
			return
		}
		if !store.ValidFeedToken(token) || path != FeedPathPrefix+token+".ics" {
			t.Fatalf("feedToken(%q) = %q", path, token)
		}
	})
}

// Any request path gets the one 404, except the one feed that exists.
func FuzzServeFeed(f *testing.F) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	cat, err := locales.New()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	a := New(Deps{DB: db, Catalog: cat, Now: func() time.Time { return now }, PublicURL: "https://rsvp.example.com"})
	var token string
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		token, err = store.CalendarFeedFor(ctx, tx, 42, 0, 42, false, now)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	h := a.CalendarFeed()
	serve := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	missing := serve("/cal/" + strings.Repeat("0", store.FeedTokenLen) + ".ics")
	if missing.Code != http.StatusNotFound {
		f.Fatalf("a missing feed: %d", missing.Code)
	}
	for _, s := range []string{"/cal/" + token + ".ics", "/cal/" + token, "/cal/" + strings.ToLower(token) + ".ics", "/cal/%00.ics"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rec := serve(path)
		if path == "/cal/"+token+".ics" {
			if rec.Code != http.StatusOK {
				t.Fatalf("the feed itself: %d", rec.Code)
			}
			return
		}
		if rec.Code != http.StatusNotFound || rec.Body.String() != missing.Body.String() {
			t.Fatalf("%q: %d %q", path, rec.Code, rec.Body.String())
		}
	})
}
