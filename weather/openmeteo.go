package weather

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default Open-Meteo endpoints.
const (
	DefaultGeocodingURL = "https://geocoding-api.open-meteo.com/v1/search"
	DefaultForecastURL  = "https://api.open-meteo.com/v1/forecast"
)

const (
	geocodingPath = "/v1/search"
	forecastPath  = "/v1/forecast"
	// maxResponseBytes bounds what is read from the service: a forecast for
	// one day is well under 1 KiB, so anything near this is not an answer.
	maxResponseBytes = 1 << 20
	// qualifiedCount is how many candidates are asked for when the query
	// has a qualifier ("Paris, Texas"), to pick the one that matches it.
	qualifiedCount = 10
	dailyVariables = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"
)

// OpenMeteoConfig configures OpenMeteo. The zero value uses the public
// service.
type OpenMeteoConfig struct {
	// GeocodingURL and ForecastURL are the endpoints, or just base URLs
	// (scheme and host, e.g. a self-hosted instance or a test server), in
	// which case the standard paths /v1/search and /v1/forecast are added.
	// Empty means the public service.
	GeocodingURL string
	ForecastURL  string
	// HTTPClient defaults to a client with a 30 s timeout as a backstop;
	// Service's per-attempt timeout is the one meant to fire.
	HTTPClient *http.Client
	// UserAgent is sent with every request if set; Open-Meteo asks heavy
	// users to identify themselves.
	UserAgent string
}

// OpenMeteo is the Provider for https://open-meteo.com: free, no API key,
// data under CC BY 4.0 (show Attribution).
//
// Open-Meteo's geocoder matches the whole query against place names, so
// "Paris, Texas" finds nothing. OpenMeteo therefore searches for the part
// before the first comma and, when there is a qualifier after it, asks for
// several candidates and takes the first whose region, country or country
// code matches the qualifier (the first candidate if none does: the answer
// names the resolved place, so a wrong guess is visible).
type OpenMeteo struct {
	geocodingURL string
	forecastURL  string
	client       *http.Client
	userAgent    string
}

// NewOpenMeteo checks cfg's URLs and returns the provider.
func NewOpenMeteo(cfg OpenMeteoConfig) (*OpenMeteo, error) {
	g, err := endpointURL(cfg.GeocodingURL, DefaultGeocodingURL, geocodingPath)
	if err != nil {
		return nil, fmt.Errorf("weather: geocoding URL: %w", err)
	}
	f, err := endpointURL(cfg.ForecastURL, DefaultForecastURL, forecastPath)
	if err != nil {
		return nil, fmt.Errorf("weather: forecast URL: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &OpenMeteo{geocodingURL: g, forecastURL: f, client: client, userAgent: cfg.UserAgent}, nil
}

func endpointURL(raw, def, path string) (string, error) {
	if raw == "" {
		return def, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: query and fragment are not allowed", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	return u.String(), nil
}

// geocodingResponse is the geocoding API's answer; "results" is absent
// when nothing matches.
type geocodingResponse struct {
	Results []struct {
		Name        string  `json:"name"`
		Latitude    float64 `json:"latitude"`
		Longitude   float64 `json:"longitude"`
		CountryCode string  `json:"country_code"`
		Country     string  `json:"country"`
		Admin1      string  `json:"admin1"`
		Admin2      string  `json:"admin2"`
		Timezone    string  `json:"timezone"`
	} `json:"results"`
}

// Geocode implements Provider.
func (o *OpenMeteo) Geocode(ctx context.Context, name, lang string) (Place, error) {
	query, qualifier, _ := strings.Cut(name, ",")
	query = strings.TrimSpace(query)
	qualifier = strings.ToLower(strings.TrimSpace(qualifier))
	if query == "" {
		return Place{}, fmt.Errorf("geocode %q: empty name: %w", name, ErrPlaceNotFound)
	}
	count := 1
	if qualifier != "" {
		count = qualifiedCount
	}
	v := url.Values{}
	v.Set("name", query)
	v.Set("count", strconv.Itoa(count))
	v.Set("language", baseLanguage(lang))
	v.Set("format", "json")

	var resp geocodingResponse
	if err := o.get(ctx, "geocode", o.geocodingURL, v, &resp); err != nil {
		return Place{}, err
	}
	if len(resp.Results) == 0 {
		return Place{}, fmt.Errorf("geocode %q: no results: %w", name, ErrPlaceNotFound)
	}
	best := resp.Results[0]
	if qualifier != "" {
		found := false
		for _, r := range resp.Results {
			if matchesQualifier(qualifier, r.Admin1, r.Admin2, r.Country, r.CountryCode) {
				best, found = r, true
				break
			}
		}
		if !found {
			// "Central Park, Berlin": some Central Park exists, not in
			// Berlin. Not found, so that the caller can try "Berlin"
			// rather than show the weather of another continent.
			return Place{}, fmt.Errorf("geocode %q: no %q in %q: %w", name, query, qualifier, ErrPlaceNotFound)
		}
	}
	if !validCoordinates(best.Latitude, best.Longitude) {
		return Place{}, fmt.Errorf("geocode %q: invalid coordinates %v,%v", name, best.Latitude, best.Longitude)
	}
	return Place{
		Name:        best.Name,
		Admin1:      best.Admin1,
		Country:     best.Country,
		CountryCode: best.CountryCode,
		Latitude:    best.Latitude,
		Longitude:   best.Longitude,
		Timezone:    best.Timezone,
	}, nil
}

func matchesQualifier(q string, fields ...string) bool {
	for _, f := range fields {
		f = strings.ToLower(f)
		if f != "" && (f == q || strings.HasPrefix(f, q)) {
			return true
		}
	}
	return false
}

func validCoordinates(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// baseLanguage turns "pt-BR" into "pt": the geocoder takes ISO 639-1
// codes (and falls back to English for one it does not know). Anything that
// is not a language code becomes "en" rather than a junk parameter.
func baseLanguage(lang string) string {
	base, _, _ := strings.Cut(strings.ReplaceAll(lang, "_", "-"), "-")
	base = strings.ToLower(base)
	if len(base) < 2 || len(base) > 3 {
		return "en"
	}
	for _, r := range base {
		if r < 'a' || r > 'z' {
			return "en"
		}
	}
	return base
}

// forecastResponse is the forecast API's answer for the daily variables
// asked for. Values are pointers because the API sends null for days a
// model does not cover.
type forecastResponse struct {
	Daily struct {
		Time        []string   `json:"time"`
		WeatherCode []*float64 `json:"weather_code"`
		TempMax     []*float64 `json:"temperature_2m_max"`
		TempMin     []*float64 `json:"temperature_2m_min"`
		PrecipMax   []*float64 `json:"precipitation_probability_max"`
	} `json:"daily"`
}

// Daily implements Provider.
func (o *OpenMeteo) Daily(ctx context.Context, p Place, day Date) (Forecast, error) {
	if !validCoordinates(p.Latitude, p.Longitude) {
		return Forecast{}, fmt.Errorf("forecast: invalid coordinates %v,%v: %w", p.Latitude, p.Longitude, ErrPlaceNotFound)
	}
	if !day.Valid() {
		return Forecast{}, fmt.Errorf("forecast: invalid date %v: %w", day, ErrOutOfRange)
	}
	v := url.Values{}
	v.Set("latitude", strconv.FormatFloat(p.Latitude, 'f', -1, 64))
	v.Set("longitude", strconv.FormatFloat(p.Longitude, 'f', -1, 64))
	v.Set("daily", dailyVariables)
	v.Set("timezone", "auto") // the day is the place's local day
	v.Set("start_date", day.String())
	v.Set("end_date", day.String())

	var resp forecastResponse
	if err := o.get(ctx, "forecast", o.forecastURL, v, &resp); err != nil {
		return Forecast{}, err
	}
	d := resp.Daily
	i := -1
	for j, t := range d.Time {
		if t == day.String() {
			i = j
			break
		}
	}
	if i < 0 {
		return Forecast{}, fmt.Errorf("forecast %v: day missing from answer: %w", day, ErrOutOfRange)
	}
	code, ok1 := at(d.WeatherCode, i)
	maxC, ok2 := at(d.TempMax, i)
	minC, ok3 := at(d.TempMin, i)
	if !ok1 || !ok2 || !ok3 {
		// The service knows the day but has no model output for it: for
		// the user that is the same as "not available yet".
		return Forecast{}, fmt.Errorf("forecast %v: null values: %w", day, ErrOutOfRange)
	}
	f := Forecast{Place: p, Date: day, Code: int(code), MinC: minC, MaxC: maxC}
	if pp, ok := at(d.PrecipMax, i); ok {
		f.PrecipProbability = int(math.Round(math.Max(0, math.Min(100, pp))))
		f.HasPrecipProbability = true
	}
	return f, nil
}

func at(s []*float64, i int) (float64, bool) {
	if i >= len(s) || s[i] == nil || math.IsNaN(*s[i]) || math.IsInf(*s[i], 0) {
		return 0, false
	}
	return *s[i], true
}

// apiError is the body of Open-Meteo's 4xx/5xx answers.
type apiError struct {
	Error  bool   `json:"error"`
	Reason string `json:"reason"`
}

// get performs one request and decodes a 200 answer into out. It
// classifies failures: transport errors and 5xx/429 are Retryable, a 400
// about the date range is ErrOutOfRange, anything else is a plain error.
func (o *OpenMeteo) get(ctx context.Context, op, endpoint string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if o.userAgent != "" {
		req.Header.Set("User-Agent", o.userAgent)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, err) // the caller gave up; Service decides
		}
		return Retryable(fmt.Errorf("%s: %w", op, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: read body: %w", op, err)
		}
		return Retryable(fmt.Errorf("%s: read body: %w", op, err))
	}
	if len(body) > maxResponseBytes {
		return fmt.Errorf("%s: answer larger than %d bytes", op, maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		_ = json.Unmarshal(body, &ae) // the reason is a nicety; 5xx from a proxy may be HTML
		se := &StatusError{Op: op, StatusCode: resp.StatusCode, Reason: ae.Reason}
		switch {
		case se.Transient():
			return Retryable(se)
		case resp.StatusCode == http.StatusBadRequest && strings.Contains(ae.Reason, "out of allowed range"):
			return fmt.Errorf("%w: %w", ErrOutOfRange, se)
		default:
			return se
		}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return nil
}

var _ Provider = (*OpenMeteo)(nil)
