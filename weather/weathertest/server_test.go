package weathertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

func get(t *testing.T, rawURL string, q url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(rawURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return resp.StatusCode, m
}

func TestGeocodingShape(t *testing.T) {
	srv := weathertest.NewServer()
	defer srv.Close()

	status, m := get(t, srv.GeocodingURL(), url.Values{"name": {"moscow"}, "count": {"1"}, "language": {"de"}, "format": {"json"}})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	results, ok := m["results"].([]any)
	if !ok || len(results) != 1 {
		t.Fatalf("results = %v", m["results"])
	}
	r := results[0].(map[string]any)
	for _, k := range []string{"id", "name", "latitude", "longitude", "elevation", "feature_code", "country_code", "timezone", "population", "country", "admin1"} {
		if _, ok := r[k]; !ok {
			t.Errorf("result lacks %q: %v", k, r)
		}
	}
	if r["name"] != "Moskau" || r["country_code"] != "RU" {
		t.Errorf("result = %v", r)
	}
	if _, ok := m["generationtime_ms"]; !ok {
		t.Error("no generationtime_ms")
	}

	// count is honoured; both Parises come back in ranking order.
	_, m = get(t, srv.GeocodingURL(), url.Values{"name": {"Paris"}, "count": {"10"}})
	if rs := m["results"].([]any); len(rs) != 2 || rs[0].(map[string]any)["country_code"] != "FR" {
		t.Errorf("Paris results = %v", rs)
	}

	// Unknown place, and a one-letter query: no "results" key at all.
	for _, name := range []string{"Atlantis", "B"} {
		status, m = get(t, srv.GeocodingURL(), url.Values{"name": {name}})
		if _, ok := m["results"]; status != 200 || ok {
			t.Errorf("%s: status %d, body %v; want 200 without results", name, status, m)
		}
	}

	srv.AddPlace(weathertest.Place{Name: "Atlantis", Aliases: []string{"Poseidonis"}, Latitude: 31, Longitude: -24, CountryCode: "XX"})
	_, m = get(t, srv.GeocodingURL(), url.Values{"name": {"poseidonis"}})
	if rs, _ := m["results"].([]any); len(rs) != 1 {
		t.Errorf("added place not found by alias: %v", m)
	}
	srv.ClearPlaces()
	_, m = get(t, srv.GeocodingURL(), url.Values{"name": {"Berlin"}})
	if _, ok := m["results"]; ok {
		t.Errorf("ClearPlaces left Berlin: %v", m)
	}
	if srv.Requests(weathertest.Geocoding) != 6 || srv.Requests(weathertest.Forecast) != 0 || srv.Requests(weathertest.Any) != 6 {
		t.Errorf("counters: %d %d %d", srv.Requests(weathertest.Geocoding), srv.Requests(weathertest.Forecast), srv.Requests(weathertest.Any))
	}
}

func TestForecastShapeAndHorizon(t *testing.T) {
	srv := weathertest.NewServer()
	defer srv.Close()
	today := time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)
	srv.SetToday(today)
	srv.SetForecast("berlin", today.AddDate(0, 0, 1), weathertest.Day{Code: 95, Min: 12.5, Max: 21, Precip: 80})

	q := url.Values{
		"latitude": {"52.52437"}, "longitude": {"13.41053"}, "timezone": {"auto"},
		"daily":      {"weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"},
		"start_date": {"2025-06-11"}, "end_date": {"2025-06-12"},
	}
	status, m := get(t, srv.ForecastURL(), q)
	if status != 200 {
		t.Fatalf("status %d: %v", status, m)
	}
	for _, k := range []string{"latitude", "longitude", "generationtime_ms", "utc_offset_seconds", "timezone", "timezone_abbreviation", "elevation", "daily_units", "daily"} {
		if _, ok := m[k]; !ok {
			t.Errorf("answer lacks %q", k)
		}
	}
	if m["timezone"] != "Europe/Berlin" {
		t.Errorf("timezone = %v", m["timezone"])
	}
	daily := m["daily"].(map[string]any)
	if got := daily["time"].([]any); len(got) != 2 || got[0] != "2025-06-11" {
		t.Errorf("time = %v", got)
	}
	if daily["weather_code"].([]any)[0] != 95.0 || daily["temperature_2m_min"].([]any)[0] != 12.5 ||
		daily["precipitation_probability_max"].([]any)[0] != 80.0 {
		t.Errorf("daily = %v", daily)
	}
	if units := m["daily_units"].(map[string]any); units["temperature_2m_max"] != "°C" || units["weather_code"] != "wmo code" {
		t.Errorf("units = %v", units)
	}
	// The unset day is the deterministic default.
	want := weathertest.DefaultDay(52.52437, 13.41053, today.AddDate(0, 0, 2))
	if daily["weather_code"].([]any)[1] != float64(want.Code) || daily["temperature_2m_max"].([]any)[1] != want.Max {
		t.Errorf("default day = %v, want %+v", daily, want)
	}

	// Today + 15 is the last day; today + 16 is out of range.
	q.Set("start_date", "2025-06-25")
	q.Set("end_date", "2025-06-25")
	if status, m = get(t, srv.ForecastURL(), q); status != 200 {
		t.Errorf("last day: %d %v", status, m)
	}
	q.Set("start_date", "2025-06-26")
	q.Set("end_date", "2025-06-26")
	status, m = get(t, srv.ForecastURL(), q)
	if status != 400 || m["error"] != true || !strings.HasPrefix(m["reason"].(string), "Parameter 'start_date' is out of allowed range from 2025-03-10 to 2025-06-25") {
		t.Errorf("beyond horizon: %d %v", status, m)
	}
	srv.SetHorizon(20)
	if status, _ = get(t, srv.ForecastURL(), q); status != 200 {
		t.Errorf("after SetHorizon(20): %d", status)
	}

	q.Set("daily", "weather_code,bogus")
	if status, m = get(t, srv.ForecastURL(), q); status != 400 || m["error"] != true {
		t.Errorf("unknown variable: %d %v", status, m)
	}
}

func TestFaults(t *testing.T) {
	srv := weathertest.NewServer()
	defer srv.Close()
	geo := url.Values{"name": {"Berlin"}}

	srv.FailNext(weathertest.Any, 2, 0)
	for i, want := range []int{500, 500, 200} {
		if status, _ := get(t, srv.GeocodingURL(), geo); status != want {
			t.Errorf("request %d: status %d, want %d", i, status, want)
		}
	}
	srv.FailNext(weathertest.Forecast, 1, 429)
	if status, _ := get(t, srv.GeocodingURL(), geo); status != 200 {
		t.Errorf("forecast fault hit geocoding: %d", status)
	}
	srv.SetDown(weathertest.Geocoding, 503)
	for range 3 {
		if status, m := get(t, srv.GeocodingURL(), geo); status != 503 || m["error"] != true {
			t.Errorf("down: %d %v", status, m)
		}
	}
	srv.SetDown(weathertest.Geocoding, 0)
	if status, _ := get(t, srv.GeocodingURL(), geo); status != 200 {
		t.Errorf("after SetDown(0): %d", status)
	}
	if got := srv.Requests(weathertest.Geocoding); got != 8 {
		t.Errorf("geocoding requests = %d, want 8 (faults count too)", got)
	}
	srv.ResetCounters()
	if srv.Requests(weathertest.Any) != 0 {
		t.Error("ResetCounters did not reset")
	}

	// Latency delays; a hang lasts until the client gives up.
	srv.SetLatency(weathertest.Geocoding, 50*time.Millisecond)
	begin := time.Now()
	get(t, srv.GeocodingURL(), geo)
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	srv.SetLatency(weathertest.Geocoding, 0)

	srv.HangNext(weathertest.Geocoding, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.GeocodingURL()+"?name=Berlin", nil)
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err = %v, want the client's timeout", err)
	}
	if status, _ := get(t, srv.GeocodingURL(), geo); status != 200 {
		t.Errorf("after the hang: %d", status)
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	srv := weathertest.NewServer()
	srv.HangNext(weathertest.Any, 1)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.GeocodingURL() + "?name=Berlin")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for srv.Requests(weathertest.Any) == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	<-done
	srv.Close() // idempotent
}
