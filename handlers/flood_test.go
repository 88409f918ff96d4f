package handlers_test

// The flood budgets, driven through the whole bot: a real SQLite file, the
// fake Bot API, the dispatcher, the handlers behind the flood guard, the
// outbox sender. The handlers' clock is fixed and moved by the tests, so
// the buckets refill only when a test says so.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// floodCounter counts OnDrop calls by budget.
type floodCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *floodCounter) drop(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[scope]++
}

func (c *floodCounter) get(scope string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[scope]
}

func startFlood(t *testing.T, user, chat float64) (*evHarness, *floodCounter) {
	t.Helper()
	c := &floodCounter{}
	h := startEvents(t, handlerstest.Options{Flood: &handlers.FloodConfig{UserPerMinute: user, ChatPerMinute: chat, OnDrop: c.drop}})
	return h, c
}

// push sends texts from user in chat without waiting, then waits until
// the bot is idle: the commands arrive as fast as a script sends them.
func (h *evHarness) push(chat models.Chat, user models.User, texts ...string) {
	h.T.Helper()
	for _, text := range texts {
		h.Fake.PushMessage(chat, user, text)
	}
	h.WaitIdle()
}

func seqTexts(format string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

// botTexts are the bot's messages in chat containing sub.
func (h *evHarness) botTexts(chatID int64, sub string) []string {
	var out []string
	for _, m := range h.Fake.Messages(chatID) {
		if m.From != nil && m.From.IsBot && strings.Contains(m.Text, sub) {
			out = append(out, m.Text)
		}
	}
	return out
}

func (h *evHarness) allDone(t *testing.T) {
	t.Helper()
	if n := h.Count(`SELECT count(*) FROM inbox WHERE done_at IS NULL OR error != ''`); n != 0 {
		t.Fatalf("%d updates not done or done with an error", n)
	}
}

// A user over their budget in a private chat gets exactly one notice, in
// their language, saying when to try again, and no further answers; every
// update is marked done. The budget refills with time; a second flood in
// the same minute is not told again, one after a pause is.
func TestFloodUserOverBudgetGetsOneNotice(t *testing.T) {
	h, drops := startFlood(t, 20, 15) // 20/min: a burst of 10, one more every 3 s
	chat := bottest.PrivateChat(jonas)
	h.push(chat, jonas, seqTexts("/lang fl%d", 1, 14)...)

	answered := h.botTexts(chat.ID, "fl")
	if len(answered) != 10 || !strings.Contains(answered[0], "fl1") || !strings.Contains(answered[9], "fl10") {
		t.Fatalf("answered %q, want fl1..fl10", answered)
	}
	notices := h.botTexts(chat.ID, "Langsamer")
	if len(notices) != 1 || !strings.Contains(notices[0], "in 3 Sekunden") {
		t.Fatalf("notices %q, want one German notice with 3 s", notices)
	}
	if all := len(h.Fake.Messages(chat.ID)); all != 14+10+1 {
		t.Fatalf("chat shows %d messages, want 14 commands, 10 answers and 1 notice", all)
	}
	h.allDone(t)
	if drops.get("user") != 4 || drops.get("chat") != 0 {
		t.Fatalf("drops counted: %v", drops.n)
	}

	// Three seconds later one more command is answered; the rest of that
	// burst is not, and no second notice comes within the minute.
	h.setNow(evNow.Add(3 * time.Second))
	h.push(chat, jonas, seqTexts("/lang fm%d", 1, 4)...)
	if got := h.botTexts(chat.ID, "fm"); len(got) != 1 || !strings.Contains(got[0], "fm1") {
		t.Fatalf("after 3 s: %q", got)
	}
	if n := len(h.botTexts(chat.ID, "Langsamer")); n != 1 {
		t.Fatalf("%d notices within one minute", n)
	}

	// After a pause long enough to refill the bucket, a new flood is told
	// again.
	h.setNow(evNow.Add(2 * time.Minute))
	h.push(chat, jonas, seqTexts("/lang fn%d", 1, 12)...)
	if got := h.botTexts(chat.ID, "fn"); len(got) != 10 {
		t.Fatalf("after a pause: %d answers, want 10", len(got))
	}
	if n := len(h.botTexts(chat.ID, "Langsamer")); n != 2 {
		t.Fatalf("%d notices after the second flood, want 2", n)
	}
	h.allDone(t)
}

// In a group, one member's flood does not silence the others: heavy
// senders only get what the quiet members leave of the group's budget, and
// nobody's commands queue more replies than the budget allows.
func TestFloodGroupMembersStillAnswered(t *testing.T) {
	h, drops := startFlood(t, 20, 15) // group: 15/min, a burst of 2
	h.push(party, alice, seqTexts("/lang al%d", 1, 20)...)
	if got := h.botTexts(party.ID, "al"); len(got) != 1 || !strings.Contains(got[0], "al1") {
		t.Fatalf("flooder answered %q, want only al1", got)
	}
	// The group's bucket has one token left: a quiet member gets it.
	h.push(party, bob, "/lang bo1")
	if got := h.botTexts(party.ID, "bo1"); len(got) != 1 {
		t.Fatalf("bob not answered: %q", h.Texts(party.ID))
	}
	// Four seconds later one token is back: the quiet member goes first,
	// the flooder (still sending) gets nothing.
	h.setNow(evNow.Add(4 * time.Second))
	h.push(party, carol, "/lang ca1")
	h.push(party, alice, "/lang al21")
	if got := h.botTexts(party.ID, "ca1"); len(got) != 1 {
		t.Fatalf("carol not answered: %q", h.Texts(party.ID))
	}
	if got := h.botTexts(party.ID, "al"); len(got) != 1 {
		t.Fatalf("flooder answered again: %q", got)
	}
	// No notice either: the group had no room for one.
	if n := len(h.botTexts(party.ID, "Slow down")); n != 0 {
		t.Fatalf("%d notices in a group with no room", n)
	}
	h.allDone(t)
	if drops.get("user")+drops.get("chat") != 20 || drops.get("chat") == 0 {
		t.Fatalf("drops counted: %v", drops.n)
	}
}

// In a group, the notice is a message to the group too: it waits until
// the group's bucket is full, and is then sent once.
func TestFloodGroupNoticeWaitsForRoom(t *testing.T) {
	h, _ := startFlood(t, 3, 15) // user: 3/min, a burst of 1
	h.push(party, alice, "/lang al1", "/lang al2")
	if got := h.botTexts(party.ID, "al"); len(got) != 1 {
		t.Fatalf("answered %q, want al1 only", got)
	}
	if n := len(h.botTexts(party.ID, "Slow down")); n != 0 {
		t.Fatal("notice sent while the group's bucket was not full")
	}
	h.setNow(evNow.Add(4 * time.Second)) // the group's bucket is full again
	h.push(party, alice, "/lang al3", "/lang al4")
	notices := h.botTexts(party.ID, "Slow down")
	if len(notices) != 1 || !strings.Contains(notices[0], "in 16 seconds") {
		t.Fatalf("notices %q, want one with 16 s", notices)
	}
	// It replies to the command, so the flooder sees it is meant for them.
	if h.Count(`SELECT count(*) FROM outbox WHERE chat_id = ? AND params LIKE '%Slow down%' AND params LIKE '%"reply_parameters"%'`, party.ID) != 1 {
		t.Fatal("the notice does not reply to the command")
	}
	h.allDone(t)
}

// Button presses are never charged or dropped: a user far over their
// command budget still RSVPs, every press is answered, and the card shows
// the final state.
func TestFloodRSVPPressesNeverDropped(t *testing.T) {
	h, _ := startFlood(t, 3, 15)
	h.Send(party, alice, "/event Dinner | sat 19:00 | Home | 10")
	card := h.card(party.ID)
	id := h.lastEventID()
	h.push(party, alice, seqTexts("/lang al%d", 1, 10)...)
	h.push(party, bob, seqTexts("/lang bo%d", 1, 10)...)

	presses := 0
	for i := 0; i < 6; i++ {
		for _, u := range []models.User{alice, bob, carol} {
			label := "Going"
			if i%2 == 1 {
				label = "Maybe"
			}
			h.Fake.PushCallback(party, u, card.ID, h.Button(card, label))
			presses++
		}
	}
	h.Fake.PushCallback(party, bob, card.ID, h.Button(card, "Going"))
	presses++
	h.WaitIdle()
	if n := len(h.Fake.CallsTo("answerCallbackQuery")); n != presses {
		t.Fatalf("%d of %d presses answered", n, presses)
	}
	for _, u := range []models.User{alice, carol} {
		if r := h.rsvp(id, u.ID); r.Status != store.RSVPMaybe {
			t.Fatalf("%s: %+v", u.FirstName, r)
		}
	}
	if r := h.rsvp(id, bob.ID); r.Status != store.RSVPGoing {
		t.Fatalf("bob: %+v", r)
	}
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 1/10", "Bob", "Maybe 2")
	h.allDone(t)
}

// The same answer asked for again while the first is still queued goes
// out once: five members typing /help in a busy group (20 messages a
// minute) get one help message, or two if the first was already on its
// way, not five.
func TestFloodIdenticalPendingRepliesCoalesced(t *testing.T) {
	h := startEvents(t, handlerstest.Options{Limits: &outbox.Limits{GroupPerMinute: 20}})
	for _, u := range []models.User{alice, bob, carol, dave, eve} {
		h.Fake.PushMessage(party, u, "/help")
	}
	h.WaitIdle()
	helps := h.botTexts(party.ID, "Here's what I can do")
	if len(helps) < 1 || len(helps) > 2 {
		t.Fatalf("%d help messages in the group, want 1 or 2", len(helps))
	}
	if n := h.Count(`SELECT count(*) FROM outbox WHERE chat_id = ? AND method = 'sendMessage'`, party.ID); n != len(helps) {
		t.Fatalf("%d reply rows for %d messages", n, len(helps))
	}
	h.allDone(t)
}

// A flooder in a group who has started the bot is told privately (naming
// the group), which costs the group nothing.
func TestFloodGroupNoticeGoesPrivatelyWhenPossible(t *testing.T) {
	h, _ := startFlood(t, 3, 15) // user: 3/min, a burst of 2
	h.startPrivately(alice)
	h.push(party, alice, "/lang al1", "/lang al2", "/lang al3")
	if got := h.botTexts(party.ID, "al"); len(got) != 1 {
		t.Fatalf("answered %q, want al1 only", got)
	}
	if n := len(h.botTexts(party.ID, "Slow down")); n != 0 {
		t.Fatalf("%d notices in the group", n)
	}
	notices := h.botTexts(alice.ID, "Slow down")
	if len(notices) != 1 || !strings.HasPrefix(notices[0], "Friends: ") {
		t.Fatalf("private notices %q, want one naming the group", notices)
	}
	h.allDone(t)
}

// Answers to a conversation in a group cost the user's budget only: a
// member creating an event step by step in a busy group does not lose a
// step because others emptied the group's bucket.
func TestFloodConversationStepsNotChargedToTheGroup(t *testing.T) {
	h, drops := startFlood(t, 20, 15) // group: a burst of 3
	h.Send(party, alice, "/event")
	mustContain(t, "ask title", h.LastText(party.ID), "called")
	h.push(party, bob, "/lang bo1")
	h.push(party, carol, "/lang ca1")
	h.push(party, dave, "/lang da1") // the group's bucket was empty: not answered
	if drops.get("chat") != 1 || len(h.botTexts(party.ID, "da1")) != 0 {
		t.Fatalf("drops %v; group shows %q", drops.n, h.Texts(party.ID))
	}
	h.Send(party, alice, "Board games")
	mustContain(t, "ask when", h.LastText(party.ID), "When does it start")
	h.allDone(t)
}
