package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// startEventsWithWeather is startEvents against a fake Open-Meteo whose
// today is the events' clock's, one attempt per lookup, no backoff sleeps.
func startEventsWithWeather(t *testing.T) (*evHarness, *weathertest.Server) {
	t.Helper()
	wx := weathertest.NewServer()
	t.Cleanup(wx.Close)
	wx.SetToday(evNow)
	om, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: wx.GeocodingURL(), ForecastURL: wx.ForecastURL()})
	if err != nil {
		t.Fatal(err)
	}
	svc := weather.New(om, weather.Config{Timeout: 2 * time.Second, MaxAttempts: 1,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	return startEvents(t, handlerstest.Options{Configure: func(d *handlers.Deps) { d.Weather = svc }}), wx
}

// The card shows the forecast for its place and day once the forecast job
// has run; a change of place brings a new one; an unknown place or a dead
// service never blocks or breaks the card.
func TestCardForecast(t *testing.T) {
	h, wx := startEventsWithWeather(t)
	ctx := context.Background()
	run := func() string {
		t.Helper()
		msg, err := h.App.RefreshForecasts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h.WaitIdle()
		return msg
	}

	saturday := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	wx.SetForecast("Berlin", saturday, weathertest.Day{Code: 61, Min: 1.2, Max: 6.6, Precip: 80})
	wx.SetForecast("Madrid", saturday, weathertest.Day{Code: 0, Min: 8, Max: 17, NullPrecip: true})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe Central, Berlin | 12")
	card := h.card(party.ID)
	if strings.Contains(card.Text, "°C") {
		t.Fatalf("card posted with a forecast before any lookup: %q", card.Text)
	}
	if got := run(); !strings.Contains(got, "1 events checked, 1 cards updated") {
		t.Fatalf("job said %q", got)
	}
	// "Cafe Central, Berlin" is found by its town, which the line names,
	// with the attribution the data licence asks for.
	mustContain(t, "card forecast", h.cardText(party.ID, card.ID), "Rain, 1 to 7 °C, ☔ 80% · Berlin, Germany",
		"Weather data by Open-Meteo.com", "Going 0/12")

	// Nothing is due again until the refresh interval has passed, and an
	// unchanged forecast edits nothing.
	edits := len(h.Fake.CallsTo("editMessageText"))
	if got := run(); !strings.Contains(got, "0 events checked") {
		t.Fatalf("fresh forecast looked up again: %q", got)
	}
	h.setNow(evNow.Add(handlers.ForecastRefresh + time.Minute))
	if got := run(); !strings.Contains(got, "1 events checked, 0 cards updated") {
		t.Fatalf("refresh: %q", got)
	}
	if n := len(h.Fake.CallsTo("editMessageText")); n != edits {
		t.Fatalf("unchanged forecast edited the card (%d edits, want %d)", n, edits)
	}

	// A new place drops the old forecast at once and the next run fills
	// in the new one (no precipitation figure: the line leaves it out).
	id := strconv.FormatInt(h.lastEventID(), 10)
	h.Send(party, alice, "/editevent "+id+" place Madrid")
	if got := h.cardText(party.ID, card.ID); !strings.Contains(got, "Madrid") || strings.Contains(got, "°C") {
		t.Fatalf("edited card: %q", got)
	}
	run()
	got := h.cardText(party.ID, card.ID)
	mustContain(t, "new forecast", got, "Clear sky, 8 to 17 °C")
	if strings.Contains(got, "☔") {
		t.Fatalf("precipitation shown without a figure: %q", got)
	}

	// A place the service does not know: no line, no error, card intact.
	h.Send(party, alice, "/editevent "+id+" place Xyzzy Hall")
	run()
	if got := h.cardText(party.ID, card.ID); strings.Contains(got, "°C") || !strings.Contains(got, "Xyzzy Hall") {
		t.Fatalf("unknown place: %q", got)
	}

	// A new time drops the forecast too; the new day's comes on the next
	// run.
	h.Send(party, alice, "/editevent "+id+" place Berlin")
	run()
	h.Send(party, alice, "/editevent "+id+" when 2026-12-06 19:00")
	if got := h.cardText(party.ID, card.ID); strings.Contains(got, "°C") {
		t.Fatalf("forecast of the old day kept: %q", got)
	}
	run()
	mustContain(t, "new day", h.cardText(party.ID, card.ID), "Sun, 6 Dec", "· Berlin, Germany")

	// The service is down (London is not in its cache): the card stays as
	// it is, the event is tried again a little later, and after recovery
	// its forecast comes.
	h.Send(party, alice, "/editevent "+id+" place London")
	wx.SetDown(weathertest.Any, 500)
	if got := run(); !strings.Contains(got, "0 cards updated") {
		t.Fatalf("down: %q", got)
	}
	if got := h.cardText(party.ID, card.ID); strings.Contains(got, "°C") || !strings.Contains(got, "London") {
		t.Fatalf("card while the service is down: %q", got)
	}
	wx.SetDown(weathertest.Any, 0)
	if got := run(); !strings.Contains(got, "0 events checked") {
		t.Fatalf("failed event retried at once: %q", got)
	}
	h.setNow(h.App.Now().Add(16 * time.Minute))
	run()
	mustContain(t, "after recovery", h.cardText(party.ID, card.ID), "°C", "· London")
	ev, _, _ := store.GetEvent(ctx, h.DB.R, h.lastEventID())
	if ev.WeatherLine == "" {
		t.Fatal("no forecast stored after recovery")
	}
}

// A dead service ends the run after two failed lookups instead of waiting
// on every event in turn; those events are retried later, the others next.
func TestCardForecastStopsWhenServiceIsDown(t *testing.T) {
	h, wx := startEventsWithWeather(t)
	for _, place := range []string{"Berlin", "Madrid", "Paris", "Moscow"} {
		h.Send(party, alice, "/event Run | 2026-12-05 10:00 | "+place)
	}
	wx.SetDown(weathertest.Any, 500)
	got, err := h.App.RefreshForecasts(context.Background())
	if err != nil || !strings.Contains(got, "2 of 4 events checked") || !strings.Contains(got, "stopped after 2 failed lookups") {
		t.Fatalf("run while down: %q, %v", got, err)
	}
	wx.SetDown(weathertest.Any, 0)
	got, _ = h.App.RefreshForecasts(context.Background())
	if !strings.Contains(got, "2 events checked, 2 cards updated") {
		t.Fatalf("next run takes the events not yet tried: %q", got)
	}
}
