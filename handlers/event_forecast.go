package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
)

// Card forecasts. The event card shows the forecast for its place and day
// once the day is within the forecast horizon. The forecast job, not the
// RSVP path, looks it up: a click never waits for the weather service, a
// dead service never blocks a card, and a busy card costs one lookup per
// refresh interval rather than one per click.
const (
	// ForecastHorizon is how far ahead Open-Meteo forecasts (16 days).
	ForecastHorizon = 16 * 24 * time.Hour
	// ForecastRefresh is how old a card's forecast may get before the job
	// looks it up again.
	ForecastRefresh = 3 * time.Hour
	// forecastBatch bounds the lookups of one run, so a run stays short
	// and the rest follow on the next tick.
	forecastBatch = 20
	// forecastTimeout bounds one event's lookup, retries included.
	forecastTimeout = 15 * time.Second
	// forecastRetry is how soon an event whose lookup failed is tried
	// again (it is marked as checked ForecastRefresh-forecastRetry ago).
	forecastRetry = 15 * time.Minute
	// forecastMaxFailures ends a run after this many failed lookups in a
	// row: the service is down, and the breaker will say so.
	forecastMaxFailures = 2
)

// cardForecast is what events.weather_line stores: the forecast's figures,
// not text, so that every copy of the card renders it in its own language.
type cardForecast struct {
	Code      int     `json:"code"`
	MinC      float64 `json:"min"`
	MaxC      float64 `json:"max"`
	Precip    int     `json:"precip"`
	HasPrecip bool    `json:"has_precip"`
	Place     string  `json:"place,omitempty"` // the geocoded town, shown so people see which forecast it is
}

// encodeCardForecast is the weather_line for f. Min and max are rounded
// as shown, so a forecast that moves by a tenth of a degree changes
// nothing and costs no card edit.
func encodeCardForecast(f weather.Forecast) string {
	raw, _ := json.Marshal(cardForecast{Code: f.Code, MinC: roundHalf(f.MinC), MaxC: roundHalf(f.MaxC),
		Precip: f.PrecipProbability, HasPrecip: f.HasPrecipProbability, Place: f.Place.DisplayName()})
	return string(raw)
}

func roundHalf(v float64) float64 {
	if v < 0 {
		return -float64(int(-v + 0.5))
	}
	return float64(int(v + 0.5))
}

// cardForecastLine renders a stored weather_line in lang; ok is false when
// there is nothing (or nothing readable) to show.
func (a *App) cardForecastLine(lang, stored string) (string, bool) {
	if stored == "" {
		return "", false
	}
	var cf cardForecast
	if err := json.Unmarshal([]byte(stored), &cf); err != nil {
		return "", false
	}
	fc := weather.Forecast{Code: cf.Code, MinC: cf.MinC, MaxC: cf.MaxC, Place: weather.Place{Name: cf.Place},
		PrecipProbability: cf.Precip, HasPrecipProbability: cf.HasPrecip}
	// The data licence asks for the attribution wherever a forecast shows.
	return a.forecastText(lang, fc, weather.MsgCardLine, weather.MsgCardLineNoPrecip) +
		"\n<i>" + a.tr(lang, weather.MsgAttribution) + "</i>", true
}

// RefreshForecasts is the forecast job: it looks up the forecast of the
// events within the horizon whose card forecast is missing or older than
// ForecastRefresh (an edit of place or time clears it, so the new one
// comes on the next run), and edits the cards whose forecast changed.
//
// Each lookup runs outside any transaction; each result is written in its
// own short one. A place the service cannot find, or a day it has no
// forecast for, hides the line until the next refresh. A failed lookup
// leaves that card as it is (an hour-old forecast beats none) and is tried
// again in forecastRetry; two failures in a row end the run, and the
// breaker keeps the next runs cheap while the service is down.
func (a *App) RefreshForecasts(ctx context.Context) (string, error) {
	if a.Weather == nil {
		return "weather disabled", nil
	}
	now := a.now(ctx)
	events, err := store.EventsNeedingForecast(ctx, a.DB.R, now, now.Add(ForecastHorizon), now.Add(-ForecastRefresh), forecastBatch)
	if err != nil {
		return "", err
	}
	changed, failures := 0, 0
	for i, ev := range events {
		line, err := a.lookupCardForecast(ctx, ev)
		if err != nil {
			// This event is tried again in forecastRetry, behind the
			// others, so one place the service chokes on cannot keep
			// every other card without a forecast.
			retryAt := a.now(ctx).Add(forecastRetry - ForecastRefresh)
			if err := a.DB.Tx(ctx, func(tx *sql.Tx) error {
				return store.MarkEventForecastChecked(ctx, tx, ev, retryAt)
			}); err != nil {
				return "", err
			}
			if failures++; failures >= forecastMaxFailures {
				return fmt.Sprintf("%d of %d events checked, %d cards updated; stopped after %d failed lookups: %v",
					i+1, len(events), changed, failures, err), nil
			}
			continue
		}
		failures = 0
		var edited bool
		err = a.DB.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if edited, err = store.SetEventWeatherLine(ctx, tx, ev, line, a.now(ctx)); err != nil || !edited {
				return err
			}
			return a.RefreshEventCards(ctx, tx, ev.ID)
		})
		if err != nil {
			return "", err
		}
		if edited {
			changed++
		}
	}
	return fmt.Sprintf("%d events checked, %d cards updated", len(events), changed), nil
}

// lookupCardForecast returns the weather_line for ev: "" when the service
// answers that there is none, an error when it cannot answer now.
func (a *App) lookupCardForecast(ctx context.Context, ev store.Event) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, forecastTimeout)
	defer cancel()
	fc, err := a.eventForecast(ctx, ev, weather.DateOf(ev.StartsAt.In(ev.Zone())), "en")
	switch {
	case err == nil:
		return encodeCardForecast(fc), nil
	case errors.Is(err, weather.ErrPlaceNotFound), errors.Is(err, weather.ErrOutOfRange):
		a.Logger.Debug("no forecast for event", "event_id", ev.ID, "err", err)
		return "", nil
	default:
		a.Logger.Warn("card forecast lookup failed", "event_id", ev.ID, "err", err)
		return "", err
	}
}
