package handlers

// iCalendar (RFC 5545), made with github.com/arran4/golang-ical, which
// handles the format's escaping and line folding: "Add to calendar" (a
// one-off .ics file of one event) and the calendar feeds (calendar.go)
// render each event with the one builder here, addVEvent. Times are written
// in UTC, so every calendar shows them in its own zone; the UID is stable
// per event, and SEQUENCE is the event's version (store: bumped by every
// change to the event: an edit, a cancellation, a new link, an answer), so
// importing the file again, or refreshing a feed, after an edit updates the
// entry.

import (
	"bytes"
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/go-telegram/bot/models"

	ics "github.com/arran4/golang-ical"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// eventUID is the event's iCalendar UID.
func eventUID(id int64) string { return "event-" + strconv.FormatInt(id, 10) + "@rsvpbot" }

// icsProductID is the PRODID of every calendar the bot writes.
const icsProductID = "-//rsvpbot//events//EN"

// calendarFile renders the event as an .ics file.
func (a *App) calendarFile(ctx context.Context, ev store.Event) ([]byte, error) {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId(icsProductID)
	a.addVEvent(cal, ev, ev.Title, a.now(ctx))
	return icsBytes(cal), nil
}

// icsBytes serializes cal with the CRLF line ends RFC 5545 requires
// (golang-ical's default is the platform's), into a buffer sized for its
// events (a feed of hundreds would otherwise be copied as it grows).
func icsBytes(cal *ics.Calendar) []byte {
	var b bytes.Buffer
	b.Grow(512 + 768*len(cal.Components))
	_ = cal.SerializeTo(&b, ics.WithNewLineWindows) // a bytes.Buffer does not fail
	return b.Bytes()
}

// addVEvent adds ev to cal as a VEVENT titled summary, stamped stamp
// (DTSTAMP): the one rendering of an event in iCalendar. The card's link
// is its URL and ends its DESCRIPTION (many calendars show only the
// latter); a cancelled event is STATUS:CANCELLED, so calendars that have
// it remove or strike it.
func (a *App) addVEvent(cal *ics.Calendar, ev store.Event, summary string, stamp time.Time) {
	ve := cal.AddEvent(eventUID(ev.ID))
	ve.SetDtStampTime(stamp)
	ve.SetCreatedTime(ev.CreatedAt)
	ve.SetLastModifiedAt(ev.UpdatedAt)
	ve.SetSequence(int(ev.Version))
	ve.SetStartAt(ev.StartsAt)
	ve.SetEndAt(ev.End())
	ve.SetSummary(summary)
	if ev.Place != "" {
		ve.SetLocation(ev.Place)
	}
	if ev.Point != nil { // a place from the map (place.go)
		ve.SetGeo(coord(ev.Point.Lat), coord(ev.Point.Lon))
	}
	desc := ev.Description
	if link := a.deepLink(eventLink(ev)); link != "" {
		ve.SetURL(link)
		if desc != "" {
			desc += "\n\n"
		}
		desc += link
	}
	if desc != "" {
		ve.SetDescription(desc)
	}
	if ev.Cancelled() {
		ve.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ve.SetStatus(ics.ObjectStatusConfirmed)
	}
}

// sendCalendar sends the file to chatID with a short caption.
func (a *App) sendCalendar(ctx context.Context, tx *sql.Tx, chatID int64, lang string, ev store.Event, data []byte) error {
	return a.sendEventFile(ctx, tx, chatID, lang, "event_ics_caption", ev,
		"event-"+strconv.FormatInt(ev.ID, 10)+".ics", data)
}

// sendEventFile sends an event's file (the .ics, the export) to chatID,
// with the caption captionID names the event in. The library's
// SendDocumentParams cannot carry bytes through JSON; bot.WireFile is the
// outbox's form of an upload, sent as multipart/form-data.
func (a *App) sendEventFile(ctx context.Context, tx *sql.Tx, chatID int64, lang, captionID string, ev store.Event, name string, data []byte) error {
	p := map[string]any{
		"chat_id":    chatID,
		"document":   bot.WireFile{Filename: name, Data: data},
		"caption":    a.tr(lang, captionID, locales.Args{"Title": tgtext.Shorten(ev.Title, 100)}),
		"parse_mode": models.ParseModeHTML,
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "sendDocument", Params: p, Lane: outbox.Interactive})
	return err
}
