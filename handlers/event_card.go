package handlers

// The event card: the message with the event's details, counts and RSVP
// buttons. Every posted copy (the event's chat, private chats opened by
// the deep link) is an event_cards row; whenever something a card shows
// changes, every copy is edited through the outbox's Edit lane with a
// coalescing key per message, so a burst of clicks costs a few edits and
// the last edit queued — rendered from the database inside the transaction
// that made the change — is the one that stays.
//
// A card is posted before Telegram has given it a message id, so its row
// starts without one; the outbox's fate hook (OnFate) records it and, if
// the event changed in between, queues the edit the card missed.

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

const (
	// cardBudget is the most UTF-16 units of HTML a card may have. Telegram
	// counts 4,096 after entity parsing, which only removes characters, so
	// measuring the HTML keeps well clear of the limit.
	cardBudget = 3800
	// cardMaxNames is the most names the card lists; "Who's going" shows
	// everyone.
	cardMaxNames = 60
	// nameMaxRunes shortens very long display names.
	nameMaxRunes = 40
)

// cardData is everything a card shows, read in one go.
type cardData struct {
	ev        store.Event
	counts    store.RSVPCounts
	going     []store.Attendee
	organizer store.User
}

func (a *App) loadCard(ctx context.Context, q store.Querier, eventID int64) (cardData, bool, error) {
	ev, ok, err := store.GetEvent(ctx, q, eventID)
	if err != nil || !ok {
		return cardData{}, ok, err
	}
	d := cardData{ev: ev}
	if d.counts, err = store.CountRSVPs(ctx, q, eventID); err != nil {
		return cardData{}, false, err
	}
	all, err := store.ListAttendees(ctx, q, eventID)
	if err != nil {
		return cardData{}, false, err
	}
	for _, at := range all {
		if at.Status == store.RSVPGoing {
			d.going = append(d.going, at)
		}
	}
	if d.organizer, _, err = store.GetUser(ctx, q, ev.CreatorID); err != nil {
		return cardData{}, false, err
	}
	d.organizer.ID = ev.CreatorID
	return d, true, nil
}

// personName is how a person is named in lists: display name, plus their
// guests, HTML-escaped.
func personName(u store.User, guests int) string {
	s := esc(tgtext.Shorten(u.DisplayName(), nameMaxRunes))
	if guests > 0 {
		s += " (+" + strconv.Itoa(guests) + ")"
	}
	return s
}

// formatWhen is an event time in lang with weekday and zone.
func (a *App) formatWhen(lang string, ev store.Event) string {
	return a.Catalog.FormatDateTime(lang, ev.StartsAt.In(ev.Zone()))
}

// renderCard writes the card's HTML in lang. It never exceeds cardBudget:
// the list of names is cut to fit, with "and N more".
func (a *App) renderCard(lang string, d cardData) string {
	ev := d.ev
	var b strings.Builder
	if ev.Cancelled() {
		b.WriteString(a.tr(lang, "event_card_cancelled") + "\n<s>" + esc(ev.Title) + "</s>\n")
	} else {
		b.WriteString("<b>" + a.tr(lang, "event_card_title", locales.Args{"Title": ev.Title}) + "</b>\n")
	}
	b.WriteString(a.tr(lang, "event_card_when", locales.Args{"When": a.formatWhen(lang, ev)}) + "\n")
	if ev.Place != "" {
		b.WriteString(a.placeLine(lang, ev) + "\n") // place.go
	}
	if line, ok := a.cardForecastLine(lang, ev.WeatherLine); ok && !ev.Cancelled() {
		b.WriteString(line + "\n")
	}
	if !ev.RSVPDeadline.IsZero() && !ev.Cancelled() {
		b.WriteString(a.tr(lang, "event_card_deadline", locales.Args{
			"Time": a.Catalog.FormatDateTime(lang, ev.RSVPDeadline.In(ev.Zone()))}) + "\n")
	}
	if ev.Description != "" {
		b.WriteString("\n" + esc(ev.Description) + "\n")
	}
	b.WriteString("\n" + a.tr(lang, "event_card_organizer", locales.Args{"Name": d.organizer.DisplayName()}) + "\n")

	counts := []string{}
	if ev.Capacity > 0 {
		counts = append(counts, a.tr(lang, "event_card_going_capacity", locales.Args{"Going": d.counts.GoingSeats, "Capacity": ev.Capacity}))
	} else {
		counts = append(counts, a.tr(lang, "event_card_going", locales.Args{"N": d.counts.GoingSeats}))
	}
	if d.counts.Maybe > 0 {
		counts = append(counts, a.tr(lang, "event_card_maybe", locales.Args{"N": d.counts.Maybe}))
	}
	if d.counts.Waitlist > 0 {
		counts = append(counts, a.tr(lang, "event_card_waitlist", locales.Args{"N": d.counts.WaitlistSeats}))
	}
	b.WriteString(strings.Join(counts, " · "))

	if len(d.going) == 0 {
		if !ev.Cancelled() {
			b.WriteString("\n" + a.tr(lang, "event_card_nobody"))
		}
		return b.String()
	}
	head := b.String() + "\n" + a.tr(lang, "event_card_going_names") + " "
	// Keep room for the longest "and N more" this card could need.
	more := func(n int) string { return a.tr(lang, "event_card_and_more", locales.Args{"Count": n}) }
	budget := cardBudget - tgtext.UTF16Len(head) - tgtext.UTF16Len(", "+more(len(d.going)))
	var names []string
	used := 0
	for i, at := range d.going {
		n := personName(at.User, at.Guests)
		cost := tgtext.UTF16Len(n) + 2
		if i >= cardMaxNames || used+cost > budget {
			break
		}
		names = append(names, n)
		used += cost
	}
	list := strings.Join(names, ", ")
	if rest := len(d.going) - len(names); rest > 0 {
		list += " " + more(rest)
	}
	return head + list
}

// deepLink is the t.me link that opens the bot privately with payload, or
// "" when the bot's username is unknown.
func (a *App) deepLink(payload string) string {
	if a.BotUsername == "" {
		return ""
	}
	return "https://t.me/" + strings.TrimPrefix(a.BotUsername, "@") + "?start=" + payload
}

// eventLink is the deep-link payload that opens ev: its share code, never
// its id (visibility.go).
func eventLink(ev store.Event) string { return "ev_" + ev.ShareCode }

// cardKeyboard is the card's buttons; a cancelled event has none.
func (a *App) cardKeyboard(lang string, ev store.Event) *models.InlineKeyboardMarkup {
	if ev.Cancelled() {
		return nil
	}
	id := strconv.FormatInt(ev.ID, 10)
	cb := func(label, data string) models.InlineKeyboardButton {
		return models.InlineKeyboardButton{Text: a.Catalog.T(lang, label), CallbackData: data}
	}
	rows := [][]models.InlineKeyboardButton{
		{cb("event_btn_going", "rsvp:"+id+":go"), cb("event_btn_maybe", "rsvp:"+id+":maybe"), cb("event_btn_decline", "rsvp:"+id+":no")},
		{cb("event_btn_plus", "rsvp:"+id+":plus"), cb("event_btn_minus", "rsvp:"+id+":minus")},
		{cb("event_btn_calendar", "ev:"+id+":ics"), cb("event_btn_who", "ev:"+id+":who")},
	}
	if ev.Point != nil { // place.go
		rows[2] = append(rows[2], cb("place_btn_venue", "ev:"+id+":venue"))
	}
	last := []models.InlineKeyboardButton{}
	if link := a.deepLink(eventLink(ev)); link != "" {
		share := "https://t.me/share/url?url=" + url.QueryEscape(link) + "&text=" + url.QueryEscape(tgtext.Shorten(ev.Title, 100))
		last = append(last, models.InlineKeyboardButton{Text: a.Catalog.T(lang, "event_btn_share"), URL: share})
	}
	last = append(last, cb("event_btn_manage", "evm:"+id))
	rows = append(rows, last)
	return &models.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// postCard posts a new copy of an event's card in chatID, in lang.
func (a *App) postCard(ctx context.Context, tx *sql.Tx, eventID, chatID int64, lang string) error {
	return a.postCardKeyed(ctx, tx, eventID, chatID, lang, "")
}

// postCardKeyed is postCard with an outbox dedup key: a copy that must be
// posted at most once (a re-post after a migration) says so, and tools that
// audit the outbox can tell it from a second answer to one update.
func (a *App) postCardKeyed(ctx context.Context, tx *sql.Tx, eventID, chatID int64, lang, dedupKey string) error {
	d, ok, err := a.loadCard(ctx, tx, eventID)
	if err != nil || !ok {
		return err
	}
	cardID, err := store.AddEventCard(ctx, tx, store.EventCard{EventID: eventID, ChatID: chatID, Lang: lang, Version: d.ev.Version}, a.now(ctx))
	if err != nil {
		return err
	}
	p := htmlMessage(chatID, a.renderCard(lang, d), a.cardKeyboard(lang, d.ev))
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "sendMessage", Params: p, Lane: outbox.Interactive,
		Ref: "card:" + strconv.FormatInt(cardID, 10), DedupKey: dedupKey})
	return err
}

// RefreshEventCards queues an edit of every posted copy of the event's
// card that is behind the event, inside tx. Whoever changes what a card
// shows (RSVPs, edits, the forecast line) calls it in the same transaction.
func (a *App) RefreshEventCards(ctx context.Context, tx *sql.Tx, eventID int64) error {
	d, ok, err := a.loadCard(ctx, tx, eventID)
	if err != nil || !ok {
		return err
	}
	cards, err := store.EventCards(ctx, tx, eventID)
	if err != nil {
		return err
	}
	rendered := map[string]string{}
	for _, c := range cards {
		if err := a.editCard(ctx, tx, d, c, rendered); err != nil {
			return err
		}
	}
	return a.refreshInlineCards(ctx, tx, d, rendered) // inline.go
}

// editCard queues the edit of one card copy if it is behind. rendered
// caches card texts by language across copies.
func (a *App) editCard(ctx context.Context, tx *sql.Tx, d cardData, c store.EventCard, rendered map[string]string) error {
	if c.MessageID == 0 || c.Version >= d.ev.Version {
		return nil // not posted yet (OnFate catches up), or up to date
	}
	lang := a.chatLangOr(ctx, tx, c.ChatID, c.Lang)
	text, ok := rendered[lang]
	if !ok {
		text = a.renderCard(lang, d)
		rendered[lang] = text
	}
	p := &tg.EditMessageTextParams{ChatID: c.ChatID, MessageID: c.MessageID, Text: text, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
	if kb := a.cardKeyboard(lang, d.ev); kb != nil {
		p.ReplyMarkup = kb
	}
	if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: c.ChatID, Method: "editMessageText", Params: p, Lane: outbox.Edit,
		CoalesceKey: fmt.Sprintf("card:%d:%d", c.ChatID, c.MessageID)}); err != nil {
		return err
	}
	return store.SetEventCardVersion(ctx, tx, c.ID, d.ev.Version)
}

// MigrationRepostKey prefixes the outbox dedup key of a card posted again
// after its group became a supergroup ("repost:<event>:<chat>").
const MigrationRepostKey = "repost:"

// OnMigrated is the outbox's hook for a group that became a supergroup:
// the supergroup's copies of the group's messages have other ids, so the
// cards of upcoming events are posted again there (and the old copies
// forgotten) in the transaction that records the migration.
func (a *App) OnMigrated(ctx context.Context, tx *sql.Tx, from, to int64) error {
	ctx = a.atInstant(ctx) // one instant for the transaction
	cards, err := store.PostedCardsInChat(ctx, tx, to, a.now(ctx))
	if err != nil {
		return err
	}
	seen, posted := map[int64]bool{}, map[int64]bool{}
	for _, c := range cards {
		if seen[c.EventID] {
			continue // one fresh copy per event
		}
		seen[c.EventID] = true
		key := fmt.Sprintf("%s%d:%d", MigrationRepostKey, c.EventID, to)
		done, err := outbox.Queued(ctx, tx, key)
		if err != nil {
			return err
		}
		if done {
			continue // posted again by an earlier call: its copy is a supergroup message
		}
		// The old copies cannot be edited any more. A copy still on its
		// way (no message id yet) is being sent to the supergroup now: it
		// is the fresh copy, and stays.
		pending, err := store.ForgetPostedEventCards(ctx, tx, c.EventID, to)
		if err != nil {
			return err
		}
		if pending {
			continue
		}
		if err := a.postCardKeyed(ctx, tx, c.EventID, to, a.chatLangOr(ctx, tx, c.ChatID, c.Lang), key); err != nil {
			return err
		}
		posted[c.EventID] = true
	}
	if len(posted) > 0 {
		a.Logger.Info("group migrated; event cards posted again", "from", from, "to", to, "cards", len(posted))
	}
	return nil
}

// OnFate is the outbox's fate hook (outbox.Config.OnFate): it runs in the
// transaction that records what became of a message enqueued with a
// reference. References:
//
//	card:<event_cards.id>  a posted event card, once sent: record its
//	                       message id and, if the event changed since it
//	                       was rendered, queue the edit it missed.
//	reminder               a private reminder (scheduler.ReminderFate).
//	signup:<event id>      a private sign-up question (signupFate).
//	poll:<polls.id>        a poll card, once sent: record its message id
//	                       and queue the edit it missed (poll.go).
//
// Unknown references are ignored.
func (a *App) OnFate(ctx context.Context, tx *sql.Tx, f outbox.Fate) error {
	if err := scheduler.ReminderFate(ctx, tx, f); err != nil {
		return err
	}
	if err := a.signupFate(ctx, tx, f); err != nil {
		return err
	}
	if f.State == outbox.StateSent {
		return a.OnSent(ctx, tx, f.Ref, f.ChatID, f.MessageID)
	}
	return nil
}

// OnSent is OnFate for a sent message.
func (a *App) OnSent(ctx context.Context, tx *sql.Tx, ref string, chatID int64, messageID int) error {
	ctx = a.atInstant(ctx) // one instant for the transaction
	kind, rest, _ := strings.Cut(ref, ":")
	switch kind {
	case "card":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || messageID == 0 {
			return nil
		}
		c, ok, err := store.GetEventCard(ctx, tx, id)
		if err != nil || !ok {
			return err // a card forgotten meanwhile (a newer copy replaced it)
		}
		if err := store.SetEventCardMessage(ctx, tx, id, chatID, messageID); err != nil {
			return err
		}
		c.ChatID, c.MessageID = chatID, messageID
		d, ok, err := a.loadCard(ctx, tx, c.EventID)
		if err != nil || !ok {
			return err
		}
		return a.editCard(ctx, tx, d, c, map[string]string{})
	case "poll": // a poll card (poll.go)
		return a.pollSent(ctx, tx, rest, messageID)
	}
	return nil
}
