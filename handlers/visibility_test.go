package handlers_test

// Who may see an event (handlers/visibility.go), tried the way a stranger
// would: guessed ids in links and commands, forged buttons on another
// group's card; and what sharing a link gives, and what a new link takes
// away.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

var (
	mallory   = handlerstest.User(3666, "Mallory", "en")
	strangers = bottest.Group(-4666, "Strangers")
)

// shareCode is an event's share code, as stored.
func (h *evHarness) shareCode(id int64) string {
	h.T.Helper()
	var code string
	if err := h.DB.R.QueryRow(`SELECT share_code FROM events WHERE id = ?`, id).Scan(&code); err != nil || code == "" {
		h.T.Fatalf("event %d: share code %q: %v", id, code, err)
	}
	return code
}

// cardOf is the newest message in chat carrying event id's RSVP buttons.
func (h *evHarness) cardOf(chatID, id int64) models.Message {
	h.T.Helper()
	msgs := h.Fake.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, data := range handlerstest.Buttons(msgs[i]) {
			if data == fmt.Sprintf("rsvp:%d:go", id) {
				return msgs[i]
			}
		}
	}
	h.T.Fatalf("no card of event %d in chat %d", id, chatID)
	return models.Message{}
}

// botSaid is everything the bot sent to a chat: texts, captions and file
// names.
func (h *evHarness) botSaid(chatID int64) string {
	var b strings.Builder
	for _, m := range h.Fake.Messages(chatID) {
		if m.From != nil && m.From.IsBot {
			b.WriteString(m.Text + "\n" + m.Caption + "\n")
			if m.Document != nil {
				b.WriteString("[file " + m.Document.FileName + "]\n")
			}
		}
	}
	return b.String()
}

// shareLink is the payload of the Share button of a card.
func shareLink(t *testing.T, card models.Message) string {
	t.Helper()
	for _, row := range card.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if !strings.Contains(b.Text, "Share") {
				continue
			}
			u, err := url.Parse(b.URL)
			if err != nil {
				t.Fatal(err)
			}
			inner, err := url.Parse(u.Query().Get("url"))
			if err != nil {
				t.Fatal(err)
			}
			return inner.Query().Get("start")
		}
	}
	t.Fatalf("no Share button on %q", card.Text)
	return ""
}

// A stranger who guesses an event's number learns nothing: every link and
// command answers exactly as for an event that does not exist, and nothing
// changes.
func TestStrangerWithGuessedIDGetsNothing(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Secret supper | sat 20:00 | Hidden Garden 7 | 4")
	h.press(party, bob, h.card(party.ID), "Going")
	id := h.lastEventID()
	before, _, _ := store.GetEvent(context.Background(), h.DB.R, id)
	h.Send(party, alice, "/event Weekly run | every monday 19:00 | Park")
	var seriesID int64
	h.DB.R.QueryRow(`SELECT max(id) FROM series`).Scan(&seriesID)
	if seriesID == 0 {
		t.Fatalf("no series: %q", h.LastText(party.ID))
	}

	priv := bottest.PrivateChat(mallory)
	// Each probe with the real id, then with an id nobody has: the answers
	// must be the same (with the number swapped), so ids cannot be probed.
	probes := []string{"/start ev_%d", "/start evw_%d", "/start evi_%d", "/start evm_%d", "/remind %d", "/remind %d 1m",
		"/editevent %d title Hacked", "/editevent %d title", "/cancelevent %d", "/series stop %d", "/series skip %d", "/series lead %d 3d"}
	for _, chat := range []models.Chat{priv, strangers} {
		for _, p := range probes {
			if chat.ID != priv.ID && strings.HasPrefix(p, "/start") {
				continue
			}
			n := id
			if strings.HasPrefix(p, "/series") {
				n = seriesID
			}
			h.Send(chat, mallory, fmt.Sprintf(p, n))
			got := h.LastText(chat.ID)
			h.Send(chat, mallory, fmt.Sprintf(p, 999))
			missing := strings.ReplaceAll(h.LastText(chat.ID), "999", fmt.Sprint(n))
			if got != missing {
				t.Errorf("%s in %s: %q, but for a missing event %q", fmt.Sprintf(p, n), chat.Title, got, missing)
			}
		}
		said := h.botSaid(chat.ID)
		for _, leak := range []string{"Secret", "Hidden Garden", "Weekly run", "Bob", "Alice", ".ics"} {
			if strings.Contains(said, leak) {
				t.Errorf("the bot told a stranger %q:\n%s", leak, said)
			}
		}
	}
	// /remind without a number lists only the chat's own events.
	h.Send(strangers, mallory, "/remind")
	if strings.Contains(h.LastText(strangers.ID), "Secret") {
		t.Errorf("/remind in another group lists the event: %q", h.LastText(strangers.ID))
	}
	after, _, _ := store.GetEvent(context.Background(), h.DB.R, id)
	if after.Title != before.Title || after.Cancelled() || after.ReminderOffsets != before.ReminderOffsets {
		t.Errorf("a stranger changed the event: %+v", after)
	}
	x, _, _ := store.GetSeries(context.Background(), h.DB.R, seriesID)
	if !x.Active() || x.Lead != 0 || !x.SkipSlot.IsZero() {
		t.Errorf("a stranger changed the series: %+v", x)
	}
	if n := h.Count(`SELECT count(*) FROM conversations WHERE user_id = ?`, mallory.ID); n != 0 {
		t.Errorf("a stranger started %d conversations about the event", n)
	}
}

// A card's buttons act only on the event whose card they sit on: forged
// presses on another group's card (or on no message at all) change nothing
// and answer as for a missing event.
func TestCardButtonsInAnotherChatCannotActOnTheEvent(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Last seat | sat 20:00 | Cafe | 1")
	id := h.lastEventID()
	h.Send(strangers, mallory, "/event Decoy | sun 20:00")
	decoy := h.card(strangers.ID)
	h.startPrivately(mallory)

	h.Click(strangers, mallory, decoy.ID, "rsvp:999:go")
	missing := h.lastToast()
	for _, data := range []string{"rsvp:%d:go", "rsvp:%d:maybe", "ev:%d:who", "ev:%d:ics", "evm:%d", "evm:%d:title", "evm:%d:cancelyes",
		"evm:%d:newlink", "rem:%d:mute"} {
		data = fmt.Sprintf(data, id)
		h.Click(strangers, mallory, decoy.ID, data)
		if got := h.lastToast(); got != missing && !(strings.HasPrefix(data, "rem:") && strings.Contains(got, "no longer")) {
			t.Errorf("%s on another group's card: toast %q, for a missing event %q", data, got, missing)
		}
		h.Click(strangers, mallory, 0, data) // no message at all
		h.Click(bottest.PrivateChat(mallory), mallory, 1, data)
	}
	if r := h.rsvp(id, mallory.ID); r.Status != "" {
		t.Fatalf("a stranger answered %q through another chat's card", r.Status)
	}
	if n := h.Count(`SELECT count(*) FROM reminder_mutes WHERE user_id = ?`, mallory.ID); n != 0 {
		t.Error("a stranger muted the event's reminders")
	}
	ev, _, _ := store.GetEvent(context.Background(), h.DB.R, id)
	if ev.Cancelled() {
		t.Fatal("a stranger cancelled the event")
	}
	if said := h.botSaid(mallory.ID) + h.botSaid(strangers.ID); strings.Contains(said, "Last seat") || strings.Contains(said, "Cafe") {
		t.Fatalf("the bot showed the event to a stranger:\n%s", said)
	}
	// The group's own card still works, for the group's members.
	h.press(party, bob, h.cardOf(party.ID, id), "Going")
	if r := h.rsvp(id, bob.ID); r.Status != store.RSVPGoing {
		t.Fatalf("bob on the group's card: %q", r.Status)
	}
	mustContain(t, "group card", h.cardText(party.ID, h.cardOf(party.ID, id).ID), "Bob")
}

// Whoever holds the link sees the event and may answer; a new link from
// the organizer kills the old one.
func TestSharedLinkOpensTheEventAndANewLinkKillsIt(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(alice)
	h.Send(party, alice, "/event Open house | sat 15:00 | Main St 1")
	id := h.lastEventID()
	card := h.cardOf(party.ID, id)
	link := shareLink(t, card)
	code := strings.TrimPrefix(link, "ev_")
	if link != "ev_"+h.shareCode(id) || len(code) < 8 {
		t.Fatalf("share link %q", link)
	}

	// A stranger with the link: the card, privately, and its buttons work.
	priv := bottest.PrivateChat(mallory)
	h.Send(priv, mallory, "/start "+link)
	mine := h.cardOf(mallory.ID, id)
	mustContain(t, "shared card", mine.Text, "Open house", "Main St 1")
	h.press(priv, mallory, mine, "Going")
	if r := h.rsvp(id, mallory.ID); r.Status != store.RSVPGoing {
		t.Fatalf("RSVP through the shared card: %q", r.Status)
	}
	mustContain(t, "group card", h.cardText(party.ID, card.ID), "Mallory")
	h.Send(priv, mallory, "/start evw_"+code)
	mustContain(t, "answers by link", h.LastText(mallory.ID), "Mallory")
	h.Send(priv, mallory, "/start evi_"+code)
	if m := h.Last(mallory.ID); m.Document == nil {
		t.Fatalf("calendar link sent no file: %q", m.Text)
	}

	// Only the organizer (or the chat's admins) may replace the link.
	h.Click(party, bob, card.ID, fmt.Sprintf("evm:%d:newlink", id))
	if h.shareCode(id) != code {
		t.Fatal("a member who does not organize replaced the link")
	}
	h.press(party, alice, card, "Manage")
	menu := h.Last(alice.ID)
	h.press(bottest.PrivateChat(alice), alice, menu, "New link")
	fresh := h.shareCode(id)
	if fresh == code || len(fresh) < 8 {
		t.Fatalf("new code %q (old %q)", fresh, code)
	}
	mustContain(t, "new link message", h.LastText(alice.ID), "new link", "start=ev_"+fresh)
	if got := shareLink(t, h.cardOf(party.ID, id)); got != "ev_"+fresh {
		t.Fatalf("group card still shares %q", got)
	}

	// The old link now opens nothing, for a newcomer, exactly like a
	// link that never existed.
	newcomer := handlerstest.User(3667, "Nico", "en")
	np := bottest.PrivateChat(newcomer)
	for _, prefix := range []string{"ev_", "evw_", "evi_"} {
		h.Send(np, newcomer, "/start "+prefix+code)
		got := h.LastText(newcomer.ID)
		h.Send(np, newcomer, "/start "+prefix+"AAAAAAAAAA")
		if want := h.LastText(newcomer.ID); got != want || strings.Contains(got, "Open house") {
			t.Fatalf("old link %s: %q, unknown link: %q", prefix, got, want)
		}
	}
	if said := h.botSaid(newcomer.ID); strings.Contains(said, "Open house") || strings.Contains(said, "[file") {
		t.Fatalf("the old link showed the event:\n%s", said)
	}
	h.Send(np, newcomer, "/start ev_"+fresh)
	mustContain(t, "new link", h.cardOf(newcomer.ID, id).Text, "Open house")
}

// Members of the event's chat (seen there), its admins and its attendees
// may refer to it from anywhere; someone seen leaving may not any more.
func TestChatMembersSeeTheirGroupsEvents(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	// carol: a Telegram admin of the group who never writes there.
	h.Fake.SetChatMember(party, carol, models.ChatMemberTypeAdministrator)
	h.Send(party, alice, "/event Picnic | sat 12:00 | Park")
	id := h.lastEventID()
	ask := func(u models.User) string {
		h.Send(bottest.PrivateChat(u), u, fmt.Sprintf("/remind %d", id))
		return h.LastText(u.ID)
	}
	if got := ask(bob); strings.Contains(got, "Picnic") {
		t.Fatalf("bob, never seen in the group, sees it: %q", got)
	}
	h.Send(party, bob, "/events") // now seen in the group
	mustContain(t, "member", ask(bob), "Picnic")
	h.Send(bottest.PrivateChat(bob), bob, fmt.Sprintf("/start ev_%d", id)) // an old numbered link, for a member
	mustContain(t, "member's old link", h.cardOf(bob.ID, id).Text, "Picnic")

	mustContain(t, "admin", ask(carol), "Picnic")

	// Bob leaves the group.
	h.Fake.PushUpdate(models.Update{Message: &models.Message{ID: 9001, Date: int(evNow.Unix()), Chat: party, From: &bob,
		LeftChatMember: &bob}})
	h.WaitIdle()
	if got := ask(bob); strings.Contains(got, "Picnic") {
		t.Fatalf("bob left the group and still sees its event: %q", got)
	}
}

// Every step of a conversation re-checks the permission of the command that
// started it: one guard per flow, asked by the conversation machinery.
func TestConversationStepsRecheckPermission(t *testing.T) {
	var admins atomic.Value // []int64
	admins.Store([]int64{alice.ID})
	var failLookup atomic.Bool
	h := startEvents(t, handlerstest.Options{Configure: func(d *handlers.Deps) {
		d.ChatAdmins = func(_ context.Context, chatID int64) ([]int64, error) {
			if failLookup.Load() {
				return nil, errors.New("telegram: 502 Bad Gateway")
			}
			return admins.Load().([]int64), nil
		}
	}})
	chatTZ := func() string {
		c, _, _ := store.GetChat(context.Background(), h.DB.R, party.ID)
		return c.Timezone
	}
	chatLang := func() string {
		c, _, _ := store.GetChat(context.Background(), h.DB.R, party.ID)
		return c.Language
	}

	t.Run("timezone", func(t *testing.T) {
		h.Send(party, bob, "/timezone")
		h.Send(party, bob, "Pacific/Kiritimati")
		mustContain(t, "refusal", h.LastText(party.ID), "admins")
		if tz := chatTZ(); tz == "Pacific/Kiritimati" {
			t.Fatal("a member set the group's time zone through the conversation")
		}
		h.Send(party, bob, "Pacific/Kiritimati") // the conversation is over
		if tz := chatTZ(); tz == "Pacific/Kiritimati" {
			t.Fatal("time zone set after the refusal")
		}
		h.Send(party, alice, "/timezone")
		h.Send(party, alice, "Pacific/Kiritimati")
		if tz := chatTZ(); tz != "Pacific/Kiritimati" {
			t.Fatalf("the admin's answer: zone %q", tz)
		}
	})

	t.Run("lang", func(t *testing.T) {
		h.Send(party, bob, "/lang")
		h.Send(party, bob, "de")
		if l := chatLang(); l == "de" {
			t.Fatal("a member set the group's language through the conversation")
		}
		mustContain(t, "refusal", h.LastText(party.ID), "admins")
		h.Send(party, alice, "/lang")
		h.Send(party, alice, "Español")
		if l := chatLang(); l != "es" {
			t.Fatalf("the admin's answer: language %q", l)
		}
		h.Send(party, alice, "/lang en")
	})

	t.Run("editevent", func(t *testing.T) {
		h.Send(party, alice, "/event Quiz night | sat 19:00")
		id := h.lastEventID()
		title := func() string {
			ev, _, _ := store.GetEvent(context.Background(), h.DB.R, id)
			return ev.Title
		}
		// carol is an admin when she starts editing, and is demoted
		// before she answers.
		admins.Store([]int64{alice.ID, carol.ID})
		h.Send(party, carol, fmt.Sprintf("/editevent %d title", id))
		mustContain(t, "question", h.LastText(party.ID), "Quiz night")
		admins.Store([]int64{alice.ID})
		h.Send(party, carol, "Carol's quiz")
		mustContain(t, "refusal", h.LastText(party.ID), "only the organizer")
		if got := title(); got != "Quiz night" {
			t.Fatalf("a demoted admin renamed the event to %q", got)
		}
		// A lookup that fails is no permission: the step does not run,
		// and the answer is the apology (as in /lang and /timezone).
		admins.Store([]int64{alice.ID, carol.ID})
		h.Send(party, carol, fmt.Sprintf("/editevent %d title", id))
		failLookup.Store(true)
		h.Send(party, carol, "Carol's quiz")
		failLookup.Store(false)
		if got := title(); got != "Quiz night" {
			t.Fatalf("renamed to %q while the admin lookup failed", got)
		}
		mustContain(t, "apology on a failed lookup", h.LastText(party.ID), "Sorry, something went wrong")
		// An admin all along may.
		h.Send(party, carol, fmt.Sprintf("/editevent %d title", id))
		h.Send(party, carol, "Carol's quiz")
		if got := title(); got != "Carol's quiz" {
			t.Fatalf("the admin's answer: title %q", got)
		}
		// The same through the Manage menu's step.
		h.startPrivately(carol)
		h.Click(bottest.PrivateChat(carol), carol, 0, fmt.Sprintf("evm:%d:when", id))
		admins.Store([]int64{alice.ID})
		h.Send(bottest.PrivateChat(carol), carol, "sun 18:00")
		mustContain(t, "menu step refusal", h.LastText(carol.ID), "only the organizer")
	})
}
