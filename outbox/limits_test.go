package outbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
)

// Calls over Telegram's length limits reach Telegram fitted, never as a
// dead letter: a long sendMessage arrives as several messages in order
// (reply on the first, keyboard on the last, formatting kept), a long edit
// and a long callback answer arrive cut with "…".
func TestEnqueueFitsTelegramLimits(t *testing.T) {
	db := openDB(t)
	fake := newFake(t)
	const chat = int64(7001)
	s := NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}, PollInterval: 20 * time.Millisecond})
	startSender(t, s)

	var long strings.Builder
	long.WriteString("<b>Attendees</b>\n\n<i>")
	for i := range 900 {
		long.WriteString("• Person &lt;" + strings.Repeat("ü", i%9) + "&gt; 😀\n")
	}
	long.WriteString("</i>")
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Go", CallbackData: "rsvp:1:go"}}}}
	first := enqueue(t, db, Message{ChatID: chat, Method: "sendMessage", Lane: Interactive, Ref: "card:1", DedupKey: "long-1",
		Params: &tg.SendMessageParams{ChatID: chat, Text: long.String(), ParseMode: models.ParseModeHTML, ReplyMarkup: kb}})
	waitFor(t, 10*time.Second, "the long message", func() bool { return allFinal(t, db) })

	msgs := fake.Messages(chat)
	if len(msgs) < 3 {
		t.Fatalf("%d messages, want the text split in at least 3", len(msgs))
	}
	var shown strings.Builder
	for i, m := range msgs {
		if n := len([]rune(m.Text)); n == 0 || tgtextLen(m.Text) > tgtext.MaxMessage {
			t.Errorf("message %d: %d units", i, tgtextLen(m.Text))
		}
		if len(m.Entities) == 0 {
			t.Errorf("message %d lost its formatting", i)
		}
		if (m.ReplyMarkup != nil) != (i == len(msgs)-1) {
			t.Errorf("message %d: keyboard %v; want it on the last part only", i, m.ReplyMarkup != nil)
		}
		shown.WriteString(m.Text + "\n")
	}
	want, _, _ := tgtext.ParseHTML(long.String())
	if strings.Join(strings.Fields(shown.String()), " ") != strings.Join(strings.Fields(want), " ") {
		t.Error("the parts do not show the whole text, in order")
	}
	if st := countState(t, db); st[StateDead] != 0 || st[StateSent] != len(msgs) {
		t.Errorf("states %v, want %d sent and none dead", st, len(msgs))
	}
	// The caller's row is the last part: its id, its dedup key, its hook.
	row, _ := getRow(t, db, first[0])
	if !strings.Contains(row.Params, `"reply_markup"`) || row.Ref != "card:1" {
		t.Errorf("the returned row is not the last part: %s", row.Params)
	}
	if again := enqueue(t, db, Message{ChatID: chat, Method: "sendMessage", Lane: Interactive, DedupKey: "long-1",
		Params: &tg.SendMessageParams{ChatID: chat, Text: long.String(), ParseMode: models.ParseModeHTML}}); again[0] != first[0] {
		t.Errorf("dedup key gave a new row %d", again[0])
	}

	// An edit of the last part with the whole text: cut, not split.
	last := msgs[len(msgs)-1]
	enqueue(t, db, Message{ChatID: chat, Method: "editMessageText", Lane: Edit,
		Params: &tg.EditMessageTextParams{ChatID: chat, MessageID: last.ID, Text: long.String(), ParseMode: models.ParseModeHTML}})
	// A toast of 300 characters.
	cqID := fake.PushCallback(bottest.PrivateChat(models.User{ID: chat, FirstName: "A"}), models.User{ID: chat, FirstName: "A"}, last.ID, "x").CallbackQuery.ID
	enqueue(t, db, Message{ChatID: chat, Method: "answerCallbackQuery", Lane: Interactive,
		Params: &tg.AnswerCallbackQueryParams{CallbackQueryID: cqID, Text: strings.Repeat("é", 300)}})
	waitFor(t, 10*time.Second, "edit and toast", func() bool { return allFinal(t, db) })
	if st := countState(t, db); st[StateDead] != 0 {
		t.Fatalf("states %v", st)
	}
	edited, _ := fake.Message(chat, last.ID)
	if tgtextLen(edited.Text) > tgtext.MaxMessage || !strings.HasSuffix(edited.Text, "…") || len(fake.Messages(chat)) != len(msgs) {
		t.Errorf("edit: %d units, ends %q", tgtextLen(edited.Text), edited.Text[len(edited.Text)-10:])
	}
	toasts := fake.CallsTo("answerCallbackQuery")
	if len(toasts) != 1 || !toasts[0].OK() || tgtextLen(toasts[0].Params["text"]) != tgtext.MaxCallbackAnswer {
		t.Errorf("toast: %+v", toasts)
	}
}

func tgtextLen(s string) int { n, _ := tgtext.Len(s, false); return n }

// What is stored is what Telegram should get: no empty copy_text on the
// library's buttons, and the fake receives the stored markup byte for byte.
func TestStoredMarkupIsSent(t *testing.T) {
	db := openDB(t)
	fake := newFake(t)
	const chat = int64(7002)
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{
		{{Text: "Going", CallbackData: "rsvp:1:go"}, {Text: "Share", URL: "https://t.me/share/url?url=x"}},
		{{Text: "Copy id", CopyText: models.CopyTextButton{Text: "ev_1"}}},
	}}
	ids := enqueue(t, db, Message{ChatID: chat, Method: "sendMessage", Lane: Interactive,
		Params: &tg.SendMessageParams{ChatID: chat, Text: "Party", ReplyMarkup: kb}})
	row, _ := getRow(t, db, ids[0])
	var stored struct {
		ReplyMarkup json.RawMessage `json:"reply_markup"`
	}
	if err := json.Unmarshal([]byte(row.Params), &stored); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(stored.ReplyMarkup), "copy_text"); n != 1 {
		t.Errorf("stored markup has %d copy_text fields, want only the real one: %s", n, stored.ReplyMarkup)
	}
	startSender(t, NewSender(db, newClient(t, fake), Config{Logger: testLogger(t), Limits: &Limits{}, PollInterval: 20 * time.Millisecond}))
	waitFor(t, 10*time.Second, "the message", func() bool { return allFinal(t, db) })
	calls := fake.CallsTo("sendMessage")
	if len(calls) != 1 || !calls[0].OK() {
		t.Fatalf("calls %+v", calls)
	}
	if got := calls[0].Params["reply_markup"]; got != string(stored.ReplyMarkup) {
		t.Errorf("sent markup differs from stored:\nsent   %s\nstored %s", got, stored.ReplyMarkup)
	}
}

// fitLimits leaves calls within the limits byte for byte alone.
func TestFitLimitsLeavesFittingCalls(t *testing.T) {
	for _, raw := range []string{
		`{"chat_id":1,"text":"` + strings.Repeat("ü", 4096) + `"}`,
		`{"chat_id":1,"text":"<b>x</b>","parse_mode":"HTML","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}}`,
	} {
		lead, got, err := fitLimits("sendMessage", json.RawMessage(raw))
		if err != nil || len(lead) != 0 || string(got) != raw {
			t.Errorf("fitLimits(%.40s…) = %d lead, %.60s, %v", raw, len(lead), got, err)
		}
	}
}
