package weather

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Attribution must be shown next to Open-Meteo data: its licence (CC BY 4.0)
// requires credit.
const Attribution = "Weather data by Open-Meteo.com"

// The errors callers map to answers. Service returns nothing else (apart
// from a caller's own context error joined with ErrUnavailable), so a switch
// over errors.Is covers every case.
var (
	// ErrPlaceNotFound: geocoding found nothing for the query.
	ErrPlaceNotFound = errors.New("weather: place not found")
	// ErrOutOfRange: the service has no forecast for that day (beyond its
	// horizon, or further in the past than it keeps).
	ErrOutOfRange = errors.New("weather: date out of forecast range")
	// ErrUnavailable: the service is down, too slow, answered nonsense, or
	// the circuit breaker is open. Worth trying again in a few minutes.
	ErrUnavailable = errors.New("weather: service unavailable")
)

// Message IDs in locales/catalog/weather.<lang>.toml. Condition texts are
// Condition.MessageID.
const (
	MsgNotFound         = "weather_not_found"
	MsgOutOfRange       = "weather_out_of_range"
	MsgUnavailable      = "weather_unavailable"
	MsgUsage            = "weather_usage"
	MsgBadDate          = "weather_bad_date"
	MsgForecast         = "weather_forecast"
	MsgForecastNoPrecip = "weather_forecast_no_precip"
	MsgCardLine         = "weather_card_line"
	MsgCardLineNoPrecip = "weather_card_line_no_precip"
	MsgAttribution      = "weather_attribution"
)

// Provider is a weather service. Implementations must be safe for
// concurrent use. They return errors wrapping ErrPlaceNotFound or
// ErrOutOfRange for definitive answers and wrap transient failures with
// Retryable; Service adds timeouts, retries, caching and the breaker, so a
// Provider should do none of that itself.
type Provider interface {
	// Geocode resolves a free-text place name. lang is a BCP 47 tag (or its
	// base, "ru") for the language of the returned names.
	Geocode(ctx context.Context, name, lang string) (Place, error)
	// Daily returns the forecast for p on day, day being a calendar date
	// at p's location. The returned Forecast's Place is p.
	Daily(ctx context.Context, p Place, day Date) (Forecast, error)
}

// Place is a geocoded location.
type Place struct {
	Name        string // in the requested language where the service has it
	Admin1      string // state, region
	Country     string
	CountryCode string // ISO 3166-1 alpha-2
	Latitude    float64
	Longitude   float64
	Timezone    string // IANA name, may be empty
}

// DisplayName is the name to show a user: "Paris, Texas, United States",
// but "Berlin, Germany" rather than "Berlin, Land Berlin, Germany" — the
// region is only added when it says something the name does not.
func (p Place) DisplayName() string {
	parts := []string{p.Name}
	if p.Admin1 != "" && !strings.Contains(strings.ToLower(p.Admin1), strings.ToLower(p.Name)) {
		parts = append(parts, p.Admin1)
	}
	if p.Country != "" && p.Country != p.Name {
		parts = append(parts, p.Country)
	}
	return strings.Join(parts, ", ")
}

// Forecast is one day's forecast at one place.
type Forecast struct {
	Place Place
	Date  Date
	Code  int     // WMO weather interpretation code; see ConditionFor
	MinC  float64 // daily minimum temperature, °C
	MaxC  float64 // daily maximum temperature, °C
	// PrecipProbability is the day's maximum precipitation probability in
	// percent; meaningful only when HasPrecipProbability, since services
	// leave it out for some days and models.
	PrecipProbability    int
	HasPrecipProbability bool
}

// Condition is ConditionFor(f.Code).
func (f Forecast) Condition() Condition { return ConditionFor(f.Code) }

// Date is a calendar day with no time zone. Forecasts are per local day at
// the place, and a time.Time would invite off-by-one-day bugs whenever the
// bot's, the user's and the place's zones differ.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("weather: parse date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// String formats d as "YYYY-MM-DD", the form weather APIs take.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// In returns the start of d in loc: midnight, or, where a DST change skips
// midnight (America/Santiago, for one), the first instant of the day.
func (d Date) In(loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	if DateOf(t) == d {
		return t
	}
	// time.Date normalized the missing midnight into the previous day.
	// The day starts at the transition, somewhere before noon: find it.
	lo, hi := t.Unix(), time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, loc).Unix()
	if DateOf(time.Unix(hi, 0).In(loc)) != d {
		return t // the day does not exist in loc at all (Samoa, 2011-12-30)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if DateOf(time.Unix(mid, 0).In(loc)) == d {
			hi = mid
		} else {
			lo = mid
		}
	}
	return time.Unix(hi, 0).In(loc)
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real day (not February 30th) in years
// 1..9999.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(d.In(time.UTC)) == d
}

// Retryable marks err as a transient failure (connection error, 5xx, 429)
// that Service may retry. It returns nil for nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// StatusError is an HTTP answer a provider could not use. It is exported so
// logs and other providers share one shape; Service never returns it.
type StatusError struct {
	Op         string // "geocode" or "forecast"
	StatusCode int
	Reason     string // the service's own explanation, if any
}

func (e *StatusError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("weather: %s: HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("weather: %s: HTTP %d: %s", e.Op, e.StatusCode, e.Reason)
}

// Transient reports whether the status is worth retrying: server errors
// and rate limiting are, client errors are not.
func (e *StatusError) Transient() bool {
	return e.StatusCode >= 500 || e.StatusCode == 429
}
