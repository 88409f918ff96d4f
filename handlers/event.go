package handlers

// Creating events. "/event Board games | 2026-12-05 19:00 | Cafe Central |
// 12" creates one in a single message; "/event" alone starts a
// step-by-step conversation (title, when, where, capacity, description)
// that ends with a preview of the card and Post / Edit / Cancel buttons.
// The conversation is the "event_create" flow: each answer and the next
// question commit together, so a restart resumes at the same step.
//
// The other event files: event_card.go (the card and keeping every copy
// current), rsvp.go (the RSVP buttons, waitlist promotion, "who's going"),
// ics.go (calendar files), export.go (/export, the attendee CSV),
// events_list.go (/events, /myevents),
// event_manage.go (edit and cancel), when.go (date parsing).
//
// Buttons carry only ids and an action; the person acting is always the
// one who pressed, and every action re-reads the event and re-checks the
// rights, so a stale or forged button changes nothing:
//
//	rsvp:<event>:go|maybe|no|plus|minus   answer, bring one guest more or fewer
//	ev:<event>:ics|who|venue              calendar file, everyone's answers, the
//	                                      place as a venue (place.go)
//	evm:<event>[:<action>]                manage menu; title|when|where|capacity|
//	                                      description|deadline|newlink|export|copy|cancel|cancelyes|keep
//	evc:post|edit|cancel, evc:f:<field>   the presser's own draft in this chat
//
// Deep links (t.me/<bot>?start=...) carry the event's share code, never
// its id: ev_<code> opens the card privately, evw_<code> sends the
// answers, evi_<code> the calendar file, evm_<code> the manage menu,
// evx_<code> the attendee export (export.go), evp_<code> the place as a
// venue (place.go); the last five are where a button sends someone who
// has not started the bot yet. Who may see an event, press its buttons or
// name it by number is decided in visibility.go.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// Limits on what people type, in characters.
const (
	maxTitleLen       = 200
	maxPlaceLen       = 300
	maxDescriptionLen = 1000
	maxCapacity       = 100000
)

// events holds the event handlers and what they share: the date parser,
// built once (its rules compile regular expressions).
type events struct {
	*App
	when *whenParser
}

// registerEvents registers commands, buttons, conversations and deep
// links of the events feature.
func (a *App) registerEvents() {
	e := &events{App: a, when: newWhenParser()}
	a.router.Command("event", e.event)
	a.router.Command("events", e.list)
	a.router.Command("myevents", e.myEvents)
	a.router.Command("editevent", e.editCommand)
	a.router.Command("cancelevent", e.cancelCommand)
	a.router.Command("export", e.exportCommand)
	a.router.Callback("rsvp", e.rsvpButton)
	a.router.Callback("ev", e.eventButton)
	a.router.Callback("evm", e.manageButton)
	a.router.Callback("evc", e.draftButton)
	a.registerFlow(&flow{name: "event_create", steps: map[string]stepFunc{
		"title":       e.draftTitle,
		"when":        e.draftWhen,
		"where":       e.draftWhere,
		"capacity":    e.draftCapacity,
		"description": e.draftDescription,
		"question":    e.draftQuestion,
		"confirm":     e.draftConfirm,
	}})
	a.registerFlow(&flow{name: "event_edit", steps: map[string]stepFunc{"value": e.editAnswer}, guard: e.mayEditGuard})
	a.deepLinks["ev"] = e.openLink
	a.deepLinks["evw"] = e.whoLink
	a.deepLinks["evi"] = e.calendarLink
	a.deepLinks["evm"] = e.manageLink
	a.deepLinks["evx"] = e.exportLink
	e.registerInline() // inline.go
	e.registerSignup()
	a.deepLinks["evp"] = e.venueLink // place.go
	a.registerPolls(e)               // poll.go
}

// eventLine is a parsed one-line /event.
type eventLine struct {
	Title, When, Place string
	Capacity           int // 0: no limit
}

// Why a one-line /event was refused.
var (
	errTitleEmpty     = errors.New("empty title")
	errTitleTooLong   = errors.New("title too long")
	errWhenMissing    = errors.New("no date")
	errPlaceTooLong   = errors.New("place too long")
	errDescTooLong    = errors.New("description too long")
	errCapacity       = errors.New("capacity is not a positive number")
	errTooManyFields  = errors.New("too many fields")
	errNotEventNumber = errors.New("not an event number")
)

// oneLine collapses white space (newlines included) to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ") }

// parseEventLine splits "title | when | where | capacity"; where and
// capacity may be left out (an empty capacity is no limit). The date is
// not interpreted here.
func parseEventLine(s string) (eventLine, error) {
	parts := strings.Split(s, "|")
	if len(parts) > 4 {
		return eventLine{}, errTooManyFields
	}
	for i := range parts {
		parts[i] = oneLine(parts[i])
	}
	var l eventLine
	var err error
	if l.Title, err = checkTitle(parts[0]); err != nil {
		return eventLine{}, err
	}
	if len(parts) < 2 || parts[1] == "" {
		return eventLine{}, errWhenMissing
	}
	l.When = parts[1]
	if len(parts) > 2 {
		if l.Place, err = checkPlace(parts[2]); err != nil {
			return eventLine{}, err
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		if l.Capacity, err = parseCapacity(parts[3]); err != nil {
			return eventLine{}, err
		}
	}
	return l, nil
}

func checkTitle(s string) (string, error) {
	s = oneLine(s)
	switch {
	case invisible(s):
		return "", errTitleEmpty
	case utf8.RuneCountInString(s) > maxTitleLen:
		return "", errTitleTooLong
	}
	return s, nil
}

func checkPlace(s string) (string, error) {
	s = oneLine(s)
	if utf8.RuneCountInString(s) > maxPlaceLen {
		return "", errPlaceTooLong
	}
	return s, nil
}

func checkDescription(s string) (string, error) {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > maxDescriptionLen {
		return "", errDescTooLong
	}
	return s, nil
}

// parseCapacity accepts a whole number of places from 1 to maxCapacity.
func parseCapacity(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > maxCapacity {
		return 0, errCapacity
	}
	return n, nil
}

// parseEventID reads "42" or "#42".
func parseEventID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotEventNumber
	}
	return id, nil
}

// isSkip reports whether an answer means "leave this empty": "-", or the
// word for "skip" in any language.
func (a *App) isSkip(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "-" || s == "—" || s == "–" {
		return true
	}
	for _, l := range a.Catalog.Languages() {
		if s == strings.ToLower(a.Catalog.T(l, "event_skip_word")) {
			return true
		}
	}
	return false
}

// exampleWhen is a date a week ahead in the form people should copy.
func (a *App) exampleWhen(ctx context.Context, loc *time.Location) string {
	return a.now(ctx).In(loc).AddDate(0, 0, 7).Format("2006-01-02") + " 19:00"
}

// fieldError explains a refused field, with an example of what works.
func (a *App) fieldError(ctx context.Context, lang string, err error, loc *time.Location) string {
	ex := locales.Args{"Example": a.exampleWhen(ctx, loc), "Max": maxTitleLen}
	switch {
	case errors.Is(err, errTitleEmpty):
		return a.tr(lang, "event_err_title_empty")
	case errors.Is(err, errTitleTooLong):
		return a.tr(lang, "event_err_title_long", ex)
	case errors.Is(err, errPlaceTooLong):
		return a.tr(lang, "event_err_place_long", locales.Args{"Max": maxPlaceLen})
	case errors.Is(err, errDescTooLong):
		return a.tr(lang, "event_err_description_long", locales.Args{"Max": maxDescriptionLen})
	case errors.Is(err, errCapacity):
		return a.tr(lang, "event_err_capacity")
	case errors.Is(err, errWhenMissing), errors.Is(err, errTooManyFields):
		return a.tr(lang, "event_usage", ex)
	case errors.Is(err, errRecurring):
		return a.recurringNotSupported(ctx, lang, loc)
	case errors.Is(err, errWhenNoTime):
		return a.tr(lang, "event_err_when_no_time", ex)
	case errors.Is(err, errWhenPast):
		return a.tr(lang, "event_err_when_past", ex)
	case errors.Is(err, errWhenTooFar):
		return a.tr(lang, "event_err_when_far", ex)
	case errors.Is(err, errWhenYear):
		return a.tr(lang, "event_err_when_year", ex)
	}
	return a.tr(lang, "event_err_when", ex)
}

// recurringNotSupported answers a schedule given as <when>. Recurring
// series are their own feature: this is where it hooks in.
func (a *App) recurringNotSupported(ctx context.Context, lang string, loc *time.Location) string {
	return a.tr(lang, "event_err_recurring", locales.Args{"Example": a.exampleWhen(ctx, loc)})
}

// event creates an event from one line, or starts the conversation.
func (e *events) event(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	loc := e.chatTZ(ctx, e.DB.R, u.ChatID)
	if strings.TrimSpace(u.Args) == "" {
		return e.startConversation(ctx, u, "event_create", "title", map[string]string{},
			e.tr(lang, "event_intro")+"\n\n"+e.tr(lang, "event_ask_title"), nil)
	}
	if args, ok := copyArgs(u.Args); ok {
		return e.copyCommand(ctx, u, args) // place.go
	}
	line, err := parseEventLine(u.Args)
	var start time.Time
	if err == nil {
		start, err = e.when.parse(line.When, e.now(ctx), loc, lang)
	}
	if errors.Is(err, errRecurring) {
		return e.createSeries(ctx, u, line, lang, loc) // series.go
	}
	if err != nil {
		msg := e.fieldError(ctx, lang, err, loc)
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, msg, nil) })
	}
	ev := store.Event{ChatID: u.ChatID, CreatorID: u.UserID, Title: line.Title, Place: line.Place,
		StartsAt: start, Timezone: loc.String(), Capacity: line.Capacity}
	cardLang := e.chatLang(ctx, u)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		id, err := store.CreateEvent(ctx, tx, ev, e.now(ctx))
		if err != nil {
			return err
		}
		return e.postCard(ctx, tx, id, u.ChatID, cardLang)
	})
}

// The conversation. Its data: title, start (Unix ms), tz, place (with
// lat, lon, venue_title, venue_address for a place from the map),
// capacity, description, and back = "confirm" while changing one field
// from the preview; a copy adds reminders, chat and copy_of (place.go).

func (e *events) draftZone(c *convo) *time.Location {
	return store.ZoneOr(c.Data["tz"], time.UTC)
}

// next moves to step, or back to the preview when editing one field.
func (e *events) next(ctx context.Context, u *bot.Update, c *convo, step string) (stepResult, error) {
	if c.Data["back"] == "confirm" {
		delete(c.Data, "back")
		return e.toConfirm(ctx, u, c)
	}
	return stepResult{Next: step, Reply: e.ask(ctx, c, step)}, nil
}

// ask is the question of a step, with the current value when editing.
func (e *events) ask(ctx context.Context, c *convo, step string) string {
	lang := c.lang
	var q string
	switch step {
	case "title":
		q = e.tr(lang, "event_ask_title")
	case "when":
		q = e.tr(lang, "event_ask_when", locales.Args{"Example": e.exampleWhen(ctx, e.draftZone(c)), "Zone": e.draftZone(c).String()})
	case "where":
		q = e.tr(lang, "event_ask_where", locales.Args{"Skip": e.Catalog.T(lang, "event_skip_word")}) +
			"\n" + e.tr(lang, "place_ask_map_hint")
	case "capacity":
		q = e.tr(lang, "event_ask_capacity", locales.Args{"Skip": e.Catalog.T(lang, "event_skip_word")})
	case "description":
		q = e.tr(lang, "event_ask_description", locales.Args{"Skip": e.Catalog.T(lang, "event_skip_word")})
	case "question":
		q = e.tr(lang, "signup_ask_question", locales.Args{"Skip": e.Catalog.T(lang, "event_skip_word")})
	}
	return q
}

func (e *events) draftTitle(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	title, err := checkTitle(text)
	if err != nil {
		return stepResult{Next: "title", Reply: e.fieldError(ctx, c.lang, err, time.UTC)}, nil
	}
	c.Data["title"] = title
	if c.Data["tz"] == "" {
		c.Data["tz"] = e.chatTZ(ctx, e.DB.R, u.ChatID).String()
	}
	return e.next(ctx, u, c, "when")
}

func (e *events) draftWhen(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	loc := e.draftZone(c)
	start, err := e.when.parse(text, e.now(ctx), loc, c.lang)
	if err != nil {
		return stepResult{Next: "when", Reply: e.fieldError(ctx, c.lang, err, loc)}, nil
	}
	c.Data["start"] = strconv.FormatInt(store.Millis(start), 10)
	return e.next(ctx, u, c, "where")
}

func (e *events) draftWhere(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	if mp, ok := placeFromMessage(u.Msg()); ok {
		setDraftPlace(c, mp.text, &mp)
		return e.next(ctx, u, c, "capacity")
	}
	if badMapPlace(u.Msg()) {
		return stepResult{Next: "where", Reply: e.tr(c.lang, "place_bad_point")}, nil
	}
	place := ""
	if !e.isSkip(text) {
		var err error
		if place, err = checkPlace(text); err != nil {
			return stepResult{Next: "where", Reply: e.fieldError(ctx, c.lang, err, time.UTC)}, nil
		}
	}
	setDraftPlace(c, place, nil)
	return e.next(ctx, u, c, "capacity")
}

func (e *events) draftCapacity(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	capacity := 0
	if !e.isSkip(text) {
		var err error
		if capacity, err = parseCapacity(text); err != nil {
			return stepResult{Next: "capacity", Reply: e.tr(c.lang, "event_err_capacity_skip",
				locales.Args{"Skip": e.Catalog.T(c.lang, "event_skip_word")})}, nil
		}
	}
	c.Data["capacity"] = strconv.Itoa(capacity)
	return e.next(ctx, u, c, "description")
}

func (e *events) draftDescription(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	desc := ""
	if !e.isSkip(text) {
		var err error
		if desc, err = checkDescription(text); err != nil {
			return stepResult{Next: "description", Reply: e.fieldError(ctx, c.lang, err, time.UTC)}, nil
		}
	}
	c.Data["description"] = desc
	return e.next(ctx, u, c, "question")
}

// draftQuestion is the optional sign-up question (signup.go).
func (e *events) draftQuestion(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	question, problem := e.parseQuestion(c.lang, text)
	if problem != "" {
		return stepResult{Next: "question", Reply: problem}, nil
	}
	c.Data["question"] = question
	delete(c.Data, "back")
	return e.toConfirm(ctx, u, c)
}

// draftEvent is the event a conversation describes.
func (e *events) draftEvent(u *bot.Update, c *convo) store.Event {
	ms, _ := strconv.ParseInt(c.Data["start"], 10, 64)
	capacity, _ := strconv.Atoi(c.Data["capacity"])
	ev := store.Event{ChatID: draftChat(u, c), CreatorID: u.UserID, Title: c.Data["title"],
		Description: c.Data["description"], StartsAt: store.FromMillis(ms), Timezone: e.draftZone(c).String(),
		Capacity: capacity, Status: store.EventActive, ReminderOffsets: c.Data["reminders"]}
	draftPlace(c, &ev)
	return ev
}

// toConfirm shows the card as it will look, with Post / Edit / Cancel.
func (e *events) toConfirm(ctx context.Context, u *bot.Update, c *convo) (stepResult, error) {
	preview := e.preview(ctx, u, c)
	return stepResult{Next: "confirm", Effects: func(tx *sql.Tx) error {
		return e.reply(ctx, tx, u, preview, e.confirmKeyboard(c.lang))
	}}, nil
}

func (e *events) preview(ctx context.Context, u *bot.Update, c *convo) string {
	d := cardData{ev: e.draftEvent(u, c)}
	if su, ok, _ := store.GetUser(ctx, e.DB.R, u.UserID); ok {
		d.organizer = su
	} else if f := u.From(); f != nil {
		d.organizer = store.User{ID: f.ID, FirstName: f.FirstName, LastName: f.LastName, Username: f.Username}
	}
	preview := e.tr(c.lang, "event_preview") + "\n\n" + e.renderCard(c.lang, d)
	if q := c.Data["question"]; q != "" {
		preview += "\n\n" + e.tr(c.lang, "signup_preview", locales.Args{"Question": q})
	}
	return preview
}

func (e *events) confirmKeyboard(lang string) *models.InlineKeyboardMarkup {
	return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
		{Text: e.Catalog.T(lang, "event_btn_post"), CallbackData: "evc:post"},
		{Text: e.Catalog.T(lang, "event_btn_edit"), CallbackData: "evc:edit"},
		{Text: e.Catalog.T(lang, "event_btn_cancel"), CallbackData: "evc:cancel"},
	}}}
}

// draftConfirm: a typed answer at the preview points at the buttons.
func (e *events) draftConfirm(ctx context.Context, u *bot.Update, c *convo, _ string) (stepResult, error) {
	preview := e.preview(ctx, u, c)
	return stepResult{Next: "confirm", Effects: func(tx *sql.Tx) error {
		return e.reply(ctx, tx, u, e.tr(c.lang, "event_use_buttons")+"\n\n"+preview, e.confirmKeyboard(c.lang))
	}}, nil
}

// draftButton handles the preview's buttons ("evc:post", "evc:edit",
// "evc:cancel") and the field picker ("evc:f:<step>"). The draft is the
// presser's own conversation in this chat, so nobody can post someone
// else's.
func (e *events) draftButton(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	cq := u.CallbackQuery
	stale := func() error {
		return e.answerToast(ctx, u, lang, "event_draft_stale", false)
	}
	conv, ok, err := store.GetConversation(ctx, e.DB.R, u.ChatID, u.UserID)
	if err != nil {
		return err
	}
	if !ok || conv.Flow != "event_create" || e.now(ctx).After(conv.ExpiresAt) {
		return stale()
	}
	c := &convo{Step: conv.Step, Data: map[string]string{}, lang: lang}
	if err := json.Unmarshal([]byte(conv.Data), &c.Data); err != nil {
		return err
	}
	if c.Data == nil { // a conversation saved without data holds "null"
		c.Data = map[string]string{}
	}
	action, field, _ := strings.Cut(strings.TrimPrefix(cq.Data, "evc:"), ":")
	switch action {
	case "post":
		if conv.Step != "confirm" {
			return stale()
		}
		return e.postDraft(ctx, u, c)
	case "edit":
		if conv.Step != "confirm" {
			return stale()
		}
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			if err := e.toast(ctx, tx, u, "", false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, e.tr(lang, "event_edit_which"), e.draftFieldsKeyboard(lang))
		})
	case "f":
		switch field {
		case "title", "when", "where", "capacity", "description", "question":
		default:
			return stale()
		}
		c.Data["back"] = "confirm"
		ask := e.ask(ctx, c, field)
		if cur := e.currentDraftValue(lang, c, field); cur != "" {
			ask += "\n" + e.tr(lang, "event_current_value", locales.Args{"Value": cur})
		}
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			if err := e.saveConvo(ctx, tx, u, "event_create", field, c.Data); err != nil {
				return err
			}
			if err := e.toast(ctx, tx, u, "", false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, ask, nil)
		})
	case "cancel":
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
				return err
			}
			if err := e.toast(ctx, tx, u, e.Catalog.T(lang, "cancel_done"), false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, e.tr(lang, "event_draft_discarded"), nil)
		})
	}
	return stale()
}

func (e *events) currentDraftValue(lang string, c *convo, field string) string {
	switch field {
	case "title":
		return c.Data["title"]
	case "when":
		if ms, err := strconv.ParseInt(c.Data["start"], 10, 64); err == nil && ms > 0 {
			return e.Catalog.FormatDateTime(lang, store.FromMillis(ms).In(e.draftZone(c)))
		}
	case "where":
		return c.Data["place"]
	case "capacity":
		if c.Data["capacity"] != "" && c.Data["capacity"] != "0" {
			return c.Data["capacity"]
		}
	case "description":
		return tgtext.Shorten(c.Data["description"], 100)
	case "question":
		return c.Data["question"]
	}
	return ""
}

func (e *events) draftFieldsKeyboard(lang string) *models.InlineKeyboardMarkup {
	b := func(label, field string) models.InlineKeyboardButton {
		return models.InlineKeyboardButton{Text: e.Catalog.T(lang, label), CallbackData: "evc:f:" + field}
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{
		{b("manage_btn_title", "title"), b("manage_btn_when", "when"), b("manage_btn_where", "where")},
		{b("manage_btn_capacity", "capacity"), b("manage_btn_description", "description"), b("signup_btn_question", "question")},
	}}
}

// postDraft creates the event and posts its card in the conversation's
// chat. A draft whose time has passed meanwhile goes back to "when".
func (e *events) postDraft(ctx context.Context, u *bot.Update, c *convo) error {
	ev := e.draftEvent(u, c)
	if !ev.StartsAt.After(e.now(ctx)) {
		c.Data["back"] = "confirm"
		msg := e.fieldError(ctx, c.lang, errWhenPast, ev.Zone()) + "\n\n" + e.ask(ctx, c, "when")
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			if err := e.saveConvo(ctx, tx, u, "event_create", "when", c.Data); err != nil {
				return err
			}
			if err := e.toast(ctx, tx, u, "", false); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, msg, nil)
		})
	}
	cardLang := e.chatLang(ctx, u)
	if ev.ChatID != u.ChatID { // a copy, posted in its original's chat
		if ok, err := e.mayPostCopy(ctx, u, c); err != nil {
			return err
		} else if !ok {
			return e.answerToast(ctx, u, c.lang, "manage_not_allowed", true)
		}
		cardLang = e.chatLangOr(ctx, e.DB.R, ev.ChatID, cardLang)
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		// The conversation row is the draft: deleting it first makes a
		// second press (or a redelivered update) find nothing to post.
		had, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID)
		if err != nil || !had {
			return err
		}
		id, err := store.CreateEvent(ctx, tx, ev, e.now(ctx))
		if err != nil {
			return err
		}
		if err := store.SetSignupQuestion(ctx, tx, id, c.Data["question"], e.now(ctx)); err != nil {
			return err
		}
		if err := e.toast(ctx, tx, u, e.Catalog.T(c.lang, "event_posted"), false); err != nil {
			return err
		}
		if ev.ChatID != u.ChatID {
			if err := e.reply(ctx, tx, u, e.tr(c.lang, "event_copy_posted", locales.Args{"Title": ev.Title}), nil); err != nil {
				return err
			}
		}
		return e.postCard(ctx, tx, id, ev.ChatID, cardLang)
	})
}

// isPrivate reports whether u happened in a private chat.
func isPrivate(u *bot.Update) bool {
	c := u.Chat()
	return c != nil && c.Type == models.ChatTypePrivate
}
