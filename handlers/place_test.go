package handlers_test

// Places from the map (location and venue messages, the map link, the 📍
// button, forecasts by coordinates) and copying an event, through the fake
// Bot API.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather/weathertest"
)

var cafeCentral = models.Venue{Location: models.Location{Latitude: 52.5244, Longitude: 13.4105},
	Title: "Cafe Central", Address: "Hauptstr. 1, Berlin", FoursquareID: "4b0588f1f964a52079c422e3"}

const cafeMapURL = "https://www.openstreetmap.org/?mlat=52.52440&mlon=13.41050#map=17/52.52440/13.41050"

func (h *evHarness) event(id int64) store.Event {
	h.T.Helper()
	ev, ok, err := store.GetEvent(context.Background(), h.DB.R, id)
	if err != nil || !ok {
		h.T.Fatalf("event %d: ok %v, err %v", id, ok, err)
	}
	return ev
}

// venueEvent creates, step by step in chat, an event at Cafe Central.
func (h *evHarness) venueEvent(chat models.Chat, title, when string) int64 {
	h.T.Helper()
	for _, s := range []string{"/event", title, when} {
		h.Send(chat, alice, s)
	}
	h.Fake.PushVenue(chat, alice, cafeCentral)
	h.WaitIdle()
	for _, s := range []string{"12", "Bring dice", "skip"} {
		h.Send(chat, alice, s)
	}
	h.press(chat, alice, h.Last(chat.ID), "Post")
	return h.lastEventID()
}

// linkURL is the URL of the text link whose text is label in m.
func linkURL(m models.Message, label string) string {
	u16 := utf16.Encode([]rune(m.Text))
	for _, e := range m.Entities {
		if e.Type == models.MessageEntityTypeTextLink && string(utf16.Decode(u16[e.Offset:e.Offset+e.Length])) == label {
			return e.URL
		}
	}
	return ""
}

func TestVenueAsPlace(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	for _, s := range []string{"/event", "Board games", "sat 19:00"} {
		h.Send(chat, alice, s)
	}
	mustContain(t, "ask where", h.LastText(chat.ID), "Where is it", "send a location or a venue")
	up := h.Fake.PushVenue(chat, alice, cafeCentral)
	if up.Message.Text != "" || up.Message.Venue == nil || up.Message.Location == nil ||
		*up.Message.Location != cafeCentral.Location {
		t.Fatalf("venue update shape: %+v", up.Message)
	}
	h.WaitIdle()
	mustContain(t, "ask capacity", h.LastText(chat.ID), "How many places")

	// The place (point and venue) is in the conversation row: a restart
	// in the middle keeps it.
	h = h.restart()
	h.Send(chat, alice, "12")
	h.Send(chat, alice, "-")
	h.Send(chat, alice, "skip") // no sign-up question
	preview := h.Last(chat.ID)
	mustContain(t, "preview", preview.Text, "Board games", "Cafe Central, Hauptstr. 1, Berlin", "map")
	if got := linkURL(preview, "map"); got != cafeMapURL {
		t.Errorf("preview map link %q", got)
	}
	h.press(chat, alice, preview, "Post")
	ev := h.event(h.lastEventID())
	if ev.Point == nil || *ev.Point != (store.Point{Lat: 52.5244, Lon: 13.4105}) ||
		ev.VenueTitle != "Cafe Central" || ev.VenueAddress != "Hauptstr. 1, Berlin" ||
		ev.Place != "Cafe Central, Hauptstr. 1, Berlin" {
		t.Fatalf("stored event: %+v", ev)
	}

	// A typed place still works, and replaces the point.
	h.Send(chat, alice, fmt.Sprintf("/editevent %d where Library", ev.ID))
	ev = h.event(ev.ID)
	if ev.Place != "Library" || ev.Point != nil || ev.VenueTitle != "" || ev.VenueAddress != "" {
		t.Fatalf("after a typed place: %+v", ev)
	}
	card := h.card(chat.ID)
	if _, has := handlerstest.Buttons(card)["📍 Map"]; has || linkURL(card, "map") != "" {
		t.Errorf("typed place still has a map link or 📍: %q %v", card.Text, handlerstest.Buttons(card))
	}
	// A 📍 press from before the change finds no point to send.
	h.Click(chat, alice, card.ID, fmt.Sprintf("ev:%d:venue", ev.ID))
	mustContain(t, "stale 📍", h.lastToast(), "not a point on the map")
	if n := len(h.Fake.CallsTo("sendVenue")); n != 0 {
		t.Errorf("%d venues sent", n)
	}
}

func TestLocationAsPlace(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	// In a group, the step-by-step /editevent takes a location.
	h.Send(party, alice, "/event Picnic | sat 12:00 | Somewhere")
	id := h.lastEventID()
	card := h.card(party.ID)
	h.press(party, bob, card, "Going")
	h.startPrivately(bob)
	h.Send(party, alice, fmt.Sprintf("/editevent %d where", id))
	mustContain(t, "asks", h.LastText(party.ID), "Where is it", "Currently: Somewhere", "location")
	up := h.Fake.PushLocation(party, alice, 48.85837, 2.294481)
	if up.Message.Location == nil || up.Message.Venue != nil || up.Message.Text != "" {
		t.Fatalf("location update shape: %+v", up.Message)
	}
	h.WaitIdle()
	mustContain(t, "saved", h.LastText(party.ID), "Saved")
	ev := h.event(id)
	if ev.Point == nil || ev.Point.Lat != 48.85837 || ev.Point.Lon != 2.294481 || ev.Place != "48.85837, 2.29448" || ev.VenueTitle != "" {
		t.Fatalf("stored: %+v", ev)
	}
	text := h.cardText(party.ID, card.ID)
	mustContain(t, "card", text, "📍 48.85837, 2.29448 · map")
	mustContain(t, "notice", h.LastText(bob.ID), "new place", "48.85837, 2.29448")

	// A location with impossible coordinates is not a place.
	h.Send(party, alice, fmt.Sprintf("/editevent %d where", id))
	h.Fake.PushLocation(party, alice, 123, 2)
	h.WaitIdle()
	mustContain(t, "bad point", h.LastText(party.ID), "not a point on the map")
	if got := h.event(id); got.Point == nil || got.Point.Lat != 48.85837 {
		t.Fatalf("a latitude of 123 was stored: %+v", got)
	}
}

func TestCardMapLinkAndVenueButton(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id := h.venueEvent(party, "Board games", "sat 19:00")
	card := h.card(party.ID)
	mustContain(t, "card", card.Text, "📍 Cafe Central, Hauptstr. 1, Berlin · map")
	if got := linkURL(card, "map"); got != cafeMapURL {
		t.Fatalf("map link %q", got)
	}
	if h.Button(card, "📍") != fmt.Sprintf("ev:%d:venue", id) {
		t.Fatalf("buttons %v", handlerstest.Buttons(card))
	}
	venues := func() []bottest.Call { return h.Fake.CallsTo("sendVenue") }

	// Someone the bot may write to gets the venue privately.
	h.startPrivately(carol)
	h.press(party, carol, card, "📍")
	mustContain(t, "toast", h.lastToast(), "private chat")
	if n := len(venues()); n != 1 {
		t.Fatalf("%d sendVenue calls", n)
	}
	m := h.Last(carol.ID)
	if m.Venue == nil || m.Venue.Title != "Cafe Central" || m.Venue.Address != "Hauptstr. 1, Berlin" ||
		m.Venue.Location != cafeCentral.Location || m.Location == nil {
		t.Fatalf("carol got %+v", m)
	}
	for _, m := range h.Fake.Messages(party.ID) {
		if m.Venue != nil && m.From != nil && m.From.IsBot {
			t.Fatal("the venue went to the group")
		}
	}
	// The calendar file carries the point too.
	h.press(party, carol, card, "calendar")
	doc := h.Last(carol.ID).Document
	if doc == nil {
		t.Fatal("no calendar file")
	}
	f, _ := h.Fake.File(doc.FileID)
	if !strings.Contains(string(f.Data), "GEO:52.52440;13.41050") || !strings.Contains(string(f.Data), "LOCATION:Cafe Central") {
		t.Errorf("calendar file:\n%s", f.Data)
	}

	// Someone who never started the bot gets the t.me link instead, and
	// the link sends the venue.
	h.press(party, dave, card, "📍")
	answers := h.Fake.CallsTo("answerCallbackQuery")
	link := answers[len(answers)-1].Params["url"]
	code := h.event(id).ShareCode
	if want := "https://t.me/" + h.Fake.Bot().Username + "?start=evp_" + code; link != want {
		t.Fatalf("callback url %q, want %q", link, want)
	}
	if n := len(venues()); n != 1 {
		t.Fatalf("a venue was sent to someone who never started the bot (%d calls)", n)
	}
	h.Send(bottest.PrivateChat(dave), dave, "/start evp_"+code)
	if m := h.Last(dave.ID); m.Venue == nil || m.Venue.Title != "Cafe Central" {
		t.Fatalf("dave got %+v", m)
	}
	// A link with a wrong code opens nothing.
	h.Send(bottest.PrivateChat(dave), dave, "/start evp_nope")
	if h.Last(dave.ID).Venue != nil || len(venues()) != 2 {
		t.Fatal("a wrong code sent a venue")
	}
}

func TestWeatherUsesCoordinates(t *testing.T) {
	h, wx := startEventsWithWeather(t)
	// Any geocoding request fails, and is counted.
	wx.SetDown(weathertest.Geocoding, 500)
	// The fake serves Berlin's forecast for points near it.
	saturday := evNow.AddDate(0, 0, 1)
	wx.SetForecast("Berlin", saturday, weathertest.Day{Code: 61, Min: 1.2, Max: 6.6, Precip: 80})
	id := h.venueEvent(party, "Board games", "sat 19:00")
	card := h.card(party.ID)

	if msg, err := h.App.RefreshForecasts(context.Background()); err != nil || !strings.Contains(msg, "1 cards updated") {
		t.Fatalf("forecast job: %q, %v", msg, err)
	}
	h.WaitIdle()
	mustContain(t, "card forecast", h.cardText(party.ID, card.ID), "°C", "Cafe Central", "80%")
	if g := wx.Requests(weathertest.Geocoding); g != 0 {
		t.Fatalf("%d geocoding requests for an event on the map", g)
	}
	if q := wx.LastQuery(weathertest.Forecast); q.Get("latitude") != "52.5244" || q.Get("longitude") != "13.4105" {
		t.Fatalf("forecast asked for %v", q)
	}

	// /weather without a place is the next event's: by coordinates too.
	h.Send(party, alice, "/weather")
	mustContain(t, "/weather", h.LastText(party.ID), "Cafe Central", "°C")
	if g := wx.Requests(weathertest.Geocoding); g != 0 {
		t.Fatalf("/weather geocoded (%d requests)", g)
	}

	// A typed place is geocoded as before.
	h.Send(party, alice, fmt.Sprintf("/editevent %d where Berlin", id))
	if _, err := h.App.RefreshForecasts(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g := wx.Requests(weathertest.Geocoding); g == 0 {
		t.Fatal("a typed place was not geocoded")
	}
}

func TestCopyEventPrefills(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id := h.venueEvent(party, "Board games", "sat 19:00")
	ctx := context.Background()
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return store.SetEventReminderOffsets(ctx, tx, id, "1440,60", evNow)
	}); err != nil {
		t.Fatal(err)
	}
	orig := h.event(id)

	h.Send(party, alice, fmt.Sprintf("/event copy %d", id))
	mustContain(t, "asks the date", h.LastText(party.ID), "copy of “Board games”", "When does it start")
	h = h.restart()
	h.Send(party, alice, "2026-12-12 19:00")
	preview := h.Last(party.ID)
	mustContain(t, "preview", preview.Text, "Board games", "Sat, 12 Dec 2026, 19:00", "Cafe Central, Hauptstr. 1, Berlin",
		"Going 0/12", "Bring dice")
	// Everything else is editable from the preview.
	h.press(party, alice, preview, "Edit")
	h.press(party, alice, h.Last(party.ID), "Places")
	h.Send(party, alice, "20")
	h.press(party, alice, h.Last(party.ID), "Post")
	copied := h.event(h.lastEventID())
	if copied.ID == id || copied.ChatID != party.ID || copied.Title != orig.Title || copied.Description != orig.Description ||
		copied.Capacity != 20 || copied.Place != orig.Place || copied.Point == nil || *copied.Point != *orig.Point ||
		copied.VenueTitle != orig.VenueTitle || copied.VenueAddress != orig.VenueAddress ||
		copied.ReminderOffsets != "1440,60" || copied.Timezone != orig.Timezone || copied.ShareCode == orig.ShareCode {
		t.Fatalf("copy %+v\nof %+v", copied, orig)
	}
	mustContain(t, "new card", h.card(party.ID).Text, "Sat, 12 Dec 2026", "Going 0/20")

	// "Duplicate" in the Manage menu: the conversation is private, the
	// copy is posted in the event's group.
	h.startPrivately(alice)
	h.press(party, alice, h.cardOf(party.ID, id), "Manage")
	menu := h.Last(alice.ID)
	h.press(bottest.PrivateChat(alice), alice, menu, "Duplicate")
	mustContain(t, "asks privately", h.LastText(alice.ID), "copy of “Board games”")
	h.Send(bottest.PrivateChat(alice), alice, "2026-12-19 19:00")
	h.press(bottest.PrivateChat(alice), alice, h.Last(alice.ID), "Post")
	third := h.event(h.lastEventID())
	if third.ChatID != party.ID || third.Capacity != 12 || third.Point == nil {
		t.Fatalf("duplicate %+v", third)
	}
	mustContain(t, "told privately", h.LastText(alice.ID), "posted in its group")
	mustContain(t, "group card", h.card(party.ID).Text, "Sat, 19 Dec 2026", "Board games")
}

func TestCopyRefusesInvisibleEvent(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id := h.venueEvent(party, "Secret supper", "sat 20:00")
	for _, chat := range []models.Chat{bottest.PrivateChat(mallory), strangers} {
		h.Send(chat, mallory, fmt.Sprintf("/event copy %d", id))
		got := h.LastText(chat.ID)
		h.Send(chat, mallory, "/event copy 999")
		if missing := h.LastText(chat.ID); got != missing {
			t.Errorf("in %s: %q, but for a missing event %q", chat.Title, got, missing)
		}
		if strings.Contains(h.botSaid(chat.ID), "Secret") {
			t.Errorf("the bot told a stranger about the event: %s", h.botSaid(chat.ID))
		}
	}
	// A member who may see it but not manage it is told so, as by /editevent.
	h.Send(party, bob, fmt.Sprintf("/event copy %d", id))
	copyAnswer := h.LastText(party.ID)
	h.Send(party, bob, fmt.Sprintf("/editevent %d title", id))
	if editAnswer := h.LastText(party.ID); copyAnswer != editAnswer {
		t.Errorf("/event copy said %q, /editevent %q", copyAnswer, editAnswer)
	}
	if n := h.Count(`SELECT count(*) FROM conversations WHERE user_id IN (?, ?)`, mallory.ID, bob.ID); n != 0 {
		t.Errorf("%d conversations started", n)
	}
	h.Send(party, alice, "/event copy")
	mustContain(t, "usage", h.LastText(party.ID), "/event copy number")
	if h.lastEventID() != id {
		t.Error("an event was created")
	}
	// An event titled "Copy ..." in one line is still an event.
	h.Send(party, alice, "/event Copy club | sat 11:00")
	if ev := h.event(h.lastEventID()); ev.ID == id || ev.Title != "Copy club" {
		t.Errorf("one-line event titled Copy: %+v", ev)
	}
}
