// Package weather answers "what will the weather be at this place on this
// day?" for the /weather command and for event cards, and keeps answering
// sensibly when the weather service does not.
//
// # Shape
//
// A Provider does the two things every weather API needs: resolve a
// free-text place name to coordinates (Geocode) and return the daily
// forecast for coordinates and a calendar day (Daily). OpenMeteo is the
// default Provider (no API key, CC BY 4.0 data: show Attribution wherever a
// forecast is shown). Another service, say OpenWeatherMap, is added by
// writing another Provider; callers only ever see Service, which itself
// satisfies Provider, so code that needs a forecast can depend on the
// interface and be handed a Service in production and a stub in tests.
//
// Provider implementations report definitive answers by returning errors
// that wrap ErrPlaceNotFound or ErrOutOfRange, and mark failures that are
// worth another try (connection errors, 5xx, 429) with Retryable. Anything
// else is a failure that is not retried.
//
// # Why Service exists
//
// A chat bot must answer at once, and a dead or slow upstream must neither
// hang the handler nor be hammered by every user who retries. Service wraps
// a Provider with, from the outside in:
//
//   - a cache per (place, day) (default 30 min) and a longer-lived cache of
//     geocoding results (default 24 h, places do not move), both bounded
//     LRUs; "not found" answers are cached briefly too, because an event
//     whose location is "my flat" would otherwise geocode on every card;
//   - coalescing of identical concurrent lookups (singleflight), so a burst
//     of users asking about the same event makes one upstream call; the
//     shared call runs detached from any one caller's context, so one user
//     giving up does not fail the others, and its result still fills the
//     cache;
//   - bounded retries with exponential backoff and jitter for transient
//     failures, waiting through an injectable sleeper;
//   - a circuit breaker per upstream operation (sony/gobreaker): after
//     repeated failures it opens and calls fail at once with ErrUnavailable
//     instead of waiting for timeouts; after BreakerTimeout one probe is let
//     through (half-open) and a success closes it again. Every attempt is
//     one breaker request, so a retry loop stops as soon as the breaker
//     opens;
//   - a timeout per attempt (default 5 s).
//
// Callers get only the sentinel errors ErrPlaceNotFound, ErrOutOfRange and
// ErrUnavailable (and ErrBadDate, ErrPlaceTooLong from ParseArgs), which map
// to the weather_* messages in locales/catalog. Upstream details are logged
// with the injected slog.Logger and never returned, so they cannot leak into
// a chat.
//
// # Observability
//
// Service.State reports the breakers' state and Config.OnCall sees the
// outcome of every lookup (the Outcome* constants), so metrics can be
// attached from outside without this package importing a metrics library.
//
// # Messages
//
// The catalogs locales/catalog/weather.<lang>.toml hold the texts; the
// Msg* constants name them. weather_forecast and weather_card_line take
// Emoji, Condition (the localized weather_cond_<key> text), Place, Date (the
// caller formats both), Min and Max (rounded °C) and Precip (percent); the
// *_no_precip variants are for forecasts without a precipitation
// probability.
package weather
