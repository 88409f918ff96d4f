package handlers

// RSVP buttons and what follows from them: the answer to the click (a
// toast saying what changed), the card edits, and telling people promoted
// from the waitlist that they are in. Callback data carries only the event
// id and the action ("rsvp:42:go"); the person is always whoever pressed.
//
// Also here: "Who's going" and opening an event from its deep link
// (t.me/<bot>?start=ev_<share code>), which posts a private copy of the
// card whose buttons act on the same RSVPs. Who may press what and open
// which link is visibility.go's decision.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// rsvpAction reads the action part of "rsvp:<id>:<action>".
func rsvpAction(s string) (store.RSVPAction, bool) {
	switch s {
	case "go":
		return store.ActGoing, true
	case "maybe":
		return store.ActMaybe, true
	case "no":
		return store.ActDecline, true
	case "plus":
		return store.ActAddGuest, true
	case "minus":
		return store.ActRemoveGuest, true
	}
	return 0, false
}

// buttonEvent reads a "<prefix>:<event id>:<action>" press whose action is
// one of actions, and its event. onCard says the button sits on the
// event's card: the press must come from a copy of that event's card;
// else the presser must be someone who may see the event (visibility.go).
// A stale or forged press, or an event that is gone or not theirs to see,
// is answered with a toast (gone: its catalog id) and ok is false.
func (a *App) buttonEvent(ctx context.Context, u *bot.Update, lang, gone string, onCard bool, actions ...string) (ev store.Event, action string, ok bool, err error) {
	id, action, parsed := parseButton(u.CallbackQuery.Data)
	if !parsed || !slices.Contains(actions, action) {
		return ev, "", false, a.answerToast(ctx, u, lang, "button_stale", false)
	}
	var found bool
	if onCard {
		if ev, found, err = store.GetEvent(ctx, a.DB.R, id); err == nil && found {
			found, _, err = a.cardPress(ctx, u, ev)
		}
	} else {
		ev, found, err = a.visibleEvent(ctx, u, id)
	}
	if err != nil {
		return ev, "", false, err
	}
	if !found {
		if u.CallbackQuery.InlineMessageID != "" {
			gone = "inline_press_unknown" // a copy posted inline (inline.go)
		}
		return ev, "", false, a.answerToast(ctx, u, lang, gone, false)
	}
	return ev, action, true, nil
}

// parseButton splits "<prefix>:<id>[:<action>]".
func parseButton(data string) (id int64, action string, ok bool) {
	parts := strings.Split(data, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, "", false
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	if len(parts) == 3 {
		action = parts[2]
	}
	return id, action, true
}

// rsvpButton applies an RSVP click, made on a copy of the event's card.
func (e *events) rsvpButton(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	ev, action, ok, err := e.buttonEvent(ctx, u, lang, "event_gone", true, "go", "maybe", "no", "plus", "minus")
	if err != nil || !ok {
		return err
	}
	id := ev.ID
	act, _ := rsvpAction(action)
	now := e.now(ctx)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		ch, err := store.ApplyRSVP(ctx, tx, id, u.UserID, act, now)
		if msg, refused := e.eventRefusal(lang, err); refused {
			return e.toast(ctx, tx, u, msg, false)
		} else if err != nil {
			return err
		}
		if err := e.toast(ctx, tx, u, e.rsvpToast(lang, ch), false); err != nil {
			return err
		}
		if err := e.adoptCard(ctx, tx, id, u); err != nil {
			return err
		}
		if ch.Refused != store.RefusedNone {
			return nil
		}
		if err := e.RefreshEventCards(ctx, tx, id); err != nil {
			return err
		}
		if err := e.askSignup(ctx, tx, u, ev, ch); err != nil {
			return err
		}
		return e.notifyPromoted(ctx, tx, id, ch.Promoted)
	})
}

// eventRefusal turns ApplyRSVP's event errors into the toast to show.
func (e *events) eventRefusal(lang string, err error) (string, bool) {
	switch {
	case errors.Is(err, store.ErrEventNotFound):
		return e.Catalog.T(lang, "event_gone"), true
	case errors.Is(err, store.ErrEventCancelled):
		return e.Catalog.T(lang, "event_cancelled_toast"), true
	case errors.Is(err, store.ErrRSVPDeadline):
		return e.Catalog.T(lang, "rsvp_closed_deadline"), true
	case errors.Is(err, store.ErrRSVPClosed):
		return e.Catalog.T(lang, "rsvp_closed_started"), true
	}
	return "", false
}

// rsvpToast says what a click did.
func (e *events) rsvpToast(lang string, ch store.RSVPChange) string {
	r := ch.After
	switch ch.Refused {
	case store.RefusedNoGuests:
		return e.Catalog.T(lang, "rsvp_toast_no_guests")
	case store.RefusedNoRoomForGuest:
		return e.Catalog.T(lang, "rsvp_toast_no_room_guest")
	case store.RefusedTooManyGuests:
		return e.Catalog.T(lang, "rsvp_toast_too_many_guests", locales.Args{"Count": store.MaxGuests})
	case store.RefusedUnchanged:
		switch r.Status {
		case store.RSVPGoing:
			return e.Catalog.T(lang, "rsvp_toast_already_going")
		case store.RSVPWaitlist:
			return e.Catalog.T(lang, "rsvp_toast_already_waitlist", locales.Args{"Rank": ch.WaitlistRank})
		case store.RSVPMaybe:
			return e.Catalog.T(lang, "rsvp_toast_already_maybe")
		default:
			return e.Catalog.T(lang, "rsvp_toast_already_declined")
		}
	}
	if r.Status == ch.Before.Status && r.Guests != ch.Before.Guests {
		// Only the number of guests changed.
		if r.Guests == 0 {
			return e.Catalog.T(lang, "rsvp_toast_guests_none")
		}
		return e.Catalog.T(lang, "rsvp_toast_guests", locales.Args{"Count": r.Guests})
	}
	switch r.Status {
	case store.RSVPGoing:
		if r.Guests > 0 {
			return e.Catalog.T(lang, "rsvp_toast_going_guests", locales.Args{"Count": r.Guests})
		}
		return e.Catalog.T(lang, "rsvp_toast_going")
	case store.RSVPWaitlist:
		return e.Catalog.T(lang, "rsvp_toast_waitlist", locales.Args{"Rank": ch.WaitlistRank})
	case store.RSVPMaybe:
		return e.Catalog.T(lang, "rsvp_toast_maybe")
	}
	return e.Catalog.T(lang, "rsvp_toast_declined")
}

// adoptCard records the clicked message as a copy of the event's card if
// it is not one yet (its on-sent record was lost, or it is an older copy),
// so it is kept up to date from now on. Only a message that carries this
// very button is adopted.
func (e *events) adoptCard(ctx context.Context, tx *sql.Tx, eventID int64, u *bot.Update) error {
	if u.CallbackQuery.InlineMessageID != "" {
		return e.adoptInlineCard(ctx, tx, eventID, u) // inline.go
	}
	m := u.CallbackQuery.Message.Message
	if m == nil || m.ReplyMarkup == nil || !hasButton(m.ReplyMarkup, u.CallbackQuery.Data) {
		return nil
	}
	if _, ok, err := store.FindEventCard(ctx, tx, m.Chat.ID, m.ID); err != nil || ok {
		return err
	}
	_, err := store.AddEventCard(ctx, tx, store.EventCard{EventID: eventID, ChatID: m.Chat.ID, MessageID: m.ID,
		Lang: e.chatLang(ctx, u)}, e.now(ctx))
	return err
}

func hasButton(kb *models.InlineKeyboardMarkup, data string) bool {
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// userLangOf is the language of messages to a user who did not cause the
// current update.
func (a *App) userLangOf(u store.User) string { return a.Catalog.Resolve(u.ChosenLang, u.Language) }

// reachable reports whether the bot may write to the user privately.
func reachable(u store.User) bool { return u.Started && !u.Blocked }

// mention is an HTML link that notifies the user in a group.
func mention(u store.User) string {
	return `<a href="tg://user?id=` + strconv.FormatInt(u.ID, 10) + `">` + esc(tgtext.Shorten(u.DisplayName(), nameMaxRunes)) + `</a>`
}

// notifyPromoted tells people moved from the waitlist to going: privately
// if they have started the bot, else with a mention in the event's chat.
func (e *events) notifyPromoted(ctx context.Context, tx *sql.Tx, eventID int64, promoted []store.RSVP) error {
	if len(promoted) == 0 {
		return nil
	}
	ev, ok, err := store.GetEvent(ctx, tx, eventID)
	if err != nil || !ok {
		return err
	}
	var ids []int64
	for _, r := range promoted {
		ids = append(ids, r.UserID)
	}
	return e.notify(ctx, tx, ev, ids, func(lang string) string {
		return e.tr(lang, "rsvp_promoted", locales.Args{"Title": ev.Title, "When": e.formatWhen(lang, ev)})
	})
}

// notify sends text(lang) to each user, each in their language: privately
// to those the bot may write to, the others together in one message in the
// event's chat that mentions them (if that chat is a group). Bulk lane:
// nobody is waiting for these.
func (e *events) notify(ctx context.Context, tx *sql.Tx, ev store.Event, userIDs []int64, text func(lang string) string) error {
	var unreachable []string
	for _, id := range userIDs {
		su, ok, err := store.GetUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if reachable(su) {
			if err := e.sendBulk(ctx, tx, su.ID, text(e.userLangOf(su)), nil); err != nil {
				return err
			}
			continue
		}
		unreachable = append(unreachable, mention(su))
	}
	if len(unreachable) == 0 || ev.ChatID > 0 {
		return nil // nobody left, or the event's chat is someone's private chat
	}
	lang := e.sharedLang(ctx, tx, ev)
	// Telegram notifies at most a few dozen mentions per message.
	for len(unreachable) > 0 {
		n := min(len(unreachable), 30)
		msg := strings.Join(unreachable[:n], ", ") + "\n" + text(lang)
		if err := e.sendBulk(ctx, tx, ev.ChatID, msg, nil); err != nil {
			return err
		}
		unreachable = unreachable[n:]
	}
	return nil
}

// sharedLang is the language of messages to the event's whole chat when
// no update says who is reading: the chat's choice, else the language its
// card was posted in, else English.
func (a *App) sharedLang(ctx context.Context, q store.Querier, ev store.Event) string {
	if sc, ok, _ := store.GetChat(ctx, q, ev.ChatID); ok && sc.Language != "" {
		return a.Catalog.Resolve(sc.Language)
	}
	if cards, err := store.EventCards(ctx, q, ev.ID); err == nil {
		for _, c := range cards {
			if c.ChatID == ev.ChatID && c.Lang != "" {
				return a.Catalog.Resolve(c.Lang)
			}
		}
	}
	return locales.DefaultLanguage
}

// sendBulk enqueues an HTML message on the Bulk lane.
func (a *App) sendBulk(ctx context.Context, tx *sql.Tx, chatID int64, text string, markup *models.InlineKeyboardMarkup) error {
	return a.sendOn(ctx, tx, outbox.Bulk, chatID, text, markup)
}

// answerWithURL answers a callback by opening url (a t.me/<bot>?start=...
// link: the private chat with the bot, which then acts on the payload).
func (a *App) answerWithURL(ctx context.Context, tx *sql.Tx, u *bot.Update, url string) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.ChatID, Method: "answerCallbackQuery", Lane: outbox.Interactive,
		Params: &tg.AnswerCallbackQueryParams{CallbackQueryID: u.CallbackQuery.ID, URL: url}})
	return err
}

// eventButton handles "ev:<id>:ics" (calendar file) and "ev:<id>:who"
// (everyone's answers). Both are personal, so they go to the private chat:
// directly if the user has started the bot, else through a deep link that
// opens it.
func (e *events) eventButton(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	ev, action, ok, err := e.buttonEvent(ctx, u, lang, "event_gone", true, "ics", "who", "venue")
	if err != nil || !ok {
		return err
	}
	su, _, err := store.GetUser(ctx, e.DB.R, u.UserID)
	if err != nil {
		return err
	}
	if action == "venue" {
		return e.venueButton(ctx, u, lang, ev, su) // place.go
	}
	private := isPrivate(u)
	if action == "who" {
		who, err := e.whoTextFor(ctx, e.DB.R, lang, ev, u.UserID)
		if err != nil {
			return err
		}
		plain := plainText(who)
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			switch {
			case private || reachable(su):
				return e.privately(ctx, tx, u, lang, private, func() error { return e.sendChunks(ctx, tx, u.UserID, who) })
			case utf8.RuneCountInString(plain) <= 190:
				return e.toast(ctx, tx, u, plain, true)
			case e.deepLink("") != "":
				return e.answerWithURL(ctx, tx, u, e.deepLink("evw_"+ev.ShareCode))
			}
			return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_start_me_first"), true)
		})
	}
	ics, err := e.calendarFile(ctx, ev)
	if err != nil {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		switch {
		case private || reachable(su):
			return e.privately(ctx, tx, u, lang, private, func() error { return e.sendCalendar(ctx, tx, u.UserID, lang, ev, ics) })
		case e.deepLink("") != "":
			return e.answerWithURL(ctx, tx, u, e.deepLink("evi_"+ev.ShareCode))
		}
		return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_start_me_first"), true)
	})
}

// privately answers a button whose answer goes to the presser's private
// chat (send enqueues it): a silent callback answer there, a toast saying
// where it went in a group.
func (e *events) privately(ctx context.Context, tx *sql.Tx, u *bot.Update, lang string, private bool, send func() error) error {
	toast := ""
	if !private {
		toast = e.Catalog.T(lang, "event_sent_privately")
	}
	if err := e.toast(ctx, tx, u, toast, false); err != nil {
		return err
	}
	return send()
}

// plainText is HTML this package wrote as a toast shows it: Telegram's
// parse of it, tags gone and entities decoded. Markup Telegram would refuse
// never comes from here; should it, the source is shown as it is.
func plainText(s string) string {
	text, _, err := tgtext.ParseHTML(s)
	if err != nil {
		return s
	}
	return text
}

// whoTextFor is whoText as viewer sees it: with the answers to the
// sign-up question if viewer may manage the event (signup.go).
func (e *events) whoTextFor(ctx context.Context, q store.Querier, lang string, ev store.Event, viewer int64) (string, error) {
	question, answers, err := e.signupAnswersFor(ctx, q, ev, viewer)
	if err != nil {
		return "", err
	}
	return e.whoText(ctx, q, lang, ev, question, answers)
}

// whoText is the full list of answers, in lang, with each person's answer
// to question (nil answers: none shown).
func (e *events) whoText(ctx context.Context, q store.Querier, lang string, ev store.Event, question string, answers map[int64]string) (string, error) {
	all, err := store.ListAttendees(ctx, q, ev.ID)
	if err != nil {
		return "", err
	}
	groups := []struct {
		status store.RSVPStatus
		id     string
	}{{store.RSVPGoing, "who_going"}, {store.RSVPWaitlist, "who_waitlist"}, {store.RSVPMaybe, "who_maybe"}, {store.RSVPDeclined, "who_declined"}}
	var b strings.Builder
	b.WriteString("<b>" + e.tr(lang, "who_title", locales.Args{"Title": ev.Title}) + "</b>")
	if answers != nil {
		b.WriteString("\n" + e.tr(lang, "signup_preview", locales.Args{"Question": question}))
	}
	listed := false
	for _, g := range groups {
		var lines []string
		seats := 0
		for _, at := range all {
			if at.Status == g.status {
				seats += at.Seats()
				line := strconv.Itoa(len(lines)+1) + ". " + personName(at.User, at.Guests)
				if ans, ok := answers[at.User.ID]; ok {
					line += " — <i>" + esc(tgtext.Shorten(oneLine(ans), whoAnswerRunes)) + "</i>"
				}
				lines = append(lines, line)
			}
		}
		if len(lines) == 0 {
			continue
		}
		listed = true
		count := len(lines)
		if g.status == store.RSVPGoing || g.status == store.RSVPWaitlist {
			count = seats
		}
		b.WriteString("\n\n" + e.tr(lang, g.id, locales.Args{"N": count}) + "\n" + strings.Join(lines, "\n"))
	}
	if !listed {
		b.WriteString("\n" + e.tr(lang, "event_card_nobody"))
	}
	return b.String(), nil
}

// sendChunks sends a long HTML text as several messages, split between
// lines, each within Telegram's limit.
func (a *App) sendChunks(ctx context.Context, tx *sql.Tx, chatID int64, text string) error {
	var chunk strings.Builder
	flush := func() error {
		if chunk.Len() == 0 {
			return nil
		}
		err := a.send(ctx, tx, chatID, chunk.String(), nil)
		chunk.Reset()
		return err
	}
	for _, line := range strings.Split(text, "\n") {
		if tgtext.UTF16Len(chunk.String())+tgtext.UTF16Len(line)+1 > cardBudget {
			if err := flush(); err != nil {
				return err
			}
		}
		if chunk.Len() > 0 {
			chunk.WriteString("\n")
		}
		chunk.WriteString(line)
	}
	return flush()
}

// openLink opens an event from t.me/<bot>?start=ev_<code>: a fresh copy of
// its card in this chat. In a private chat older copies are deleted, so
// opening the link again does not multiply the cards kept up to date.
func (e *events) openLink(ctx context.Context, u *bot.Update, payload string) error {
	return e.withLinkedEvent(ctx, u, payload, func(tx *sql.Tx, ev store.Event, lang string) error {
		if isPrivate(u) {
			if err := e.replaceOldCards(ctx, tx, ev.ID, u.ChatID); err != nil {
				return err
			}
		}
		return e.postCard(ctx, tx, ev.ID, u.ChatID, e.chatLang(ctx, u))
	})
}

// replaceOldCards forgets an event's cards in a chat and deletes their
// messages. Telegram refuses to delete messages older than 48 hours; those
// are only forgotten (their buttons keep working, and a click on one adopts
// it again).
func (e *events) replaceOldCards(ctx context.Context, tx *sql.Tx, eventID, chatID int64) error {
	cards, err := store.EventCards(ctx, tx, eventID)
	if err != nil {
		return err
	}
	for _, c := range cards {
		if c.ChatID != chatID || c.MessageID == 0 || e.now(ctx).Sub(c.CreatedAt) > 47*time.Hour {
			continue
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "deleteMessage", Lane: outbox.Edit,
			Params: &tg.DeleteMessageParams{ChatID: chatID, MessageID: c.MessageID}}); err != nil {
			return err
		}
	}
	_, err = store.ForgetEventCards(ctx, tx, eventID, chatID)
	return err
}

// whoLink is "evw_<code>": the answers, sent privately. The list is read
// before the transaction: whether the viewer sees sign-up answers may ask
// Telegram for the chat's admins, never inside a write transaction.
func (e *events) whoLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	who, err := e.whoTextFor(ctx, e.DB.R, e.userLang(ctx, u), ev, u.UserID)
	if err != nil {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.sendChunks(ctx, tx, u.ChatID, who) })
}

// calendarLink is "evi_<code>": the calendar file, sent privately.
func (e *events) calendarLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	ics, err := e.calendarFile(ctx, ev)
	if err != nil {
		return err
	}
	lang := e.userLang(ctx, u)
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.sendCalendar(ctx, tx, u.ChatID, lang, ev, ics) })
}

// withLinkedEvent resolves a deep-link payload to an active event
// and runs fn in the update's transaction; a dead link gets an answer.
func (e *events) withLinkedEvent(ctx context.Context, u *bot.Update, payload string, fn func(tx *sql.Tx, ev store.Event, lang string) error) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	lang := e.userLang(ctx, u)
	return e.commit(ctx, u, func(tx *sql.Tx) error { return fn(tx, ev, lang) })
}

// linkedEvent resolves a deep-link payload (a share code; see
// linkedEventFor) to an active event. If there is none, or the user may
// not open it, it has answered the update (ok is false).
func (e *events) linkedEvent(ctx context.Context, u *bot.Update, payload string) (store.Event, bool, error) {
	ev, ok, err := e.linkedEventFor(ctx, u, payload)
	if err != nil {
		return ev, false, err
	}
	if !ok || ev.Cancelled() {
		return ev, false, e.linkGone(ctx, u)
	}
	return ev, true, nil
}

func (e *events) linkGone(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	return e.answerText(ctx, u, lang, "event_link_gone")
}

// eventRef is how lists name an event: its title, linked to its deep
// link when the bot's username is known, and its number.
func (a *App) eventRef(ev store.Event) string {
	title := "<b>" + esc(ev.Title) + "</b>"
	if link := a.deepLink(eventLink(ev)); link != "" {
		title = `<a href="` + esc(link) + `">` + title + `</a>`
	}
	return fmt.Sprintf("%s (#%d)", title, ev.ID)
}
