package handlers

// Recurring events. "/event Weekly run | every monday 19:00 | Park" (or a
// cron expression: "0 19 * * 1") creates a series: when.go recognises the
// <when> as a schedule (errRecurring) and event.go hands the line to
// createSeries. The schedule is read in the chat's time zone; the first
// occurrence is created and its card posted at once, and the scheduler
// creates each next one when the previous one ends (scheduler/series.go).
//
//	/series                     the chat's series, each with Skip and Stop buttons
//	/series skip <series>       skip the next occurrence
//	/series stop <series>       no more occurrences (the posted one stays)
//	/series lead <series> 3d    post each next occurrence 3 days before it
//	                            starts (never before the previous one ends);
//	                            "off" (the default): when the previous one ends
//
// Callback data: "ser:<series>:skip", "ser:<series>:stop". Only the
// organizer, the chat's Telegram admins and bot admins may skip or stop.
// Skipping an occurrence that is already posted cancels it (its card shows
// it, and people who answered are told, as with /cancelevent) and posts
// the next one; skipping before it is posted marks its date skipped.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/recurrence"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// PostOccurrence implements scheduler.OccurrencePoster: a new occurrence's
// card goes to the series' chat, in the language the series was made in.
func (a *App) PostOccurrence(ctx context.Context, tx *sql.Tx, s store.Series, eventID int64) error {
	ctx = a.atInstant(ctx) // one instant for the transaction
	lang := s.Lang
	if lang == "" {
		lang = locales.DefaultLanguage
	}
	return a.postCard(ctx, tx, eventID, s.ChatID, a.Catalog.Resolve(lang))
}

// scheduleError explains a refused schedule.
func (a *App) scheduleError(lang string, err error, text string, loc *time.Location) string {
	switch {
	case errors.Is(err, recurrence.ErrScheduleNoTime):
		return a.tr(lang, "series_err_no_time")
	case errors.Is(err, recurrence.ErrScheduleNoDays):
		return a.tr(lang, "series_err_no_days")
	case errors.Is(err, recurrence.ErrScheduleBadTime):
		return a.tr(lang, "series_err_bad_time")
	case errors.Is(err, recurrence.ErrScheduleTimeZone):
		return a.tr(lang, "series_err_timezone", locales.Args{"Zone": loc.String()})
	case errors.Is(err, recurrence.ErrScheduleTooOften):
		return a.tr(lang, "series_err_too_often", locales.Args{"Hours": int(recurrence.MinSeriesInterval / time.Hour)})
	case errors.Is(err, recurrence.ErrScheduleNever):
		return a.tr(lang, "series_err_never")
	case errors.Is(err, recurrence.ErrScheduleMonthly):
		return a.tr(lang, "series_err_monthly")
	case errors.Is(err, recurrence.ErrScheduleCron):
		return a.tr(lang, "series_err_cron")
	}
	return a.tr(lang, "series_err_unknown", locales.Args{"Text": tgtext.Echo(text)})
}

// describeSchedule is a schedule in words: "every Monday at 19:00".
func (a *App) describeSchedule(lang string, rec recurrence.Recurrence) string {
	clock := fmt.Sprintf("%02d:%02d", rec.Hour, rec.Minute)
	switch {
	case rec.Cron:
		return a.Catalog.T(lang, "series_every_cron", locales.Args{"Spec": rec.Spec})
	case rec.EveryDay():
		return a.Catalog.T(lang, "series_every_day", locales.Args{"Time": clock})
	case rec.Weekdays():
		return a.Catalog.T(lang, "series_every_weekday", locales.Args{"Time": clock})
	case rec.Weekends():
		return a.Catalog.T(lang, "series_every_weekend", locales.Args{"Time": clock})
	}
	names := make([]string, len(rec.Days))
	for i, d := range rec.Days {
		// 4 January 2026 is a Sunday.
		names[i] = a.Catalog.FormatWeekday(lang, time.Date(2026, 1, 4+int(d), 12, 0, 0, 0, time.UTC))
	}
	return a.Catalog.T(lang, "series_every_days", locales.Args{"Days": strings.Join(names, ", "), "Time": clock})
}

// createSeries is /event with a schedule as its <when>: it creates the
// series and its first occurrence (with its card) and explains what
// happens next. lang is the user's language, loc the chat's zone.
func (e *events) createSeries(ctx context.Context, u *bot.Update, line eventLine, lang string, loc *time.Location) error {
	if e.Series == nil {
		return errors.New("no series runner (handlers.Deps.Series)")
	}
	rec, err := recurrence.ParseRecurrence(line.When)
	if err != nil {
		msg := e.scheduleError(lang, err, line.When, loc)
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, msg, nil) })
	}
	cardLang := e.chatLang(ctx, u)
	now := e.now(ctx)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		id, err := store.CreateSeries(ctx, tx, store.Series{ChatID: u.ChatID, CreatorID: u.UserID, Schedule: rec.Spec,
			ScheduleText: line.When, Timezone: loc.String(), Title: line.Title, Place: line.Place, Capacity: line.Capacity,
			Lang: cardLang, NextAt: now}, now)
		if err != nil {
			return err
		}
		if _, err := e.Series.Advance(ctx, tx, id, now); err != nil {
			return err
		}
		x, _, err := store.GetSeries(ctx, tx, id)
		if err != nil {
			return err
		}
		first, ok, err := store.GetEvent(ctx, tx, x.CurrentEventID)
		if err != nil {
			return err
		}
		text := e.tr(lang, "series_nothing_ahead")
		if ok {
			text = e.tr(lang, "series_created", locales.Args{"Schedule": e.describeSchedule(lang, rec), "Zone": loc.String(),
				"When": e.formatWhen(lang, first)}) + "\n" + e.tr(lang, "series_manage_hint")
		}
		return e.reply(ctx, tx, u, text, e.seriesKeyboard(ctx, tx, lang, x, rec))
	})
}

// seriesKeyboard is the Skip / Stop row of a series (nil once stopped).
func (a *App) seriesKeyboard(ctx context.Context, q store.Querier, lang string, x store.Series, rec recurrence.Recurrence) *models.InlineKeyboardMarkup {
	if !x.Active() {
		return nil
	}
	id := strconv.FormatInt(x.ID, 10)
	row := []models.InlineKeyboardButton{}
	if next := a.nextOccurrence(ctx, q, x, rec); !next.IsZero() {
		date := a.Catalog.FormatDate(lang, next.In(x.Zone()))
		row = append(row, models.InlineKeyboardButton{Text: a.Catalog.T(lang, "series_btn_skip", locales.Args{"Date": date}),
			CallbackData: "ser:" + id + ":skip"})
	}
	row = append(row, models.InlineKeyboardButton{Text: a.Catalog.T(lang, "series_btn_stop"), CallbackData: "ser:" + id + ":stop"})
	return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{row}}
}

// nextOccurrence is the start of the occurrence "skip" would skip: the
// posted one if it has not begun, else the next slot of the schedule.
func (a *App) nextOccurrence(ctx context.Context, q store.Querier, x store.Series, rec recurrence.Recurrence) time.Time {
	if cur, ok, err := store.GetEvent(ctx, q, x.CurrentEventID); err == nil && ok && !cur.Cancelled() && a.now(ctx).Before(cur.StartsAt) {
		return cur.StartsAt
	}
	return scheduler.UpcomingSlot(x, rec, a.now(ctx))
}

// seriesCommands is /series and the series buttons: skip the next
// occurrence, stop, post ahead. series is the runner that creates
// occurrences on their behalf.
type seriesCommands struct {
	*App
	series *scheduler.Series
}

// seriesCommand is /series [skip|stop <series>].
func (s *seriesCommands) seriesCommand(ctx context.Context, u *bot.Update) error {
	lang := s.userLang(ctx, u)
	args := strings.Fields(u.Args)
	if len(args) == 0 {
		return s.seriesList(ctx, u, lang)
	}
	reply := func(text string) error {
		return s.commit(ctx, u, func(tx *sql.Tx) error { return s.reply(ctx, tx, u, text, nil) })
	}
	action := strings.ToLower(args[0])
	want := 2
	if action == "lead" {
		want = 3
	}
	if len(args) != want {
		return reply(s.tr(lang, "series_usage"))
	}
	id, err := parseEventID(args[1])
	if err != nil || (action != "skip" && action != "stop" && action != "lead") {
		return reply(s.tr(lang, "series_usage"))
	}
	if action == "lead" {
		return s.seriesLead(ctx, u, lang, id, args[2])
	}
	return s.seriesAction(ctx, u, lang, id, action)
}

// seriesLead is /series lead <series> <3d|12h|off>: how long before its
// start each next occurrence is posted (never before the previous one
// ends); off posts it when the previous one ends.
func (s *seriesCommands) seriesLead(ctx context.Context, u *bot.Update, lang string, id int64, value string) error {
	reply := func(text string) error {
		return s.commit(ctx, u, func(tx *sql.Tx) error { return s.reply(ctx, tx, u, text, nil) })
	}
	offs, err := scheduler.ParseOffsets(value)
	if err != nil || len(offs) > 1 {
		return reply(s.tr(lang, "series_err_lead", locales.Args{"Text": tgtext.Echo(value)}))
	}
	var lead time.Duration
	if len(offs) == 1 {
		lead = offs[0]
	}
	x, ok, err := s.visibleSeries(ctx, u, id) // one they may not see reads as gone
	switch {
	case err != nil:
		return err
	case !ok || !x.Active():
		return reply(s.tr(lang, "series_gone"))
	}
	if ok, err := s.mayOrganize(ctx, x.ChatID, x.CreatorID, u.UserID); err != nil {
		return err
	} else if !ok {
		return reply(s.tr(lang, "series_not_allowed"))
	}
	now := s.now(ctx)
	return s.commit(ctx, u, func(tx *sql.Tx) error {
		if err := store.SetSeriesLead(ctx, tx, x.ID, lead, now); err != nil {
			return err
		}
		if _, err := s.series.Advance(ctx, tx, x.ID, now); err != nil {
			return err
		}
		if lead == 0 {
			return s.reply(ctx, tx, u, s.tr(lang, "series_lead_off", locales.Args{"Title": x.Title}), nil)
		}
		return s.reply(ctx, tx, u, s.tr(lang, "series_lead_set", locales.Args{"Title": x.Title, "Lead": s.durationWords(lang, lead)}), nil)
	})
}

// seriesButton handles "ser:<series>:skip" and "ser:<series>:stop".
func (s *seriesCommands) seriesButton(ctx context.Context, u *bot.Update) error {
	lang := s.userLang(ctx, u)
	id, action, ok := parseButton(u.CallbackQuery.Data)
	if !ok || (action != "skip" && action != "stop") {
		return s.answerToast(ctx, u, lang, "button_stale", false)
	}
	return s.seriesAction(ctx, u, lang, id, action)
}

// seriesAction skips the next occurrence or stops a series, answering a
// button with a toast and the result as a reply.
func (s *seriesCommands) seriesAction(ctx context.Context, u *bot.Update, lang string, id int64, action string) error {
	answer := func(tx *sql.Tx, text string, markup *models.InlineKeyboardMarkup) error {
		if u.CallbackQuery != nil {
			if err := s.toast(ctx, tx, u, plainText(text), false); err != nil {
				return err
			}
		}
		return s.reply(ctx, tx, u, text, markup)
	}
	x, ok, err := s.visibleSeries(ctx, u, id) // one they may not see reads as gone
	if err != nil {
		return err
	}
	if !ok || !x.Active() {
		return s.commit(ctx, u, func(tx *sql.Tx) error { return answer(tx, s.tr(lang, "series_gone"), nil) })
	}
	if ok, err := s.mayOrganize(ctx, x.ChatID, x.CreatorID, u.UserID); err != nil {
		return err
	} else if !ok {
		return s.commit(ctx, u, func(tx *sql.Tx) error {
			if u.CallbackQuery != nil {
				return s.toast(ctx, tx, u, s.Catalog.T(lang, "series_not_allowed"), true)
			}
			return s.reply(ctx, tx, u, s.tr(lang, "series_not_allowed"), nil)
		})
	}
	rec, err := recurrence.ParseStoredRecurrence(x.Schedule)
	if err != nil {
		return err
	}
	now := s.now(ctx)
	return s.commit(ctx, u, func(tx *sql.Tx) error {
		x, ok, err := store.GetSeries(ctx, tx, id) // fresh, inside the transaction
		if err != nil {
			return err
		}
		if !ok || !x.Active() {
			return answer(tx, s.tr(lang, "series_gone"), nil)
		}
		if action == "stop" {
			if _, err := store.StopSeries(ctx, tx, x.ID, now); err != nil {
				return err
			}
			cur, ok, err := store.GetEvent(ctx, tx, x.CurrentEventID)
			if err != nil {
				return err
			}
			if ok && !cur.Cancelled() && now.Before(cur.End()) {
				return answer(tx, s.tr(lang, "series_stopped", locales.Args{"Title": x.Title, "ID": cur.ID}), nil)
			}
			return answer(tx, s.tr(lang, "series_stopped_no_event", locales.Args{"Title": x.Title}), nil)
		}
		return s.skipNext(ctx, tx, lang, x, rec, u, answer)
	})
}

// skipNext skips the next occurrence of x inside tx.
func (s *seriesCommands) skipNext(ctx context.Context, tx *sql.Tx, lang string, x store.Series, rec recurrence.Recurrence, u *bot.Update,
	answer func(tx *sql.Tx, text string, markup *models.InlineKeyboardMarkup) error) error {
	now := s.now(ctx)
	cur, ok, err := store.GetEvent(ctx, tx, x.CurrentEventID)
	if err != nil {
		return err
	}
	if ok && !cur.Cancelled() && now.Before(cur.StartsAt) {
		// Posted and ahead: cancel it the way /cancelevent does (cards,
		// people who answered), then post the next one.
		// (cancelEvent also deletes its pending reminders.)
		if _, err := (&events{App: s.App}).cancelEvent(ctx, tx, cur.ID, u.UserID); err != nil {
			return err
		}
		if _, err := s.series.Advance(ctx, tx, x.ID, now); err != nil {
			return err
		}
		nx, _, err := store.GetSeries(ctx, tx, x.ID)
		if err != nil {
			return err
		}
		next := s.nextOccurrence(ctx, tx, nx, rec)
		if next.IsZero() {
			return answer(tx, s.tr(lang, "series_nothing_ahead"), nil)
		}
		return answer(tx, s.tr(lang, "series_skipped_cancelled", locales.Args{"When": s.formatWhen(lang, cur),
			"Next": s.Catalog.FormatDateTime(lang, next.In(nx.Zone()))}), s.seriesKeyboard(ctx, tx, lang, nx, rec))
	}
	slot := scheduler.UpcomingSlot(x, rec, now)
	if slot.IsZero() {
		return answer(tx, s.tr(lang, "series_nothing_ahead"), nil)
	}
	if err := store.SetSeriesSkip(ctx, tx, x.ID, slot, now); err != nil {
		return err
	}
	x.SkipSlot = slot
	return answer(tx, s.tr(lang, "series_skipped_future", locales.Args{"When": s.Catalog.FormatDateTime(lang, slot.In(x.Zone()))}),
		s.seriesKeyboard(ctx, tx, lang, x, rec))
}

// seriesList is /series: the chat's active series with their buttons.
func (s *seriesCommands) seriesList(ctx context.Context, u *bot.Update, lang string) error {
	list, err := store.ChatSeries(ctx, s.DB.R, u.ChatID, 10)
	if err != nil {
		return err
	}
	return s.commit(ctx, u, func(tx *sql.Tx) error {
		if len(list) == 0 {
			return s.reply(ctx, tx, u, s.tr(lang, "series_list_none")+"\n\n"+s.tr(lang, "series_usage"), nil)
		}
		head := "<b>" + s.tr(lang, "cmd_series_desc") + "</b>\n" + s.tr(lang, "series_list_header")
		if err := s.reply(ctx, tx, u, head, nil); err != nil {
			return err
		}
		for _, x := range list {
			rec, err := recurrence.ParseStoredRecurrence(x.Schedule)
			if err != nil {
				continue
			}
			text := s.tr(lang, "series_list_item", locales.Args{"Title": x.Title, "ID": x.ID,
				"Schedule": s.describeSchedule(lang, rec)}) + " (" + esc(x.Timezone) + ")"
			if next := s.nextOccurrence(ctx, tx, x, rec); !next.IsZero() {
				text += "\n" + s.tr(lang, "series_list_next", locales.Args{"When": s.Catalog.FormatDateTime(lang, next.In(x.Zone()))})
			}
			if err := s.send(ctx, tx, u.ChatID, text, s.seriesKeyboard(ctx, tx, lang, x, rec)); err != nil {
				return err
			}
		}
		return s.send(ctx, tx, u.ChatID, s.tr(lang, "series_usage"), nil)
	})
}
