package handlers

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/store"
)

// A venue or location message is whatever a client sends: the place taken
// from it is on Earth, one line, within the place limit, valid UTF-8, and
// its map link and draft round trip keep the point.
func FuzzPlaceFromMessage(f *testing.F) {
	f.Add(52.5244, 13.4105, "Cafe Central", "Hauptstr. 1, Berlin", true)
	f.Add(-90.0, 180.0, "", "", false)
	f.Add(91.0, 0.0, "x", "y", true)
	f.Add(math.NaN(), 1.0, "", "", false)
	f.Add(0.0, 0.0, "a\nb", strings.Repeat("é", 400), true)
	f.Add(1.0, 2.0, "\xff", "Cafe", true)
	f.Fuzz(func(t *testing.T, lat, lon float64, title, address string, venue bool) {
		loc := models.Location{Latitude: lat, Longitude: lon}
		m := &models.Message{Location: &loc}
		if venue {
			m.Venue = &models.Venue{Location: loc, Title: title, Address: address}
		}
		mp, ok := placeFromMessage(m)
		if !ok {
			if !badMapPlace(m) {
				t.Fatal("a refused location is not reported as bad")
			}
			return
		}
		if !mp.point.Valid() || mp.text == "" || strings.ContainsAny(mp.text, "\n\r") || !utf8.ValidString(mp.text) ||
			utf8.RuneCountInString(mp.text) > maxPlaceLen {
			t.Fatalf("place %+v from %v,%v %q %q", mp, lat, lon, title, address)
		}
		c := &convo{Data: map[string]string{}}
		setDraftPlace(c, mp.text, &mp)
		var ev store.Event
		draftPlace(c, &ev)
		if ev.Point == nil || *ev.Point != mp.point || ev.Place != mp.text {
			t.Fatalf("draft round trip %+v -> %+v", mp, ev)
		}
		if u := mapURL(mp.point); !strings.HasPrefix(u, "https://www.openstreetmap.org/?mlat=") || strings.ContainsAny(u, " \"<>") {
			t.Fatalf("map url %q", u)
		}
	})
}

// "/event copy <number>": anything else is not a copy, and a copy's rest
// is trimmed.
func FuzzCopyArgs(f *testing.F) {
	for _, s := range []string{"copy 5", "COPY #5", "copy", "copycat | fri 19:00", " copy  7 ", "Board games | fri"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		rest, ok := copyArgs(args)
		if !ok {
			return
		}
		word, _, _ := strings.Cut(strings.TrimSpace(args), " ")
		if !strings.EqualFold(word, "copy") || rest != strings.TrimSpace(rest) || strings.Contains(args, "|") {
			t.Fatalf("copyArgs(%q) = %q", args, rest)
		}
	})
}
