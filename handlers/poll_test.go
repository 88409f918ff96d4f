package handlers_test

// Date polls driven the way people use them, through the fake Bot API.

import (
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

// The dates of the polls below, seen from Friday 4 December 2026, 10:00
// in Berlin: "sat 19:00", "sun 15:00", "mon 11:00".
var (
	berlin, _ = time.LoadLocation("Europe/Berlin")
	pollSat   = time.Date(2026, 12, 5, 19, 0, 0, 0, berlin)
	pollSun   = time.Date(2026, 12, 6, 15, 0, 0, 0, berlin)
)

const pollLine = "/poll Board games | sat 19:00 | sun 15:00 | mon 11:00 | Cafe Central"

// pollCard is the newest message in chat with poll buttons, as it is now.
func (h *evHarness) pollCard(chatID int64) models.Message {
	h.T.Helper()
	msgs := h.Fake.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.HasPrefix(msgs[i].Text, "📊") {
			return msgs[i]
		}
	}
	h.T.Fatalf("no poll card in chat %d: %q", chatID, h.Texts(chatID))
	return models.Message{}
}

// current re-reads a message.
func (h *evHarness) current(chatID int64, m models.Message) models.Message {
	h.T.Helper()
	cur, ok := h.Fake.Message(chatID, m.ID)
	if !ok {
		h.T.Fatalf("message %d gone from chat %d", m.ID, chatID)
	}
	return cur
}

// optionLine is the card's line for option n (1-based) with the names
// under it.
func optionBlock(text string, n int) string {
	start := strings.Index(text, "\n"+string(rune('0'+n))+". ")
	if start < 0 {
		return ""
	}
	rest := text[start+1:]
	if end := strings.Index(rest, "\n"+string(rune('0'+n+1))+". "); end >= 0 {
		return rest[:end]
	}
	return rest
}

func TestPollVotesToggleAndCount(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, pollLine)
	card := h.pollCard(party.ID)
	for _, want := range []string{"Board games", "Cafe Central", "Organizer: Alice", "0 votes"} {
		if !strings.Contains(card.Text, want) {
			t.Errorf("poll card lacks %q:\n%s", want, card.Text)
		}
	}
	buttons := handlerstest.Buttons(card)
	if len(buttons) != 4 {
		t.Fatalf("want 3 dates and Close, got %v", buttons)
	}
	for label, data := range buttons {
		if len(data) > 64 {
			t.Errorf("button %q carries %d bytes", label, len(data))
		}
	}

	h.press(party, bob, card, "1. ")
	if got := h.lastToast(); !strings.Contains(got, "You can make it") {
		t.Errorf("vote toast %q", got)
	}
	h.press(party, carol, card, "1. ")
	h.press(party, carol, card, "2. ")
	h.press(party, bob, card, "1. ") // taken back
	if got := h.lastToast(); !strings.Contains(got, "Taken back") {
		t.Errorf("unvote toast %q", got)
	}

	text := h.current(party.ID, card).Text
	one, two, three := optionBlock(text, 1), optionBlock(text, 2), optionBlock(text, 3)
	if !strings.Contains(one, "1 vote") || !strings.Contains(one, "Carol") || strings.Contains(one, "Bob") {
		t.Errorf("option 1 should have Carol only:\n%s", text)
	}
	if !strings.Contains(two, "1 vote") || !strings.Contains(two, "Carol") {
		t.Errorf("option 2 should have Carol:\n%s", text)
	}
	if !strings.Contains(three, "0 votes") {
		t.Errorf("option 3 should have none:\n%s", text)
	}
	// The same button data from elsewhere (a forged press in a private
	// chat) acts on nothing: the poll belongs to its chat.
	h.Click(bottest.PrivateChat(eve), eve, card.ID, h.Button(card, "3. "))
	if got := h.lastToast(); !strings.Contains(got, "no longer exists") {
		t.Errorf("a press from outside the poll's chat: toast %q", got)
	}
	if n := h.Count(`SELECT count(*) FROM poll_votes`); n != 2 {
		t.Errorf("%d votes stored, want 2", n)
	}
	if label := h.Button(h.current(party.ID, card), "1. "); label == "" {
		t.Error("option button gone")
	}
	if n := len(h.Fake.Messages(party.ID)); n != 2 { // the command and the card: edits, not new messages
		t.Errorf("the chat has %d messages: %q", n, h.Texts(party.ID))
	}
}

func TestPollCloseCreatesEventAndTellsVoters(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(bob)
	h.Send(party, alice, pollLine)
	card := h.pollCard(party.ID)
	h.press(party, bob, card, "2. ")
	h.press(party, carol, card, "2. ")
	h.press(party, dave, card, "1. ")

	h.press(party, dave, card, "Close") // not the organizer, not an admin
	if got := h.lastToast(); !strings.Contains(got, "Only the organizer") {
		t.Errorf("a voter closed the poll: toast %q", got)
	}
	if h.lastEventID() != 0 {
		t.Fatal("an event was created by someone who may not close the poll")
	}

	h.press(party, alice, card, "Close")
	id := h.lastEventID()
	if id == 0 {
		t.Fatal("closing created no event")
	}
	var title, place string
	var starts int64
	if err := h.DB.R.QueryRow(`SELECT title, place, starts_at FROM events WHERE id = ?`, id).Scan(&title, &place, &starts); err != nil {
		t.Fatal(err)
	}
	if title != "Board games" || place != "Cafe Central" || !store.FromMillis(starts).Equal(pollSun) {
		t.Errorf("event %q at %q on %v, want Board games at Cafe Central on %v", title, place, store.FromMillis(starts), pollSun)
	}
	evCard := h.card(party.ID)
	if !strings.Contains(evCard.Text, "Board games") {
		t.Errorf("event card: %s", evCard.Text)
	}
	closed := h.current(party.ID, card)
	if !strings.Contains(closed.Text, "Closed") || len(handlerstest.Buttons(closed)) != 0 {
		t.Errorf("closed poll card:\n%s\nbuttons %v", closed.Text, handlerstest.Buttons(closed))
	}
	// Bob voted for Sunday and may be written to: a private card.
	bobChat := h.Texts(bob.ID)
	if !strings.Contains(strings.Join(bobChat, "\n"), "The poll chose") {
		t.Errorf("bob was not told: %q", bobChat)
	}
	private := h.card(bob.ID)
	// Carol voted for it but never started the bot: mentioned in the group.
	if !strings.Contains(h.LastText(party.ID), "Carol") {
		t.Errorf("carol not mentioned in the group: %q", h.Texts(party.ID))
	}
	// Dave voted for Saturday: nothing privately.
	if len(h.Fake.Messages(dave.ID)) != 0 {
		t.Errorf("dave was told: %q", h.Texts(dave.ID))
	}
	// Nobody is going until they press.
	if n := h.Count(`SELECT count(*) FROM rsvps`); n != 0 {
		t.Errorf("%d answers recorded without a press", n)
	}
	h.press(bottest.PrivateChat(bob), bob, private, "Going")
	if r := h.rsvp(id, bob.ID); r.Status != store.RSVPGoing {
		t.Errorf("bob's private card answer: %+v", r)
	}
	// A second close (a stale card, a double tap) changes nothing.
	h.Click(party, alice, card.ID, "poll:1:close")
	if n := h.Count(`SELECT count(*) FROM events`); n != 1 {
		t.Errorf("%d events after a second close", n)
	}
}

func TestPollTieAsksOrganizer(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, pollLine)
	card := h.pollCard(party.ID)
	h.press(party, bob, card, "1. ")
	h.press(party, carol, card, "2. ")
	h.press(party, alice, card, "Close")
	if h.lastEventID() != 0 {
		t.Fatal("a tie created an event")
	}
	tied := h.current(party.ID, card)
	if !strings.Contains(tied.Text, "tie") {
		t.Errorf("tied card:\n%s", tied.Text)
	}
	b := handlerstest.Buttons(tied)
	if len(b) != 2 {
		t.Fatalf("want a Pick button for each tied date, got %v", b)
	}
	h.press(party, bob, tied, "Pick 2.")
	if h.lastEventID() != 0 {
		t.Fatal("a voter picked the date")
	}
	h.press(party, alice, tied, "Pick 2.")
	id := h.lastEventID()
	if id == 0 {
		t.Fatal("the organizer's pick created no event")
	}
	var starts int64
	h.DB.R.QueryRow(`SELECT starts_at FROM events WHERE id = ?`, id).Scan(&starts)
	if !store.FromMillis(starts).Equal(pollSun) {
		t.Errorf("event on %v, want the picked %v", store.FromMillis(starts), pollSun)
	}
	if got := h.current(party.ID, card); len(handlerstest.Buttons(got)) != 0 {
		t.Errorf("closed card keeps buttons %v", handlerstest.Buttons(got))
	}
}

func TestPollDeadlineClosesOnce(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/poll Board games | sat 19:00 | sun 15:00 | until sat 12:00")
	card := h.pollCard(party.ID)
	if !strings.Contains(card.Text, "Closes:") {
		t.Errorf("no deadline on the card:\n%s", card.Text)
	}
	h.press(party, bob, card, "1. ")
	h.RunJob("poll-deadlines")
	if h.lastEventID() != 0 {
		t.Fatal("closed before its deadline")
	}
	h.setNow(time.Date(2026, 12, 5, 12, 0, 0, 0, berlin))
	h.RunJob("poll-deadlines")
	if h.Count(`SELECT count(*) FROM events`) != 1 {
		t.Fatalf("%d events after the deadline", h.Count(`SELECT count(*) FROM events`))
	}
	h.RunJob("poll-deadlines")
	h = h.restart()
	h.RunJob("poll-deadlines")
	if n := h.Count(`SELECT count(*) FROM events`); n != 1 {
		t.Errorf("%d events after running the job again and restarting", n)
	}
	if n := h.Count(`SELECT count(*) FROM event_cards WHERE chat_id = ?`, party.ID); n != 1 {
		t.Errorf("%d event cards posted in the group", n)
	}
	var starts int64
	h.DB.R.QueryRow(`SELECT starts_at FROM events`).Scan(&starts)
	if !store.FromMillis(starts).Equal(pollSat) {
		t.Errorf("event on %v, want %v", store.FromMillis(starts), pollSat)
	}
}

func TestPollSurvivesRestart(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/poll")
	h.Send(party, alice, "Board games")
	h.Send(party, alice, "sat 19:00")
	h = h.restart() // mid-conversation
	h.Send(party, alice, "sun 15:00")
	h.Send(party, alice, "done")
	h.Send(party, alice, "Cafe Central")
	h.Send(party, alice, "skip")
	card := h.pollCard(party.ID)
	if !strings.Contains(card.Text, "Cafe Central") || !strings.Contains(optionBlock(card.Text, 2), "0 votes") {
		t.Fatalf("step-by-step poll card:\n%s", card.Text)
	}
	h.press(party, bob, card, "1. ")
	h = h.restart()
	h.press(party, carol, card, "1. ")
	if got := optionBlock(h.current(party.ID, card).Text, 1); !strings.Contains(got, "2 votes") ||
		!strings.Contains(got, "Bob") || !strings.Contains(got, "Carol") {
		t.Errorf("votes across a restart: %s", got)
	}
	h.press(party, alice, card, "Close")
	var starts int64
	h.DB.R.QueryRow(`SELECT starts_at FROM events`).Scan(&starts)
	if !store.FromMillis(starts).Equal(pollSat) {
		t.Errorf("event on %v, want %v", store.FromMillis(starts), pollSat)
	}
}

func TestPollRefusals(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	for line, want := range map[string]string{
		"/poll Board games | sat 19:00":                              "2 to 10 dates",
		"/poll Board games | sat 19:00 | sat 19:00":                  "already",
		"/poll Board games | sat 19:00 | blorp | sun 15:00":          "Date 2",
		"/poll Board games | sat 19:00 | sun 15:00 | until mon 9:00": "before its first date",
	} {
		h.Send(party, alice, line)
		if got := h.LastText(party.ID); !strings.Contains(got, want) {
			t.Errorf("%s: answer %q lacks %q", line, got, want)
		}
	}
	if n := h.Count(`SELECT count(*) FROM polls`); n != 0 {
		t.Errorf("%d polls from refused lines", n)
	}
	// Other languages.
	h.Send(party, oleg, "/poll Настолки | сб 19:00 | вс 15:00 | до сб 12:00")
	if card := h.pollCard(party.ID); !strings.Contains(card.Text, "Опрос: Настолки") || !strings.Contains(card.Text, "Закроется") {
		t.Errorf("Russian poll card:\n%s", card.Text)
	}
	h.Send(party, jonas, "/poll Spieleabend | sa 19:00 | so 15:00 | bis sa 12:00")
	if card := h.pollCard(party.ID); !strings.Contains(card.Text, "Umfrage: Spieleabend") {
		t.Errorf("German poll card:\n%s", card.Text)
	}
	h.Send(party, lucia, "/poll Juegos | sáb 19:00 | dom 15:00 | hasta sáb 12:00")
	if card := h.pollCard(party.ID); !strings.Contains(card.Text, "Encuesta: Juegos") {
		t.Errorf("Spanish poll card:\n%s", card.Text)
	}
}

// A deadline that finds a tie (here: nobody voted) leaves the pick to the
// organizer, tells them privately once, and creates no event.
func TestPollDeadlineTieTellsOrganizer(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(alice)
	h.Send(party, alice, "/poll Board games | sat 19:00 | sun 15:00 | until sat 12:00")
	card := h.pollCard(party.ID)
	h.setNow(time.Date(2026, 12, 5, 13, 0, 0, 0, berlin))
	h.RunJob("poll-deadlines")
	h.RunJob("poll-deadlines")
	if h.lastEventID() != 0 {
		t.Fatal("a tie created an event")
	}
	told := 0
	for _, s := range h.Texts(alice.ID) {
		if strings.Contains(s, "is tied") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the organizer was told %d times: %q", told, h.Texts(alice.ID))
	}
	if b := handlerstest.Buttons(h.current(party.ID, card)); len(b) != 2 {
		t.Errorf("tied card buttons %v", b)
	}
}

// Closing after a date has passed: that date cannot win however many
// votes it has; when every date has passed the poll closes without an
// event.
func TestPollPastDatesCannotWin(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/poll Board games | sat 19:00 | mon 11:00")
	card := h.pollCard(party.ID)
	h.press(party, bob, card, "1. ")
	h.press(party, carol, card, "1. ")
	h.press(party, dave, card, "2. ")
	h.Send(party, alice, "/poll Brunch | sat 10:00 | sat 11:00")
	brunch := h.pollCard(party.ID)
	h.setNow(time.Date(2026, 12, 6, 12, 0, 0, 0, berlin)) // Sunday noon
	h.press(party, alice, card, "Close")
	var starts int64
	h.DB.R.QueryRow(`SELECT starts_at FROM events`).Scan(&starts)
	if want := time.Date(2026, 12, 7, 11, 0, 0, 0, berlin); !store.FromMillis(starts).Equal(want) {
		t.Errorf("event on %v, want the only date ahead, %v", store.FromMillis(starts), want)
	}
	h.press(party, alice, brunch, "Close")
	if n := h.Count(`SELECT count(*) FROM events`); n != 1 {
		t.Errorf("%d events; a poll whose dates all passed made one", n)
	}
	if got := h.current(party.ID, brunch); !strings.Contains(got.Text, "has passed") || len(handlerstest.Buttons(got)) != 0 {
		t.Errorf("expired poll card:\n%s\n%v", got.Text, handlerstest.Buttons(got))
	}
	if n := h.Count(`SELECT count(*) FROM polls WHERE status = 'closed'`); n != 2 {
		t.Errorf("%d polls closed, want 2", n)
	}
}
