package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// A place on the map keeps its point and venue through create, read and
// edit; a new point (even under the same text) drops the forecast, and a
// lookup made for the old point writes nothing.
func TestEventPointRoundTripAndForecast(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var id int64
	err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
		id, err = CreateEvent(ctx, tx, Event{ChatID: -100, CreatorID: 1, Title: "Board games", Place: "Cafe Central, Hauptstr. 1",
			Point: &Point{Lat: 52.5244, Lon: 13.4105}, VenueTitle: "Cafe Central", VenueAddress: "Hauptstr. 1",
			StartsAt: t0.Add(48 * time.Hour)}, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func() Event {
		t.Helper()
		e, ok, err := GetEvent(ctx, db.R, id)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		return e
	}
	e := read()
	if e.Point == nil || *e.Point != (Point{52.5244, 13.4105}) || e.VenueTitle != "Cafe Central" || e.VenueAddress != "Hauptstr. 1" {
		t.Fatalf("read back %+v", e)
	}
	tx := func(f func(tx *sql.Tx) error) {
		t.Helper()
		if err := db.Tx(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	tx(func(tx *sql.Tx) error { _, err := SetEventWeatherLine(ctx, tx, e, "sunny", t0); return err })
	if got := read(); got.WeatherLine != "sunny" {
		t.Fatalf("line %q", got.WeatherLine)
	}
	// The same text, another point: the forecast is for the wrong place.
	moved := read()
	moved.Point = &Point{Lat: 48.1, Lon: 11.5}
	tx(func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, moved, t0) })
	if got := read(); got.WeatherLine != "" || got.Point == nil || got.Point.Lat != 48.1 {
		t.Fatalf("after moving: %+v", got)
	}
	// A lookup made for the old point is not written.
	tx(func(tx *sql.Tx) error {
		changed, err := SetEventWeatherLine(ctx, tx, e, "stale", t0)
		if changed {
			t.Error("a forecast for the old point was stored")
		}
		return err
	})
	// Typed again: no point, no venue.
	typed := read()
	typed.Place, typed.Point, typed.VenueTitle, typed.VenueAddress = "Library", nil, "", ""
	tx(func(tx *sql.Tx) error { return UpdateEventDetails(ctx, tx, typed, t0) })
	if got := read(); got.Point != nil || got.VenueTitle != "" || got.Place != "Library" {
		t.Fatalf("after typing: %+v", got)
	}
	for _, p := range []Point{{91, 0}, {0, -181}} {
		if p.Valid() {
			t.Errorf("%v is valid", p)
		}
	}
}
