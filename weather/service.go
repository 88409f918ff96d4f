package weather

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"
)

// Operations, as passed to Config.OnCall.
const (
	OpGeocode  = "geocode"
	OpForecast = "forecast"
)

// Outcomes, as passed to Config.OnCall: how one lookup was answered.
const (
	OutcomeOK          = "ok"           // the service answered
	OutcomeCacheHit    = "cache_hit"    // answered from cache (including a cached "not found")
	OutcomeNotFound    = "not_found"    // the service knows no such place
	OutcomeOutOfRange  = "out_of_range" // the service has no forecast for that day
	OutcomeError       = "error"        // failed after retries, or a failure not worth retrying
	OutcomeBreakerOpen = "breaker_open" // refused without calling the service
	OutcomeCanceled    = "canceled"     // the caller's context ended first
)

// Config tunes Service. Zero values mean the defaults; a negative TTL or
// CacheSize turns that cache off.
type Config struct {
	// Logger receives failure details. Default slog.Default().
	Logger *slog.Logger

	// Timeout bounds each attempt. Default 5 s. A lookup that keeps
	// timing out takes MaxAttempts × Timeout plus backoff (about 16 s with
	// the defaults), so interactive callers should also pass a context
	// with the deadline they can afford: they stop waiting then, and the
	// shared call still finishes and fills the cache.
	Timeout time.Duration
	// MaxAttempts is the number of tries for a transient failure, the
	// first included. Default 3.
	MaxAttempts int
	// BackoffBase is the wait before the second attempt; it doubles for
	// each further one up to BackoffMax, and each wait is jittered down to
	// half its length. Defaults 200 ms and 2 s.
	BackoffBase time.Duration
	BackoffMax  time.Duration

	// BreakerFailures is how many consecutive failed attempts open a
	// breaker. Default 5.
	BreakerFailures int
	// BreakerTimeout is how long an open breaker refuses calls before it
	// lets one probe through. Default 30 s. gobreaker measures it with the
	// wall clock, not with Now.
	BreakerTimeout time.Duration

	// ForecastTTL is how long a forecast is reused. Default 30 min.
	ForecastTTL time.Duration
	// PlaceTTL is how long a geocoding result is reused. Default 24 h.
	PlaceTTL time.Duration
	// NotFoundTTL is how long "no such place" is remembered. Default 10 min.
	NotFoundTTL time.Duration
	// CacheSize bounds the entries in each of the two caches. Default 1000.
	CacheSize int

	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts; it returns early with ctx's error.
	// Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	// OnCall, if set, is called once per Geocode or Daily lookup (Forecast
	// is one of each, or just the Geocode if that fails) with the operation
	// (OpGeocode, OpForecast) and how it was answered (Outcome*). Callers
	// that shared one coalesced call each report its outcome. It runs on
	// the caller's goroutine and must be quick.
	OnCall func(op, outcome string)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def(&c.Timeout, 5*time.Second)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	def(&c.BackoffBase, 200*time.Millisecond)
	def(&c.BackoffMax, 2*time.Second)
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = 5
	}
	def(&c.BreakerTimeout, 30*time.Second)
	def(&c.ForecastTTL, 30*time.Minute)
	def(&c.PlaceTTL, 24*time.Hour)
	def(&c.NotFoundTTL, 10*time.Minute)
	if c.CacheSize == 0 {
		c.CacheSize = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Service is the resilient front of a Provider; see the package doc. It is
// safe for concurrent use and itself implements Provider.
type Service struct {
	provider Provider
	cfg      Config
	log      *slog.Logger

	geoBreaker *gobreaker.CircuitBreaker[Place]
	dayBreaker *gobreaker.CircuitBreaker[Forecast]

	places  *ttlCache[Place]
	days    *ttlCache[Forecast]
	flights singleflight.Group
}

var _ Provider = (*Service)(nil)

// New wraps p.
func New(p Provider, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		provider: p,
		cfg:      cfg,
		log:      cfg.Logger,
		places:   newTTLCache[Place](cfg.CacheSize, cfg.Now),
		days:     newTTLCache[Forecast](cfg.CacheSize, cfg.Now),
	}
	s.geoBreaker = gobreaker.NewCircuitBreaker[Place](s.breakerSettings("weather-geocode"))
	s.dayBreaker = gobreaker.NewCircuitBreaker[Forecast](s.breakerSettings("weather-forecast"))
	return s
}

func (s *Service) breakerSettings(name string) gobreaker.Settings {
	failures := uint32(s.cfg.BreakerFailures)
	return gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe when half-open
		Timeout:     s.cfg.BreakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// "No such place" and "no forecast for that day" are the service
		// working; only failures to answer count against it.
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, ErrPlaceNotFound) || errors.Is(err, ErrOutOfRange)
		},
		// Runs under the breaker's lock: log only.
		OnStateChange: func(name string, from, to gobreaker.State) {
			level := slog.LevelInfo
			if to == gobreaker.StateOpen {
				level = slog.LevelWarn
			}
			s.log.Log(context.Background(), level, "weather: circuit breaker state changed",
				"breaker", name, "from", from.String(), "to", to.String())
		},
	}
}

// State is the state of the worse of the two breakers (geocoding and
// forecast): "closed", "half-open" or "open". Meant for metrics and health
// checks.
func (s *Service) State() string {
	g, d := s.geoBreaker.State(), s.dayBreaker.State()
	rank := func(st gobreaker.State) int {
		switch st {
		case gobreaker.StateOpen:
			return 2
		case gobreaker.StateHalfOpen:
			return 1
		default:
			return 0
		}
	}
	if rank(d) > rank(g) {
		return d.String()
	}
	return g.String()
}

// Forecast resolves query and returns its forecast for day (a date at the
// place). Errors are ErrPlaceNotFound, ErrOutOfRange or ErrUnavailable.
//
// Event places are often "venue, city" ("Cafe Central, Berlin"), which a
// geocoder does not know as a whole: if the whole text is not found, the
// parts after each comma are tried in turn ("Berlin"), so the forecast is
// the town's.
func (s *Service) Forecast(ctx context.Context, query string, day Date, lang string) (Forecast, error) {
	p, err := s.Geocode(ctx, query, lang)
	for rest := query; errors.Is(err, ErrPlaceNotFound); {
		var ok bool
		if _, rest, ok = strings.Cut(rest, ","); !ok || strings.TrimSpace(rest) == "" {
			break
		}
		p, err = s.Geocode(ctx, rest, lang)
	}
	if err != nil {
		return Forecast{}, err
	}
	return s.Daily(ctx, p, day)
}

// ForecastAt returns the forecast for day at a point on the map (a place
// picked in Telegram): no geocoding, the coordinates go straight to the
// forecast. name is what the forecast calls the place.
func (s *Service) ForecastAt(ctx context.Context, lat, lon float64, name string, day Date) (Forecast, error) {
	return s.Daily(ctx, Place{Name: name, Latitude: lat, Longitude: lon}, day)
}

// Geocode implements Provider with caching, coalescing, retries and the
// breaker. An empty query is ErrPlaceNotFound without asking the service.
func (s *Service) Geocode(ctx context.Context, name, lang string) (Place, error) {
	query := strings.Join(strings.Fields(name), " ")
	if query == "" || strings.Trim(query, ", ") == "" {
		s.observe(OpGeocode, OutcomeNotFound)
		return Place{}, ErrPlaceNotFound
	}
	lang = strings.ToLower(strings.TrimSpace(lang))
	key := lang + "|" + strings.ToLower(query)
	ttl := func(outcome string) time.Duration {
		switch outcome {
		case OutcomeOK:
			return s.cfg.PlaceTTL
		case OutcomeNotFound:
			return s.cfg.NotFoundTTL
		}
		return 0
	}
	return lookup(s, ctx, OpGeocode, key, s.places, s.geoBreaker, ttl,
		func(ctx context.Context) (Place, error) { return s.provider.Geocode(ctx, query, lang) })
}

// Daily implements Provider with caching, coalescing, retries and the
// breaker. Forecasts are cached by coordinates and day; the returned Place
// is always p, so a cached forecast carries the caller's place name.
func (s *Service) Daily(ctx context.Context, p Place, day Date) (Forecast, error) {
	if !validCoordinates(p.Latitude, p.Longitude) {
		s.observe(OpForecast, OutcomeNotFound)
		return Forecast{}, ErrPlaceNotFound
	}
	if !day.Valid() {
		s.observe(OpForecast, OutcomeOutOfRange)
		return Forecast{}, ErrOutOfRange
	}
	// Four decimals is ~11 m: the same place geocoded in another language
	// shares the entry, different places do not.
	key := fmt.Sprintf("%.4f,%.4f@%s", p.Latitude, p.Longitude, day)
	ttl := func(outcome string) time.Duration {
		if outcome == OutcomeOK {
			return s.cfg.ForecastTTL
		}
		return 0
	}
	f, err := lookup(s, ctx, OpForecast, key, s.days, s.dayBreaker, ttl,
		func(ctx context.Context) (Forecast, error) { return s.provider.Daily(ctx, p, day) })
	if err != nil {
		return Forecast{}, err
	}
	f.Place = p
	return f, nil
}

func (s *Service) observe(op, outcome string) {
	if s.cfg.OnCall != nil {
		s.cfg.OnCall(op, outcome)
	}
}

// flightResult is what one coalesced lookup hands to all its callers.
type flightResult[T any] struct {
	val     T
	outcome string
	err     error
}

// lookup answers from cache, or joins (or starts) the one in-flight call
// for key. The call runs on a context detached from ctx's cancellation:
// it is shared, so no single caller may cancel it, and it is bounded
// anyway by MaxAttempts × Timeout plus backoff. A caller whose ctx ends
// first stops waiting; the call still completes and fills the cache.
func lookup[T any](s *Service, ctx context.Context, op, key string, cache *ttlCache[T],
	br *gobreaker.CircuitBreaker[T], ttl func(outcome string) time.Duration,
	fetch func(context.Context) (T, error)) (T, error) {
	var zero T
	if e, ok := cache.get(key); ok {
		s.observe(op, OutcomeCacheHit)
		return e.val, e.err
	}
	if err := ctx.Err(); err != nil {
		s.observe(op, OutcomeCanceled)
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	detached := context.WithoutCancel(ctx)
	ch := s.flights.DoChan(op+"|"+key, func() (any, error) {
		// Another flight may have filled the cache between our miss and
		// this flight starting.
		if e, ok := cache.get(key); ok {
			return flightResult[T]{e.val, OutcomeCacheHit, e.err}, nil
		}
		v, outcome, err := call(s, detached, op, key, br, fetch)
		cache.put(key, v, err, ttl(outcome))
		return flightResult[T]{v, outcome, err}, nil
	})
	select {
	case r := <-ch:
		f := r.Val.(flightResult[T])
		s.observe(op, f.outcome)
		return f.val, f.err
	case <-ctx.Done():
		s.observe(op, OutcomeCanceled)
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// call runs fetch through the breaker with a per-attempt timeout, retrying
// transient failures. It returns a sentinel error (never the provider's)
// and the outcome; details go to the log.
func call[T any](s *Service, ctx context.Context, op, key string,
	br *gobreaker.CircuitBreaker[T], fetch func(context.Context) (T, error)) (T, string, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, err := br.Execute(func() (v T, err error) {
			actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
			defer cancel()
			defer func() {
				// A provider bug must not take the bot down: singleflight
				// would re-panic it on a goroutine nobody can recover.
				if r := recover(); r != nil {
					err = fmt.Errorf("provider panicked: %v", r)
				}
			}()
			v, err = fetch(actx)
			if err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				err = Retryable(fmt.Errorf("attempt timed out after %v: %w", s.cfg.Timeout, err))
			}
			return v, err
		})
		switch {
		case err == nil:
			return v, OutcomeOK, nil
		case errors.Is(err, ErrPlaceNotFound):
			s.log.Debug("weather: place not found", "op", op, "key", key, "err", err)
			return zero, OutcomeNotFound, ErrPlaceNotFound
		case errors.Is(err, ErrOutOfRange):
			s.log.Debug("weather: date out of range", "op", op, "key", key, "err", err)
			return zero, OutcomeOutOfRange, ErrOutOfRange
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			s.log.Debug("weather: circuit breaker refused call", "op", op, "key", key, "attempt", attempt)
			return zero, OutcomeBreakerOpen, ErrUnavailable
		}
		retry := IsRetryable(err) && attempt < s.cfg.MaxAttempts
		s.log.Warn("weather: call failed", "op", op, "key", key, "attempt", attempt, "retry", retry, "err", err)
		if !retry {
			return zero, OutcomeError, ErrUnavailable
		}
		if err := s.cfg.Sleep(ctx, s.backoff(attempt)); err != nil {
			return zero, OutcomeError, ErrUnavailable
		}
	}
}

// backoff is the wait after failed attempt n (1-based): BackoffBase·2^(n-1)
// capped at BackoffMax, then jittered into [d/2, d] so that callers which
// failed together do not retry together.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.BackoffBase
	for i := 1; i < n && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
