package handlers

// Inline sharing: typing @<bot> in any chat lists the user's upcoming
// events — those they organise and those they answered Going or Maybe
// (waitlisted included) — filtered by what they type, and posting one puts
// the real card, with its RSVP buttons, into that chat.
//
//   - The answer (answerInlineQuery) is queued on the outbox's Interactive
//     lane under the asker's id, paced by the global limit only (outbox
//     doc): never behind bulk sends. It is personal (is_personal) and
//     cached 5 s, so an RSVP made a moment ago shows at the next keystroke.
//     An empty query, or one that matches nothing, also offers "Create an
//     event" above the results (the button's /start payload "new" starts
//     /event in the private chat).
//   - A posted card is a copy like those in chats (store.InlineCard, known
//     by its inline_message_id from chosen_inline_result): every change to
//     the event edits it through the outbox (editMessageText with
//     inline_message_id, key outbox.InlineChat, coalesced per message).
//     Its keyboard is the card's buttons that work from any chat: the
//     answers, guests, calendar file and "Who's going" (the last two answer
//     privately, like on any card). Manage and Share are left out: the bot
//     cannot write into the chat the card is in.
//   - Visibility (visibility.go) applies: only events the asker may see are
//     listed, and a chosen result is recorded only if its event still is.
//     A press on an inline card counts when the message is a recorded copy
//     of that event's card; a copy not recorded (inline feedback off: see
//     below) counts for someone who may see the event, and is recorded by
//     that press, so it is kept up to date from then on. Anyone else gets
//     "this copy can't take answers" — the same for an event that does not
//     exist, so ids cannot be probed.
//
// Inline feedback (BotFather /setinlinefeedback) decides whether Telegram
// sends chosen_inline_result. With it off the card still posts, with
// working buttons for those who may see the event, but its text stays as
// it was when posted until such a press records it. The card does not say
// so: its text is the same card everywhere, and the README tells operators
// to set feedback to 100 %.

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

const (
	// inlineMaxResults is the most events one answer lists (Telegram
	// allows 50; each result carries a whole card).
	inlineMaxResults = 20
	// inlineScan is how many upcoming events are read to filter.
	inlineScan = 200
	// inlineCacheTime is how long (seconds) Telegram may reuse an answer.
	inlineCacheTime = 5
	// inlineMaxTerms bounds the words a query is matched by.
	inlineMaxTerms = 8
	// newEventPayload is the /start payload of "Create an event".
	newEventPayload = "new"
)

// registerInline registers inline mode and its /start payload.
func (e *events) registerInline() {
	e.router.InlineQuery(e.inlineQuery)
	e.router.ChosenInlineResult(e.chosenInline)
	e.deepLinks[newEventPayload] = e.newEventLink
}

// parseInlineQuery turns what the user typed after @bot into the words an
// event must contain (lower-cased; at most inlineMaxTerms, each valid
// UTF-8). No words: every event matches.
func parseInlineQuery(q string) []string {
	q = strings.ToLower(strings.ToValidUTF8(q, ""))
	var terms []string
	for _, w := range strings.Fields(q) {
		if len(terms) == inlineMaxTerms {
			break
		}
		terms = append(terms, w)
	}
	return terms
}

// inlineMatches reports whether ev contains every term, in its title or
// its place.
func inlineMatches(ev store.Event, terms []string) bool {
	hay := strings.ToLower(ev.Title + "\n" + ev.Place)
	for _, t := range terms {
		if !strings.Contains(hay, t) {
			return false
		}
	}
	return true
}

// inlineResultID names a result: the event and the version its card shows
// ("ev:42:7"), so a chosen result records which version is in the chat.
func inlineResultID(ev store.Event) string {
	return "ev:" + strconv.FormatInt(ev.ID, 10) + ":" + strconv.FormatInt(ev.Version, 10)
}

// parseInlineResultID reads inlineResultID; ok is false for anything else.
func parseInlineResultID(s string) (id, version int64, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] != "ev" {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	version, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || version < 0 {
		return 0, 0, false
	}
	return id, version, true
}

// inlineQuery answers @bot <text>: the asker's matching upcoming events.
func (e *events) inlineQuery(ctx context.Context, u *bot.Update) error {
	q := u.InlineQuery
	lang := e.userLang(ctx, u)
	terms := parseInlineQuery(q.Query)
	evs, err := store.ShareableEvents(ctx, e.DB.R, u.UserID, e.now(ctx), inlineScan)
	if err != nil {
		return err
	}
	results := []any{}
	for _, ev := range evs {
		if len(results) == inlineMaxResults {
			break
		}
		// ShareableEvents lists only events the person organises or
		// answered: each one they may see (visibility.go), no check more.
		if !inlineMatches(ev, terms) {
			continue
		}
		d, ok, err := e.loadCard(ctx, e.DB.R, ev.ID)
		if err != nil {
			return err
		}
		if ok {
			results = append(results, e.inlineResult(lang, d))
		}
	}
	params := map[string]any{"inline_query_id": q.ID, "results": results, "cache_time": inlineCacheTime, "is_personal": true}
	if len(terms) == 0 || len(results) == 0 {
		params["button"] = map[string]any{"text": e.Catalog.T(lang, "inline_create_event"), "start_parameter": newEventPayload}
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.UserID, Method: "answerInlineQuery", Params: params, Lane: outbox.Interactive})
		return err
	})
}

// inlineResult is one InlineQueryResultArticle: the event's card, ready
// to post.
func (e *events) inlineResult(lang string, d cardData) map[string]any {
	desc := e.formatWhen(lang, d.ev)
	if d.ev.Place != "" {
		desc += " · " + d.ev.Place
	}
	r := map[string]any{
		"type":        "article",
		"id":          inlineResultID(d.ev),
		"title":       tgtext.Shorten(d.ev.Title, 100),
		"description": tgtext.Shorten(desc, 200),
		"input_message_content": map[string]any{
			"message_text":         e.renderCard(lang, d),
			"parse_mode":           "HTML",
			"link_preview_options": map[string]any{"is_disabled": true},
		},
	}
	if kb := e.inlineKeyboard(lang, d.ev); kb != nil {
		r["reply_markup"] = kb
	}
	return r
}

// inlineKeyboard is the card's keyboard for an inline copy: the card's
// buttons that work from any chat (callbacks "rsvp:" and "ev:"), as wire
// JSON built here — never through go-telegram/bot's button struct, which
// would add an empty copy_text. nil for a card without buttons.
func (a *App) inlineKeyboard(lang string, ev store.Event) map[string]any {
	kb := a.cardKeyboard(lang, ev)
	if kb == nil {
		return nil
	}
	rows := [][]map[string]any{}
	for _, row := range kb.InlineKeyboard {
		var out []map[string]any
		for _, b := range row {
			if inlineButton(b) {
				out = append(out, map[string]any{"text": b.Text, "callback_data": b.CallbackData})
			}
		}
		if len(out) > 0 {
			rows = append(rows, out)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return map[string]any{"inline_keyboard": rows}
}

// inlineButton reports whether a card button works on an inline copy.
func inlineButton(b models.InlineKeyboardButton) bool {
	return strings.HasPrefix(b.CallbackData, "rsvp:") || strings.HasPrefix(b.CallbackData, "ev:")
}

// chosenInline records a posted inline card (inline feedback on), and
// brings it up to date if the event changed since the answer was made.
func (e *events) chosenInline(ctx context.Context, u *bot.Update) error {
	r := u.ChosenInlineResult
	id, version, ok := parseInlineResultID(r.ResultID)
	if !ok || r.InlineMessageID == "" || !utf8.ValidString(r.InlineMessageID) {
		return e.commit(ctx, u, nil)
	}
	ev, ok, err := e.visibleEvent(ctx, u, id)
	if err != nil {
		return err
	}
	if !ok {
		return e.commit(ctx, u, nil)
	}
	if version > ev.Version {
		version = 0 // not a version we rendered: edit it to the current card
	}
	lang := e.userLang(ctx, u)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		c := store.InlineCard{EventID: id, InlineMessageID: r.InlineMessageID, UserID: u.UserID, Lang: lang, Version: version}
		added, err := store.AddInlineCard(ctx, tx, c, e.now(ctx))
		if err != nil || !added {
			return err // recorded already (a press came first)
		}
		c, _, err = store.FindInlineCard(ctx, tx, r.InlineMessageID)
		if err != nil {
			return err
		}
		d, ok, err := e.loadCard(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		return e.editInlineCard(ctx, tx, d, c, map[string]string{})
	})
}

// adoptInlineCard records the inline message a press came from as a copy
// of the event's card if it is not one yet (inline feedback off). The
// press has passed cardPress: the presser may see the event. Its version
// is 0, so the refresh that follows the press edits it to the current
// card.
func (e *events) adoptInlineCard(ctx context.Context, tx *sql.Tx, eventID int64, u *bot.Update) error {
	_, err := store.AddInlineCard(ctx, tx, store.InlineCard{EventID: eventID, InlineMessageID: u.CallbackQuery.InlineMessageID,
		UserID: u.UserID, Lang: e.userLang(ctx, u)}, e.now(ctx))
	return err
}

// refreshInlineCards queues the edit of every inline copy of the card that
// is behind the event (RefreshEventCards calls it). rendered caches card
// texts by language across copies.
func (a *App) refreshInlineCards(ctx context.Context, tx *sql.Tx, d cardData, rendered map[string]string) error {
	cards, err := store.InlineCards(ctx, tx, d.ev.ID)
	if err != nil {
		return err
	}
	for _, c := range cards {
		if err := a.editInlineCard(ctx, tx, d, c, rendered); err != nil {
			return err
		}
	}
	return nil
}

// editInlineCard queues the edit of one inline copy if it is behind.
func (a *App) editInlineCard(ctx context.Context, tx *sql.Tx, d cardData, c store.InlineCard, rendered map[string]string) error {
	if c.Version >= d.ev.Version {
		return nil
	}
	lang := a.Catalog.Resolve(c.Lang)
	text, ok := rendered[lang]
	if !ok {
		text = a.renderCard(lang, d)
		rendered[lang] = text
	}
	p := map[string]any{"inline_message_id": c.InlineMessageID, "text": text, "parse_mode": "HTML",
		"link_preview_options": map[string]any{"is_disabled": true}}
	if kb := a.inlineKeyboard(lang, d.ev); kb != nil {
		p["reply_markup"] = kb
	}
	if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: outbox.InlineChat, Method: "editMessageText", Params: p,
		Lane: outbox.Edit, CoalesceKey: "inline:" + c.InlineMessageID}); err != nil {
		return err
	}
	return store.SetInlineCardVersion(ctx, tx, c.ID, d.ev.Version)
}

// newEventLink is t.me/<bot>?start=new ("Create an event" above inline
// results): /event's step-by-step creation, in the private chat.
func (e *events) newEventLink(ctx context.Context, u *bot.Update, _ string) error {
	u.Command, u.Args = "event", ""
	return e.event(ctx, u)
}
