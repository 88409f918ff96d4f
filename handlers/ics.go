package handlers

// "Add to calendar": an iCalendar (.ics) file for the event, made with
// github.com/arran4/golang-ical, which handles the format's escaping and
// line folding. Times are written in UTC, so every calendar shows them in
// its own zone; the UID is stable per event, and SEQUENCE is the event's
// version, so importing the file again after an edit updates the entry.

import (
	"context"
	"database/sql"
	"strconv"

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

// calendarFile renders the event as an .ics file.
func (a *App) calendarFile(ctx context.Context, ev store.Event) ([]byte, error) {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//rsvpbot//events//EN")
	ve := cal.AddEvent(eventUID(ev.ID))
	ve.SetDtStampTime(a.now(ctx))
	ve.SetSequence(int(ev.Version))
	ve.SetStartAt(ev.StartsAt)
	ve.SetEndAt(ev.End())
	ve.SetSummary(ev.Title)
	if ev.Place != "" {
		ve.SetLocation(ev.Place)
	}
	if ev.Point != nil { // a place from the map (place.go)
		ve.SetGeo(coord(ev.Point.Lat), coord(ev.Point.Lon))
	}
	if ev.Description != "" {
		ve.SetDescription(ev.Description)
	}
	if link := a.deepLink(eventLink(ev)); link != "" {
		ve.SetURL(link)
	}
	if ev.Cancelled() {
		ve.SetStatus(ics.ObjectStatusCancelled)
	}
	return []byte(cal.Serialize()), nil
}

// sendCalendar sends the file to chatID with a short caption.
func (a *App) sendCalendar(ctx context.Context, tx *sql.Tx, chatID int64, lang string, ev store.Event, data []byte) error {
	caption := a.tr(lang, "event_ics_caption", locales.Args{"Title": tgtext.Shorten(ev.Title, 100)})
	// The library's SendDocumentParams cannot carry bytes through JSON;
	// bot.WireFile is the outbox's form of an upload.
	p := map[string]any{
		"chat_id":    chatID,
		"document":   bot.WireFile{Filename: "event-" + strconv.FormatInt(ev.ID, 10) + ".ics", Data: data},
		"caption":    caption,
		"parse_mode": models.ParseModeHTML,
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "sendDocument", Params: p, Lane: outbox.Interactive})
	return err
}
