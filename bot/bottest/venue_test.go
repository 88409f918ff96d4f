package bottest_test

import (
	"encoding/json"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// Location and venue messages reach the bot in the shape Telegram sends:
// Message.location {latitude, longitude}; Message.venue {location, title,
// address, ...} with Message.location set too; no text.
func TestPushLocationAndVenueShapes(t *testing.T) {
	s := newServer(t)
	s.PushLocation(bottest.PrivateChat(alice), alice, 48.85837, 2.294481)
	s.PushVenue(group, bob, models.Venue{Location: models.Location{Latitude: 52.5244, Longitude: 13.4105},
		Title: "Cafe Central", Address: "Hauptstr. 1", GooglePlaceID: "ChIJ"})
	_, a, err := poll(s, map[string]any{})
	if err != nil || !a.OK {
		t.Fatalf("getUpdates: %v %+v", err, a)
	}
	var ups []struct {
		Message map[string]json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 2 {
		t.Fatalf("updates %s: %v", a.Result, err)
	}
	type loc struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	}
	var l loc
	if err := json.Unmarshal(ups[0].Message["location"], &l); err != nil || l != (loc{48.85837, 2.294481}) {
		t.Errorf("location %s", ups[0].Message["location"])
	}
	for _, key := range []string{"text", "venue", "entities"} {
		if _, has := ups[0].Message[key]; has {
			t.Errorf("a location message has %q: %v", key, ups[0].Message)
		}
	}
	var v struct {
		Location      loc    `json:"location"`
		Title         string `json:"title"`
		Address       string `json:"address"`
		GooglePlaceID string `json:"google_place_id"`
	}
	if err := json.Unmarshal(ups[1].Message["venue"], &v); err != nil || v.Location != (loc{52.5244, 13.4105}) ||
		v.Title != "Cafe Central" || v.Address != "Hauptstr. 1" || v.GooglePlaceID != "ChIJ" {
		t.Errorf("venue %s", ups[1].Message["venue"])
	}
	if err := json.Unmarshal(ups[1].Message["location"], &l); err != nil || l != (loc{52.5244, 13.4105}) {
		t.Errorf("a venue message's location %s", ups[1].Message["location"])
	}
	if _, has := ups[1].Message["text"]; has {
		t.Error("a venue message has text")
	}
}

// sendVenue is checked as the spec gives it (chat_id, latitude, longitude,
// title, address required; coordinates as floats on Earth) and posts a
// message carrying the venue and its location.
func TestSendVenue(t *testing.T) {
	s := newServer(t)
	chat := bottest.PrivateChat(alice)
	s.PushMessage(chat, alice, "/start")
	ok := map[string]any{"chat_id": chat.ID, "latitude": 52.5244, "longitude": 13.4105, "title": "Cafe Central", "address": "Hauptstr. 1"}
	status, a := callJSON(t, s, "sendVenue", ok)
	if status != 200 || !a.OK {
		t.Fatalf("sendVenue: %d %+v", status, a)
	}
	var m models.Message
	if err := json.Unmarshal(a.Result, &m); err != nil || m.Venue == nil || m.Location == nil ||
		m.Venue.Title != "Cafe Central" || m.Venue.Address != "Hauptstr. 1" || m.Venue.Location.Latitude != 52.5244 ||
		m.Location.Longitude != 13.4105 || m.From == nil || !m.From.IsBot {
		t.Fatalf("sent %s", a.Result)
	}
	msgs := s.Messages(chat.ID)
	if last := msgs[len(msgs)-1]; last.Venue == nil || last.ID != m.ID {
		t.Fatalf("chat shows %+v", last)
	}
	bad := []struct {
		name   string
		change map[string]any
		desc   string
	}{
		{"no latitude", map[string]any{"latitude": nil}, "Bad Request: latitude is empty"},
		{"latitude off Earth", map[string]any{"latitude": 91}, "Bad Request: wrong latitude specified"},
		{"longitude not a number", map[string]any{"longitude": "east"}, "Bad Request: wrong longitude specified"},
		{"no title", map[string]any{"title": nil}, "Bad Request: venue title is empty"},
		{"blank address", map[string]any{"address": " "}, "Bad Request: venue address is empty"},
		{"no chat", map[string]any{"chat_id": nil}, "Bad Request: chat_id is empty"},
	}
	for _, b := range bad {
		p := map[string]any{}
		for k, v := range ok {
			p[k] = v
		}
		for k, v := range b.change {
			if v == nil {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		status, a := callJSON(t, s, "sendVenue", p)
		if status != 400 || a.OK || a.Description != b.desc {
			t.Errorf("%s: %d %q", b.name, status, a.Description)
		}
	}
	if n := len(s.Messages(chat.ID)); n != len(msgs) {
		t.Errorf("refused calls posted messages: %d, want %d", n, len(msgs))
	}
}
