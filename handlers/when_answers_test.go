package handlers_test

// Dates and titles that used to slip through or get the wrong answer
// (issue 13's small date items), through the whole bot.

import (
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

// Dates that got the wrong answer, answered in the user's language, with
// nothing created:
//   - year: "0000-01-01 10:00" was read as 1 January of next year; a
//     written-out year before 1000 is refused as out of range.
//   - cron_tz: a cron spec with a time zone got "couldn't read that date";
//     it gets its own answer (the chat's zone is used, /timezone changes
//     it).
func TestEventDateAnswers(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	for _, c := range []struct {
		name  string
		user  models.User
		line  string
		wants []string
	}{
		{"year", alice, "/event Games | 0000-01-01 10:00", []string{"year is out of range", "2026-12-11 19:00"}},
		{"year", alice, "/event Games | 1.1.0000 10:00", []string{"year is out of range"}},
		{"year", alice, "/event Games | 5 December 0000 19:00", []string{"year is out of range"}},
		{"year", oleg, "/event Игры | 0000-01-01 10:00", []string{"Год указан неверно", "2026-12-11 19:00"}},
		{"year", jonas, "/event Spiele | 0000-01-01 10:00", []string{"Jahreszahl"}},
		{"year", lucia, "/event Juegos | 0000-01-01 10:00", []string{"fuera de rango"}},
		{"cron_tz", alice, "/event X | CRON_TZ=Europe/Berlin 0 19 * * 1 | Park",
			[]string{"leave the time zone out", "/timezone", "Europe/Berlin"}},
		{"cron_tz", alice, "/event X | TZ=UTC 0 19 * * 1", []string{"leave the time zone out"}},
		{"cron_tz", oleg, "/event X | CRON_TZ=Europe/Moscow 0 19 * * 1 | Парк", []string{"Часовой пояс указывать не нужно"}},
		{"cron_tz", jonas, "/event X | CRON_TZ=Europe/Berlin 0 19 * * 1", []string{"Zeitzone weg"}},
		{"cron_tz", lucia, "/event X | CRON_TZ=Europe/Madrid 0 19 * * 1", []string{"No indiques la zona horaria"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			chat := bottest.PrivateChat(c.user)
			h.Send(chat, c.user, c.line)
			mustContain(t, c.line, h.LastText(chat.ID), c.wants...)
		})
	}
	if h.lastEventID() != 0 || h.Count(`SELECT count(*) FROM series`) != 0 {
		t.Fatal("a refused date created an event or a series")
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
