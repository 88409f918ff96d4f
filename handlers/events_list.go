package handlers

// /events lists a chat's upcoming events; /myevents lists, privately, the
// events the user is going to or waiting for. Titles link to the event's
// deep link, which opens its card in the private chat with the bot.

import (
	"context"
	"database/sql"
	"strings"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// listLimit is the most events a list shows.
const listLimit = 20

func (e *events) list(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	evs, err := store.UpcomingChatEvents(ctx, e.DB.R, u.ChatID, e.now(ctx), listLimit)
	if err != nil {
		return err
	}
	var b strings.Builder
	if len(evs) == 0 {
		b.WriteString(e.tr(lang, "events_none"))
	} else {
		b.WriteString("<b>" + e.tr(lang, "events_header") + "</b>")
		for _, ev := range evs {
			c, err := store.CountRSVPs(ctx, e.DB.R, ev.ID)
			if err != nil {
				return err
			}
			going := e.tr(lang, "people_going", locales.Args{"Count": c.GoingSeats})
			if ev.Capacity > 0 {
				going = e.tr(lang, "event_card_going_capacity", locales.Args{"Going": c.GoingSeats, "Capacity": ev.Capacity})
			}
			b.WriteString(e.listEntry(lang, ev, going))
		}
		if e.deepLink("") != "" {
			b.WriteString("\n\n" + e.tr(lang, "events_open_hint"))
		}
	}
	text := b.String()
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
}

func (e *events) myEvents(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	if !isPrivate(u) {
		return e.answerText(ctx, u, lang, "myevents_private")
	}
	evs, err := store.UserUpcomingEvents(ctx, e.DB.R, u.UserID, e.now(ctx), listLimit)
	if err != nil {
		return err
	}
	var b strings.Builder
	if len(evs) == 0 {
		b.WriteString(e.tr(lang, "myevents_none"))
	} else {
		b.WriteString("<b>" + e.tr(lang, "myevents_header") + "</b>")
		for _, ev := range evs {
			var status string
			switch {
			case ev.RSVP.Status == store.RSVPWaitlist:
				status = e.tr(lang, "myevents_waitlist", locales.Args{"Rank": ev.WaitlistRank})
			case ev.RSVP.Guests > 0:
				status = e.tr(lang, "myevents_going_guests", locales.Args{"Count": ev.RSVP.Guests})
			default:
				status = e.tr(lang, "myevents_going")
			}
			b.WriteString(e.listEntry(lang, ev.Event, status))
		}
	}
	text := b.String()
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
}

// listEntry is one event in a list: a blank line, then its linked title,
// when and where, and line (how many go, or the user's own answer).
func (e *events) listEntry(lang string, ev store.Event, line string) string {
	entry := "\n\n• " + e.eventRef(ev) + "\n" + esc(e.formatWhen(lang, ev))
	if ev.Place != "" {
		entry += " · " + esc(ev.Place)
	}
	return entry + "\n" + line
}
