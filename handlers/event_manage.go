package handlers

// Managing an event: the card's "⚙ Manage" button opens a menu in the
// private chat (edit title, time, place, capacity, description, RSVP
// deadline; cancel), and the same is possible with commands:
//
//	/editevent <number> <field> <new value>
//	/editevent <number> title|when|where  asks for the new value (a place
//	                                      may be sent from the map, place.go)
//	/cancelevent <number>
//
// "📋 Export (CSV)" sends the list of answers as a spreadsheet (export.go).
// "🔗 New link" in the menu gives the event a new share code: links with
// the old one stop opening it (see visibility.go).
//
// Only the organizer, the Telegram admins of the event's chat and bot
// admins may; anyone else gets a polite "no" and nothing changes. People
// going, maybe or waitlisted are told when the time or the place changes
// and when the event is cancelled.

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// editFieldOf reads a field name as typed in /editevent.
func editFieldOf(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "title", "name":
		return "title", true
	case "when", "time", "date", "start":
		return "when", true
	case "where", "place", "location":
		return "where", true
	case "capacity", "cap", "limit", "places":
		return "capacity", true
	case "description", "desc", "details":
		return "description", true
	case "deadline", "rsvp":
		return "deadline", true
	case "question", "q", "signup":
		return "question", true
	}
	return "", false
}

// canManage reports whether user may edit or cancel ev (mayOrganize).
func (e *events) canManage(ctx context.Context, ev store.Event, userID int64) (bool, error) {
	return e.mayOrganize(ctx, ev.ChatID, ev.CreatorID, userID)
}

// manageButton handles "evm:<id>" (open the menu) and
// "evm:<id>:<action>" (an edit field, cancel, cancelyes, keep).
func (e *events) manageButton(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	toast := func(id string) error { return e.answerToast(ctx, u, lang, id, false) }
	id, action, ok := parseButton(u.CallbackQuery.Data)
	if !ok {
		return toast("button_stale")
	}
	if action == "export" {
		return e.exportButton(ctx, u, id) // its refusal is "no such event"
	}
	// "evm:<id>" is the card's button: it must sit on that event's card.
	// The others sit on the menu or a confirmation, sent only to people
	// who may manage the event: they must at least see it.
	var found bool
	var ev store.Event
	var err error
	if action == "" {
		if ev, found, err = store.GetEvent(ctx, e.DB.R, id); err == nil && found {
			found, _, err = e.cardPress(ctx, u, ev)
		}
	} else {
		ev, found, err = e.visibleEvent(ctx, u, id)
	}
	if err != nil {
		return err
	}
	if !found {
		return toast("event_gone")
	}
	mayManage, err := e.canManage(ctx, ev, u.UserID)
	if err != nil {
		return err
	}
	switch {
	case !mayManage:
		return toast("manage_not_allowed")
	case ev.Cancelled():
		return toast("event_cancelled_toast")
	}
	switch action {
	case "":
		su, _, err := store.GetUser(ctx, e.DB.R, u.UserID)
		if err != nil {
			return err
		}
		menu, kb := e.manageMenu(lang, ev)
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			switch {
			case isPrivate(u):
				if err := e.toast(ctx, tx, u, "", false); err != nil {
					return err
				}
				return e.send(ctx, tx, u.ChatID, menu, kb)
			case reachable(su):
				if err := e.toast(ctx, tx, u, e.Catalog.T(lang, "event_sent_privately"), false); err != nil {
					return err
				}
				return e.send(ctx, tx, u.UserID, menu, kb)
			case e.deepLink("") != "":
				return e.answerWithURL(ctx, tx, u, e.deepLink("evm_"+ev.ShareCode))
			}
			return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_start_me_first"), true)
		})
	case "cancel":
		kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
			{Text: e.Catalog.T(lang, "manage_btn_cancel_yes"), CallbackData: "evm:" + strconv.FormatInt(id, 10) + ":cancelyes"},
			{Text: e.Catalog.T(lang, "manage_btn_cancel_no"), CallbackData: "evm:" + strconv.FormatInt(id, 10) + ":keep"},
		}}}
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			if err := e.toast(ctx, tx, u, "", false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, e.tr(lang, "manage_cancel_confirm", locales.Args{"Title": ev.Title}), kb)
		})
	case "cancelyes":
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			done, err := e.cancelEvent(ctx, tx, ev.ID, u.UserID)
			if err != nil {
				return err
			}
			if !done {
				return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_cancelled_toast"), false)
			}
			if err := e.toast(ctx, tx, u, e.Catalog.T(lang, "manage_cancelled_toast"), false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, e.tr(lang, "manage_cancelled", locales.Args{"Title": ev.Title}), nil)
		})
	case "keep":
		return toast("manage_kept")
	case "copy":
		return e.copyButton(ctx, u, lang, ev) // place.go
	case "newlink":
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			code, ok, err := store.RotateEventShareCode(ctx, tx, ev.ID, e.now(ctx))
			if err != nil || !ok {
				return err
			}
			// Every copy of the card carries the link in its Share button.
			if err := e.RefreshEventCards(ctx, tx, ev.ID); err != nil {
				return err
			}
			if err := e.toast(ctx, tx, u, "", false); err != nil {
				return err
			}
			text := e.tr(lang, "manage_newlink_done", locales.Args{"Title": ev.Title})
			if link := e.deepLink("ev_" + code); link != "" {
				text += "\n" + esc(link)
			}
			return e.reply(ctx, tx, u, text, nil)
		})
	}
	field, ok := editFieldOf(action)
	if !ok || field != action {
		return toast("button_stale")
	}
	ask := e.editQuestion(ctx, lang, ev, field)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		data := map[string]string{"id": strconv.FormatInt(id, 10), "field": field}
		if err := e.saveConvo(ctx, tx, u, "event_edit", "value", data); err != nil {
			return err
		}
		if err := e.toast(ctx, tx, u, "", false); err != nil {
			return err
		}
		return e.reply(ctx, tx, u, ask, nil)
	})
}

// manageMenu is the private menu of one event.
func (e *events) manageMenu(lang string, ev store.Event) (string, *models.InlineKeyboardMarkup) {
	id := strconv.FormatInt(ev.ID, 10)
	b := func(label, action string) models.InlineKeyboardButton {
		return models.InlineKeyboardButton{Text: e.Catalog.T(lang, label), CallbackData: "evm:" + id + ":" + action}
	}
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{
		{b("manage_btn_title", "title"), b("manage_btn_when", "when"), b("manage_btn_where", "where")},
		{b("manage_btn_capacity", "capacity"), b("manage_btn_description", "description"), b("manage_btn_deadline", "deadline")},
		{b("signup_btn_question", "question"), b("manage_btn_export", "export")},
		{b("manage_btn_newlink", "newlink"), b("place_btn_copy", "copy"), b("manage_btn_cancel", "cancel")},
	}}
	text := "<b>" + e.tr(lang, "manage_header", locales.Args{"Title": ev.Title, "ID": ev.ID}) + "</b>\n" +
		esc(e.formatWhen(lang, ev)) + "\n\n" + e.tr(lang, "manage_choose") + "\n\n" +
		e.tr(lang, "manage_commands_hint", locales.Args{"ID": ev.ID})
	return text, kb
}

// editQuestion asks for a field's new value, showing the current one.
func (e *events) editQuestion(ctx context.Context, lang string, ev store.Event, field string) string {
	skip := e.Catalog.T(lang, "event_skip_word")
	var q, cur string
	switch field {
	case "title":
		q, cur = e.tr(lang, "event_ask_title"), ev.Title
	case "when":
		q = e.tr(lang, "event_ask_when", locales.Args{"Example": e.exampleWhen(ctx, ev.Zone()), "Zone": ev.Zone().String()})
		cur = e.formatWhen(lang, ev)
	case "where":
		q, cur = e.tr(lang, "event_ask_where", locales.Args{"Skip": skip})+"\n"+e.tr(lang, "place_ask_map_hint"), ev.Place
	case "capacity":
		q = e.tr(lang, "event_ask_capacity", locales.Args{"Skip": skip})
		if ev.Capacity > 0 {
			cur = strconv.Itoa(ev.Capacity)
		}
	case "description":
		q, cur = e.tr(lang, "event_ask_description", locales.Args{"Skip": skip}), tgtext.Shorten(ev.Description, 100)
	case "deadline":
		q = e.tr(lang, "event_ask_deadline", locales.Args{"Skip": skip, "Example": e.exampleWhen(ctx, ev.Zone())})
		if !ev.RSVPDeadline.IsZero() {
			cur = e.Catalog.FormatDateTime(lang, ev.RSVPDeadline.In(ev.Zone()))
		}
	case "question":
		q = e.tr(lang, "signup_ask_question", locales.Args{"Skip": skip})
		cur, _ = store.SignupQuestion(ctx, e.DB.R, ev.ID)
	}
	if cur != "" {
		q += "\n" + e.tr(lang, "event_current_value", locales.Args{"Value": cur})
	}
	return q
}

// edit is one parsed change: apply it to a fresh copy of the event, or,
// for the sign-up question, which no card shows, the question alone.
type edit struct {
	field string
	apply func(ev *store.Event)
	// question, if not nil, is the new sign-up question ("" removes it).
	question *string
}

// parseEdit reads the new value of field for ev; the error message is
// ready to send.
func (e *events) parseEdit(ctx context.Context, lang string, ev store.Event, field, text string) (edit, string) {
	loc := ev.Zone()
	ed := edit{field: field}
	switch field {
	case "title":
		title, err := checkTitle(text)
		if err != nil {
			return ed, e.fieldError(ctx, lang, err, loc)
		}
		ed.apply = func(ev *store.Event) { ev.Title = title }
	case "when":
		start, err := e.when.parse(text, e.now(ctx), loc, lang)
		if err != nil {
			return ed, e.fieldError(ctx, lang, err, loc)
		}
		ed.apply = func(ev *store.Event) {
			if !ev.EndsAt.IsZero() {
				ev.EndsAt = start.Add(ev.EndsAt.Sub(ev.StartsAt))
			}
			ev.StartsAt = start
			if !ev.RSVPDeadline.IsZero() && !ev.RSVPDeadline.Before(start) {
				ev.RSVPDeadline = time.Time{}
			}
		}
	case "where":
		place, err := unlessSkipped(e.isSkip(text), text, checkPlace)
		if err != nil {
			return ed, e.fieldError(ctx, lang, err, loc)
		}
		ed.apply = func(ev *store.Event) { setEventPlace(ev, place, nil) }
	case "capacity":
		capacity, err := unlessSkipped(e.isSkip(text), text, parseCapacity)
		if err != nil {
			return ed, e.tr(lang, "event_err_capacity_skip", locales.Args{"Skip": e.Catalog.T(lang, "event_skip_word")})
		}
		ed.apply = func(ev *store.Event) { ev.Capacity = capacity }
	case "description":
		desc, err := unlessSkipped(e.isSkip(text), text, checkDescription)
		if err != nil {
			return ed, e.fieldError(ctx, lang, err, loc)
		}
		ed.apply = func(ev *store.Event) { ev.Description = desc }
	case "deadline":
		var deadline time.Time
		if !e.isSkip(text) {
			var err error
			if deadline, err = e.when.parse(text, e.now(ctx), loc, lang); err != nil {
				return ed, e.fieldError(ctx, lang, err, loc)
			}
			if !deadline.Before(ev.StartsAt) {
				return ed, e.tr(lang, "event_err_deadline", locales.Args{"When": e.formatWhen(lang, ev)})
			}
		}
		ed.apply = func(ev *store.Event) { ev.RSVPDeadline = deadline }
	case "question":
		question, problem := e.parseQuestion(lang, text)
		if problem != "" {
			return ed, problem
		}
		ed.question = &question
	default:
		return ed, e.tr(lang, "editevent_usage", locales.Args{"Desc": e.Catalog.T(lang, "cmd_editevent_desc")})
	}
	return ed, ""
}

// unlessSkipped is parse(text), or T's zero value (the field cleared) when
// the user answered with the skip word.
func unlessSkipped[T any](skipped bool, text string, parse func(string) (T, error)) (T, error) {
	if skipped {
		var zero T
		return zero, nil
	}
	return parse(text)
}

// applyEdit stores a change in tx, refreshes every card, promotes from
// the waitlist when places were added, and tells people about a new time
// or place. It reports false if the event is gone or cancelled.
func (e *events) applyEdit(ctx context.Context, tx *sql.Tx, id int64, ed edit, actor int64) (store.Event, bool, error) {
	ev, ok, err := store.GetEvent(ctx, tx, id)
	if err != nil || !ok || ev.Cancelled() {
		return ev, false, err
	}
	if ed.question != nil {
		// The event and its cards do not change: no new version, no edits.
		err := store.SetSignupQuestion(ctx, tx, id, *ed.question, e.now(ctx))
		return ev, err == nil, err
	}
	before := ev
	ed.apply(&ev)
	if err := store.UpdateEventDetails(ctx, tx, ev, e.now(ctx)); err != nil {
		return ev, false, err
	}
	promoted, err := store.PromoteWaitlist(ctx, tx, id, e.now(ctx))
	if err != nil {
		return ev, false, err
	}
	if err := e.RefreshEventCards(ctx, tx, id); err != nil {
		return ev, false, err
	}
	if err := e.notifyPromoted(ctx, tx, id, promoted); err != nil {
		return ev, false, err
	}
	var notice func(lang string) string
	switch {
	case !ev.StartsAt.Equal(before.StartsAt):
		notice = func(lang string) string {
			return e.tr(lang, "event_changed_when", locales.Args{"Title": ev.Title, "When": e.formatWhen(lang, ev),
				"Before": e.formatWhen(lang, before)})
		}
	case ev.Place != before.Place:
		place := ev.Place
		if place == "" {
			place = "—"
		}
		notice = func(lang string) string {
			return e.tr(lang, "event_changed_where", locales.Args{"Title": ev.Title, "When": e.formatWhen(lang, ev), "Place": place})
		}
	}
	if notice != nil {
		if err := e.notifyParticipants(ctx, tx, ev, actor, notice); err != nil {
			return ev, false, err
		}
	}
	return ev, true, nil
}

// notifyParticipants tells everyone going, maybe or waitlisted, except
// the person who made the change.
func (e *events) notifyParticipants(ctx context.Context, tx *sql.Tx, ev store.Event, except int64, text func(lang string) string) error {
	all, err := store.ListAttendees(ctx, tx, ev.ID)
	if err != nil {
		return err
	}
	var ids []int64
	for _, at := range all {
		if at.Status != store.RSVPDeclined && at.UserID != except {
			ids = append(ids, at.UserID)
		}
	}
	return e.notify(ctx, tx, ev, ids, text)
}

// cancelEvent cancels in tx, refreshes the cards (they lose their
// buttons) and tells everyone who answered yes, maybe or waitlisted. It
// reports false if the event was already cancelled or is gone.
func (e *events) cancelEvent(ctx context.Context, tx *sql.Tx, id, actor int64) (bool, error) {
	done, err := store.CancelEvent(ctx, tx, id, e.now(ctx))
	if err != nil || !done {
		return false, err
	}
	if _, err := store.DeleteReminders(ctx, tx, id); err != nil {
		return false, err
	}
	if err := e.RefreshEventCards(ctx, tx, id); err != nil {
		return false, err
	}
	ev, _, err := store.GetEvent(ctx, tx, id)
	if err != nil {
		return false, err
	}
	return true, e.notifyParticipants(ctx, tx, ev, actor, func(lang string) string {
		return e.tr(lang, "event_cancelled_notice", locales.Args{"Title": ev.Title, "When": e.formatWhen(lang, ev)})
	})
}

// mayEditGuard is the "event_edit" conversation's permission, re-checked
// before its step: the event is one the user may see, and manage.
func (e *events) mayEditGuard(ctx context.Context, u *bot.Update, c *convo) (string, error) {
	id, _ := strconv.ParseInt(c.Data["id"], 10, 64)
	_, refusal, err := e.manageable(ctx, u, id)
	return refusal, err
}

// manageable is event id for the requester of u if they may see it and
// manage it; otherwise refusal is the catalog id of the answer: the
// missing-event one for an event they may not see (no oracle),
// "manage_not_allowed" for one they see but may not manage.
func (e *events) manageable(ctx context.Context, u *bot.Update, id int64) (ev store.Event, refusal string, err error) {
	ev, ok, err := e.visibleEvent(ctx, u, id)
	switch {
	case err != nil:
		return ev, "", err
	case !ok:
		return ev, "event_link_gone", nil
	}
	if ok, err := e.canManage(ctx, ev, u.UserID); err != nil {
		return ev, "", err
	} else if !ok {
		return ev, "manage_not_allowed", nil
	}
	return ev, "", nil
}

// editAnswer is the "event_edit" conversation's one step: the new value.
// Its guard (mayEditGuard) has checked the rights.
func (e *events) editAnswer(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	id, _ := strconv.ParseInt(c.Data["id"], 10, 64)
	ev, ok, err := store.GetEvent(ctx, e.DB.R, id)
	if err != nil {
		return stepResult{}, err
	}
	if !ok || ev.Cancelled() {
		return stepResult{Reply: e.tr(c.lang, "event_link_gone")}, nil
	}
	ed, msg := e.parseEdit(ctx, c.lang, ev, c.Data["field"], text)
	if mp, ok := placeFromMessage(u.Msg()); ok && c.Data["field"] == "where" {
		ed, msg = edit{field: "where", apply: func(ev *store.Event) { setEventPlace(ev, mp.text, &mp) }}, ""
	} else if badMapPlace(u.Msg()) {
		msg = e.tr(c.lang, "place_bad_point")
	}
	if msg != "" {
		return stepResult{Next: "value", Reply: msg}, nil
	}
	return stepResult{Effects: func(tx *sql.Tx) error {
		ev, ok, err := e.applyEdit(ctx, tx, id, ed, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return e.reply(ctx, tx, u, e.tr(c.lang, "event_link_gone"), nil)
		}
		menu, kb := e.manageMenu(c.lang, ev)
		return e.reply(ctx, tx, u, e.tr(c.lang, "manage_saved")+"\n\n"+menu, kb)
	}}, nil
}

// editCommand is /editevent <number> <field> <new value>.
func (e *events) editCommand(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	replyText := func(text string) error {
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
	}
	usage := e.tr(lang, "editevent_usage", locales.Args{"Desc": e.Catalog.T(lang, "cmd_editevent_desc")})
	parts := strings.SplitN(strings.TrimSpace(u.Args), " ", 3)
	if len(parts) < 2 {
		return replyText(usage)
	}
	id, err := parseEventID(parts[0])
	field, known := editFieldOf(parts[1])
	if err != nil || !known {
		return replyText(usage)
	}
	value := ""
	if len(parts) == 3 {
		value = parts[2]
	}
	ev, refusal, err := e.manageable(ctx, u, id)
	if err != nil {
		return err
	}
	if refusal != "" {
		return replyText(e.tr(lang, refusal))
	}
	switch {
	case ev.Cancelled():
		return replyText(e.tr(lang, "event_cancelled_toast"))
	case strings.TrimSpace(value) == "" && (field == "title" || field == "when" || field == "where" || field == "question"):
		// "/editevent 5 title": ask for the new value, step by step (a
		// place may then be sent from the map).
		data := map[string]string{"id": strconv.FormatInt(id, 10), "field": field}
		return e.startConversation(ctx, u, "event_edit", "value", data, e.editQuestion(ctx, lang, ev, field), nil)
	}
	if strings.TrimSpace(value) == "" {
		value = "-" // clearing an optional field
	}
	ed, msg := e.parseEdit(ctx, lang, ev, field, value)
	if msg != "" {
		return replyText(msg)
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		_, ok, err := e.applyEdit(ctx, tx, id, ed, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return e.reply(ctx, tx, u, e.tr(lang, "event_link_gone"), nil)
		}
		return e.reply(ctx, tx, u, e.tr(lang, "manage_saved"), nil)
	})
}

// cancelCommand is /cancelevent <number>.
func (e *events) cancelCommand(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	replyText := func(text string) error {
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
	}
	id, err := parseEventID(u.Args)
	if err != nil {
		return replyText(e.tr(lang, "cancelevent_usage", locales.Args{"Desc": e.Catalog.T(lang, "cmd_cancelevent_desc")}))
	}
	ev, refusal, err := e.manageable(ctx, u, id)
	if err != nil {
		return err
	}
	if refusal != "" {
		return replyText(e.tr(lang, refusal))
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		done, err := e.cancelEvent(ctx, tx, id, u.UserID)
		if err != nil {
			return err
		}
		if !done {
			return e.reply(ctx, tx, u, e.tr(lang, "event_cancelled_toast"), nil)
		}
		return e.reply(ctx, tx, u, e.tr(lang, "manage_cancelled", locales.Args{"Title": ev.Title}), nil)
	})
}

// manageLink is "evm_<code>": the menu, in the private chat the link opened.
func (e *events) manageLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	lang := e.userLang(ctx, u)
	if ok, err := e.canManage(ctx, ev, u.UserID); err != nil {
		return err
	} else if !ok {
		return e.answerText(ctx, u, lang, "manage_not_allowed")
	}
	menu, kb := e.manageMenu(lang, ev)
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, menu, kb) })
}
