package handlers_test

// Dates and titles that used to slip through or get the wrong answer
// (issue 13's small date items), through the whole bot.

import (
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

// "0000-01-01 10:00" was read as 1 January of next year; now the year is
// refused as out of range, in the user's language, and nothing is created.
func TestEventYearOutOfRange(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	for _, c := range []struct {
		user       models.User
		line, want string
	}{
		{alice, "/event Games | 0000-01-01 10:00", "year is out of range"},
		{alice, "/event Games | 1.1.0000 10:00", "year is out of range"},
		{alice, "/event Games | 5 December 0000 19:00", "year is out of range"},
		{oleg, "/event Игры | 0000-01-01 10:00", "Год указан неверно"},
		{jonas, "/event Spiele | 0000-01-01 10:00", "Jahreszahl"},
		{lucia, "/event Juegos | 0000-01-01 10:00", "fuera de rango"},
	} {
		chat := bottest.PrivateChat(c.user)
		h.Send(chat, c.user, c.line)
		mustContain(t, c.line, h.LastText(chat.ID), c.want, "2026-12-11 19:00")
	}
	if h.lastEventID() != 0 {
		t.Fatal("an out-of-range year created an event")
	}
}

// A title of invisible characters only (zero-width spaces, joiners, a
// byte-order mark, Hangul fillers) is refused like an empty one, in the
// one-line command and in the conversation.
func TestEventInvisibleTitle(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	for _, title := range []string{"\u200b\u200b\u200b", "\u200c\u200d\u2060", "\ufeff", "\u3164", "\u200b \u00ad \u034f"} {
		line := "/event " + title + " | tomorrow 19:00 | Cafe"
		h.Send(chat, alice, line)
		mustContain(t, line, h.LastText(chat.ID), "needs a title")
	}
	h.Send(chat, alice, "/event")
	h.Send(chat, alice, "\u200b\u2060")
	mustContain(t, "conversation", h.LastText(chat.ID), "needs a title")
	if h.lastEventID() != 0 {
		t.Fatal("an invisible title created an event")
	}
	// A title with something to see is kept as typed.
	h.Send(chat, alice, "/event \u200bGames\u200d | tomorrow 19:00")
	mustContain(t, "visible title", h.card(chat.ID).Text, "Games")
}

// A cron spec with a time zone gets its own answer (the chat's zone is
// used; /timezone changes it) in every language, not "couldn't read that
// date".
func TestEventCronTimeZone(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	for _, c := range []struct {
		user       models.User
		line, want string
	}{
		{alice, "/event X | CRON_TZ=Europe/Berlin 0 19 * * 1 | Park", "leave the time zone out"},
		{alice, "/event X | TZ=UTC 0 19 * * 1", "leave the time zone out"},
		{oleg, "/event X | CRON_TZ=Europe/Moscow 0 19 * * 1 | Парк", "Часовой пояс указывать не нужно"},
		{jonas, "/event X | CRON_TZ=Europe/Berlin 0 19 * * 1", "Zeitzone weg"},
		{lucia, "/event X | CRON_TZ=Europe/Madrid 0 19 * * 1", "No indiques la zona horaria"},
	} {
		chat := bottest.PrivateChat(c.user)
		h.Send(chat, c.user, c.line)
		mustContain(t, c.line, h.LastText(chat.ID), c.want, "/timezone", "Europe/Berlin")
	}
	if h.lastEventID() != 0 {
		t.Fatal("a schedule with a time zone created an event")
	}
}
