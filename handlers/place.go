package handlers

// Places from the map, and copying an event.
//
// At the place step of the step-by-step /event (and when a place is asked
// for by /editevent or the Manage menu), a Telegram location or venue
// message is a place: the event keeps its point and the venue's title and
// address, and events.place the text the card shows ("title, address",
// or the coordinates of a bare location). The card links the place to
// OpenStreetMap and gets a "📍" button
//
//	ev:<event>:venue   sends the place as a venue message (sendVenue)
//
// to whoever presses it, in their private chat. Someone the bot may not
// write to yet gets the callback answered with the deep link
// t.me/<bot>?start=evp_<code> (Telegram opens the private chat, and /start
// sends the venue), or, without a bot username, an alert to start the bot
// first — the same rule as the calendar button. Forecasts for such an
// event use the point directly, never the geocoder.
//
// "/event copy <number>" and the Manage menu's "Duplicate" (evm:<id>:copy)
// start the step-by-step conversation prefilled from an event the user may
// manage (the same rules, and answers, as /editevent: an event they may
// not see is "gone"); only the new date is asked, everything else can be
// changed from the preview. The copy is posted in the original event's
// chat, whichever chat the conversation happens in.

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
)

// mapPlace is a place taken from a location or venue message.
type mapPlace struct {
	text           string // what the card shows
	point          store.Point
	title, address string // a venue's; empty for a bare location
}

// placeFromMessage reads the place a location or venue message carries.
// Telegram sets Message.location on a venue message too; the venue wins.
func placeFromMessage(m *models.Message) (mapPlace, bool) {
	if m == nil {
		return mapPlace{}, false
	}
	var mp mapPlace
	switch {
	case m.Venue != nil:
		mp.point = store.Point{Lat: m.Venue.Location.Latitude, Lon: m.Venue.Location.Longitude}
		mp.title = tgtext.Shorten(oneLine(m.Venue.Title), maxPlaceLen)
		mp.address = tgtext.Shorten(oneLine(m.Venue.Address), maxPlaceLen)
		switch {
		case mp.title == "" || strings.Contains(mp.address, mp.title):
			mp.text = mp.address
		case mp.address == "":
			mp.text = mp.title
		default:
			mp.text = mp.title + ", " + mp.address
		}
	case m.Location != nil:
		mp.point = store.Point{Lat: m.Location.Latitude, Lon: m.Location.Longitude}
	default:
		return mapPlace{}, false
	}
	if !mp.point.Valid() {
		return mapPlace{}, false
	}
	if mp.text == "" {
		mp.text = formatPoint(mp.point)
	}
	mp.text = tgtext.Shorten(mp.text, maxPlaceLen)
	return mp, true
}

// badMapPlace reports whether m is a location or venue message that
// placeFromMessage refused (impossible coordinates): it must not pass for
// an empty answer.
func badMapPlace(m *models.Message) bool {
	_, ok := placeFromMessage(m)
	return !ok && m != nil && (m.Location != nil || m.Venue != nil)
}

// coord is a coordinate as shown and linked: five decimals, about a metre.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }

func formatPoint(p store.Point) string { return coord(p.Lat) + ", " + coord(p.Lon) }

// mapURL is the OpenStreetMap page with a marker on p.
func mapURL(p store.Point) string {
	lat, lon := coord(p.Lat), coord(p.Lon)
	return "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=17/" + lat + "/" + lon
}

// placeLine is the card's place line: the place, and a map link when it
// is a point on the map.
func (a *App) placeLine(lang string, ev store.Event) string {
	line := a.tr(lang, "event_card_where", locales.Args{"Place": ev.Place})
	if ev.Point != nil {
		line += ` · <a href="` + esc(mapURL(*ev.Point)) + `">` + a.tr(lang, "place_map_link") + `</a>`
	}
	return line
}

// setEventPlace sets ev's place: a map place, or typed text (nil mp),
// which has no point.
func setEventPlace(ev *store.Event, text string, mp *mapPlace) {
	if mp == nil {
		ev.Place, ev.Point, ev.VenueTitle, ev.VenueAddress = text, nil, "", ""
		return
	}
	p := mp.point
	ev.Place, ev.Point, ev.VenueTitle, ev.VenueAddress = mp.text, &p, mp.title, mp.address
}

// The conversation keeps a map place in its data (so it survives a
// restart with the rest of the draft): lat, lon, venue_title,
// venue_address next to place.
var draftPlaceKeys = []string{"lat", "lon", "venue_title", "venue_address"}

// setDraftPlace stores a place in a draft; mp nil is a typed place.
func setDraftPlace(c *convo, text string, mp *mapPlace) {
	for _, k := range draftPlaceKeys {
		delete(c.Data, k)
	}
	c.Data["place"] = text
	if mp == nil {
		return
	}
	c.Data["lat"] = strconv.FormatFloat(mp.point.Lat, 'g', -1, 64)
	c.Data["lon"] = strconv.FormatFloat(mp.point.Lon, 'g', -1, 64)
	c.Data["venue_title"], c.Data["venue_address"] = mp.title, mp.address
}

// setDraftFromEvent copies ev's place into a draft.
func setDraftFromEvent(c *convo, ev store.Event) {
	var mp *mapPlace
	if ev.Point != nil {
		mp = &mapPlace{text: ev.Place, point: *ev.Point, title: ev.VenueTitle, address: ev.VenueAddress}
	}
	setDraftPlace(c, ev.Place, mp)
}

// draftPlace applies a draft's place to ev.
func draftPlace(c *convo, ev *store.Event) {
	lat, errLat := strconv.ParseFloat(c.Data["lat"], 64)
	lon, errLon := strconv.ParseFloat(c.Data["lon"], 64)
	if p := (store.Point{Lat: lat, Lon: lon}); errLat == nil && errLon == nil && p.Valid() {
		setEventPlace(ev, c.Data["place"], &mapPlace{text: c.Data["place"], point: p,
			title: c.Data["venue_title"], address: c.Data["venue_address"]})
		return
	}
	setEventPlace(ev, c.Data["place"], nil)
}

// eventForecast is the forecast for ev's place on day: at its point when
// it has one (no geocoding), else by its text.
func (a *App) eventForecast(ctx context.Context, ev store.Event, day weather.Date, lang string) (weather.Forecast, error) {
	if ev.Point != nil {
		name := ev.VenueTitle
		if name == "" {
			name = ev.Place
		}
		return a.Weather.ForecastAt(ctx, ev.Point.Lat, ev.Point.Lon, name, day)
	}
	return a.Weather.Forecast(ctx, ev.Place, day, lang)
}

// sendVenue sends ev's place to chatID as a venue message. A bare
// location has no venue title or address: the event's title and the
// coordinates stand in (Telegram requires both).
func (a *App) sendVenue(ctx context.Context, tx *sql.Tx, chatID int64, ev store.Event) error {
	title, address := ev.VenueTitle, ev.VenueAddress
	if title == "" {
		title = tgtext.Shorten(ev.Title, 100)
	}
	if address == "" {
		address = ev.Place
	}
	if address == "" || address == title {
		address = formatPoint(*ev.Point)
	}
	p := &tg.SendVenueParams{ChatID: chatID, Latitude: ev.Point.Lat, Longitude: ev.Point.Lon, Title: title, Address: address}
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "sendVenue", Params: p, Lane: outbox.Interactive})
	return err
}

// venueButton is the card's "📍": the venue, privately.
func (e *events) venueButton(ctx context.Context, u *bot.Update, lang string, ev store.Event, su store.User) error {
	if ev.Point == nil { // the place was retyped since the card was sent
		return e.answerToast(ctx, u, lang, "place_not_on_map", false)
	}
	private := isPrivate(u)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		switch {
		case private || reachable(su):
			return e.privately(ctx, tx, u, lang, private, func() error { return e.sendVenue(ctx, tx, u.UserID, ev) })
		case e.deepLink("") != "":
			return e.answerWithURL(ctx, tx, u, e.deepLink("evp_"+ev.ShareCode))
		}
		return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_start_me_first"), true)
	})
}

// venueLink is "evp_<code>": the venue, in the private chat the link opened.
func (e *events) venueLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	if ev.Point == nil {
		return e.answerText(ctx, u, e.userLang(ctx, u), "place_not_on_map")
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.sendVenue(ctx, tx, u.ChatID, ev) })
}

// copyArgs reads "/event copy <number>": ok is false when the arguments
// are not a copy at all. A line with fields ("/event Copy club | fri
// 19:00") is an event titled so, not a copy.
func copyArgs(args string) (rest string, ok bool) {
	word, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	if !strings.EqualFold(word, "copy") || strings.Contains(rest, "|") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// copyCommand is "/event copy <number>".
func (e *events) copyCommand(ctx context.Context, u *bot.Update, args string) error {
	lang := e.userLang(ctx, u)
	replyText := func(text string) error {
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
	}
	id, err := parseEventID(args)
	if err != nil {
		return replyText(e.tr(lang, "event_copy_usage"))
	}
	ev, refusal, err := e.manageable(ctx, u, id)
	if err != nil {
		return err
	}
	if refusal != "" {
		return replyText(e.tr(lang, refusal))
	}
	c, ask, err := e.copyDraft(ctx, lang, ev)
	if err != nil {
		return err
	}
	return e.startConversation(ctx, u, "event_create", "when", c.Data, ask, nil)
}

// copyButton is the Manage menu's "Duplicate"; manageButton has checked
// the rights.
func (e *events) copyButton(ctx context.Context, u *bot.Update, lang string, ev store.Event) error {
	c, ask, err := e.copyDraft(ctx, lang, ev)
	if err != nil {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		if err := e.saveConvo(ctx, tx, u, "event_create", "when", c.Data); err != nil {
			return err
		}
		if err := e.toast(ctx, tx, u, "", false); err != nil {
			return err
		}
		return e.reply(ctx, tx, u, ask, nil)
	})
}

// copyDraft is the conversation data of a copy of ev and the question for
// its date. After the date the conversation goes straight to the preview.
func (e *events) copyDraft(ctx context.Context, lang string, ev store.Event) (*convo, string, error) {
	c := &convo{Step: "when", lang: lang, Data: map[string]string{
		"title":       ev.Title,
		"tz":          ev.Zone().String(),
		"capacity":    strconv.Itoa(ev.Capacity),
		"description": ev.Description,
		"reminders":   ev.ReminderOffsets,
		"chat":        strconv.FormatInt(ev.ChatID, 10),
		"copy_of":     strconv.FormatInt(ev.ID, 10),
		"back":        "confirm",
	}}
	setDraftFromEvent(c, ev)
	// The sign-up question comes along (postDraft saves it, signup.go).
	q, err := store.SignupQuestion(ctx, e.DB.R, ev.ID)
	if err != nil {
		return nil, "", err
	}
	if q != "" {
		c.Data["question"] = q
	}
	ask := e.tr(lang, "event_copy_intro", locales.Args{"Title": ev.Title}) + "\n\n" + e.ask(ctx, c, "when")
	return c, ask, nil
}

// draftChat is the chat a draft's event belongs to: the original's chat
// for a copy, else the conversation's.
func draftChat(u *bot.Update, c *convo) int64 {
	if id, err := strconv.ParseInt(c.Data["chat"], 10, 64); err == nil && id != 0 {
		return id
	}
	return u.ChatID
}

// mayPostCopy re-checks, when a copy is posted into another chat than the
// conversation's, that the user may still manage the event copied.
func (e *events) mayPostCopy(ctx context.Context, u *bot.Update, c *convo) (bool, error) {
	if draftChat(u, c) == u.ChatID {
		return true, nil
	}
	id, _ := strconv.ParseInt(c.Data["copy_of"], 10, 64)
	orig, ok, err := store.GetEvent(ctx, e.DB.R, id)
	if err != nil || !ok {
		return false, err
	}
	return e.canManage(ctx, orig, u.UserID)
}
