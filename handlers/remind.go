package handlers

// Reminders as people see them: the reminder messages (App implements
// scheduler.Renderer; the scheduler decides who gets what and when, and
// enqueues), the "no more reminders" button, and /remind:
//
//	/remind                      the chat's upcoming events and their reminders
//	/remind <event>              one event's reminders and when they go
//	/remind <event> 2h,15m       set them (organizer, chat admins, bot admins)
//	/remind <event> off|default  none, or back to RSVPBOT_REMINDERS
//
// Callback data: "rem:<event>:mute" and "rem:<event>:unmute" (whoever
// presses is muted or unmuted for that event). In a private chat the
// button flips; in a group, where the message is everyone's, it stays.
//
// The event conversation (event.go) has no step for reminders, so /remind
// is the way to change them.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// reminders holds what /remind needs beyond App: the default offsets.
type reminders struct {
	*App
	defaults []time.Duration
}

// EnableReminders registers /remind, /series and the reminder and series
// buttons. defaults are RSVPBOT_REMINDERS (nil: scheduler.DefaultOffsets).
// Call it once, before the dispatcher starts. The App itself is the
// scheduler's Renderer and OccurrencePoster.
func (a *App) EnableReminders(defaults []time.Duration) {
	if defaults == nil {
		defaults = scheduler.DefaultOffsets
	}
	r := &reminders{App: a, defaults: defaults}
	a.router.Command("remind", r.remind)
	a.router.Callback("rem", r.muteButton)
	if a.Series != nil {
		s := &seriesCommands{App: a, series: a.Series}
		a.router.Command("series", s.seriesCommand)
		a.router.Callback("ser", s.seriesButton)
	}
}

// durationWords writes d for people, rounded to the minute: "40
// minutes", "1 hour 5 minutes", "24 hours", "2 days", "2 days 3 hours"
// (days from 48 hours on).
func (a *App) durationWords(lang string, d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return a.Catalog.T(lang, "reminder_less_than_minute")
	}
	mins := int64(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	var parts []string
	if mins < 48*60 {
		days, hours = 0, mins/60
	}
	switch {
	case days > 0:
		parts = append(parts, a.Catalog.T(lang, "reminder_days", locales.Args{"Count": days}))
		if hours > 0 && days < 3 {
			parts = append(parts, a.Catalog.T(lang, "reminder_hours", locales.Args{"Count": hours}))
		}
	case hours > 0:
		parts = append(parts, a.Catalog.T(lang, "reminder_hours", locales.Args{"Count": hours}))
		if m > 0 {
			parts = append(parts, a.Catalog.T(lang, "reminder_minutes", locales.Args{"Count": m}))
		}
	default:
		parts = append(parts, a.Catalog.T(lang, "reminder_minutes", locales.Args{"Count": m}))
	}
	return strings.Join(parts, " ")
}

// offsetsWords writes a list of offsets: "24 hours, 1 hour".
func (a *App) offsetsWords(lang string, offsets []time.Duration) string {
	if len(offsets) == 0 {
		return a.Catalog.T(lang, "remind_offsets_off")
	}
	parts := make([]string, len(offsets))
	for i, d := range offsets {
		parts[i] = a.durationWords(lang, d)
	}
	return strings.Join(parts, ", ")
}

// groupLang is the language of a message to a whole group: the chat's
// choice, else the event's shared language.
func (a *App) groupLang(ctx context.Context, q store.Querier, chatID int64, ev store.Event) string {
	if sc, ok, _ := store.GetChat(ctx, q, chatID); ok && sc.Language != "" {
		return a.Catalog.Resolve(sc.Language)
	}
	return a.sharedLang(ctx, q, ev)
}

// RenderReminder implements scheduler.Renderer.
func (a *App) RenderReminder(ctx context.Context, q store.Querier, n scheduler.Notice) (string, *models.InlineKeyboardMarkup, error) {
	ev := n.Event
	var lang string
	if n.Private && len(n.People) == 1 {
		lang = a.userLangOf(n.People[0].User)
	} else {
		lang = a.groupLang(ctx, q, n.ChatID, ev)
	}
	var b strings.Builder
	b.WriteString("⏰ <b>" + a.tr(lang, "reminder_starts_in", locales.Args{"Title": ev.Title, "Left": a.durationWords(lang, n.Left)}) + "</b>\n")
	b.WriteString(a.tr(lang, "reminder_when", locales.Args{"When": a.formatWhen(lang, ev)}))
	if ev.Place != "" {
		b.WriteString("\n" + a.tr(lang, "reminder_where", locales.Args{"Place": ev.Place}))
	}
	id := strconv.FormatInt(ev.ID, 10)
	mute := models.InlineKeyboardButton{Text: a.Catalog.T(lang, "reminder_btn_mute"), CallbackData: "rem:" + id + ":mute"}
	if n.Private {
		if len(n.People) == 1 && n.People[0].WaitlistRank > 0 {
			b.WriteString("\n\n" + a.tr(lang, "reminder_waitlist", locales.Args{"Rank": n.People[0].WaitlistRank}))
		}
		return b.String(), &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{mute}}}, nil
	}
	var going, waiting []string
	for _, p := range n.People {
		if p.WaitlistRank > 0 {
			waiting = append(waiting, strconv.Itoa(p.WaitlistRank)+". "+mention(p.User))
		} else {
			going = append(going, mention(p.User))
		}
	}
	if len(going) > 0 {
		b.WriteString("\n\n" + a.tr(lang, "reminder_group_going") + " " + strings.Join(going, ", "))
	}
	if len(waiting) > 0 {
		if len(going) == 0 {
			b.WriteString("\n")
		}
		b.WriteString("\n" + a.tr(lang, "reminder_group_waitlist") + " " + strings.Join(waiting, ", "))
	}
	if n.Undelivered {
		b.WriteString("\n\n" + a.tr(lang, "reminder_group_undelivered"))
	} else {
		b.WriteString("\n\n" + a.tr(lang, "reminder_group_hint"))
	}
	row := []models.InlineKeyboardButton{mute}
	if link := a.deepLink(eventLink(ev)); link != "" {
		row = append(row, models.InlineKeyboardButton{Text: a.Catalog.T(lang, "reminder_btn_private"), URL: link})
	}
	return b.String(), &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{row}}, nil
}

// muteButton handles "rem:<event>:mute" and "rem:<event>:unmute".
func (r *reminders) muteButton(ctx context.Context, u *bot.Update) error {
	lang := r.userLang(ctx, u)
	ev, action, ok, err := r.buttonEvent(ctx, u, lang, "reminder_gone", false, "mute", "unmute")
	if err != nil || !ok {
		return err
	}
	muted := action == "mute"
	text := r.Catalog.T(lang, "reminder_unmuted", locales.Args{"Title": ev.Title})
	if muted {
		text = r.Catalog.T(lang, "reminder_muted", locales.Args{"Title": ev.Title})
	}
	return r.commit(ctx, u, func(tx *sql.Tx) error {
		if _, err := store.SetReminderMute(ctx, tx, ev.ID, u.UserID, muted, r.now(ctx)); err != nil {
			return err
		}
		if err := r.toast(ctx, tx, u, text, false); err != nil {
			return err
		}
		msg := u.CallbackQuery.Message.Message
		if msg == nil || !isPrivate(u) {
			return nil
		}
		// Private: the message is the presser's own, so its button flips.
		btn := models.InlineKeyboardButton{Text: r.Catalog.T(lang, "reminder_btn_unmute"), CallbackData: fmt.Sprintf("rem:%d:unmute", ev.ID)}
		if !muted {
			btn = models.InlineKeyboardButton{Text: r.Catalog.T(lang, "reminder_btn_mute"), CallbackData: fmt.Sprintf("rem:%d:mute", ev.ID)}
		}
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.ChatID, Method: "editMessageReplyMarkup", Lane: outbox.Edit,
			Params: &tg.EditMessageReplyMarkupParams{ChatID: u.ChatID, MessageID: msg.ID,
				ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{btn}}}},
			CoalesceKey: fmt.Sprintf("remkb:%d:%d", u.ChatID, msg.ID)})
		return err
	})
}

// resolveOffsets is what an event's reminder_offsets mean.
func (r *reminders) resolveOffsets(spec string) []time.Duration {
	offs, _ := scheduler.OffsetsFor(spec, r.defaults)
	return offs
}

// offsetsLabel describes an event's setting: "24 hours, 1 hour (default)".
func (r *reminders) offsetsLabel(lang, spec string) string {
	words := r.offsetsWords(lang, r.resolveOffsets(spec))
	if strings.TrimSpace(spec) == "" {
		return r.Catalog.T(lang, "remind_offsets_default", locales.Args{"Offsets": words})
	}
	return words
}

// remind is /remind.
func (r *reminders) remind(ctx context.Context, u *bot.Update) error {
	lang := r.userLang(ctx, u)
	reply := func(text string) error {
		return r.commit(ctx, u, func(tx *sql.Tx) error { return r.reply(ctx, tx, u, text, nil) })
	}
	args := strings.Fields(u.Args)
	if len(args) == 0 {
		text, err := r.remindList(ctx, lang, u.ChatID)
		if err != nil {
			return err
		}
		return reply(text)
	}
	id, err := parseEventID(args[0])
	if err != nil {
		return reply(r.remindUsage(lang, 42))
	}
	ev, ok, err := r.visibleEvent(ctx, u, id)
	switch {
	case err != nil:
		return err
	case !ok: // none, or not one this user may see: the same answer
		return reply(r.tr(lang, "remind_no_event", locales.Args{"ID": id}))
	case ev.Cancelled():
		return reply(r.tr(lang, "remind_event_cancelled"))
	}
	if len(args) == 1 {
		text, err := r.remindShow(ctx, lang, ev)
		if err != nil {
			return err
		}
		return reply(text)
	}
	if !r.now(ctx).Before(ev.StartsAt) {
		return reply(r.tr(lang, "remind_event_started"))
	}
	value := strings.Join(args[1:], "")
	var spec string
	var offsets []time.Duration
	switch strings.ToLower(value) {
	case "default", "standard", "reset":
		spec, offsets = "", r.defaults
	default:
		offsets, err = scheduler.ParseOffsets(value)
		if errors.Is(err, scheduler.ErrTooManyOffsets) {
			return reply(r.tr(lang, "remind_err_too_many", locales.Args{"Max": scheduler.MaxOffsets}))
		}
		if err != nil {
			return reply(r.tr(lang, "remind_err_offsets", locales.Args{"Text": tgtext.Echo(value)}))
		}
		spec = scheduler.FormatOffsets(offsets)
	}
	if ok, err := r.mayOrganize(ctx, ev.ChatID, ev.CreatorID, u.UserID); err != nil {
		return err
	} else if !ok {
		return reply(r.tr(lang, "remind_not_allowed"))
	}
	now := r.now(ctx)
	return r.commit(ctx, u, func(tx *sql.Tx) error {
		if err := store.SetEventReminderOffsets(ctx, tx, ev.ID, spec, now); err != nil {
			return err
		}
		if err := store.RescheduleReminders(ctx, tx, ev.ID, ev.StartsAt, offsets, now); err != nil {
			return err
		}
		var text string
		switch {
		case spec == "":
			text = r.tr(lang, "remind_set_default", locales.Args{"Title": ev.Title, "Offsets": r.offsetsWords(lang, offsets)})
		case len(offsets) == 0:
			text = r.tr(lang, "remind_set_off", locales.Args{"Title": ev.Title})
		default:
			text = r.tr(lang, "remind_set", locales.Args{"Title": ev.Title, "Offsets": r.offsetsWords(lang, offsets)})
		}
		if ev.SeriesID != 0 {
			if x, ok, err := store.GetSeries(ctx, tx, ev.SeriesID); err != nil {
				return err
			} else if ok && x.Active() {
				if err := store.SetSeriesReminderOffsets(ctx, tx, x.ID, spec, now); err != nil {
					return err
				}
				text += "\n" + r.tr(lang, "remind_series_too")
			}
		}
		items, err := r.remindItems(ctx, tx, lang, ev)
		if err != nil {
			return err
		}
		return r.reply(ctx, tx, u, text+"\n\n"+items, nil)
	})
}

func (r *reminders) remindUsage(lang string, id int64) string {
	return r.tr(lang, "remind_usage", locales.Args{"ID": id, "Default": r.offsetsWords(lang, r.defaults)})
}

// remindList is /remind without arguments: the chat's upcoming events.
func (r *reminders) remindList(ctx context.Context, lang string, chatID int64) (string, error) {
	evs, err := store.UpcomingChatEvents(ctx, r.DB.R, chatID, r.now(ctx), 20)
	if err != nil {
		return "", err
	}
	if len(evs) == 0 {
		return r.tr(lang, "remind_list_none") + "\n\n" + r.remindUsage(lang, 42), nil
	}
	var b strings.Builder
	b.WriteString(r.tr(lang, "remind_list_header") + "\n")
	for _, ev := range evs {
		b.WriteString("• " + r.tr(lang, "remind_list_item", locales.Args{"Title": ev.Title, "ID": ev.ID,
			"Offsets": r.offsetsLabel(lang, ev.ReminderOffsets)}) + "\n")
	}
	b.WriteString("\n" + r.remindUsage(lang, evs[0].ID) + "\n\n" + r.tr(lang, "remind_how"))
	return b.String(), nil
}

// remindShow is /remind <event>.
func (r *reminders) remindShow(ctx context.Context, lang string, ev store.Event) (string, error) {
	items, err := r.remindItems(ctx, r.DB.R, lang, ev)
	if err != nil {
		return "", err
	}
	return r.tr(lang, "remind_event_header", locales.Args{"Title": ev.Title, "ID": ev.ID,
		"Offsets": r.offsetsLabel(lang, ev.ReminderOffsets)}) + "\n" + items + "\n\n" +
		r.remindUsage(lang, ev.ID), nil
}

// remindItems lists an event's reminders and when each goes. Before the
// scheduler has planned a new event it shows what it will plan.
func (r *reminders) remindItems(ctx context.Context, q store.Querier, lang string, ev store.Event) (string, error) {
	rems, err := store.EventReminders(ctx, q, ev.ID)
	if err != nil {
		return "", err
	}
	planned := false
	for _, rem := range rems {
		planned = planned || rem.StartsAt.Equal(ev.StartsAt)
	}
	now := r.now(ctx)
	var lines []string
	if !planned {
		for _, d := range r.resolveOffsets(ev.ReminderOffsets) {
			if due := ev.StartsAt.Add(-d); due.After(now) {
				lines = append(lines, "• "+r.tr(lang, "remind_item_pending", locales.Args{"Offset": r.durationWords(lang, d),
					"When": r.Catalog.FormatDateTime(lang, due.In(ev.Zone()))}))
			}
		}
	} else {
		for _, rem := range rems {
			args := locales.Args{"Offset": r.durationWords(lang, rem.Offset), "When": r.Catalog.FormatDateTime(lang, rem.DueAt.In(ev.Zone()))}
			switch {
			case rem.Pending():
				lines = append(lines, "• "+r.tr(lang, "remind_item_pending", args))
			case rem.Outcome == store.ReminderSent || rem.Outcome == store.ReminderLate:
				lines = append(lines, "• "+r.tr(lang, "remind_item_sent", args))
			default:
				lines = append(lines, "• "+r.tr(lang, "remind_item_skipped", args))
			}
		}
	}
	if len(lines) == 0 {
		return r.tr(lang, "remind_nothing_pending"), nil
	}
	return strings.Join(lines, "\n"), nil
}
