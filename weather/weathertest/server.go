// Package weathertest is a fake Open-Meteo for tests anywhere in the
// project: a real HTTP server on 127.0.0.1 that answers the geocoding and
// forecast endpoints in the service's own response shapes, so the code
// under test exercises its real HTTP client, JSON decoding and error
// handling, and no test reaches the internet.
//
// Beyond answering, the fake can misbehave on demand — fail the next N
// requests, fail every request, add latency, or hang until the client
// gives up — and counts requests per endpoint, so tests can assert that a
// cache or a circuit breaker kept a call from reaching the service.
//
// Typical use:
//
//	srv := weathertest.NewServer()
//	defer srv.Close()
//	p, _ := weather.NewOpenMeteo(weather.OpenMeteoConfig{
//		GeocodingURL: srv.GeocodingURL(),
//		ForecastURL:  srv.ForecastURL(),
//	})
//
// The package deliberately does not import package weather, so weather's
// own internal tests can use it too.
package weathertest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint selects what a fault or counter applies to.
type Endpoint string

// Endpoints. Any means both: a fault set on Any applies to whichever
// request comes next, and Requests(Any) is the total.
const (
	Any       Endpoint = ""
	Geocoding Endpoint = "geocoding"
	Forecast  Endpoint = "forecast"
)

const (
	geocodingPath = "/v1/search"
	forecastPath  = "/v1/forecast"
	// DefaultHorizon is how many days, today included, the real service
	// forecasts.
	DefaultHorizon = 16
	// PastDays is how far back the fake, like the real service, serves
	// past days.
	PastDays = 92
)

// Place is a place the fake geocoder knows.
type Place struct {
	Name string
	// Names holds localized names by language ("ru": "Москва"): the answer
	// to a request in that language uses it, and queries match it.
	Names map[string]string
	// Aliases are further names a query may use.
	Aliases     []string
	Latitude    float64
	Longitude   float64
	Elevation   float64
	Country     string
	CountryCode string
	Admin1      string
	Timezone    string
	Population  int
}

// Day is one day's forecast as the fake serves it.
type Day struct {
	Code   int     // WMO weather code
	Min    float64 // °C
	Max    float64 // °C
	Precip int     // precipitation probability max, %
	// NullPrecip sends null for the precipitation probability, as the real
	// service does for some models and days.
	NullPrecip bool
	// Null sends null for every value: the day exists but has no data.
	Null bool
}

// DefaultPlaces are the places a new Server knows. Paris, France comes
// before Paris, Texas, as it would in the real service's ranking.
func DefaultPlaces() []Place {
	return []Place{
		{Name: "Berlin", Names: map[string]string{"ru": "Берлин", "es": "Berlín"},
			Latitude: 52.52437, Longitude: 13.41053, Elevation: 74, Country: "Germany", CountryCode: "DE",
			Admin1: "Land Berlin", Timezone: "Europe/Berlin", Population: 3426354},
		{Name: "Moscow", Names: map[string]string{"ru": "Москва", "de": "Moskau", "es": "Moscú"},
			Latitude: 55.75222, Longitude: 37.61556, Elevation: 144, Country: "Russia", CountryCode: "RU",
			Admin1: "Moscow", Timezone: "Europe/Moscow", Population: 10381222},
		{Name: "Madrid", Names: map[string]string{"ru": "Мадрид"},
			Latitude: 40.4165, Longitude: -3.70256, Elevation: 665, Country: "Spain", CountryCode: "ES",
			Admin1: "Madrid", Timezone: "Europe/Madrid", Population: 3255944},
		{Name: "London", Names: map[string]string{"ru": "Лондон", "es": "Londres"},
			Latitude: 51.50853, Longitude: -0.12574, Elevation: 25, Country: "United Kingdom", CountryCode: "GB",
			Admin1: "England", Timezone: "Europe/London", Population: 8961989},
		{Name: "Paris", Names: map[string]string{"ru": "Париж"},
			Latitude: 48.85341, Longitude: 2.3488, Elevation: 42, Country: "France", CountryCode: "FR",
			Admin1: "Île-de-France", Timezone: "Europe/Paris", Population: 2138551},
		{Name: "Paris", Latitude: 33.66094, Longitude: -95.55551, Elevation: 180, Country: "United States",
			CountryCode: "US", Admin1: "Texas", Timezone: "America/Chicago", Population: 24782},
		{Name: "New York", Aliases: []string{"NYC"}, Names: map[string]string{"ru": "Нью-Йорк"},
			Latitude: 40.71427, Longitude: -74.00597, Elevation: 10, Country: "United States", CountryCode: "US",
			Admin1: "New York", Timezone: "America/New_York", Population: 8804190},
	}
}

type faults struct {
	failNext   int
	failStatus int
	down       int // status for every request; 0 = up
	hangNext   int
	latency    time.Duration
}

type forecastKey struct {
	place string // lower-cased Place.Name
	lat   float64
	date  string
}

// Server is the fake. Its methods are safe for concurrent use, also while
// requests are in flight.
type Server struct {
	srv       *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	places    []Place
	forecasts map[forecastKey]Day
	today     time.Time // zero: the real current date (UTC)
	horizon   int
	faults    map[Endpoint]*faults
	counts    map[Endpoint]int
	last      map[Endpoint]url.Values
}

// NewServer starts a fake knowing DefaultPlaces, with today's real date
// and DefaultHorizon. Close it when done.
func NewServer() *Server {
	s := &Server{
		done:      make(chan struct{}),
		places:    DefaultPlaces(),
		forecasts: make(map[forecastKey]Day),
		horizon:   DefaultHorizon,
		faults:    map[Endpoint]*faults{Any: {}, Geocoding: {}, Forecast: {}},
		counts:    make(map[Endpoint]int),
		last:      make(map[Endpoint]url.Values),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// GeocodingURL is the geocoding endpoint.
func (s *Server) GeocodingURL() string { return s.srv.URL + geocodingPath }

// ForecastURL is the forecast endpoint.
func (s *Server) ForecastURL() string { return s.srv.URL + forecastPath }

// AddPlace makes p known, after those already known.
func (s *Server) AddPlace(p Place) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places = append(s.places, p)
}

// ClearPlaces forgets every place, DefaultPlaces included.
func (s *Server) ClearPlaces() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places = nil
}

// SetForecast fixes the forecast for the known place named place (its
// Name, any case; for two places with one name, the first) on date's
// calendar day. Other days get DefaultDay.
func (s *Server) SetForecast(place string, date time.Time, d Day) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.places {
		if strings.EqualFold(p.Name, place) {
			s.forecasts[forecastKey{strings.ToLower(p.Name), p.Latitude, date.Format(time.DateOnly)}] = d
			return
		}
	}
	panic(fmt.Sprintf("weathertest: SetForecast: unknown place %q", place))
}

// SetToday fixes the fake's idea of today (t's calendar day), which the
// horizon is measured from. By default it is the real current UTC date.
func (s *Server) SetToday(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.today = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// SetHorizon sets how many days, today included, have a forecast.
func (s *Server) SetHorizon(days int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.horizon = days
}

// FailNext answers the next n requests to ep with status (500 if 0) and
// an Open-Meteo style error body.
func (s *Server) FailNext(ep Endpoint, n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault(ep)
	f.failNext, f.failStatus = n, status
}

// SetDown answers every request to ep with status until called again
// with 0.
func (s *Server) SetDown(ep Endpoint, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault(ep).down = status
}

// HangNext makes the next n requests to ep hang until the client gives up
// (or the server closes): a service that accepts connections and never
// answers.
func (s *Server) HangNext(ep Endpoint, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault(ep).hangNext = n
}

// SetLatency delays every answer from ep by d (0 to stop). Latency on Any
// adds to the endpoint's own.
func (s *Server) SetLatency(ep Endpoint, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault(ep).latency = d
}

// Requests is how many requests reached ep (Any: both endpoints),
// including those answered with a fault.
func (s *Server) Requests(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ep == Any {
		return s.counts[Geocoding] + s.counts[Forecast]
	}
	return s.counts[ep]
}

// ResetCounters sets all request counters to zero.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

// LastQuery is the query of the last request to ep (nil if none).
func (s *Server) LastQuery(ep Endpoint) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[ep]
}

func (s *Server) fault(ep Endpoint) *faults {
	f, ok := s.faults[ep]
	if !ok {
		panic(fmt.Sprintf("weathertest: unknown endpoint %q", ep))
	}
	return f
}

// DefaultDay is the forecast for days nobody set: derived from a hash of
// the coordinates and the date, so it is stable across runs and differs
// between places and days.
func DefaultDay(lat, lon float64, date time.Time) Day {
	h := fnv.New64a()
	fmt.Fprintf(h, "%.4f,%.4f,%s", lat, lon, date.Format(time.DateOnly))
	v := h.Sum64()
	codes := []int{0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77, 80, 81, 82, 85, 86, 95, 96, 99}
	minC := float64(int(v>>8%350))/10 - 10 // -10.0 … 24.9
	return Day{
		Code:   codes[v%uint64(len(codes))],
		Min:    minC,
		Max:    minC + float64(int(v>>24%120))/10 + 1, // 1 … 13 °C warmer
		Precip: int(v>>40%21) * 5,                     // 0, 5, … 100
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var ep Endpoint
	switch r.URL.Path {
	case geocodingPath:
		ep = Geocoding
	case forecastPath:
		ep = Forecast
	default:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}

	s.mu.Lock()
	s.counts[ep]++
	s.last[ep] = r.URL.Query()
	hang := takeOne(&s.faults[Any].hangNext) || takeOne(&s.faults[ep].hangNext)
	latency := s.faults[Any].latency + s.faults[ep].latency
	fail := 0
	switch {
	case takeOne(&s.faults[Any].failNext):
		fail = s.faults[Any].failStatus
	case takeOne(&s.faults[ep].failNext):
		fail = s.faults[ep].failStatus
	case s.faults[ep].down != 0:
		fail = s.faults[ep].down
	case s.faults[Any].down != 0:
		fail = s.faults[Any].down
	}
	s.mu.Unlock()

	if hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	if fail != 0 {
		writeError(w, fail, http.StatusText(fail))
		return
	}
	if ep == Geocoding {
		s.geocode(w, r.URL.Query())
	} else {
		s.forecast(w, r.URL.Query())
	}
}

func takeOne(n *int) bool {
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers like Open-Meteo: {"error":true,"reason":"..."}.
func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]any{"error": true, "reason": reason})
}

type geocodingResult struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Latitude    float64 `json:"latitude"`
	Longitude   float64 `json:"longitude"`
	Elevation   float64 `json:"elevation"`
	FeatureCode string  `json:"feature_code"`
	CountryCode string  `json:"country_code"`
	Timezone    string  `json:"timezone,omitempty"`
	Population  int     `json:"population,omitempty"`
	Country     string  `json:"country,omitempty"`
	Admin1      string  `json:"admin1,omitempty"`
}

type geocodingResponse struct {
	Results          []geocodingResult `json:"results,omitempty"`
	GenerationTimeMS float64           `json:"generationtime_ms"`
}

func (s *Server) geocode(w http.ResponseWriter, q url.Values) {
	if !q.Has("name") {
		writeError(w, http.StatusBadRequest, "Parameter 'name' is missing")
		return
	}
	name := strings.TrimSpace(q.Get("name"))
	count := 10
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "Parameter 'count' must be between 1 and 100")
			return
		}
		count = n
	}
	lang := q.Get("language")
	if lang == "" {
		lang = "en"
	}

	resp := geocodingResponse{GenerationTimeMS: 0.5}
	// Like the real geocoder: fewer than two characters match nothing.
	if len([]rune(name)) >= 2 {
		s.mu.Lock()
		for i, p := range s.places {
			if len(resp.Results) == count || !p.matches(name) {
				continue
			}
			display := p.Name
			if n, ok := p.Names[lang]; ok {
				display = n
			}
			resp.Results = append(resp.Results, geocodingResult{
				ID: 1000 + i, Name: display, Latitude: p.Latitude, Longitude: p.Longitude,
				Elevation: p.Elevation, FeatureCode: "PPL", CountryCode: p.CountryCode,
				Timezone: p.Timezone, Population: p.Population, Country: p.Country, Admin1: p.Admin1,
			})
		}
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p Place) matches(q string) bool {
	if strings.EqualFold(p.Name, q) {
		return true
	}
	for _, a := range p.Aliases {
		if strings.EqualFold(a, q) {
			return true
		}
	}
	for _, n := range p.Names {
		if strings.EqualFold(n, q) {
			return true
		}
	}
	return false
}

// dailyUnit is the unit the real service reports for each daily variable
// the fake knows; ok is false for any other variable.
func dailyUnit(v string) (unit string, ok bool) {
	switch v {
	case "weather_code":
		return "wmo code", true
	case "temperature_2m_max", "temperature_2m_min":
		return "°C", true
	case "precipitation_probability_max":
		return "%", true
	}
	return "", false
}

func (s *Server) forecast(w http.ResponseWriter, q url.Values) {
	lat, err1 := strconv.ParseFloat(q.Get("latitude"), 64)
	lon, err2 := strconv.ParseFloat(q.Get("longitude"), 64)
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusBadRequest, "Parameter 'latitude' and 'longitude' must be numbers")
		return
	}
	if lat < -90 || lat > 90 || math.IsNaN(lat) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Latitude must be in range of -90 to 90°. Given: %v.", lat))
		return
	}
	if lon < -180 || lon > 180 || math.IsNaN(lon) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Longitude must be in range of -180 to 180°. Given: %v.", lon))
		return
	}
	var vars []string
	if d := q.Get("daily"); d != "" {
		vars = strings.Split(d, ",")
	}
	for _, v := range vars {
		if _, ok := dailyUnit(v); !ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(
				"Data corrupted at path ''. Cannot initialize ForecastVariableDaily from invalid String value %s.", v))
			return
		}
	}

	s.mu.Lock()
	today := s.today
	horizon := s.horizon
	var place *Place
	for _, p := range s.places {
		if math.Abs(p.Latitude-lat) < 0.01 && math.Abs(p.Longitude-lon) < 0.01 {
			place = &p
			break
		}
	}
	s.mu.Unlock()
	if today.IsZero() {
		now := time.Now().UTC()
		today = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	first := today.AddDate(0, 0, -PastDays)
	last := today.AddDate(0, 0, horizon-1)

	start, end := today, today.AddDate(0, 0, 6)
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"start_date", &start}, {"end_date", &end}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid date format for parameter '%s'. Use yyyy-mm-dd.", p.name))
			return
		}
		if t.Before(first) || t.After(last) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Parameter '%s' is out of allowed range from %s to %s",
				p.name, first.Format(time.DateOnly), last.Format(time.DateOnly)))
			return
		}
		*p.t = t
	}
	if end.Before(start) {
		writeError(w, http.StatusBadRequest, "End-date must be larger or equals than start-date")
		return
	}

	tz := q.Get("timezone")
	if tz == "" {
		tz = "GMT"
	}
	if tz == "auto" {
		tz = "GMT"
		if place != nil && place.Timezone != "" {
			tz = place.Timezone
		}
	}
	offset, abbr := 0, "GMT"
	if loc, err := time.LoadLocation(tz); err == nil {
		abbr, offset = time.Now().In(loc).Zone()
	}

	daily := map[string]any{}
	times := []string{}
	cols := map[string][]any{}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		times = append(times, date)
		day := DefaultDay(lat, lon, d)
		if place != nil {
			s.mu.Lock()
			if set, ok := s.forecasts[forecastKey{strings.ToLower(place.Name), place.Latitude, date}]; ok {
				day = set
			}
			s.mu.Unlock()
		}
		for _, v := range vars {
			var val any
			switch {
			case day.Null:
			case v == "weather_code":
				val = day.Code
			case v == "temperature_2m_max":
				val = day.Max
			case v == "temperature_2m_min":
				val = day.Min
			case v == "precipitation_probability_max" && !day.NullPrecip:
				val = day.Precip
			}
			cols[v] = append(cols[v], val)
		}
	}
	daily["time"] = times
	units := map[string]string{"time": "iso8601"}
	for _, v := range vars {
		daily[v] = cols[v]
		units[v], _ = dailyUnit(v)
	}
	elevation := 38.0
	if place != nil {
		elevation = place.Elevation
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"latitude":              math.Round(lat*100) / 100, // the service snaps to its grid
		"longitude":             math.Round(lon*100) / 100,
		"generationtime_ms":     0.05,
		"utc_offset_seconds":    offset,
		"timezone":              tz,
		"timezone_abbreviation": abbr,
		"elevation":             elevation,
		"daily_units":           units,
		"daily":                 daily,
	})
}
