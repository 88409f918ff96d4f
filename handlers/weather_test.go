package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/weather"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// startWithWeather runs the bot against a fake Open-Meteo.
func startWithWeather(t *testing.T, cfg weather.Config) (*handlerstest.Harness, *weathertest.Server) {
	t.Helper()
	wx := weathertest.NewServer()
	t.Cleanup(wx.Close)
	wx.SetToday(time.Now())
	om, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: wx.GeocodingURL(), ForecastURL: wx.ForecastURL()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	cfg.Sleep = func(context.Context, time.Duration) error { return nil }
	svc := weather.New(om, cfg)
	h := handlerstest.Start(t, handlerstest.Options{Configure: func(d *handlers.Deps) { d.Weather = svc }})
	return h, wx
}

func TestWeatherCommand(t *testing.T) {
	h, wx := startWithWeather(t, weather.Config{})
	chat := bottest.PrivateChat(ann)
	h.Send(chat, ann, "/weather Berlin tomorrow")
	got := h.LastText(ann.ID)
	if !strings.Contains(got, "Berlin") || !strings.Contains(got, "°C") || !strings.Contains(got, "Open-Meteo") {
		t.Fatalf("forecast: %q", got)
	}
	// Cached: asking again does not reach the service.
	before := wx.Requests(weathertest.Any)
	h.Send(chat, ann, "/weather Berlin tomorrow")
	if wx.Requests(weathertest.Any) != before {
		t.Fatal("second lookup was not served from the cache")
	}
	h.Send(chat, ann, "/weather Xyzzy")
	if got := h.LastText(ann.ID); !strings.Contains(got, "couldn't find 'Xyzzy'") {
		t.Fatalf("unknown place: %q", got)
	}
	h.Send(chat, ann, "/weather Berlin "+time.Now().AddDate(0, 0, 40).Format("2006-01-02"))
	if got := h.LastText(ann.ID); !strings.Contains(got, "isn't available yet") {
		t.Fatalf("out of range: %q", got)
	}
	h.Send(chat, ann, "/weather")
	if got := h.LastText(ann.ID); !strings.Contains(got, "/weather <place>") {
		t.Fatalf("usage without place or event: %q", got)
	}
	// Russian user, Russian answer.
	h.Send(bottest.PrivateChat(boris), boris, "/weather Moscow")
	if got := h.LastText(boris.ID); !strings.Contains(got, "°C") || !strings.ContainsAny(got, "абвгдеёжзийклмнопрстуфхцчшщыэюя") {
		t.Fatalf("russian forecast: %q", got)
	}
}

// /weather with no place answers for the chat's next event: its place
// (a "venue, town" is found by its town) and its day.
func TestWeatherForNextEvent(t *testing.T) {
	h, wx := startWithWeather(t, weather.Config{})
	group := bottest.Group(-5001, "Runners")
	day := time.Now().UTC().AddDate(0, 0, 2)
	wx.SetForecast("Madrid", day, weathertest.Day{Code: 95, Min: 11, Max: 19, Precip: 70})
	h.Send(group, ann, "/event Long run | "+day.Format("2006-01-02")+" 09:00 | Retiro park, Madrid")
	h.Send(group, ann, "/weather")
	got := h.Texts(group.ID)
	last := got[len(got)-1]
	for _, want := range []string{"Madrid", "11", "19", "70%", day.Format("2 Jan")} {
		if !strings.Contains(last, want) {
			t.Fatalf("forecast for the next event lacks %q: %q", want, last)
		}
	}
}

func TestWeatherServiceDown(t *testing.T) {
	h, wx := startWithWeather(t, weather.Config{MaxAttempts: 2})
	wx.SetDown(weathertest.Any, 500)
	h.Send(bottest.PrivateChat(ann), ann, "/weather Madrid")
	got := h.LastText(ann.ID)
	if !strings.Contains(got, "isn't answering") || strings.Contains(got, "500") {
		t.Fatalf("service down: %q", got)
	}
}

// A weather lookup that hangs delays only its own chat.
func TestWeatherLookupDoesNotDelayOtherChats(t *testing.T) {
	h, wx := startWithWeather(t, weather.Config{Timeout: 3 * time.Second, MaxAttempts: 1})
	wx.HangNext(weathertest.Any, 1)
	h.Fake.PushCommand(bottest.PrivateChat(ann), ann, "/weather London")
	time.Sleep(100 * time.Millisecond) // the lookup is hanging now
	start := time.Now()
	h.Fake.PushCommand(bottest.PrivateChat(boris), boris, "/help")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Fake.Wait(ctx, func() bool { return len(h.Fake.Messages(boris.ID)) >= 2 }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("another chat waited %s behind a hanging weather lookup", d)
	}
	var n int
	h.DB.R.QueryRow(`SELECT count(*) FROM inbox WHERE done_at IS NULL`).Scan(&n)
	if n != 1 {
		t.Fatalf("the hanging lookup's update should still be pending, %d are", n)
	}
	h.WaitIdle()
	if got := h.LastText(ann.ID); !strings.Contains(got, "isn't answering") {
		t.Fatalf("timed-out lookup answer: %q", got)
	}
}

func FuzzWeatherArgs(f *testing.F) {
	// The parser itself is fuzzed in package weather; this checks the
	// handler's use of it never panics on what users type.
	for _, s := range []string{"", "Berlin", "Paris, Texas tomorrow", "<b>x</b> 2026-13-45", "сегодня", "a b c d e fri"} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, s string) {
		place, day, _, err := weather.ParseArgs(s, time.Now(), loc)
		if err == nil && (len(place) > weather.MaxPlaceLen || day.IsZero()) {
			t.Fatalf("%q -> %q %v", s, place, day)
		}
	})
}
