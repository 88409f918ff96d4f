package handlers_test

// No user input can make a reply Telegram refuses for its length: every
// echo of input is shortened (tgtext.Echo), /remind caps its offsets, and
// whatever still comes out too long is split or cut by the outbox before it
// is queued. Checked through the whole bot: the real handlers, SQLite, the
// outbox sender and the fake Bot API, which refuses what Telegram refuses.

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

// withinLimits fails t for every outbox row above id after that is over
// Telegram's limits, carries a library-made empty copy_text, or became a
// dead letter; it returns the highest row id seen.
func withinLimits(t testing.TB, h *handlerstest.Harness, after int64) int64 {
	t.Helper()
	rows, err := h.DB.R.Query(`SELECT id, method, params, state, coalesce(last_error, '') FROM outbox WHERE id > ? ORDER BY id`, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	last := after
	for rows.Next() {
		var id int64
		var method, params, state, lastErr string
		if err := rows.Scan(&id, &method, &params, &state, &lastErr); err != nil {
			t.Fatal(err)
		}
		last = id
		if state == "dead" {
			t.Errorf("row %d (%s) is a dead letter: %s", id, method, lastErr)
		}
		if strings.Contains(params, `"copy_text":{"text":""}`) {
			t.Errorf("row %d (%s) has an empty copy_text", id, method)
		}
		var p struct {
			Text      *string `json:"text"`
			Caption   *string `json:"caption"`
			ParseMode string  `json:"parse_mode"`
		}
		if err := json.Unmarshal([]byte(params), &p); err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		isHTML := p.ParseMode == "HTML"
		check := func(what string, text *string, limit int, isHTML bool) {
			if text == nil {
				return
			}
			n, err := tgtext.Len(*text, isHTML)
			if err != nil || n > limit {
				t.Errorf("row %d (%s): %s of %d units (limit %d), %v", id, method, what, n, limit, err)
			}
		}
		switch method {
		case "answerCallbackQuery":
			check("text", p.Text, tgtext.MaxCallbackAnswer, false)
		default:
			check("text", p.Text, tgtext.MaxMessage, isHTML)
			check("caption", p.Caption, tgtext.MaxCaption, isHTML)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return last
}

func startLimits(t testing.TB) *handlerstest.Harness {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	h := handlerstest.Start(t, handlerstest.Options{Admins: []int64{alice.ID}, TZ: loc,
		Now: func() time.Time { return evNow }, Reminders: []time.Duration{24 * time.Hour, time.Hour}})
	return h
}

func TestLongInputGetsShortReply(t *testing.T) {
	h := startLimits(t)
	chat := bottest.PrivateChat(alice)
	h.Send(chat, alice, "/event Board games | 2026-12-05 19:00 | Cafe | 12")
	id := strconv.Itoa(h.Count(`SELECT max(id) FROM events`))
	long := strings.Repeat("x", 4090)
	var many []string
	for i := 1; i <= 1000; i++ {
		many = append(many, strconv.Itoa(i)+"m")
	}
	for _, c := range []struct{ text, want string }{
		{"/lang " + long, "I don't speak “xxx"},
		{"/timezone " + long, "I don't know the time zone “xxx"},
		{"/remind " + id + " " + long, "I can't read “xxx"},
		{"/remind " + id + " " + strings.Join(many, ","), "an event can have at most 10"},
		{"/remind " + id + " " + strings.Join(many[:11], ","), "an event can have at most 10"},
		{"/" + strings.Repeat("a", 32) + " " + long, "I don't know /aaa"},
		{"/series 1 lead " + long, ""}, // no such series: answered all the same
		{"/timezone", "time zone"},
		{long, "I don't know the time zone “xxx"}, // the conversation's answer
	} {
		h.Send(chat, alice, c.text)
		got := h.LastText(alice.ID)
		if !strings.Contains(got, c.want) {
			t.Errorf("%.30s…: reply %.80q, want %q", c.text, got, c.want)
		}
		if strings.Contains(got, strings.Repeat("x", tgtext.EchoRunes)) {
			t.Errorf("%.30s…: the reply quotes more than %d characters of the input", c.text, tgtext.EchoRunes)
		}
	}
	withinLimits(t, h, 0)
	if n := h.Count(`SELECT count(*) FROM reminders WHERE event_id = ?`, id); n > 10 {
		t.Errorf("%d reminders planned", n)
	}
}

// commands are every command the bot registers, with an argument prefix
// that gets past the first check where one is needed (an event id).
var fuzzCommands = []string{"/start ", "/help ", "/cancel ", "/event ", "/events ", "/myevents ", "/editevent 1 ",
	"/cancelevent 1 ", "/lang ", "/remind 1 ", "/remind ", "/series ", "/series 1 lead ", "/series every ", "/stats ",
	"/timezone ", "/nosuchcommand"}

// FuzzLongInput sends long, hostile input to every command (and as the
// answer to whatever conversation the command started) and checks that
// nothing queued exceeds Telegram's limits or dies.
func FuzzLongInput(f *testing.F) {
	for i := range fuzzCommands {
		f.Add(uint8(i), "x", uint16(4090), false)
		f.Add(uint8(i), "<b>&amp;\n", uint16(900), true)
		f.Add(uint8(i), "1m,", uint16(1000), false)
	}
	h := startLimits(f)
	chat := bottest.PrivateChat(alice)
	h.Fake.PushMessage(chat, alice, "/event Board games | 2026-12-05 19:00 | Cafe | 12")
	waitIdle(f, h)
	var seen int64
	f.Fuzz(func(t *testing.T, cmd uint8, arg string, n uint16, group bool) {
		c := chat
		if group {
			c = party
		}
		input := tgtext.Shorten(strings.Repeat(arg, int(n)%5000+1), 4096) // what Telegram lets a user send
		for _, text := range []string{fuzzCommands[int(cmd)%len(fuzzCommands)] + input, input, "/cancel"} {
			h.Fake.PushMessage(c, alice, text)
		}
		waitIdle(t, h)
		seen = withinLimits(t, h, seen)
	})
}

// waitIdle waits for the bot to handle every update and finish every
// outbox row, failing t (not the harness's test) on a timeout.
func waitIdle(t testing.TB, h *handlerstest.Harness) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		busy := h.Fake.PendingUpdates() + h.Count(`SELECT count(*) FROM inbox WHERE done_at IS NULL`) +
			h.Count(`SELECT count(*) FROM outbox WHERE state IN ('pending','sending')`)
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot busy after 30 s (%d)", busy)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A card's keyboard reaches Telegram exactly as the outbox stored it, and
// what is stored has one action per button (no library-made copy_text).
func TestCardButtonsArriveAsStored(t *testing.T) {
	h := startLimits(t)
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe | 12")
	var stored string
	if err := h.DB.R.QueryRow(`SELECT params ->> '$.reply_markup' FROM outbox WHERE method = 'sendMessage' AND ref LIKE 'card:%' ORDER BY id DESC LIMIT 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"callback_data":"rsvp:`) || strings.Contains(stored, "copy_text") {
		t.Fatalf("stored markup: %s", stored)
	}
	var sent string
	for _, c := range h.Fake.CallsTo("sendMessage") {
		if c.ChatID == party.ID && strings.Contains(c.Params["reply_markup"], "rsvp:") {
			if !c.OK() {
				t.Fatalf("card refused: %s", c.Description)
			}
			sent = c.Params["reply_markup"]
		}
	}
	var a, b any
	if err := json.Unmarshal([]byte(stored), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(sent), &b); err != nil {
		t.Fatal(err)
	}
	if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb || sent != stored {
		t.Errorf("the card's keyboard changed on the way:\nstored %s\nsent   %s", stored, sent)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
