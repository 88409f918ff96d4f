package handlers_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

// When Telegram cannot say who a group's admins are, every command that
// needed to know gets the same answer: the apology, and nothing changes.
// The fake Bot API fails getChatAdministrators; the real client asks it.
func TestFailedAdminLookupApologises(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.App.EnableReminders(nil)
	h.Fake.SetChatMember(party, bob, models.ChatMemberTypeAdministrator)
	h.Send(party, alice, "/event Quiz | sat 19:00 | Pub")
	id := h.lastEventID()
	chat := func() store.Chat {
		c, _, _ := store.GetChat(context.Background(), h.DB.R, party.ID)
		return c
	}
	const apology = "Sorry, something went wrong"
	failLookup := func() {
		h.Fake.FailNext(bottest.Fault{Method: "getChatAdministrators", Status: 502})
	}
	failLookup()
	h.Send(party, bob, "/lang de")
	mustContain(t, "/lang", h.LastText(party.ID), apology)
	failLookup()
	h.Send(party, bob, "/timezone Pacific/Kiritimati")
	mustContain(t, "/timezone", h.LastText(party.ID), apology)
	if c := chat(); c.Language == "de" || c.Timezone == "Pacific/Kiritimati" {
		t.Fatalf("settings changed while the lookup failed: %+v", c)
	}
	failLookup()
	h.Send(party, bob, "/editevent "+strconv.FormatInt(id, 10)+" title Bob's quiz")
	mustContain(t, "/editevent", h.LastText(party.ID), apology)
	failLookup()
	h.Send(party, bob, "/cancelevent "+strconv.FormatInt(id, 10))
	mustContain(t, "/cancelevent", h.LastText(party.ID), apology)
	failLookup()
	h.Send(party, bob, "/remind "+strconv.FormatInt(id, 10)+" 3h")
	mustContain(t, "/remind", h.LastText(party.ID), apology)
	if ev, _, _ := store.GetEvent(context.Background(), h.DB.R, id); ev.Title != "Quiz" || ev.Cancelled() || ev.ReminderOffsets != "" {
		t.Fatalf("event changed while the lookup failed: %+v", ev)
	}

	// Once Telegram answers, the same admin may.
	h.Send(party, bob, "/editevent "+strconv.FormatInt(id, 10)+" title Bob's quiz")
	mustContain(t, "after the outage", h.LastText(party.ID), "Saved")
	h.Send(party, bob, "/lang de")
	if c := chat(); c.Language != "de" {
		t.Fatalf("the admin's /lang after the outage: %q", c.Language)
	}
}
