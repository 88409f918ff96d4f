package handlers

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
)

// Weather is what the handlers need of a weather service (weather.Service
// implements it); nil disables /weather and card forecasts.
type Weather interface {
	Forecast(ctx context.Context, query string, day weather.Date, lang string) (weather.Forecast, error)
	// ForecastAt is the forecast at a point on the map, without geocoding.
	ForecastAt(ctx context.Context, lat, lon float64, name string, day weather.Date) (weather.Forecast, error)
}

func (a *App) registerWeather() {
	if a.Weather != nil {
		a.router.Command("weather", a.weather)
	}
}

// weather answers /weather <place> [date]. Without a place it uses the
// chat's next event (its place and day). The lookup happens before the
// transaction (it may take seconds, and it must never hold the writer);
// failures become friendly answers, details go to the log.
func (a *App) weather(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	loc := a.chatTZ(ctx, a.DB.R, u.ChatID)
	now := a.now(ctx)
	place, day, hasDate, err := weather.ParseArgs(u.Args, now, loc)
	if err != nil {
		id := weather.MsgBadDate
		if errors.Is(err, weather.ErrPlaceTooLong) {
			id = weather.MsgUsage
		}
		return a.answerText(ctx, u, lang, id)
	}
	var event *store.Event // the chat's next event, when no place was given
	if place == "" {
		ev, ok, err := a.nextEventWithPlace(ctx, u.ChatID, now)
		if err != nil {
			return err
		}
		if !ok {
			return a.answerText(ctx, u, lang, weather.MsgUsage)
		}
		place, event = ev.Place, &ev
		if !hasDate {
			day = ev.StartsAt.In(ev.Zone()) // the day where the event is
		}
	}
	var fc weather.Forecast
	if event != nil {
		fc, err = a.eventForecast(ctx, *event, weather.DateOf(day), lang)
	} else {
		fc, err = a.Weather.Forecast(ctx, place, weather.DateOf(day), lang)
	}
	var text string
	switch {
	case err == nil:
		text = a.forecastText(lang, fc, weather.MsgForecast, weather.MsgForecastNoPrecip) + "\n\n<i>" + a.tr(lang, weather.MsgAttribution) + "</i>"
	case errors.Is(err, weather.ErrPlaceNotFound):
		text = a.tr(lang, weather.MsgNotFound, locales.Args{"Place": tgtext.Echo(place)})
	case errors.Is(err, weather.ErrOutOfRange):
		text = a.tr(lang, weather.MsgOutOfRange)
	default:
		a.Logger.Warn("weather lookup failed", "update_id", u.ID, "err", err)
		text = a.tr(lang, weather.MsgUnavailable)
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error { return a.reply(ctx, tx, u, text, nil) })
}

// forecastText renders a forecast with the catalog message id (or its
// variant for days without a precipitation figure), HTML-escaped.
func (a *App) forecastText(lang string, fc weather.Forecast, id, idNoPrecip string) string {
	cond := fc.Condition()
	args := locales.Args{
		"Emoji":     cond.Emoji,
		"Condition": a.Catalog.T(lang, cond.MessageID()),
		"Place":     fc.Place.DisplayName(),
		"Date":      a.Catalog.FormatDate(lang, fc.Date.In(time.UTC)),
		"Min":       strconv.Itoa(int(math.Round(fc.MinC))),
		"Max":       strconv.Itoa(int(math.Round(fc.MaxC))),
		"Precip":    strconv.Itoa(fc.PrecipProbability),
	}
	if !fc.HasPrecipProbability {
		id = idNoPrecip
	}
	return a.tr(lang, id, args)
}

// nextEventWithPlace is the chat's next event (among the upcoming ones
// /events lists) that has a place.
func (a *App) nextEventWithPlace(ctx context.Context, chatID int64, now time.Time) (store.Event, bool, error) {
	evs, err := store.UpcomingChatEvents(ctx, a.DB.R, chatID, now, listLimit)
	if err != nil {
		return store.Event{}, false, err
	}
	for _, ev := range evs {
		if ev.Place != "" {
			return ev, true, nil
		}
	}
	return store.Event{}, false, nil
}
