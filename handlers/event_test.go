package handlers_test

// Events and RSVPs driven the way people use them: commands, answers and
// button presses pushed into the fake Bot API, and what the chats show
// afterwards read back from it.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	ics "github.com/arran4/golang-ical"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

var (
	alice = handlerstest.User(3001, "Alice", "en")
	bob   = handlerstest.User(3002, "Bob", "en")
	carol = handlerstest.User(3003, "Carol", "en")
	dave  = handlerstest.User(3004, "Dave", "en")
	eve   = handlerstest.User(3005, "Eve", "en")
	oleg  = handlerstest.User(3006, "Олег", "ru")
	jonas = handlerstest.User(3007, "Jonas", "de")
	lucia = handlerstest.User(3008, "Lucía", "es")
	party = bottest.Group(-4001, "Friends")
)

// evHarness is a bot whose handlers' clock the test sets.
type evHarness struct {
	*handlerstest.Harness
	now *atomic.Int64
}

// Friday 4 December 2026, 10:00 in Berlin.
var evNow = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

func startEvents(t *testing.T, opts handlerstest.Options) *evHarness {
	t.Helper()
	now := &atomic.Int64{}
	now.Store(evNow.UnixNano())
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
	opts.TZ = loc
	return &evHarness{Harness: handlerstest.Start(t, opts), now: now}
}

func (h *evHarness) restart() *evHarness {
	return &evHarness{Harness: h.Restart(), now: h.now}
}

func (h *evHarness) setNow(t time.Time) { h.now.Store(t.UnixNano()) }

// card is the newest message in chat that carries RSVP buttons.
func (h *evHarness) card(chatID int64) models.Message {
	h.T.Helper()
	msgs := h.Fake.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, data := range handlerstest.Buttons(msgs[i]) {
			if strings.HasPrefix(data, "rsvp:") {
				return msgs[i]
			}
		}
	}
	h.T.Fatalf("no event card in chat %d: %q", chatID, h.Texts(chatID))
	return models.Message{}
}

// cardText is the current text of a card message.
func (h *evHarness) cardText(chatID int64, messageID int) string {
	h.T.Helper()
	m, ok := h.Fake.Message(chatID, messageID)
	if !ok {
		h.T.Fatalf("message %d gone from chat %d", messageID, chatID)
	}
	return m.Text
}

func (h *evHarness) lastEventID() int64 {
	var id int64
	h.DB.R.QueryRow(`SELECT coalesce(max(id), 0) FROM events`).Scan(&id)
	return id
}

func (h *evHarness) lastToast() string {
	h.T.Helper()
	ts := h.Toasts()
	if len(ts) == 0 {
		h.T.Fatal("no callback answered")
	}
	return ts[len(ts)-1]
}

// press clicks the button whose label contains label on message m.
func (h *evHarness) press(chat models.Chat, user models.User, m models.Message, label string) {
	h.T.Helper()
	h.Click(chat, user, m.ID, h.Button(m, label))
}

// startPrivately makes users start the bot, so it may write to them.
func (h *evHarness) startPrivately(users ...models.User) {
	for _, u := range users {
		h.Send(bottest.PrivateChat(u), u, "/start")
	}
}

func (h *evHarness) rsvp(eventID, userID int64) store.RSVP {
	r, _, err := store.GetRSVP(context.Background(), h.DB.R, eventID, userID)
	if err != nil {
		h.T.Fatal(err)
	}
	return r
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: %q lacks %q", what, got, w)
		}
	}
}

func TestEventOneLine(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe Central, Berlin | 12")
	card := h.card(party.ID)
	mustContain(t, "card", card.Text, "Board games", "Sat, 5 Dec 2026, 19:00 CET", "Cafe Central, Berlin",
		"Organizer: Alice", "Going 0/12")
	labels := strings.Join(keys(handlerstest.Buttons(card)), " | ")
	mustContain(t, "buttons", labels, "Going", "Maybe", "Can't go", "+1", "Add to calendar", "Who's going", "Manage")
	for _, data := range handlerstest.Buttons(card) {
		if len(data) > 64 {
			t.Errorf("callback data %q is longer than 64 bytes", data)
		}
	}
	ev, ok, _ := store.GetEvent(context.Background(), h.DB.R, h.lastEventID())
	if !ok || !ev.StartsAt.Equal(time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)) || ev.Timezone != "Europe/Berlin" || ev.Capacity != 12 {
		t.Fatalf("stored %+v", ev)
	}
	// The card's message id was recorded by the on-sent hook.
	if h.Count(`SELECT count(*) FROM event_cards WHERE chat_id = ? AND message_id = ?`, party.ID, card.ID) != 1 {
		t.Fatal("card message not recorded")
	}

	// Natural dates in every language, in the user's language first.
	for _, c := range []struct {
		user       models.User
		line, want string
	}{
		{oleg, "/event Настолки | завтра в 19 | Кафе", "сб, 5 декабря 2026, 19:00 CET"},
		{jonas, "/event Spieleabend | morgen 19 Uhr", "Sa., 5. Dez. 2026, 19:00 CET"},
		{lucia, "/event Juegos | mañana 19:00 | Café", "sáb, 5 dic 2026, 19:00 CET"},
		{bob, "/event Quiz | fri 7pm", "Fri, 4 Dec 2026, 19:00 CET"},
	} {
		chat := bottest.PrivateChat(c.user)
		h.Send(chat, c.user, c.line)
		mustContain(t, c.line, h.card(chat.ID).Text, c.want)
	}
}

func TestEventOneLineErrorsExplainTheFix(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	for _, c := range []struct{ line, want string }{
		{"/event  | tomorrow 19:00", "needs a title"},
		{"/event Games", "/event Title | When | Where | Places"},
		{"/event Games | 2020-01-01 10:00", "already passed"},
		{"/event Games | soonish", "couldn't read that date"},
		{"/event Games | tomorrow", "add a time"},
		{"/event Games | tomorrow 19:00 | Cafe | zero", "whole number above zero"},
		{"/event Games | tomorrow 19:00 | Cafe | -3", "for example 12"},
		{"/event " + strings.Repeat("x", 201) + " | tomorrow 19:00", "at most 200"},
	} {
		h.Send(chat, alice, c.line)
		got := h.LastText(chat.ID)
		mustContain(t, c.line, got, c.want)
		if strings.Contains(got, "date") && !strings.Contains(got, "2026-12-11 19:00") && strings.Contains(c.want, "date") {
			t.Errorf("%s: no example in %q", c.line, got)
		}
	}
	if h.lastEventID() != 0 {
		t.Fatal("an invalid line created an event")
	}
	// In the user's language.
	h.Send(bottest.PrivateChat(oleg), oleg, "/event Игры | 2020-01-01 10:00")
	mustContain(t, "russian", h.LastText(oleg.ID), "уже прошло", "2026-12-11 19:00")
}

// The step-by-step conversation, restarted in the middle and at the
// preview, edited from the preview and posted.
func TestEventConversation(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	h.Send(chat, alice, "/event")
	mustContain(t, "ask title", h.LastText(chat.ID), "called")
	h.Send(chat, alice, "   ")
	mustContain(t, "empty title", h.LastText(chat.ID), "needs a title")
	h.Send(chat, alice, "Board games")
	mustContain(t, "ask when", h.LastText(chat.ID), "When does it start", "Europe/Berlin")

	h = h.restart()
	h.Send(chat, alice, "yesterday-ish")
	mustContain(t, "bad date", h.LastText(chat.ID), "couldn't read")
	h.Send(chat, alice, "tomorrow 19:00")
	mustContain(t, "ask where", h.LastText(chat.ID), "Where is it")
	h.Send(chat, alice, "Cafe <Central>")
	h.Send(chat, alice, "zero")
	mustContain(t, "bad capacity", h.LastText(chat.ID), "whole number above zero", "skip")
	h.Send(chat, alice, "12")
	h.Send(chat, alice, "skip")
	mustContain(t, "ask question", h.LastText(chat.ID), "What will you bring?")
	h.Send(chat, alice, "skip")
	preview := h.Last(chat.ID)
	mustContain(t, "preview", preview.Text, "Shall I post it", "Board games", "Cafe <Central>", "Going 0/12", "Sat, 5 Dec 2026, 19:00 CET")
	if h.lastEventID() != 0 {
		t.Fatal("event created before Post")
	}

	// A typed answer at the preview points at the buttons.
	h.Send(chat, alice, "yes")
	mustContain(t, "typed", h.LastText(chat.ID), "use the buttons")

	// Restart at the preview, then change the title from it.
	h = h.restart()
	h.press(chat, alice, preview, "Edit")
	picker := h.Last(chat.ID)
	h.press(chat, alice, picker, "Title")
	mustContain(t, "ask title again", h.LastText(chat.ID), "Currently: Board games")
	h.Send(chat, alice, "Chess night")
	preview = h.Last(chat.ID)
	mustContain(t, "new preview", preview.Text, "Chess night", "Cafe <Central>")

	h.press(chat, alice, preview, "Post")
	card := h.card(chat.ID)
	mustContain(t, "card", card.Text, "Chess night", "Going 0/12")
	if h.Count(`SELECT count(*) FROM conversations WHERE user_id = ?`, alice.ID) != 0 {
		t.Fatal("conversation left after posting")
	}
	// Pressing Post again (a stale preview) posts nothing.
	h.press(chat, alice, preview, "Post")
	if h.lastEventID() != 1 || !strings.Contains(h.lastToast(), "no longer open") {
		t.Fatalf("second post: events %d, toast %q", h.lastEventID(), h.lastToast())
	}
}

func TestEventConversationCancel(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	for _, s := range []string{"/event", "Picnic", "sat 12:00", "-", "-", "-", "-"} {
		h.Send(chat, alice, s)
	}
	preview := h.Last(chat.ID)
	mustContain(t, "preview", preview.Text, "Picnic", "Going 0")
	// Someone else cannot post Alice's draft.
	h.Click(chat, bob, preview.ID, "evc:post")
	if h.lastEventID() != 0 {
		t.Fatal("someone else posted the draft")
	}
	h.press(chat, alice, preview, "Cancel")
	mustContain(t, "cancelled", h.LastText(chat.ID), "discarded")
	if h.lastEventID() != 0 || h.Count(`SELECT count(*) FROM conversations`) != 0 {
		t.Fatal("draft not discarded")
	}
}

func TestRSVPTransitionsGuestsAndWaitlist(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(carol)
	h.Send(party, alice, "/event Dinner | sat 19:00 | Home | 2")
	card := h.card(party.ID)
	id := h.lastEventID()

	h.press(party, bob, card, "Going")
	mustContain(t, "toast", h.lastToast(), "You're going")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 1/2", "Going: Bob")
	h.press(party, bob, card, "Going")
	mustContain(t, "again", h.lastToast(), "already going")

	h.press(party, bob, card, "+1")
	mustContain(t, "plus", h.lastToast(), "bringing 1 guest")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 2/2", "Bob (+1)")
	h.press(party, bob, card, "+1")
	mustContain(t, "full", h.lastToast(), "no place left")

	h.press(party, carol, card, "Going")
	mustContain(t, "waitlist", h.lastToast(), "waitlist (#1)")
	h.press(party, dave, card, "Going")
	mustContain(t, "waitlist 2", h.lastToast(), "waitlist (#2)")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 2/2", "Waitlist 2")

	// Bob's guest stays home: Carol, first in line, is in and told privately.
	h.press(party, bob, card, "−1")
	mustContain(t, "minus", h.lastToast(), "not bringing any guests")
	if r := h.rsvp(id, carol.ID); r.Status != store.RSVPGoing {
		t.Fatalf("carol %+v", r)
	}
	mustContain(t, "promotion", h.LastText(carol.ID), "place freed up", "Dinner")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 2/2", "Bob, Carol", "Waitlist 1")

	// Dave never started the bot: when Bob leaves, he is mentioned in the group.
	h.press(party, bob, card, "Can't go")
	mustContain(t, "declined", h.lastToast(), "can't go")
	last := h.Last(party.ID)
	mustContain(t, "mention", last.Text, "Dave", "place freed up")
	if len(last.Entities) == 0 || last.Entities[0].URL != "tg://user?id="+strconv.FormatInt(dave.ID, 10) {
		t.Fatalf("no mention of Dave: %+v", last.Entities)
	}
	h.press(party, eve, card, "Maybe")
	mustContain(t, "maybe", h.lastToast(), "maybe")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Going 2/2", "Maybe 1", "Carol, Dave")
	h.press(party, bob, card, "−1")
	mustContain(t, "no guests", h.lastToast(), "no guests")
}

// Fifty people press "Going" at once for ten places, thirty in the group
// and twenty on private copies of the card (different chats, so different
// dispatcher lines running in parallel): exactly ten go, forty wait, in a
// strict order, and every card copy ends showing that.
func TestWaitlistUnderConcurrentClicks(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Concert | sat 20:00 | Hall | 10")
	card := h.card(party.ID)
	id := h.lastEventID()
	var users []models.User
	for i := range 50 {
		users = append(users, handlerstest.User(int64(5000+i), fmt.Sprintf("Fan%02d", i), "en"))
	}
	private := map[int64]models.Message{}
	for _, u := range users[30:] {
		h.Send(bottest.PrivateChat(u), u, "/start ev_"+h.shareCode(id))
		private[u.ID] = h.card(u.ID)
	}
	for i, u := range users {
		if i < 30 {
			h.Fake.PushCallback(party, u, card.ID, "rsvp:"+strconv.FormatInt(id, 10)+":go")
		} else {
			h.Fake.PushCallback(bottest.PrivateChat(u), u, private[u.ID].ID, "rsvp:"+strconv.FormatInt(id, 10)+":go")
		}
	}
	h.WaitIdle()
	c, err := store.CountRSVPs(context.Background(), h.DB.R, id)
	if err != nil || c.Going != 10 || c.GoingSeats != 10 || c.Waitlist != 40 {
		t.Fatalf("counts %+v %v", c, err)
	}
	// Positions are a strict order: ranks 1..40 on the waitlist.
	seen := map[int]bool{}
	for _, u := range users {
		if r := h.rsvp(id, u.ID); r.Status == store.RSVPWaitlist {
			rank, _ := store.WaitlistRank(context.Background(), h.DB.R, id, u.ID)
			if rank < 1 || rank > 40 || seen[rank] {
				t.Fatalf("rank %d of %s", rank, u.FirstName)
			}
			seen[rank] = true
		}
	}
	// Within one chat Telegram's order is kept: in the group, nobody
	// waits behind someone who pressed later.
	lastRank, waiting := 0, false
	for _, u := range users[:30] {
		r := h.rsvp(id, u.ID)
		switch {
		case r.Status == store.RSVPGoing && waiting:
			t.Fatalf("%s goes although an earlier group click waits", u.FirstName)
		case r.Status == store.RSVPWaitlist:
			waiting = true
			rank, _ := store.WaitlistRank(context.Background(), h.DB.R, id, u.ID)
			if rank <= lastRank {
				t.Fatalf("%s has rank %d after rank %d", u.FirstName, rank, lastRank)
			}
			lastRank = rank
		}
	}
	want := "Going 10/10 · ⏳ Waitlist 40"
	mustContain(t, "group card", h.cardText(party.ID, card.ID), want)
	for _, u := range users[30:] {
		mustContain(t, "private card", h.cardText(u.ID, private[u.ID].ID), want)
	}
	edits := len(h.Fake.CallsTo("editMessageText"))
	t.Logf("%d clicks on 21 card copies cost %d edits", 50, edits)
	// Without coalescing every click would edit every copy (1,050 edits);
	// a pending edit of a copy is replaced by the newer one, so far fewer
	// go out (about 50 here, a card's worth per burst).
	if edits > 50*21/4 {
		t.Errorf("edits were not coalesced: %d of at most %d", edits, 50*21)
	}
	toasts := h.Toasts()
	waitToasts := 0
	for _, s := range toasts {
		if strings.Contains(s, "waitlist") {
			waitToasts++
		}
	}
	if waitToasts != 40 {
		t.Errorf("%d waitlist toasts, want 40", waitToasts)
	}
}

func TestDeepLinkCopiesStayInSync(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Hike | sat 09:00 | Station")
	group := h.card(party.ID)
	code := h.shareCode(h.lastEventID())
	// The Share button points at the deep link, which carries the share code.
	shareURL := ""
	for _, row := range group.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, "Share") {
				shareURL = b.URL
			}
		}
	}
	mustContain(t, "share", shareURL, "t.me/share/url", "start%3Dev_"+code)

	bobChat := bottest.PrivateChat(bob)
	h.Send(bobChat, bob, "/start ev_"+code)
	priv := h.card(bob.ID)
	mustContain(t, "private copy", priv.Text, "Hike", "Going 0")
	h.press(bobChat, bob, priv, "Going")
	mustContain(t, "group after private click", h.cardText(party.ID, group.ID), "Going 1", "Bob")
	mustContain(t, "private after private click", h.cardText(bob.ID, priv.ID), "Going 1", "Bob")
	h.press(party, carol, group, "Going")
	mustContain(t, "private after group click", h.cardText(bob.ID, priv.ID), "Going 2", "Bob, Carol")

	// Opening the link again replaces the private copy instead of adding one.
	h.Send(bobChat, bob, "/start ev_"+code)
	if _, still := h.Fake.Message(bob.ID, priv.ID); still {
		t.Error("old private copy not deleted")
	}
	if n := h.Count(`SELECT count(*) FROM event_cards WHERE chat_id = ?`, bob.ID); n != 1 {
		t.Errorf("%d private copies tracked", n)
	}
	h.Send(bobChat, bob, "/start ev_999")
	mustContain(t, "dead link", h.LastText(bob.ID), "no longer exists")
}

func TestEditAndCancelNotifyParticipants(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(alice, bob, carol, oleg)
	h.Send(party, alice, "/event Board games | sat 19:00 | Cafe | 1")
	card := h.card(party.ID)
	id := strconv.FormatInt(h.lastEventID(), 10)
	h.press(party, bob, card, "Going")
	h.press(party, carol, card, "Maybe")
	h.press(party, dave, card, "Going") // waitlisted, never started the bot
	h.press(party, oleg, card, "Can't go")
	h.press(party, eve, card, "Going") // waitlisted, then leaves
	h.press(party, eve, card, "Can't go")

	h.Send(party, alice, "/editevent "+id+" when sun 18:00")
	mustContain(t, "saved", strings.Join(h.Texts(party.ID), "\n"), "Saved")
	mustContain(t, "bob told", h.LastText(bob.ID), "has moved", "Sun, 6 Dec 2026, 18:00 CET", "Sat, 5 Dec 2026, 19:00 CET")
	mustContain(t, "carol told", h.LastText(carol.ID), "has moved")
	mustContain(t, "dave mentioned", h.LastText(party.ID)+strings.Join(h.Texts(party.ID), "\n"), "Dave")
	if strings.Contains(h.LastText(oleg.ID), "moved") || strings.Contains(strings.Join(h.Texts(oleg.ID), ""), "перенос") {
		t.Error("someone who declined was told")
	}
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Sun, 6 Dec 2026, 18:00 CET")

	// The place, through the Manage button and the private menu.
	h.press(party, alice, card, "Manage")
	mustContain(t, "toast", h.lastToast(), "private chat")
	menu := h.Last(alice.ID)
	mustContain(t, "menu", menu.Text, "Board games", "/editevent "+id)
	h.press(bottest.PrivateChat(alice), alice, menu, "📍 Place")
	mustContain(t, "ask place", h.LastText(alice.ID), "Currently: Cafe")
	h.Send(bottest.PrivateChat(alice), alice, "Library & Co")
	mustContain(t, "saved", h.LastText(alice.ID), "Saved")
	mustContain(t, "bob told", h.LastText(bob.ID), "new place", "Library & Co")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Library & Co")

	// Raising the capacity lets Dave in.
	h.Send(party, alice, "/editevent "+id+" capacity 2")
	if r := h.rsvp(h.lastEventID(), dave.ID); r.Status != store.RSVPGoing {
		t.Fatalf("dave %+v", r)
	}

	// Cancelling, from the menu with a confirmation.
	h.press(bottest.PrivateChat(alice), alice, menu, "Cancel event")
	confirm := h.Last(alice.ID)
	h.press(bottest.PrivateChat(alice), alice, confirm, "Yes")
	mustContain(t, "cancel bob", h.LastText(bob.ID), "has been cancelled")
	mustContain(t, "cancel carol", h.LastText(carol.ID), "has been cancelled")
	final, _ := h.Fake.Message(party.ID, card.ID)
	mustContain(t, "cancelled card", final.Text, "CANCELLED")
	if final.ReplyMarkup != nil && len(final.ReplyMarkup.InlineKeyboard) > 0 {
		t.Error("cancelled card still has buttons")
	}
	h.Click(party, bob, card.ID, "rsvp:"+id+":go")
	mustContain(t, "after cancel", h.lastToast(), "cancelled")
}

func TestManagePermissions(t *testing.T) {
	h := startEvents(t, handlerstest.Options{Admins: []int64{admin.ID}})
	frank := handlerstest.User(3010, "Frank", "en")
	h.Fake.SetChatMember(party, frank, models.ChatMemberTypeAdministrator)
	h.Send(party, alice, "/event Quiz | sat 19:00 | Pub")
	card := h.card(party.ID)
	id := strconv.FormatInt(h.lastEventID(), 10)
	before := h.cardText(party.ID, card.ID)

	h.press(party, eve, card, "Manage")
	mustContain(t, "manage toast", h.lastToast(), "only the organizer")
	for _, data := range []string{"evm:" + id + ":cancelyes", "evm:" + id + ":title", "evm:" + id + ":cancel"} {
		h.Click(party, eve, card.ID, data)
		mustContain(t, data, h.lastToast(), "only the organizer")
	}
	h.Send(party, eve, "/editevent "+id+" title Hacked")
	mustContain(t, "edit refused", h.LastText(party.ID), "only the organizer")
	h.Send(party, eve, "/cancelevent "+id)
	mustContain(t, "cancel refused", h.LastText(party.ID), "only the organizer")
	ev, _, _ := store.GetEvent(context.Background(), h.DB.R, h.lastEventID())
	if ev.Title != "Quiz" || ev.Cancelled() || h.cardText(party.ID, card.ID) != before {
		t.Fatalf("changed by someone without rights: %+v", ev)
	}

	// A chat admin may edit; a bot admin may cancel.
	h.Send(party, frank, "/editevent "+id+" title Pub quiz")
	mustContain(t, "admin edit", h.cardText(party.ID, card.ID), "Pub quiz")
	h.Send(party, admin, "/cancelevent "+id)
	mustContain(t, "bot admin cancel", h.cardText(party.ID, card.ID), "CANCELLED")
}

func TestStaleAndForgedCallbacks(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Run | sat 08:00 | Park")
	card := h.card(party.ID)
	id := strconv.FormatInt(h.lastEventID(), 10)
	for _, c := range []struct{ data, want string }{
		{"rsvp:99999:go", "no longer exists"},
		{"rsvp:" + id + ":dance", "no longer works"},
		{"rsvp:abc:go", "no longer works"},
		{"rsvp:" + id, "no longer works"},
		{"ev:" + id + ":explode", "no longer works"},
		{"ev:99999:ics", "no longer exists"},
		{"evm:99999", "no longer exists"},
		{"evm:" + id + ":frobnicate", "only the organizer"},
		{"evc:post", "no longer open"},
	} {
		h.Click(party, bob, card.ID, c.data)
		mustContain(t, c.data, h.lastToast(), c.want)
	}
	if h.Count(`SELECT count(*) FROM rsvps`) != 0 {
		t.Fatal("a forged click changed RSVPs")
	}
	// The organizer with an unknown action still gets nothing done.
	h.Click(party, alice, card.ID, "evm:"+id+":frobnicate")
	mustContain(t, "organizer unknown action", h.lastToast(), "no longer works")

	// Once the event has started, answers are locked.
	h.setNow(time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC))
	h.press(party, bob, card, "Going")
	mustContain(t, "locked", h.lastToast(), "already started")
	if h.Count(`SELECT count(*) FROM rsvps`) != 0 {
		t.Fatal("RSVP accepted after the start")
	}
}

func TestRSVPDeadline(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Trip | 2026-12-12 08:00 | Station")
	card := h.card(party.ID)
	id := strconv.FormatInt(h.lastEventID(), 10)
	h.Send(party, alice, "/editevent "+id+" deadline 2026-12-13 10:00")
	mustContain(t, "deadline after start", h.LastText(party.ID), "must be before the event starts")
	h.Send(party, alice, "/editevent "+id+" deadline 2026-12-10 20:00")
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Reply by Thu, 10 Dec 2026, 20:00 CET")
	h.setNow(time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC))
	h.press(party, bob, card, "Going")
	mustContain(t, "closed", h.lastToast(), "deadline has passed")
}

func TestCardWithFiveHundredAttendeesFits(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Festival | sat 12:00 | Field")
	card := h.card(party.ID)
	id := h.lastEventID()
	ctx := context.Background()
	err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 500 {
			uid := int64(100000 + i)
			name := strings.Repeat("Ж", 30) + strconv.Itoa(i) // long, non-Latin names
			if err := store.UpsertUser(ctx, tx, store.User{ID: uid, FirstName: name, LastName: "<b>&"}, evNow); err != nil {
				return err
			}
			if _, err := store.ApplyRSVP(ctx, tx, id, uid, store.ActGoing, evNow); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.press(party, bob, card, "Going") // any click re-renders every copy
	text := h.cardText(party.ID, card.ID)
	if n := len(utf16.Encode([]rune(text))); n >= 4096 {
		t.Fatalf("card is %d characters", n)
	}
	mustContain(t, "card", text, "Going 501", "more", "<b>&")
	// "Who's going" sends the full list privately, in several messages.
	h.startPrivately(bob)
	h.press(party, bob, card, "Who's going")
	all := strings.Join(h.Texts(bob.ID), "\n")
	mustContain(t, "who", all, "Going (501)", "501. Bob", "ЖЖЖ499")
}

func TestAddToCalendar(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(bob)
	h.Send(party, alice, "/event Board games; \"special\" | 2026-12-05 19:00 | Cafe Central, Berlin | 12")
	card := h.card(party.ID)
	id := h.lastEventID()
	h.Send(party, alice, fmt.Sprintf("/editevent %d description Bring snacks, please\nand a friend", id))
	h.press(party, bob, card, "Add to calendar")
	mustContain(t, "toast", h.lastToast(), "private chat")
	var doc *models.Document
	for _, m := range h.Fake.Messages(bob.ID) {
		if m.Document != nil {
			doc = m.Document
		}
	}
	if doc == nil {
		t.Fatal("no calendar file sent")
	}
	f, ok := h.Fake.File(doc.FileID)
	if !ok || !strings.HasSuffix(f.Name, ".ics") {
		t.Fatalf("file %q %v", f.Name, ok)
	}
	if bytes.Count(f.Data, []byte("\n")) != bytes.Count(f.Data, []byte("\r\n")) {
		t.Errorf("lines not ended by CRLF: %q", f.Data)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ve := evs[0]
	start, _ := ve.GetStartAt()
	end, _ := ve.GetEndAt()
	prop := func(p ics.ComponentProperty) string {
		if v := ve.GetProperty(p); v != nil {
			return v.Value
		}
		return ""
	}
	if ve.Id() != fmt.Sprintf("event-%d@rsvpbot", id) || !start.Equal(time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)) ||
		!end.Equal(time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)) {
		t.Fatalf("uid %q start %v end %v", ve.Id(), start, end)
	}
	if !strings.HasSuffix(prop(ics.ComponentPropertyDtStart), "Z") {
		t.Errorf("DTSTART not in UTC: %q", prop(ics.ComponentPropertyDtStart))
	}
	if got := prop(ics.ComponentPropertySummary); got != `Board games; "special"` {
		t.Errorf("summary %q", got)
	}
	if got := prop(ics.ComponentPropertyLocation); got != "Cafe Central, Berlin" {
		t.Errorf("location %q", got)
	}
	link := fmt.Sprintf("https://t.me/%s?start=ev_%s", h.Fake.Bot().Username, h.shareCode(id))
	if got := prop(ics.ComponentPropertyDescription); got != "Bring snacks, please\nand a friend\n\n"+link {
		t.Errorf("description %q", got)
	}
	if got := prop(ics.ComponentPropertyUrl); got != link {
		t.Errorf("url %q", got)
	}

	// Someone who never started the bot is sent to it through a deep link.
	h.press(party, dave, card, "Add to calendar")
	calls := h.Fake.CallsTo("answerCallbackQuery")
	mustContain(t, "url answer", calls[len(calls)-1].Params["url"], "start=evi_"+h.shareCode(id))
	h.Send(bottest.PrivateChat(dave), dave, "/start evi_"+h.shareCode(id))
	if m := h.Last(dave.ID); m.Document == nil {
		t.Fatalf("deep link sent no file: %q", m.Text)
	}
}

func TestHostileTextCannotBreakTheCard(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	evil := handlerstest.User(3099, `</b><a href="x">Mallory & <i>`, "en")
	h.Send(party, evil, `/event <b>Party</b> & "fun" <script> | sat 20:00 | </a><i>Bar & Grill`)
	card := h.card(party.ID)
	mustContain(t, "card", card.Text, `<b>Party</b> & "fun" <script>`, `</a><i>Bar & Grill`, `Mallory & <i>`)
	h.press(party, evil, card, "Going")
	mustContain(t, "card after click", h.cardText(party.ID, card.ID), `Going: </b><a href="x">Mallory & <i>`)
}

func TestEventsAndMyEvents(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/events")
	mustContain(t, "empty", h.LastText(party.ID), "No upcoming events")
	h.Send(party, alice, "/event Later | 2026-12-20 19:00 | B | 5")
	h.Send(party, alice, "/event Sooner | 2026-12-06 19:00 | A")
	h.Send(party, alice, "/event Gone | 2026-12-07 19:00")
	h.Send(party, alice, "/cancelevent 3")
	h.Send(party, bob, "/events")
	list := h.Last(party.ID)
	mustContain(t, "list", list.Text, "Sooner (#2)", "Later (#1)", "0 people are going", "0/5")
	if strings.Contains(list.Text, "Gone") || strings.Index(list.Text, "Sooner") > strings.Index(list.Text, "Later") {
		t.Fatalf("list %q", list.Text)
	}
	links := 0
	for _, e := range list.Entities {
		if strings.Contains(e.URL, "?start=ev_") {
			links++
		}
	}
	if links != 2 {
		t.Fatalf("%d deep links in %+v", links, list.Entities)
	}

	later, sooner := h.cardOf(party.ID, 1).ID, h.cardOf(party.ID, 2).ID
	h.Click(party, bob, later, "rsvp:1:go")
	h.Click(party, bob, later, "rsvp:1:plus")
	h.Click(party, bob, sooner, "rsvp:2:maybe")
	for i := range 5 {
		u := handlerstest.User(int64(7000+i), "P"+strconv.Itoa(i), "en")
		h.Click(party, u, sooner, "rsvp:2:go")
	}
	h.Send(party, bob, "/myevents")
	mustContain(t, "group", h.LastText(party.ID), "private chat")
	h.Send(bottest.PrivateChat(bob), bob, "/myevents")
	mine := h.LastText(bob.ID)
	mustContain(t, "mine", mine, "Later", "with 1 guest")
	if strings.Contains(mine, "Sooner") {
		t.Fatalf("maybe listed: %q", mine)
	}
	h.Send(bottest.PrivateChat(carol), carol, "/myevents")
	mustContain(t, "none", h.LastText(carol.ID), "not going")
}

func TestWhoIsGoingWithoutPrivateChat(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Tea | sat 16:00")
	card := h.card(party.ID)
	h.press(party, alice, card, "Going")
	h.press(party, bob, card, "Maybe")
	// Dave never started the bot; the list is short, so it comes as an alert.
	h.press(party, dave, card, "Who's going")
	calls := h.Fake.CallsTo("answerCallbackQuery")
	last := calls[len(calls)-1]
	mustContain(t, "alert", last.Params["text"], "Going (1)", "Alice", "Maybe (1)", "Bob")
	if last.Params["show_alert"] != "true" {
		t.Errorf("not an alert: %v", last.Params)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A group that becomes a supergroup: the card's old message cannot be
// edited there, so the next change drops the stale edit (no dead letter)
// and posts the card afresh in the supergroup, which then stays current.
func TestCardFollowsGroupMigration(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Board games | sat 19:00 | Cafe | 5")
	card := h.card(party.ID)
	const super = -1_000_000_004_001
	h.Fake.Migrate(party.ID, super)
	h.press(party, bob, card, "Going") // the edit to the old group meets the migration
	h.WaitIdle()
	fresh := h.card(super)
	mustContain(t, "card posted again in the supergroup", fresh.Text, "Board games", "Going 1/5", "Bob")
	var dead int
	h.DB.R.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'dead'`).Scan(&dead)
	if dead != 0 {
		t.Fatalf("%d dead letters after the migration", dead)
	}
	supergroup := models.Chat{ID: super, Type: models.ChatTypeSupergroup, Title: party.Title}
	h.press(supergroup, carol, fresh, "Going")
	mustContain(t, "supergroup card kept current", h.cardText(super, fresh.ID), "Going 2/5", "Carol")
	if n := h.Count(`SELECT count(*) FROM event_cards WHERE chat_id = ?`, super); n != 1 {
		t.Fatalf("%d cards tracked in the supergroup, want 1", n)
	}
}
