package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

// A step-by-step /event whose place came from the map survives a SIGKILL:
// the venue's point, title and address are in the conversation row, and
// the event posted after the restart has them.
func TestMapPlaceDraftSurvivesSIGKILL(t *testing.T) {
	fake, dbPath, p := killableBot(t)
	p.start()
	defer p.stop()

	user := handlerstest.User(4242, "Vera", "en")
	chat := bottest.PrivateChat(user)
	lastText := func() string {
		msgs := fake.Messages(chat.ID)
		if len(msgs) == 0 {
			return ""
		}
		return msgs[len(msgs)-1].Text
	}
	say := func(text, want string) {
		t.Helper()
		fake.PushMessage(chat, user, text)
		waitUntil(t, 30*time.Second, "an answer with "+want, func() bool { return strings.Contains(lastText(), want) })
	}
	say("/event", "called")
	say("Board games", "When does it start")
	say(time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")+" 19:00", "Where is it")
	fake.PushVenue(chat, user, models.Venue{Location: models.Location{Latitude: 52.5244, Longitude: 13.4105},
		Title: "Cafe Central", Address: "Hauptstr. 1, Berlin"})
	waitUntil(t, 30*time.Second, "the capacity question", func() bool { return strings.Contains(lastText(), "How many places") })

	p.kill()
	p.start()
	say("12", "Anything else")
	say("-", "What will you bring")
	say("skip", "Cafe Central, Hauptstr. 1, Berlin")
	preview := fake.Messages(chat.ID)[len(fake.Messages(chat.ID))-1]
	var post string
	for _, row := range preview.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == "evc:post" {
				post = b.CallbackData
			}
		}
	}
	if post == "" {
		t.Fatalf("no Post button on %q", preview.Text)
	}
	fake.PushCallback(chat, user, preview.ID, post)
	db := readDB(t, dbPath)
	defer db.Close()
	var ev store.Event
	waitUntil(t, 30*time.Second, "the event", func() bool {
		var ok bool
		ev, ok, _ = store.GetEvent(context.Background(), db.R, 1)
		return ok
	})
	if ev.Point == nil || *ev.Point != (store.Point{Lat: 52.5244, Lon: 13.4105}) || ev.VenueTitle != "Cafe Central" ||
		ev.VenueAddress != "Hauptstr. 1, Berlin" || ev.Capacity != 12 {
		t.Fatalf("event after the kill: %+v", ev)
	}
}
