package handlers_test

// Inline sharing (handlers/inline.go), driven the way Telegram does it:
// inline queries pushed into the fake Bot API, results chosen there, edits
// of the inline message read back from it, presses on its buttons pushed
// as callback queries that carry inline_message_id and no message.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

var elsewhere = bottest.Group(-4777, "Elsewhere") // a chat the bot is not in

// ask types "@bot query" as user in chat and returns the bot's answer.
func (h *evHarness) ask(chat models.Chat, user models.User, query string) bottest.InlineAnswer {
	h.T.Helper()
	q := h.Fake.PushInlineQuery(chat, user, query).InlineQuery
	h.WaitIdle()
	a, ok := h.Fake.InlineAnswer(q.ID)
	if !ok {
		h.T.Fatalf("inline query %q of %s not answered; calls: %v", query, user.FirstName, h.Fake.CallsTo("answerInlineQuery"))
	}
	return a
}

// titles are the results' titles, in order.
func titles(a bottest.InlineAnswer) []string {
	out := []string{}
	for _, r := range a.Results {
		out = append(out, r.Title)
	}
	return out
}

// share posts event eventID's result from an answer to user's query in chat
// and returns the inline message id.
func (h *evHarness) share(chat models.Chat, user models.User, query string, eventID int64) string {
	h.T.Helper()
	q := h.Fake.PushInlineQuery(chat, user, query).InlineQuery
	h.WaitIdle()
	a, _ := h.Fake.InlineAnswer(q.ID)
	for _, r := range a.Results {
		if strings.HasPrefix(r.ID, fmt.Sprintf("ev:%d:", eventID)) {
			id, err := h.Fake.ChooseInlineResult(q.ID, r.ID)
			if err != nil || id == "" {
				h.T.Fatalf("choose %s: %q %v", r.ID, id, err)
			}
			h.WaitIdle()
			return id
		}
	}
	h.T.Fatalf("event %d not among %v", eventID, titles(a))
	return ""
}

func (h *evHarness) inlineText(id string) string {
	h.T.Helper()
	m, ok := h.Fake.InlineMessage(id)
	if !ok {
		h.T.Fatalf("no inline message %s", id)
	}
	return m.Text
}

func TestInlineQueryListsOnlyVisibleEvents(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe Central")
	h.Send(party, bob, "/event Picnic | 2026-12-06 12:00 | Park")
	picnic := h.lastEventID()
	h.Send(party, bob, "/event Bowling | 2026-12-07 20:00")
	bowling := h.lastEventID()
	h.Send(strangers, mallory, "/event Secret dinner | 2026-12-05 20:00")
	h.Send(party, bob, "/event Yesterday | 2026-12-03 19:00") // refused or past: never listed
	h.Click(party, alice, h.cardOf(party.ID, picnic).ID, fmt.Sprintf("rsvp:%d:maybe", picnic))
	h.Click(party, alice, h.cardOf(party.ID, bowling).ID, fmt.Sprintf("rsvp:%d:no", bowling))

	a := h.ask(elsewhere, alice, "")
	if got := strings.Join(titles(a), ", "); got != "Board games, Picnic" {
		t.Fatalf("alice's events: %q (organised, and answered maybe; not declined, not others')", got)
	}
	if !a.IsPersonal || a.CacheTime < 0 || a.CacheTime > 10 {
		t.Errorf("answer must be personal with a short cache: personal %v, cache %d", a.IsPersonal, a.CacheTime)
	}
	if a.Button == nil || a.Button.StartParameter != "new" || a.Button.Text != "Create an event" {
		t.Errorf("empty query: want the create button, got %+v", a.Button)
	}
	// The result is the real card, with the buttons that work anywhere.
	card := h.cardOf(party.ID, picnic)
	r := a.Results[1]
	if r.Text != card.Text {
		t.Errorf("result text %q, want the card's %q", r.Text, card.Text)
	}
	mustContain(t, "result description", r.Description, "Park")
	var data []string
	for _, row := range r.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.URL != "" || strings.HasPrefix(b.CallbackData, "evm:") {
				t.Errorf("inline card carries %q (%s%s): the bot cannot act in the chat it is in", b.Text, b.URL, b.CallbackData)
			}
			data = append(data, b.CallbackData)
		}
	}
	mustContain(t, "inline card buttons", strings.Join(data, " "), fmt.Sprintf("rsvp:%d:go", picnic), fmt.Sprintf("ev:%d:who", picnic))

	// Filtered by what is typed, in title or place, any case.
	if got := titles(h.ask(elsewhere, alice, "PIC")); len(got) != 1 || got[0] != "Picnic" {
		t.Errorf("query PIC: %v", got)
	}
	if got := titles(h.ask(elsewhere, alice, "central board")); len(got) != 1 || got[0] != "Board games" {
		t.Errorf("query 'central board': %v", got)
	}
	none := h.ask(elsewhere, alice, "secret")
	if len(none.Results) != 0 || none.Button == nil {
		t.Errorf("alice asking for mallory's event: %v (button %+v); it must never appear", titles(none), none.Button)
	}
	if got := titles(h.ask(elsewhere, mallory, "")); len(got) != 1 || got[0] != "Secret dinner" {
		t.Errorf("mallory's events: %v", got)
	}
	// Someone with no events gets only the button, in their language.
	for _, c := range []struct {
		u    models.User
		want string
	}{{oleg, "Создать событие"}, {jonas, "Event erstellen"}, {lucia, "Crear un evento"}} {
		a := h.ask(bottest.PrivateChat(c.u), c.u, "")
		if len(a.Results) != 0 || a.Button == nil || a.Button.Text != c.want {
			t.Errorf("%s: %v, button %+v, want %q", c.u.FirstName, titles(a), a.Button, c.want)
		}
	}
	// The button's /start payload starts creating an event privately.
	h.Send(bottest.PrivateChat(carol), carol, "/start new")
	mustContain(t, "after /start new", h.LastText(carol.ID), "called?")
}

func TestInlineCardStaysLive(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe Central")
	id := h.lastEventID()
	inline := h.share(elsewhere, alice, "board", id)
	if n := h.Count(`SELECT count(*) FROM inline_cards WHERE event_id = ? AND inline_message_id = ?`, id, inline); n != 1 {
		t.Fatalf("chosen result recorded %d times", n)
	}
	before := h.inlineText(inline)

	h.Click(party, bob, h.cardOf(party.ID, id).ID, fmt.Sprintf("rsvp:%d:go", id))
	if got := h.inlineText(inline); got == before || !strings.Contains(got, "Bob") {
		t.Fatalf("inline card after Bob's answer: %q", got)
	}
	h.Send(party, alice, fmt.Sprintf("/editevent %d title Chess night", id))
	mustContain(t, "inline card after the edit", h.inlineText(inline), "Chess night", "Bob")
	if got, want := h.inlineText(inline), h.cardOf(party.ID, id).Text; got != want {
		t.Errorf("inline copy %q differs from the chat's card %q", got, want)
	}
	for _, c := range h.Fake.CallsTo("editMessageText") {
		if c.Params["inline_message_id"] == inline && (c.Params["chat_id"] != "" || c.Params["message_id"] != "" || !c.OK()) {
			t.Errorf("inline edit sent as %v (status %d)", c.Params, c.Status)
		}
	}
	cardID := h.cardOf(party.ID, id).ID
	h.Send(party, alice, fmt.Sprintf("/cancelevent %d", id))
	m, _ := h.Fake.InlineMessage(inline)
	if want := h.cardText(party.ID, cardID); m.ReplyMarkup != nil || m.Text != want || !strings.Contains(want, "Chess night") {
		t.Fatalf("cancelled event's inline card: %q, buttons %v; want %q without buttons", m.Text, m.ReplyMarkup, want)
	}
}

func TestInlineButtonPressRSVPs(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00")
	id := h.lastEventID()
	h.Send(party, alice, "/event Other | 2026-12-06 19:00")
	other := h.lastEventID()
	inline := h.share(elsewhere, alice, "", id)

	// Carol is in no chat the bot knows: the recorded inline copy is what
	// lets her answer.
	h.Fake.PushInlineCallback(carol, inline, fmt.Sprintf("rsvp:%d:go", id))
	h.WaitIdle()
	if r := h.rsvp(id, carol.ID); r.Status != store.RSVPGoing {
		t.Fatalf("carol's press on the inline card: %+v", r)
	}
	mustContain(t, "toast", h.lastToast(), "going")
	mustContain(t, "inline card", h.inlineText(inline), "Carol")
	// Pressed where it was posted (the chat shows it as Alice's message via
	// the bot), as Telegram delivers it: an inline press.
	m, _ := h.Fake.InlineMessage(inline)
	h.Click(elsewhere, dave, m.MessageID, fmt.Sprintf("rsvp:%d:maybe", id))
	if r := h.rsvp(id, dave.ID); r.Status != store.RSVPMaybe {
		t.Fatalf("dave's press in the chat: %+v", r)
	}

	// A forged press naming another event on this message does nothing.
	h.Fake.PushInlineCallback(carol, inline, fmt.Sprintf("rsvp:%d:go", other))
	h.WaitIdle()
	if _, ok, _ := store.GetRSVP(context.Background(), h.DB.R, other, carol.ID); ok {
		t.Fatal("a press on event A's inline card answered event B")
	}
	mustContain(t, "forged press toast", h.lastToast(), "can't take answers")
	// And an unknown inline message for someone who may not see the event.
	h.Fake.PushInlineCallback(mallory, "AgAAAforged", fmt.Sprintf("rsvp:%d:go", id))
	h.Fake.PushInlineCallback(mallory, "AgAAAforged", "rsvp:999:go")
	h.WaitIdle()
	ts := h.Toasts()
	if ts[len(ts)-1] != ts[len(ts)-2] {
		t.Errorf("existing and missing events must answer alike: %q vs %q", ts[len(ts)-2], ts[len(ts)-1])
	}
	if _, ok, _ := store.GetRSVP(context.Background(), h.DB.R, id, mallory.ID); ok {
		t.Fatal("mallory answered through an unknown inline message")
	}
}

// With inline feedback off there is no chosen_inline_result: the card
// posts and stays as it was, until a press by someone who may see the
// event records it; from then on it is live.
func TestInlineFeedbackOff(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Fake.SetInlineFeedback(false)
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00")
	id := h.lastEventID()
	inline := h.share(elsewhere, alice, "", id)
	if n := h.Count(`SELECT count(*) FROM inline_cards`); n != 0 {
		t.Fatalf("recorded without feedback: %d", n)
	}
	posted := h.inlineText(inline)
	h.Click(party, bob, h.cardOf(party.ID, id).ID, fmt.Sprintf("rsvp:%d:go", id))
	if h.inlineText(inline) != posted {
		t.Fatal("an unrecorded inline card was edited")
	}
	h.Fake.PushInlineCallback(mallory, inline, fmt.Sprintf("rsvp:%d:go", id))
	h.WaitIdle()
	if _, ok, _ := store.GetRSVP(context.Background(), h.DB.R, id, mallory.ID); ok {
		t.Fatal("someone who may not see the event answered through an unrecorded inline card")
	}
	mustContain(t, "toast", h.lastToast(), "can't take answers")

	h.Send(party, carol, "/events") // now the bot knows carol is in the event's chat
	h.Fake.PushInlineCallback(carol, inline, fmt.Sprintf("rsvp:%d:maybe", id))
	h.WaitIdle()
	if r := h.rsvp(id, carol.ID); r.Status != store.RSVPMaybe {
		t.Fatalf("carol (a member of the event's chat) pressing: %+v", r)
	}
	mustContain(t, "adopted inline card", h.inlineText(inline), "Bob")
	h.Click(party, dave, h.cardOf(party.ID, id).ID, fmt.Sprintf("rsvp:%d:go", id))
	mustContain(t, "inline card once recorded", h.inlineText(inline), "Dave")
}

// The answer to an inline query does not wait for bulk sends: with a long
// bulk queue being paced out, it goes out among the first calls.
func TestInlineAnswerNotBehindBulk(t *testing.T) {
	h := startEvents(t, handlerstest.Options{Limits: &outbox.Limits{Global: 20}})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00")
	const bulk = 100
	err := h.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := range bulk {
			chat := int64(900_000 + i)
			if _, err := outbox.Enqueue(context.Background(), tx, outbox.Message{ChatID: chat, Method: "sendMessage", Lane: outbox.Bulk,
				Params: map[string]any{"chat_id": chat, "text": fmt.Sprintf("reminder %d", i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := h.ask(elsewhere, alice, "")
	if len(a.Results) != 1 {
		t.Fatalf("results: %v", titles(a))
	}
	before := 0
	for _, c := range h.Fake.Calls() {
		if c.Method == "answerInlineQuery" {
			break
		}
		if c.Method == "sendMessage" && strings.HasPrefix(c.Params["text"], "reminder ") {
			before++
		}
	}
	if before >= bulk/2 {
		t.Fatalf("%d of %d bulk messages went out before the inline answer", before, bulk)
	}
}
