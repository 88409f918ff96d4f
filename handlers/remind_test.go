package handlers_test

// Reminders through the whole bot: events created and answered with
// commands and buttons, the reminder scheduler ticked on the test's clock,
// messages delivered by the real outbox sender to the fake Bot API.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

var (
	rmAnn   = handlerstest.User(5101, "Ann", "en")
	rmBob   = handlerstest.User(5102, "Bob", "en")
	rmCarl  = handlerstest.User(5103, "Carl", "en")
	rmDina  = handlerstest.User(5104, "Дина", "ru")
	rmGroup = bottest.Group(-5100, "Runners")
)

// rmNow: Tuesday 1 December 2026, 10:00 UTC.
var rmNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

type remHarness struct {
	*handlerstest.Harness
	now *atomic.Int64
	rem *scheduler.Reminders
	ser *scheduler.Series
}

func startRem(t *testing.T, tz *time.Location, defaults []time.Duration) *remHarness {
	t.Helper()
	now := &atomic.Int64{}
	now.Store(rmNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	h := handlerstest.Start(t, handlerstest.Options{Now: clock, TZ: tz, Reminders: defaults})
	// The app's own "reminders" and "series" jobs, ticked by the test.
	return &remHarness{Harness: h, now: now, rem: h.Main.Reminders(), ser: h.Main.Series()}
}

func (h *remHarness) set(t time.Time) { h.now.Store(t.UnixNano()) }

func (h *remHarness) clock() time.Time { return time.Unix(0, h.now.Load()).UTC() }

// tick runs the reminder job once and waits until everything it
// enqueued was delivered (or dropped) by the sender.
func (h *remHarness) tick() scheduler.TickResult {
	h.T.Helper()
	res, err := h.rem.Tick(context.Background())
	if err != nil {
		h.T.Fatal(err)
	}
	h.WaitIdle()
	return res
}

func (h *remHarness) lastEvent() store.Event {
	h.T.Helper()
	var id int64
	if err := h.DB.R.QueryRow(`SELECT max(id) FROM events`).Scan(&id); err != nil {
		h.T.Fatal(err)
	}
	ev, _, err := store.GetEvent(context.Background(), h.DB.R, id)
	if err != nil {
		h.T.Fatal(err)
	}
	return ev
}

// cardOf finds the message of an event's card in chat.
func (h *remHarness) cardOf(chat int64, eventID int64) models.Message {
	h.T.Helper()
	want := fmt.Sprintf("rsvp:%d:go", eventID)
	for _, m := range h.Fake.Messages(chat) {
		for _, data := range handlerstest.Buttons(m) {
			if data == want {
				return m
			}
		}
	}
	h.T.Fatalf("no card of event %d in chat %d: %q", eventID, chat, h.Texts(chat))
	return models.Message{}
}

// botTexts are the texts the bot sent to chat.
func (h *remHarness) botTexts(chat int64) []string {
	var out []string
	for _, m := range h.Fake.Messages(chat) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m.Text)
		}
	}
	return out
}

func rmCount(texts []string, sub string) int {
	n := 0
	for _, s := range texts {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// rmMentions are the user ids a message mentions with tg://user links.
func rmMentions(m models.Message) []string {
	var out []string
	for _, e := range m.Entities {
		if e.Type == models.MessageEntityTypeTextLink && strings.HasPrefix(e.URL, "tg://user?id=") {
			out = append(out, strings.TrimPrefix(e.URL, "tg://user?id="))
		}
	}
	return out
}

// The whole story: default reminders 24h and 1h before; Ann (started)
// privately, Bob (never started the bot) mentioned in the group, Carl
// (started once, but the private chat now answers 403 "bot can't initiate
// conversation") first tried privately — the sender marks his chat
// inactive and the group mentions him instead — then in the group
// directly. Ann mutes; her next reminder does not come. Dina, waitlisted,
// learns her place, in Russian.
func TestRemindersEndToEnd(t *testing.T) {
	h := startRem(t, time.UTC, nil)
	for _, u := range []models.User{rmAnn, rmCarl, rmDina} {
		h.Send(bottest.PrivateChat(u), u, "/start")
	}
	h.Fake.SetNotStarted(rmBob.ID, rmCarl.ID)
	h.Send(rmGroup, rmAnn, "/event Night run <fast> | 2026-12-05 19:00 | Park | 3")
	ev := h.lastEvent()
	card := h.cardOf(rmGroup.ID, ev.ID)
	for _, u := range []models.User{rmAnn, rmBob, rmCarl, rmDina} {
		h.Click(rmGroup, u, card.ID, fmt.Sprintf("rsvp:%d:go", ev.ID))
	}
	if r, _, _ := store.GetRSVP(context.Background(), h.DB.R, ev.ID, rmDina.ID); r.Status != store.RSVPWaitlist {
		t.Fatalf("Dina: %q, want waitlist", r.Status)
	}
	h.tick() // plans

	h.set(ev.StartsAt.Add(-24 * time.Hour))
	res := h.tick()
	if res.Sent != 1 {
		t.Fatalf("%+v", res)
	}
	annMsg := h.Last(rmAnn.ID)
	if !strings.Contains(annMsg.Text, "Night run <fast> starts in 24 hours") || !strings.Contains(annMsg.Text, "Park") {
		t.Fatalf("Ann's reminder: %q", annMsg.Text)
	}
	if got := h.Last(rmDina.ID).Text; !strings.Contains(got, "через 24 часа") || !strings.Contains(got, "1-й в листе ожидания") {
		t.Fatalf("Dina's reminder: %q", got)
	}
	// Carl's private reminder came back 403: his chat is now inactive...
	var active bool
	h.DB.R.QueryRow(`SELECT active FROM chats WHERE id = ?`, rmCarl.ID).Scan(&active)
	if active {
		t.Fatal("Carl's private chat not marked inactive after the 403")
	}
	group := h.Last(rmGroup.ID)
	if got := rmMentions(group); len(got) != 1 || got[0] != fmt.Sprint(rmBob.ID) {
		t.Fatalf("group reminder mentions %v: %q", got, group.Text)
	}
	// ...and the next tick mentions him in the group, once.
	h.set(h.clock().Add(10 * time.Second))
	if res := h.tick(); res.Followups != 1 {
		t.Fatalf("follow-up: %+v", res)
	}
	follow := h.Last(rmGroup.ID)
	if got := rmMentions(follow); len(got) != 1 || got[0] != fmt.Sprint(rmCarl.ID) ||
		!strings.Contains(follow.Text, "couldn't send you this reminder privately") {
		t.Fatalf("follow-up mentions %v: %q", got, follow.Text)
	}
	h.set(h.clock().Add(10 * time.Second))
	h.tick()
	if n := rmCount(h.botTexts(rmGroup.ID), "starts in"); n != 2 {
		t.Fatalf("%d group reminders, want 2", n)
	}

	// Ann mutes from her private reminder: the button flips.
	h.Click(bottest.PrivateChat(rmAnn), rmAnn, annMsg.ID, h.Button(annMsg, "No more reminders"))
	if got := h.Toasts(); !strings.Contains(got[len(got)-1], "no more reminders for “Night run <fast>”") {
		t.Fatalf("toast %q", got)
	}
	flipped, _ := h.Fake.Message(rmAnn.ID, annMsg.ID)
	if h.Button(flipped, "Remind me again") != fmt.Sprintf("rem:%d:unmute", ev.ID) {
		t.Fatal("button not flipped")
	}

	carlCalls := len(h.Fake.CallsTo("sendMessage"))
	h.set(ev.StartsAt.Add(-time.Hour))
	h.tick()
	if n := rmCount(h.botTexts(rmAnn.ID), "starts in"); n != 1 {
		t.Fatalf("Ann muted but got %d reminders", n)
	}
	// Carl is now mentioned in the group directly (no private attempt).
	for _, c := range h.Fake.CallsTo("sendMessage")[carlCalls:] {
		if c.ChatID == rmCarl.ID {
			t.Fatal("a private reminder was tried again for Carl")
		}
	}
	last := h.Last(rmGroup.ID)
	if got := rmMentions(last); len(got) != 2 || !strings.Contains(last.Text, "starts in 1 hour") {
		t.Fatalf("1h group reminder mentions %v: %q", got, last.Text)
	}
	if n := rmCount(h.botTexts(rmDina.ID), "через 1 час"); n != 1 {
		t.Fatalf("Dina's 1h reminder: %q", h.botTexts(rmDina.ID))
	}
	// Group reminders carry the mute button and the private-chat link.
	if !strings.HasPrefix(h.Button(last, "No more reminders"), "rem:") {
		t.Fatal("no mute button in the group")
	}
}

// /remind: the chat's events; one event's reminders; custom offsets (and
// the reminders they produce); off; default; refusals.
func TestRemindCommand(t *testing.T) {
	h := startRem(t, time.UTC, []time.Duration{24 * time.Hour, time.Hour})
	h.Send(bottest.PrivateChat(rmAnn), rmAnn, "/start")
	h.Send(rmGroup, rmAnn, "/event Board games | 2026-12-05 19:00 | Cafe")
	ev := h.lastEvent()
	card := h.cardOf(rmGroup.ID, ev.ID)
	h.Click(rmGroup, rmAnn, card.ID, fmt.Sprintf("rsvp:%d:go", ev.ID))

	h.Send(rmGroup, rmAnn, "/remind")
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, fmt.Sprintf("Board games (#%d): 24 hours, 1 hour (default)", ev.ID)) {
		t.Fatalf("/remind: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/remind %d", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "24 hours before: Fri, 4 Dec 2026, 19:00 UTC") ||
		!strings.Contains(got, "1 hour before: Sat, 5 Dec 2026, 18:00 UTC") {
		t.Fatalf("/remind %d: %q", ev.ID, got)
	}
	// Bob is no organizer nor admin.
	h.Send(rmGroup, rmBob, fmt.Sprintf("/remind %d 5m", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "Only the organizer") {
		t.Fatalf("refusal: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/remind %d soon-ish", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "can't read “soon-ish”") {
		t.Fatalf("bad offsets: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/remind %d 2h, 15m", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "go 2 hours, 15 minutes before the start") ||
		!strings.Contains(got, "15 minutes before: Sat, 5 Dec 2026, 18:45 UTC") {
		t.Fatalf("set: %q", got)
	}
	if ev2, _, _ := store.GetEvent(context.Background(), h.DB.R, ev.ID); ev2.ReminderOffsets != "2h,15m" {
		t.Fatalf("stored %q", ev2.ReminderOffsets)
	}
	for _, at := range []time.Time{ev.StartsAt.Add(-24 * time.Hour), ev.StartsAt.Add(-2 * time.Hour), ev.StartsAt.Add(-time.Hour),
		ev.StartsAt.Add(-15 * time.Minute)} {
		h.set(at)
		h.tick()
	}
	got := h.botTexts(rmAnn.ID)
	if rmCount(got, "starts in") != 2 || rmCount(got, "starts in 2 hours") != 1 || rmCount(got, "starts in 15 minutes") != 1 {
		t.Fatalf("reminders with custom offsets: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/remind %d off", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "no reminders for “Board games”") {
		t.Fatalf("off: %q", got)
	}
	h.Send(rmGroup, rmAnn, fmt.Sprintf("/remind %d default", ev.ID))
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "default reminders again (24 hours, 1 hour)") {
		t.Fatalf("default: %q", got)
	}
	h.Send(rmGroup, rmAnn, "/remind 999")
	if got := h.LastText(rmGroup.ID); !strings.Contains(got, "no event number 999") {
		t.Fatalf("unknown: %q", got)
	}
}
