package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

var (
	ann   = handlerstest.User(1001, "Ann", "en")
	boris = handlerstest.User(1002, "Boris", "ru")
	admin = handlerstest.User(9, "Root", "en")
)

func TestStartGreetsAndRecordsUser(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{})
	h.Send(bottest.PrivateChat(ann), ann, "/start")
	if got := h.LastText(ann.ID); !strings.Contains(got, "Ann") {
		t.Fatalf("greeting %q", got)
	}
	if h.Count(`SELECT count(*) FROM users WHERE id = ? AND started = 1`, ann.ID) != 1 {
		t.Fatal("user not recorded as started")
	}
	// Russian user gets Russian.
	h.Send(bottest.PrivateChat(boris), boris, "/START")
	if got := h.LastText(boris.ID); !strings.Contains(got, "Boris") || !strings.ContainsAny(got, "абвгдежзийклмнопрстуфхцчшщыэюя") {
		t.Fatalf("russian greeting %q", got)
	}
}

func TestHelpShowsAdminCommandsOnlyToAdmins(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{Admins: []int64{admin.ID}})
	h.Send(bottest.PrivateChat(ann), ann, "/help")
	if got := h.LastText(ann.ID); !strings.Contains(got, "/start") || strings.Contains(got, "/stats") {
		t.Fatalf("user help: %q", got)
	}
	h.Send(bottest.PrivateChat(admin), admin, "/help")
	if got := h.LastText(admin.ID); !strings.Contains(got, "/start") || !strings.Contains(got, "/stats") {
		t.Fatalf("admin help: %q", got)
	}
}

func TestUnknownCommandNamesIt(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{})
	h.Send(bottest.PrivateChat(ann), ann, "/frobnicate")
	if got := h.LastText(ann.ID); !strings.Contains(got, "/frobnicate") || !strings.Contains(got, "/help") {
		t.Fatalf("unknown: %q", got)
	}
	// In a group, unknown commands (often for other bots) get no answer.
	g := bottest.Group(-77, "G")
	h.Send(g, ann, "/frobnicate")
	for _, m := range h.Fake.Messages(g.ID) {
		if m.From != nil && m.From.IsBot {
			t.Fatalf("bot answered an unknown command in a group: %q", m.Text)
		}
	}
}

// A conversation survives a restart at the same step; /help mid-way answers
// and keeps it; /cancel leaves it.
func TestConversationSurvivesRestart(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{})
	chat := bottest.PrivateChat(ann)
	h.Send(chat, ann, "/timezone")
	if h.Count(`SELECT count(*) FROM conversations WHERE user_id = ? AND flow = 'timezone' AND step = 'zone'`, ann.ID) != 1 {
		t.Fatal("conversation not stored")
	}
	h = h.Restart()
	h.Send(chat, ann, "/help")
	if h.Count(`SELECT count(*) FROM conversations WHERE user_id = ?`, ann.ID) != 1 {
		t.Fatal("/help ended the conversation")
	}
	h.Send(chat, ann, "Mars/Base")
	if got := h.LastText(ann.ID); !strings.Contains(got, "Mars/Base") {
		t.Fatalf("bad zone answer: %q", got)
	}
	h.Send(chat, ann, "europe/berlin")
	if got := h.LastText(ann.ID); !strings.Contains(got, "Europe/Berlin") {
		t.Fatalf("zone set answer: %q", got)
	}
	c, _, _ := store.GetChat(t.Context(), h.DB.R, ann.ID)
	if c.Timezone != "Europe/Berlin" {
		t.Fatalf("timezone stored %q", c.Timezone)
	}
	if h.Count(`SELECT count(*) FROM conversations`) != 0 {
		t.Fatal("conversation not finished")
	}
	h.Send(chat, ann, "/cancel")
	if got := h.LastText(ann.ID); got == "" {
		t.Fatal("no cancel answer")
	}
	nothing := h.LastText(ann.ID)

	// /cancel mid-way leaves the conversation: the next message is not
	// taken as its answer.
	h.Send(chat, ann, "/timezone")
	h.Send(chat, ann, "/cancel")
	if h.Count(`SELECT count(*) FROM conversations`) != 0 {
		t.Fatal("/cancel kept the conversation")
	}
	if got := h.LastText(ann.ID); got == nothing || got == "" {
		t.Fatalf("cancel answer %q is the same as with nothing to cancel", got)
	}
	h.Send(chat, ann, "Asia/Tokyo")
	if c, _, _ := store.GetChat(t.Context(), h.DB.R, ann.ID); c.Timezone != "Europe/Berlin" {
		t.Fatalf("an answer after /cancel changed the zone to %q", c.Timezone)
	}
}

func TestConversationExpires(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := handlerstest.Start(t, handlerstest.Options{Now: clock})
	chat := bottest.PrivateChat(ann)
	h.Send(chat, ann, "/timezone")
	now = now.Add(31 * time.Minute)
	h.Send(chat, ann, "Europe/Berlin")
	if got := h.LastText(ann.ID); !strings.Contains(strings.ToLower(got), "expired") {
		t.Fatalf("expiry answer %q", got)
	}
	c, _, _ := store.GetChat(t.Context(), h.DB.R, ann.ID)
	if c.Timezone != "" {
		t.Fatal("expired conversation still applied the answer")
	}
	// The housekeeping job tells users whose conversation lapsed.
	h.Send(chat, ann, "/timezone")
	now = now.Add(time.Hour)
	n, err := h.App.ExpireConversations(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	h.WaitIdle()
	if got := h.LastText(ann.ID); !strings.Contains(strings.ToLower(got), "expired") {
		t.Fatalf("expiry notice %q", got)
	}
}

func TestMembershipUpdates(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{})
	g := bottest.Group(-300, "Climbers")
	h.Fake.PushMyChatMember(g, ann, models.ChatMemberTypeLeft, models.ChatMemberTypeMember)
	h.WaitIdle()
	c, ok, _ := store.GetChat(t.Context(), h.DB.R, g.ID)
	if !ok || !c.Active || c.Title != "Climbers" {
		t.Fatalf("group after add: %+v", c)
	}
	if got := h.LastText(g.ID); !strings.Contains(got, "/event") {
		t.Fatalf("welcome %q", got)
	}
	h.Fake.PushMyChatMember(g, ann, models.ChatMemberTypeMember, models.ChatMemberTypeLeft)
	h.WaitIdle()
	c, _, _ = store.GetChat(t.Context(), h.DB.R, g.ID)
	if c.Active {
		t.Fatal("group still active after removal")
	}
	// A user blocks the bot, then writes again.
	h.Send(bottest.PrivateChat(ann), ann, "/start")
	h.Fake.PushMyChatMember(bottest.PrivateChat(ann), ann, models.ChatMemberTypeMember, models.ChatMemberTypeBanned)
	h.WaitIdle()
	u, _, _ := store.GetUser(t.Context(), h.DB.R, ann.ID)
	pc, _, _ := store.GetChat(t.Context(), h.DB.R, ann.ID)
	if !u.Blocked || u.Started || pc.Active {
		t.Fatalf("after block: user %+v chat %+v", u, pc)
	}
	h.Send(bottest.PrivateChat(ann), ann, "/help")
	u, _, _ = store.GetUser(t.Context(), h.DB.R, ann.ID)
	pc, _, _ = store.GetChat(t.Context(), h.DB.R, ann.ID)
	if u.Blocked || !u.Started || !pc.Active {
		t.Fatalf("after writing again: user %+v chat %+v", u, pc)
	}
}

func TestLangSwitch(t *testing.T) {
	h := handlerstest.Start(t, handlerstest.Options{})
	chat := bottest.PrivateChat(ann)
	h.Send(chat, ann, "/lang")
	m := h.Last(ann.ID)
	h.Click(chat, ann, m.ID, h.Button(m, "Deutsch"))
	if h.Count(`SELECT count(*) FROM users WHERE id = ? AND chosen_lang = 'de'`, ann.ID) != 1 {
		t.Fatal("language not stored")
	}
	h.Send(chat, ann, "/cancel")
	if got := h.LastText(ann.ID); !strings.Contains(got, "abzubrechen") && !strings.Contains(got, "abgebrochen") {
		t.Fatalf("not German: %q", got)
	}
	h.Send(chat, ann, "/lang xx")
	if got := h.LastText(ann.ID); !strings.Contains(got, "xx") {
		t.Fatalf("unknown language answer %q", got)
	}
}
