package weather_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/weather"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

func TestNewOpenMeteoURLs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{
		{"", false},
		{"http://127.0.0.1:8080", false},
		{"http://127.0.0.1:8080/", false},
		{"https://example.invalid/custom/path", false},
		{"ftp://example.invalid", true},
		{"127.0.0.1:8080", true},
		{"http://", true},
		{"http://h/v1/search?x=1", true},
		{"http://[::1", true},
	} {
		_, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: tc.in, ForecastURL: tc.in})
		if (err != nil) != tc.wantErr {
			t.Errorf("NewOpenMeteo(%q) err = %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
}

func TestOpenMeteoBaseURLGetsStandardPath(t *testing.T) {
	srv := weathertest.NewServer()
	defer srv.Close()
	// Base URLs only: the provider adds /v1/search and /v1/forecast.
	p, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: srv.URL(), ForecastURL: srv.URL() + "/", UserAgent: "rsvpbot-test"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Geocode(context.Background(), "Berlin", "de-DE")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Daily(context.Background(), pl, weather.DateOf(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	if srv.Requests(weathertest.Geocoding) != 1 || srv.Requests(weathertest.Forecast) != 1 {
		t.Errorf("requests: %d, %d", srv.Requests(weathertest.Geocoding), srv.Requests(weathertest.Forecast))
	}
	if got := srv.LastQuery(weathertest.Geocoding).Get("language"); got != "de" {
		t.Errorf("language = %q, want de", got)
	}
}

func TestOpenMeteoLanguageParameter(t *testing.T) {
	srv := weathertest.NewServer()
	defer srv.Close()
	p, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: srv.GeocodingURL(), ForecastURL: srv.ForecastURL()})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"": "en", "ru": "ru", "pt_BR": "pt", "ES": "es", "x": "en", "r2-d2": "en", "&evil=1": "en"} {
		if _, err := p.Geocode(context.Background(), "Berlin", in); err != nil {
			t.Fatal(err)
		}
		if got := srv.LastQuery(weathertest.Geocoding).Get("language"); got != want {
			t.Errorf("language for %q = %q, want %q", in, got, want)
		}
	}
}

// stub answers every request with status and body.
func stub(t *testing.T, status int, body string) *weather.OpenMeteo {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	p, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: srv.URL, ForecastURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenMeteoErrorClassification(t *testing.T) {
	berlin := weather.Place{Name: "Berlin", Latitude: 52.5, Longitude: 13.4}
	d := weather.DateOf(time.Now().UTC())
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		target    error // nil: a plain failure
		retryable bool
	}{
		{"500", 500, `{"error":true,"reason":"oops"}`, nil, true},
		{"502 html", 502, `<html>Bad Gateway</html>`, nil, true},
		{"429", 429, `{"error":true,"reason":"Too many concurrent requests"}`, nil, true},
		{"400 range", 400, `{"error":true,"reason":"Parameter 'start_date' is out of allowed range from 2025-03-10 to 2025-06-25"}`, weather.ErrOutOfRange, false},
		{"400 other", 400, `{"error":true,"reason":"Latitude must be in range of -90 to 90°. Given: 91."}`, nil, false},
		{"bad json", 200, `{"daily":`, nil, false},
		{"no days", 200, `{"daily":{"time":[]}}`, weather.ErrOutOfRange, false},
		{"other day", 200, `{"daily":{"time":["1999-01-01"],"weather_code":[1],"temperature_2m_max":[1],"temperature_2m_min":[0]}}`, weather.ErrOutOfRange, false},
		{"short arrays", 200, `{"daily":{"time":["` + d.String() + `"],"weather_code":[1]}}`, weather.ErrOutOfRange, false},
		{"too large", 200, `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stub(t, tc.status, tc.body).Daily(context.Background(), berlin, d)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("err = %v, want %v", err, tc.target)
			}
			if tc.target == nil && (errors.Is(err, weather.ErrOutOfRange) || errors.Is(err, weather.ErrPlaceNotFound)) {
				t.Errorf("err = %v, want a plain failure", err)
			}
			if weather.IsRetryable(err) != tc.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, !tc.retryable, tc.retryable)
			}
			var se *weather.StatusError
			if tc.status != 200 && (!errors.As(err, &se) || se.StatusCode != tc.status) {
				t.Errorf("err = %v, want a StatusError with %d", err, tc.status)
			}
		})
	}
}

func TestOpenMeteoConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	p, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: "http://" + addr, ForecastURL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Geocode(context.Background(), "Berlin", "en")
	if err == nil || !weather.IsRetryable(err) {
		t.Errorf("err = %v, want a retryable error", err)
	}
}

func TestOpenMeteoRejectsBadInput(t *testing.T) {
	p := stub(t, 500, "must not be called")
	if _, err := p.Geocode(context.Background(), " , Texas", "en"); !errors.Is(err, weather.ErrPlaceNotFound) {
		t.Errorf("empty name: err = %v", err)
	}
	if _, err := p.Daily(context.Background(), weather.Place{Latitude: 91}, weather.DateOf(time.Now().UTC())); !errors.Is(err, weather.ErrPlaceNotFound) {
		t.Errorf("bad latitude: err = %v", err)
	}
	if _, err := p.Daily(context.Background(), weather.Place{}, weather.Date{Year: 2025, Month: 13, Day: 1}); !errors.Is(err, weather.ErrOutOfRange) {
		t.Errorf("bad date: err = %v", err)
	}
}
