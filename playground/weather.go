package playground

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

// weatherProxy is the bot's Open-Meteo: it passes the bot's lookups on to
// the real service when it was reachable at start (and --offline was not
// given), else to the fake forecast of package weathertest; the "weather
// service down" switch makes it answer 503 instead.
type weatherProxy struct {
	geocoding, forecast string // upstream endpoints
	source              string
	fake                *weathertest.Server // nil when the real service is used
	client              *http.Client

	mu   sync.Mutex
	down bool
}

func newWeatherProxy(ctx context.Context, cfg Config) *weatherProxy {
	w := &weatherProxy{client: &http.Client{Timeout: 15 * time.Second}}
	if !cfg.Offline && reachable(ctx, cfg.OpenMeteoGeocodingURL+"?name=Berlin&count=1") {
		w.geocoding, w.forecast, w.source = cfg.OpenMeteoGeocodingURL, cfg.OpenMeteoForecastURL, "Open-Meteo (open-meteo.com)"
		return w
	}
	w.fake = weathertest.NewServer()
	w.geocoding, w.forecast = w.fake.GeocodingURL(), w.fake.ForecastURL()
	w.source = "built-in fake forecast (Open-Meteo unreachable)"
	if cfg.Offline {
		w.source = "built-in fake forecast (--offline)"
	}
	return w
}

// reachable reports whether a GET of url answers 200 within 3 s.
func reachable(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Source says which forecast the bot gets.
func (w *weatherProxy) Source() string { return w.source }

// Down reports the "weather service down" switch.
func (w *weatherProxy) Down() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

// SetDown flips the switch.
func (w *weatherProxy) SetDown(down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down = down
}

// Close stops the fake, if any.
func (w *weatherProxy) Close() {
	if w.fake != nil {
		w.fake.Close()
	}
}

// ServeHTTP answers /_weather/v1/search and /_weather/v1/forecast.
func (w *weatherProxy) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var upstream string
	switch strings.TrimPrefix(r.URL.Path, "/_weather") {
	case "/v1/search":
		upstream = w.geocoding
	case "/v1/forecast":
		upstream = w.forecast
	default:
		http.NotFound(rw, r)
		return
	}
	if w.Down() {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(rw, `{"error":true,"reason":"weather service down (playground switch)"}`)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream+"?"+r.URL.RawQuery, nil)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header.Set("User-Agent", r.Header.Get("User-Agent"))
	resp, err := w.client.Do(req)
	if err != nil {
		http.Error(rw, "weather service unreachable", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rw.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	rw.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(rw, io.LimitReader(resp.Body, 4<<20))
}
