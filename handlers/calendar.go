package handlers

// Calendar feeds: /calendar gives a subscription URL that calendar apps
// poll, <RSVPBOT_PUBLIC_URL>/cal/<token>.ics, served by the ops server.
//
//   - In a private chat it is the person's own feed: the events they
//     organise or answered going, maybe or waitlisted, from every chat
//     (they may see each of them: visibility.go, rules 2 and 3), with
//     their answer in each title.
//   - In a group, its admins (and bot admins: permissions.go) get the
//     group's feed: all of its events (its members may see them: rule 4).
//     The link is sent to the admin privately, never posted in the group;
//     an admin the bot may not write to yet gets a button,
//     t.me/<bot>?start=calg_<chat id>, that opens the private chat and
//     gives it there (after checking again that they administer the
//     group).
//   - Others in a group are told that only admins get the group's feed,
//     with a button (start=cal) to their own.
//
// The token is random (store.NewFeedToken), never an id; whoever holds the
// URL may read the feed, like a share code. /calendar reset replaces it and
// the old URL answers 404, exactly like a token that never existed. Like
// an invitation link, a URL outlives its holder's role: an admin who
// leaves the group keeps reading its feed until an admin resets it.
// Without RSVPBOT_PUBLIC_URL there are no feeds, and /calendar says so.
//
// A feed lists upcoming events and those that ended in the last 30 days;
// a cancelled event stays 30 days as STATUS:CANCELLED so subscribed
// calendars drop it (store.FeedEvents). Each event is rendered by the same
// builder as the one-off .ics (ics.go). The response carries an ETag, a
// hash of the body, so a calendar polling an unchanged feed gets 304.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// FeedPathPrefix is where the ops server serves calendar feeds:
// FeedPathPrefix + <token> + ".ics".
const FeedPathPrefix = "/cal/"

func (a *App) registerCalendar() {
	a.router.Command("calendar", a.calendar)
	a.deepLinks["cal"] = a.personalFeedLink
	a.deepLinks["calg"] = a.groupFeedLink
}

// calendar answers /calendar and /calendar reset.
func (a *App) calendar(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	arg := strings.ToLower(strings.TrimSpace(u.Args))
	if arg != "" && arg != "reset" {
		return a.answerText(ctx, u, lang, "calendar_usage")
	}
	reset := arg == "reset"
	if a.PublicURL == "" {
		return a.answerText(ctx, u, lang, "calendar_disabled")
	}
	if u.UserID == 0 {
		return a.commit(ctx, u, nil) // an anonymous admin or a channel: nobody to give a feed to
	}
	if isPrivate(u) {
		return a.givePersonalFeed(ctx, u, lang, reset)
	}
	admin, err := a.mayAdministerChat(ctx, u.ChatID, u.UserID)
	if err != nil {
		return err // the apology; a failed lookup is no answer either way (permissions.go)
	}
	if !admin {
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			return a.reply(ctx, tx, u, a.tr(lang, "calendar_admins_only"), a.privateChatButton(lang, "calendar_my_button", "cal"))
		})
	}
	su, _, err := store.GetUser(ctx, a.DB.R, u.UserID)
	if err != nil {
		return err
	}
	title := ""
	if c := u.Chat(); c != nil {
		title = c.Title
	}
	now := a.now(ctx)
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		token, err := store.CalendarFeedFor(ctx, tx, 0, u.ChatID, u.UserID, reset, now)
		if err != nil {
			return err
		}
		if reachable(su) {
			intro := a.tr(lang, "calendar_group_intro", locales.Args{"Title": title})
			if err := a.send(ctx, tx, u.UserID, a.feedMessage(lang, intro, token, reset), nil); err != nil {
				return err
			}
			return a.reply(ctx, tx, u, a.tr(lang, "calendar_sent_privately"), nil)
		}
		// The button opens the private chat with this group's link.
		text := a.tr(lang, "calendar_start_me_first")
		if reset {
			text = a.tr(lang, "calendar_reset_done") + "\n" + text
		}
		return a.reply(ctx, tx, u, text, a.privateChatButton(lang, "calendar_start_button", "calg_"+strconv.FormatInt(u.ChatID, 10)))
	})
}

// givePersonalFeed answers u, in a private chat, with the link of its
// user's own feed (a new one if reset).
func (a *App) givePersonalFeed(ctx context.Context, u *bot.Update, lang string, reset bool) error {
	now := a.now(ctx)
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		token, err := store.CalendarFeedFor(ctx, tx, u.UserID, 0, u.UserID, reset, now)
		if err != nil {
			return err
		}
		return a.reply(ctx, tx, u, a.feedMessage(lang, a.tr(lang, "calendar_personal_intro"), token, reset), nil)
	})
}

// privateChatButton is a keyboard of one button that opens the private
// chat with /start payload; nil when the bot's username is unknown.
func (a *App) privateChatButton(lang, label, payload string) *models.InlineKeyboardMarkup {
	link := a.deepLink(payload)
	if link == "" {
		return nil
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
		{Text: a.Catalog.T(lang, label), URL: link}}}}
}

// personalFeedLink answers t.me/<bot>?start=cal (the button under
// /calendar's answer to a group's non-admin): the person's own feed.
func (a *App) personalFeedLink(ctx context.Context, u *bot.Update, _ string) error {
	lang := a.userLang(ctx, u)
	switch {
	case a.PublicURL == "":
		return a.answerText(ctx, u, lang, "calendar_disabled")
	case !isPrivate(u) || u.UserID == 0:
		return a.answerText(ctx, u, lang, "calendar_usage")
	}
	return a.givePersonalFeed(ctx, u, lang, false)
}

// groupFeedLink answers t.me/<bot>?start=calg_<chat id> (the button under
// /calendar's answer to a group admin the bot may not write to yet): that
// group's feed, for whoever may administer it; anyone else, and a chat the
// bot does not know, gets the non-admin's answer.
func (a *App) groupFeedLink(ctx context.Context, u *bot.Update, payload string) error {
	lang := a.userLang(ctx, u)
	chatID, err := strconv.ParseInt(payload, 10, 64)
	switch {
	case a.PublicURL == "":
		return a.answerText(ctx, u, lang, "calendar_disabled")
	case !isPrivate(u) || u.UserID == 0 || err != nil || chatID >= 0:
		return a.answerText(ctx, u, lang, "calendar_usage")
	}
	sc, known, err := store.GetChat(ctx, a.DB.R, chatID)
	if err != nil {
		return err
	}
	admin := false
	if known {
		if admin, err = a.mayAdministerChat(ctx, chatID, u.UserID); err != nil {
			return err // the apology (permissions.go)
		}
	}
	if !admin {
		return a.answerText(ctx, u, lang, "calendar_admins_only")
	}
	now := a.now(ctx)
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		token, err := store.CalendarFeedFor(ctx, tx, 0, chatID, u.UserID, false, now)
		if err != nil {
			return err
		}
		intro := a.tr(lang, "calendar_group_intro", locales.Args{"Title": sc.Title})
		return a.reply(ctx, tx, u, a.feedMessage(lang, intro, token, false), nil)
	})
}

// feedURL is the https address of the feed with token.
func (a *App) feedURL(token string) string {
	return strings.TrimRight(a.PublicURL, "/") + FeedPathPrefix + token + ".ics"
}

// webcalURL is url with the webcal scheme, which calendar apps open as a
// subscription.
func webcalURL(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	return "webcal://" + rest
}

// feedMessage is the HTML message that gives a feed's links.
func (a *App) feedMessage(lang, intro, token string, reset bool) string {
	var b strings.Builder
	if reset {
		b.WriteString(a.tr(lang, "calendar_reset_done") + "\n\n")
	}
	url := a.feedURL(token)
	b.WriteString(intro + "\n\n<code>" + esc(url) + "</code>\n\n")
	b.WriteString(a.tr(lang, "calendar_webcal_hint") + "\n<code>" + esc(webcalURL(url)) + "</code>\n\n")
	b.WriteString(a.tr(lang, "calendar_keep_secret"))
	return b.String()
}

// feedToken reads the token from a feed's path, FeedPathPrefix +
// <token> + ".ics"; ok is false for anything else.
func feedToken(path string) (token string, ok bool) {
	rest, ok := strings.CutPrefix(path, FeedPathPrefix)
	if !ok {
		return "", false
	}
	token, ok = strings.CutSuffix(rest, ".ics")
	if !ok || !store.ValidFeedToken(token) {
		return "", false
	}
	return token, true
}

// CalendarFeed serves the calendar feeds (GET and HEAD of FeedPathPrefix +
// <token>.ics); package app mounts it on the ops server. A malformed,
// unknown or replaced token gets the same 404.
func (a *App) CalendarFeed() http.Handler { return http.HandlerFunc(a.serveFeed) }

func (a *App) serveFeed(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var f store.CalendarFeed
	token, ok := feedToken(r.URL.Path)
	if ok {
		var err error
		if f, ok, err = store.CalendarFeedByToken(r.Context(), a.DB.R, token); err != nil {
			a.feedFailed(w, err) // never the token: it is the feed's password
			return
		}
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := a.feedBody(r.Context(), f)
	if err != nil {
		a.feedFailed(w, err)
		return
	}
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers If-None-Match with 304 and HEAD without a body.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (a *App) feedFailed(w http.ResponseWriter, err error) {
	a.Logger.Error("serving a calendar feed", "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// feedBody renders feed f as it is now.
func (a *App) feedBody(ctx context.Context, f store.CalendarFeed) ([]byte, error) {
	evs, err := store.FeedEvents(ctx, a.DB.R, f, a.now(ctx))
	if err != nil {
		return nil, err
	}
	var lang, name string
	if f.UserID != 0 {
		su, _, err := store.GetUser(ctx, a.DB.R, f.UserID)
		if err != nil {
			return nil, err
		}
		lang = a.Catalog.Resolve(su.ChosenLang, su.Language)
		name = a.Catalog.T(lang, "calendar_name_personal")
	} else {
		sc, _, err := store.GetChat(ctx, a.DB.R, f.ChatID)
		if err != nil {
			return nil, err
		}
		lang = a.Catalog.Resolve(sc.Language)
		name = sc.Title
	}
	cal := ics.NewCalendar()
	cal.SetProductId(icsProductID)
	cal.SetName(name)
	cal.SetRefreshInterval("PT1H") // golang-ical adds VALUE=DURATION
	cal.SetXPublishedTTL("PT1H")
	for _, fe := range evs {
		// Without METHOD, DTSTAMP is the event's last change (RFC 5545
		// 3.8.7.2), which also keeps an unchanged feed byte for byte the
		// same, hence its ETag.
		a.addVEvent(cal, fe.Event, a.feedSummary(lang, f, fe), fe.UpdatedAt)
	}
	return icsBytes(cal), nil
}

// feedSummary is an event's title in a feed: in a person's feed with
// their answer (or that they organise it), and marked when cancelled for
// calendars that ignore STATUS.
func (a *App) feedSummary(lang string, f store.CalendarFeed, fe store.FeedEvent) string {
	s := fe.Title
	if f.UserID != 0 {
		id := ""
		switch {
		case fe.Mine == store.RSVPGoing:
			id = "calendar_summary_going"
		case fe.Mine == store.RSVPMaybe:
			id = "calendar_summary_maybe"
		case fe.Mine == store.RSVPWaitlist:
			id = "calendar_summary_waitlist"
		case fe.Mine == store.RSVPDeclined:
			id = "calendar_summary_declined"
		case fe.CreatorID == f.UserID:
			id = "calendar_summary_organizer"
		}
		if id != "" {
			s = a.Catalog.T(lang, id, locales.Args{"Title": s})
		}
	}
	if fe.Cancelled() {
		s = a.Catalog.T(lang, "calendar_summary_cancelled", locales.Args{"Title": s})
	}
	return s
}
