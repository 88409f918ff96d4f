package weather_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/clocktest"
	"github.com/rsvpbot/rsvpbot/internal/logtest"
	"github.com/rsvpbot/rsvpbot/weather"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// start is "now" for the fake clock and the fake server's "today".
var start = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

func day(offset int) weather.Date { return weather.DateOf(start).AddDays(offset) }

// env is a Service talking over real HTTP to a fake Open-Meteo, with a
// fake clock, a sleeper that records instead of sleeping, and recorders
// for outcomes and logs.
type env struct {
	srv   *weathertest.Server
	svc   *weather.Service
	clock *clocktest.Clock
	logs  *logtest.Buffer

	mu       sync.Mutex
	sleeps   []time.Duration
	outcomes []string
}

func newEnv(t *testing.T, configure func(*weather.Config)) *env {
	t.Helper()
	e := &env{srv: weathertest.NewServer(), clock: clocktest.New(start), logs: &logtest.Buffer{}}
	t.Cleanup(e.srv.Close)
	e.srv.SetToday(start)
	p, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{
		GeocodingURL: e.srv.GeocodingURL(),
		ForecastURL:  e.srv.ForecastURL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := weather.Config{
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Timeout: time.Second,
		Now:     e.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.sleeps = append(e.sleeps, d)
			return ctx.Err()
		},
		OnCall: func(op, outcome string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.outcomes = append(e.outcomes, op+":"+outcome)
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	e.svc = weather.New(p, cfg)
	return e
}

// takeOutcomes returns and clears the outcomes seen so far.
func (e *env) takeOutcomes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.outcomes
	e.outcomes = nil
	return o
}

func (e *env) sleepsSoFar() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

func (e *env) wantRequests(t *testing.T, geocoding, forecast int) {
	t.Helper()
	if g, f := e.srv.Requests(weathertest.Geocoding), e.srv.Requests(weathertest.Forecast); g != geocoding || f != forecast {
		t.Errorf("requests: geocoding %d, forecast %d; want %d, %d", g, f, geocoding, forecast)
	}
}

func wantOutcomes(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("outcomes = %v, want %v", got, want)
	}
}

func TestForecastSuccess(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetForecast("Berlin", day(1).In(time.UTC), weathertest.Day{Code: 81, Min: 4.2, Max: 9.6, Precip: 60})

	f, err := e.svc.Forecast(context.Background(), "berlin", day(1), "en")
	if err != nil {
		t.Fatal(err)
	}
	if f.Place.Name != "Berlin" || f.Place.Country != "Germany" || f.Place.CountryCode != "DE" ||
		f.Place.Timezone != "Europe/Berlin" || f.Place.DisplayName() != "Berlin, Germany" {
		t.Errorf("place = %+v", f.Place)
	}
	if f.Place.Latitude != 52.52437 || f.Place.Longitude != 13.41053 {
		t.Errorf("coordinates = %v,%v", f.Place.Latitude, f.Place.Longitude)
	}
	if f.Date != day(1) || f.Code != 81 || f.MinC != 4.2 || f.MaxC != 9.6 ||
		f.PrecipProbability != 60 || !f.HasPrecipProbability {
		t.Errorf("forecast = %+v", f)
	}
	if c := f.Condition(); c.Key != "rain_showers" {
		t.Errorf("condition = %+v", c)
	}
	wantOutcomes(t, e.takeOutcomes(), "geocode:ok", "forecast:ok")
	e.wantRequests(t, 1, 1)

	g := e.srv.LastQuery(weathertest.Geocoding)
	if g.Get("name") != "berlin" || g.Get("count") != "1" || g.Get("language") != "en" || g.Get("format") != "json" {
		t.Errorf("geocoding query = %v", g)
	}
	q := e.srv.LastQuery(weathertest.Forecast)
	if q.Get("latitude") != "52.52437" || q.Get("longitude") != "13.41053" || q.Get("timezone") != "auto" ||
		q.Get("start_date") != "2025-06-11" || q.Get("end_date") != "2025-06-11" ||
		q.Get("daily") != "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max" {
		t.Errorf("forecast query = %v", q)
	}
	if e.svc.State() != "closed" {
		t.Errorf("State = %q", e.svc.State())
	}
}

func TestForecastLocalizedAndQualified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	f, err := e.svc.Forecast(ctx, "Москва", day(0), "ru-RU")
	if err != nil {
		t.Fatal(err)
	}
	if f.Place.Name != "Москва" || e.srv.LastQuery(weathertest.Geocoding).Get("language") != "ru" {
		t.Errorf("place = %+v, query %v", f.Place, e.srv.LastQuery(weathertest.Geocoding))
	}

	p, err := e.svc.Geocode(ctx, "Paris, Texas", "en")
	if err != nil {
		t.Fatal(err)
	}
	if p.Admin1 != "Texas" || p.DisplayName() != "Paris, Texas, United States" {
		t.Errorf("Paris, Texas resolved to %+v", p)
	}
	if q := e.srv.LastQuery(weathertest.Geocoding); q.Get("name") != "Paris" || q.Get("count") != "10" {
		t.Errorf("qualified query = %v", q)
	}
	p, err = e.svc.Geocode(ctx, "Paris", "en")
	if err != nil || p.CountryCode != "FR" {
		t.Errorf("Paris resolved to %+v, %v", p, err)
	}
	// A qualifier that matches nothing is not found: another continent's
	// Paris would be a wrong answer, not a best guess.
	if p, err = e.svc.Geocode(ctx, "Paris, Narnia", "en"); !errors.Is(err, weather.ErrPlaceNotFound) {
		t.Errorf("Paris, Narnia resolved to %+v, %v", p, err)
	}
}

// An event's "venue, city" is found by its town when the whole text is
// not; an unknown town is still not found.
func TestForecastVenueThenTown(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	f, err := e.svc.Forecast(ctx, "Cafe Central, Herrengasse 14, Berlin", day(1), "en")
	if err != nil || f.Place.Name != "Berlin" {
		t.Fatalf("venue, street, town: %+v, %v", f.Place, err)
	}
	if q := e.srv.LastQuery(weathertest.Geocoding); q.Get("name") != "Berlin" {
		t.Errorf("last geocoding query %v", q)
	}
	f, err = e.svc.Forecast(ctx, "Stadium, Paris, Texas", day(1), "en")
	if err != nil || f.Place.Admin1 != "Texas" {
		t.Fatalf("venue, town, state: %+v, %v", f.Place, err)
	}
	if _, err := e.svc.Forecast(ctx, "Cafe Central, Atlantis", day(1), "en"); !errors.Is(err, weather.ErrPlaceNotFound) {
		t.Fatalf("unknown town: %v", err)
	}
	// A venue named like a place elsewhere ("Paris" in Texas) is not taken
	// for the town given after it.
	f, err = e.svc.Forecast(ctx, "Paris, Berlin", day(1), "en")
	if err != nil || f.Place.Name != "Berlin" {
		t.Fatalf("venue named like another place: %+v, %v", f.Place, err)
	}
}

func TestUnknownPlace(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.svc.Forecast(context.Background(), "Atlantis", day(0), "en")
	if err != weather.ErrPlaceNotFound {
		t.Fatalf("err = %v, want ErrPlaceNotFound itself", err)
	}
	wantOutcomes(t, e.takeOutcomes(), "geocode:not_found")
	e.wantRequests(t, 1, 0)

	// "Not found" is remembered for a while...
	_, err = e.svc.Forecast(context.Background(), "ATLANTIS ", day(0), "en")
	if err != weather.ErrPlaceNotFound {
		t.Fatalf("cached: err = %v", err)
	}
	wantOutcomes(t, e.takeOutcomes(), "geocode:cache_hit")
	e.wantRequests(t, 1, 0)

	// ...but not for long: the place may be added, the query fixed.
	e.clock.Advance(11 * time.Minute)
	if _, err := e.svc.Geocode(context.Background(), "Atlantis", "en"); err != weather.ErrPlaceNotFound {
		t.Fatalf("after expiry: err = %v", err)
	}
	e.wantRequests(t, 2, 0)

	// An empty query never reaches the service.
	for _, q := range []string{"", "   ", ",", " , "} {
		if _, err := e.svc.Geocode(context.Background(), q, "en"); err != weather.ErrPlaceNotFound {
			t.Errorf("Geocode(%q) err = %v", q, err)
		}
	}
	e.wantRequests(t, 2, 0)
}

func TestOutOfRange(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.Forecast(ctx, "Berlin", day(15), "en"); err != nil {
		t.Fatalf("last day of the horizon: %v", err)
	}
	for _, d := range []weather.Date{day(16), day(40), day(-93)} {
		if _, err := e.svc.Forecast(ctx, "Berlin", d, "en"); err != weather.ErrOutOfRange {
			t.Errorf("Forecast for %v: err = %v, want ErrOutOfRange", d, err)
		}
	}
	if _, err := e.svc.Forecast(ctx, "Berlin", day(-5), "en"); err != nil {
		t.Errorf("recent past day: %v", err)
	}
	// Invalid dates never reach the service.
	before := e.srv.Requests(weathertest.Forecast)
	if _, err := e.svc.Forecast(ctx, "Berlin", weather.Date{Year: 2025, Month: 2, Day: 30}, "en"); err != weather.ErrOutOfRange {
		t.Errorf("invalid date: err = %v", err)
	}
	if e.srv.Requests(weathertest.Forecast) != before {
		t.Error("invalid date reached the service")
	}
	// Many out-of-range answers are the service working, not failing.
	for i := range 10 {
		_, _ = e.svc.Forecast(ctx, "Berlin", day(20+i), "en")
	}
	if e.svc.State() != "closed" {
		t.Errorf("State = %q after out-of-range answers", e.svc.State())
	}
}

func TestNullValues(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetForecast("Madrid", day(2).In(time.UTC), weathertest.Day{Code: 0, Min: 18, Max: 31, NullPrecip: true})
	e.srv.SetForecast("Madrid", day(3).In(time.UTC), weathertest.Day{Null: true})
	f, err := e.svc.Forecast(context.Background(), "Madrid", day(2), "en")
	if err != nil {
		t.Fatal(err)
	}
	if f.HasPrecipProbability || f.MaxC != 31 {
		t.Errorf("forecast = %+v, want no precipitation probability", f)
	}
	if _, err := e.svc.Forecast(context.Background(), "Madrid", day(3), "en"); err != weather.ErrOutOfRange {
		t.Errorf("null day: err = %v, want ErrOutOfRange", err)
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	e := newEnv(t, func(c *weather.Config) {
		c.BackoffBase = 100 * time.Millisecond
		c.BackoffMax = time.Second
	})
	e.srv.FailNext(weathertest.Forecast, 2, 500)
	e.srv.FailNext(weathertest.Geocoding, 1, 429)

	if _, err := e.svc.Forecast(context.Background(), "London", day(0), "en"); err != nil {
		t.Fatal(err)
	}
	e.wantRequests(t, 2, 3)
	wantOutcomes(t, e.takeOutcomes(), "geocode:ok", "forecast:ok")
	sleeps := e.sleepsSoFar()
	if len(sleeps) != 3 {
		t.Fatalf("sleeps = %v, want 3", sleeps)
	}
	// geocode: one backoff; forecast: two, growing.
	for i, want := range []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		if sleeps[i] < want/2 || sleeps[i] > want {
			t.Errorf("sleep %d = %v, want in [%v, %v]", i, sleeps[i], want/2, want)
		}
	}
}

func TestPersistentFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetDown(weathertest.Any, 503)
	_, err := e.svc.Forecast(context.Background(), "Berlin", day(0), "en")
	if err != weather.ErrUnavailable {
		t.Fatalf("err = %v, want ErrUnavailable itself (no upstream details)", err)
	}
	e.wantRequests(t, 3, 0) // MaxAttempts defaults to 3
	wantOutcomes(t, e.takeOutcomes(), "geocode:error")
	if !strings.Contains(e.logs.String(), "HTTP 503") {
		t.Errorf("details not logged:\n%s", e.logs.String())
	}
	// Failures are not cached: once the service is back, so is the answer.
	e.srv.SetDown(weathertest.Any, 0)
	if _, err := e.svc.Forecast(context.Background(), "Berlin", day(0), "en"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestClientErrorNotRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetDown(weathertest.Geocoding, 404)
	if _, err := e.svc.Geocode(context.Background(), "Berlin", "en"); err != weather.ErrUnavailable {
		t.Fatalf("err = %v", err)
	}
	e.wantRequests(t, 1, 0)
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, func(c *weather.Config) { c.Timeout = 50 * time.Millisecond })
	e.srv.HangNext(weathertest.Geocoding, 100)
	begin := time.Now()
	_, err := e.svc.Geocode(context.Background(), "Berlin", "en")
	if err != weather.ErrUnavailable {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v; attempts were not bounded by the timeout", d)
	}
	e.wantRequests(t, 3, 0)
	if !strings.Contains(e.logs.String(), "timed out") {
		t.Errorf("timeout not logged:\n%s", e.logs.String())
	}

	// A slow answer is as bad as none; one hang followed by a good answer
	// is retried into success.
	e.srv.HangNext(weathertest.Geocoding, 0)
	e.srv.SetLatency(weathertest.Forecast, 300*time.Millisecond)
	if _, err := e.svc.Forecast(context.Background(), "Madrid", day(0), "en"); err != weather.ErrUnavailable {
		t.Errorf("slow forecast: err = %v", err)
	}
	e.srv.SetLatency(weathertest.Forecast, 0)
	e.srv.HangNext(weathertest.Forecast, 1)
	if _, err := e.svc.Forecast(context.Background(), "Madrid", day(0), "en"); err != nil {
		t.Errorf("hang then answer: %v", err)
	}
}

func TestBreakerOpensAndCloses(t *testing.T) {
	const breakerTimeout = 150 * time.Millisecond
	e := newEnv(t, func(c *weather.Config) {
		c.MaxAttempts = 1
		c.BreakerFailures = 3
		c.BreakerTimeout = breakerTimeout
	})
	ctx := context.Background()
	p, err := e.svc.Geocode(ctx, "Berlin", "en")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetDown(weathertest.Forecast, 500)
	for i := range 3 {
		if _, err := e.svc.Daily(ctx, p, day(0)); err != weather.ErrUnavailable {
			t.Fatalf("call %d: err = %v", i, err)
		}
	}
	if e.svc.State() != "open" {
		t.Fatalf("State = %q after 3 failures, want open", e.svc.State())
	}
	e.takeOutcomes()

	// Open: fails at once, without reaching the server.
	if _, err := e.svc.Daily(ctx, p, day(0)); err != weather.ErrUnavailable {
		t.Fatalf("open breaker: err = %v", err)
	}
	e.wantRequests(t, 1, 3)
	wantOutcomes(t, e.takeOutcomes(), "forecast:breaker_open")

	// The geocoding breaker is separate: places still resolve.
	if _, err := e.svc.Geocode(ctx, "Madrid", "en"); err != nil {
		t.Errorf("geocoding while the forecast breaker is open: %v", err)
	}

	// After the timeout one probe goes through; it fails, so it opens again.
	waitState(t, e.svc, "half-open", 10*breakerTimeout)
	if _, err := e.svc.Daily(ctx, p, day(0)); err != weather.ErrUnavailable {
		t.Fatalf("failed probe: err = %v", err)
	}
	e.wantRequests(t, 2, 4)
	if e.svc.State() != "open" {
		t.Fatalf("State = %q after a failed probe, want open", e.svc.State())
	}

	// The service recovers; the next probe succeeds and closes the breaker.
	e.srv.SetDown(weathertest.Forecast, 0)
	waitState(t, e.svc, "half-open", 10*breakerTimeout)
	if _, err := e.svc.Daily(ctx, p, day(0)); err != nil {
		t.Fatalf("successful probe: %v", err)
	}
	if e.svc.State() != "closed" {
		t.Fatalf("State = %q after a successful probe, want closed", e.svc.State())
	}
	e.wantRequests(t, 2, 5)
}

func waitState(t *testing.T, s *weather.Service, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("State = %q, want %q within %v", s.State(), want, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBreakerStopsRetries(t *testing.T) {
	e := newEnv(t, func(c *weather.Config) {
		c.MaxAttempts = 5
		c.BreakerFailures = 2
	})
	e.srv.SetDown(weathertest.Geocoding, 500)
	if _, err := e.svc.Geocode(context.Background(), "Berlin", "en"); err != weather.ErrUnavailable {
		t.Fatalf("err = %v", err)
	}
	// Two attempts open the breaker; the third is refused without a request.
	e.wantRequests(t, 2, 0)
	wantOutcomes(t, e.takeOutcomes(), "geocode:breaker_open")
	if e.svc.State() != "open" {
		t.Errorf("State = %q", e.svc.State())
	}
}

func TestCache(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := e.svc.Forecast(ctx, "Berlin", day(1), "en"); err != nil {
			t.Fatal(err)
		}
	}
	e.wantRequests(t, 1, 1)
	wantOutcomes(t, e.takeOutcomes(),
		"geocode:ok", "forecast:ok", "geocode:cache_hit", "forecast:cache_hit", "geocode:cache_hit", "forecast:cache_hit")

	// Another day is another forecast, but the same place.
	if _, err := e.svc.Forecast(ctx, "Berlin", day(2), "en"); err != nil {
		t.Fatal(err)
	}
	e.wantRequests(t, 1, 2)

	// Forecasts expire after 30 minutes; places live on.
	e.clock.Advance(31 * time.Minute)
	if _, err := e.svc.Forecast(ctx, "Berlin", day(1), "en"); err != nil {
		t.Fatal(err)
	}
	e.wantRequests(t, 1, 3)

	// After a day, places are looked up again too.
	e.clock.Advance(24 * time.Hour)
	if _, err := e.svc.Forecast(ctx, "Berlin", day(1), "en"); err != nil {
		t.Fatal(err)
	}
	e.wantRequests(t, 2, 4)
}

func TestCacheSharedAcrossLanguages(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.Forecast(ctx, "Moscow", day(1), "en"); err != nil {
		t.Fatal(err)
	}
	f, err := e.svc.Forecast(ctx, "Москва", day(1), "ru")
	if err != nil {
		t.Fatal(err)
	}
	// Two geocodings (names differ by language), one forecast (same
	// coordinates), and the cached forecast carries the Russian name.
	e.wantRequests(t, 2, 1)
	if f.Place.Name != "Москва" {
		t.Errorf("place = %q, want the caller's", f.Place.Name)
	}
}

func TestCacheBounded(t *testing.T) {
	e := newEnv(t, func(c *weather.Config) { c.CacheSize = 2 })
	ctx := context.Background()
	for _, q := range []string{"Berlin", "Madrid", "London", "Berlin"} {
		if _, err := e.svc.Geocode(ctx, q, "en"); err != nil {
			t.Fatal(err)
		}
	}
	e.wantRequests(t, 4, 0) // Berlin was evicted by London
}

func TestCacheDisabled(t *testing.T) {
	e := newEnv(t, func(c *weather.Config) { c.CacheSize = -1 })
	for range 2 {
		if _, err := e.svc.Forecast(context.Background(), "Berlin", day(0), "en"); err != nil {
			t.Fatal(err)
		}
	}
	e.wantRequests(t, 2, 2)
}

func TestCoalescing(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetLatency(weathertest.Any, 100*time.Millisecond)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			f, err := e.svc.Forecast(context.Background(), "Berlin", day(1), "en")
			if err == nil && f.Place.Name != "Berlin" {
				err = fmt.Errorf("place %q", f.Place.Name)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	e.wantRequests(t, 1, 1)
}

func TestCallerGivingUpDoesNotCancelOthers(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetLatency(weathertest.Geocoding, 200*time.Millisecond)

	impatient, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var patientErr error
	wg.Go(func() { _, patientErr = e.svc.Geocode(context.Background(), "Berlin", "en") })
	_, err := e.svc.Geocode(impatient, "Berlin", "en")
	if !errors.Is(err, weather.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller: err = %v", err)
	}
	wg.Wait()
	if patientErr != nil {
		t.Errorf("patient caller: %v", patientErr)
	}
	e.wantRequests(t, 1, 0)

	// The shared call filled the cache.
	if _, err := e.svc.Geocode(context.Background(), "Berlin", "en"); err != nil {
		t.Fatal(err)
	}
	e.wantRequests(t, 1, 0)

	// An already cancelled context does not start a call.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := e.svc.Geocode(done, "Madrid", "en"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v", err)
	}
	e.wantRequests(t, 1, 0)
}

// panicky is a broken Provider.
type panicky struct{}

func (panicky) Geocode(context.Context, string, string) (weather.Place, error) {
	panic("boom")
}

func (panicky) Daily(context.Context, weather.Place, weather.Date) (weather.Forecast, error) {
	panic("boom")
}

func TestProviderPanicIsContained(t *testing.T) {
	svc := weather.New(panicky{}, weather.Config{Logger: slog.New(slog.DiscardHandler)})
	if _, err := svc.Geocode(context.Background(), "Berlin", "en"); err != weather.ErrUnavailable {
		t.Errorf("Geocode err = %v", err)
	}
	if _, err := svc.Daily(context.Background(), weather.Place{Latitude: 1, Longitude: 2}, day(0)); err != weather.ErrUnavailable {
		t.Errorf("Daily err = %v", err)
	}
}

// A place picked on the map has coordinates: ForecastAt goes straight to
// the forecast with them, and never asks the geocoder (which is down
// here, so a stray lookup would also fail the forecast).
func TestForecastAtSkipsGeocoding(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetDown(weathertest.Geocoding, 500)
	e.srv.SetForecast("Berlin", day(2).In(time.UTC), weathertest.Day{Code: 3, Min: -1, Max: 4, Precip: 10})

	f, err := e.svc.ForecastAt(context.Background(), 52.5244, 13.4105, "Cafe Central", day(2))
	if err != nil {
		t.Fatal(err)
	}
	if f.Place.Name != "Cafe Central" || f.Code != 3 || f.MaxC != 4 {
		t.Errorf("forecast = %+v", f)
	}
	wantOutcomes(t, e.takeOutcomes(), "forecast:ok")
	e.wantRequests(t, 0, 1)
	if q := e.srv.LastQuery(weathertest.Forecast); q.Get("latitude") != "52.5244" || q.Get("longitude") != "13.4105" {
		t.Errorf("forecast query = %v", q)
	}
	if _, err := e.svc.ForecastAt(context.Background(), 91, 0, "Nowhere", day(2)); !errors.Is(err, weather.ErrPlaceNotFound) {
		t.Errorf("latitude 91: err = %v", err)
	}
	e.wantRequests(t, 0, 1)
}
