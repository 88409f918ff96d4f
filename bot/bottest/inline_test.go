package bottest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

func article(id, html string, kb json.RawMessage) map[string]any {
	r := map[string]any{"type": "article", "id": id, "title": "T " + id,
		"input_message_content": map[string]any{"message_text": html, "parse_mode": "HTML"}}
	if kb != nil {
		r["reply_markup"] = kb
	}
	return r
}

// The whole inline round trip the way Telegram speaks it: query, answer,
// chosen result with inline_message_id, edits by that id answered true,
// and a button press that carries inline_message_id and no message.
func TestInlineRoundTrip(t *testing.T) {
	s := newServer(t)
	up := s.PushInlineQuery(group, alice, "picnic")
	q := up.InlineQuery
	if q == nil || q.ID == "" || q.Query != "picnic" || q.ChatType != "group" || q.From.ID != alice.ID {
		t.Fatalf("inline query update: %+v", up)
	}
	if st, a := callJSON(t, s, "answerInlineQuery", map[string]any{"inline_query_id": q.ID, "is_personal": true, "cache_time": 5,
		"results": []any{article("ev:1", "<b>Picnic</b>", inlineKeyboard("rsvp:1:go")), article("ev:2", "plain", nil)},
		"button":  map[string]any{"text": "Create", "start_parameter": "new"}}); st != 200 {
		t.Fatalf("answerInlineQuery: %d %+v", st, a)
	}
	ans, ok := s.InlineAnswer(q.ID)
	if !ok || len(ans.Results) != 2 || !ans.IsPersonal || ans.CacheTime != 5 || ans.Button == nil || ans.Button.StartParameter != "new" {
		t.Fatalf("recorded answer: %+v", ans)
	}
	if ans.Results[0].Text != "Picnic" || len(ans.Results[0].Entities) != 1 || ans.Results[0].ReplyMarkup == nil {
		t.Fatalf("result parsed: %+v", ans.Results[0])
	}
	// A second answer to the same query is refused, as Telegram does.
	if st, _ := callJSON(t, s, "answerInlineQuery", map[string]any{"inline_query_id": q.ID, "results": []any{}}); st != 400 {
		t.Fatalf("second answer: %d, want 400", st)
	}

	id, err := s.ChooseInlineResult(q.ID, "ev:1")
	if err != nil || id == "" {
		t.Fatalf("choose: %q %v", id, err)
	}
	ups := getUpdates(t, s, map[string]any{"offset": up.ID + 1, "allowed_updates": []string{"inline_query", "chosen_inline_result", "callback_query"}})
	if len(ups) != 1 || ups[0].ChosenInlineResult == nil || ups[0].ChosenInlineResult.InlineMessageID != id ||
		ups[0].ChosenInlineResult.ResultID != "ev:1" || ups[0].ChosenInlineResult.Query != "picnic" {
		t.Fatalf("chosen_inline_result: %+v", ups)
	}
	// A result without a keyboard gets no inline_message_id.
	if plain, err := s.ChooseInlineResult(q.ID, "ev:2"); err != nil || plain != "" {
		t.Fatalf("choose plain: %q %v", plain, err)
	}

	st, a := callJSON(t, s, "editMessageText", map[string]any{"inline_message_id": id, "text": "<i>Moved</i>", "parse_mode": "HTML",
		"reply_markup": inlineKeyboard("rsvp:1:no")})
	if st != 200 || string(a.Result) != "true" {
		t.Fatalf("inline edit: %d %s %+v", st, a.Result, a)
	}
	m, _ := s.InlineMessage(id)
	if m.Text != "Moved" || m.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "rsvp:1:no" || m.Chat.ID != group.ID || m.From.ID != alice.ID {
		t.Fatalf("inline message after edit: %+v", m)
	}
	if st, a := callJSON(t, s, "editMessageText", map[string]any{"inline_message_id": id, "text": "<i>Moved</i>", "parse_mode": "HTML",
		"reply_markup": inlineKeyboard("rsvp:1:no")}); st != 400 || !strings.Contains(a.Description, "not modified") {
		t.Fatalf("same edit: %d %+v", st, a)
	}
	if st, a := callJSON(t, s, "editMessageReplyMarkup", map[string]any{"inline_message_id": id, "reply_markup": inlineKeyboard("x")}); st != 200 || string(a.Result) != "true" {
		t.Fatalf("inline markup edit: %d %+v", st, a)
	}
	if st, a := callJSON(t, s, "editMessageText", map[string]any{"inline_message_id": "nope", "text": "x"}); st != 400 || !strings.Contains(a.Description, "MESSAGE_ID_INVALID") {
		t.Fatalf("unknown inline id: %d %+v", st, a)
	}

	// The posted message is in the chat, as the user's "via" the bot; the
	// bot cannot edit it by chat and message id, and a press on it in the
	// chat is an inline press.
	var posted models.Message
	for _, msg := range s.Messages(group.ID) {
		if msg.ID == m.MessageID && msg.ViaBot != nil && msg.ViaBot.ID == s.Bot().ID && msg.From.ID == alice.ID {
			posted = msg
		}
	}
	if posted.ID != m.MessageID || posted.Text != "Moved" {
		t.Fatalf("posted message in the chat: %+v (inline %+v)", posted, m)
	}
	if st, a := callJSON(t, s, "editMessageText", map[string]any{"chat_id": group.ID, "message_id": posted.ID, "text": "x"}); st != 400 || !strings.Contains(a.Description, "can't be edited") {
		t.Fatalf("edit by chat id: %d %+v", st, a)
	}
	if pressed := s.PushCallback(group, bob, posted.ID, "x").CallbackQuery; pressed.InlineMessageID != id || pressed.Message.Message != nil {
		t.Fatalf("press in the chat: %+v", pressed)
	}

	cb := s.PushInlineCallback(bob, id, "x").CallbackQuery
	if cb.InlineMessageID != id || cb.Message.Message != nil || cb.Message.InaccessibleMessage != nil || cb.ChatInstance == "" {
		t.Fatalf("inline callback: %+v", cb)
	}
	_, polled := callJSON(t, s, "getUpdates", map[string]any{"offset": -1})
	if !strings.Contains(string(polled.Result), `"inline_message_id"`) || strings.Contains(string(polled.Result), `"message"`) {
		t.Fatalf("inline callback on the wire: %s", polled.Result)
	}
	if st, _ := callJSON(t, s, "answerCallbackQuery", map[string]any{"callback_query_id": cb.ID, "text": "ok"}); st != 200 {
		t.Fatalf("answer inline callback: %d", st)
	}
}

// Answers are checked against the spec, so a bot that sends what Telegram
// would refuse fails its tests.
func TestAnswerInlineQueryValidation(t *testing.T) {
	s := newServer(t)
	good := article("a", "text", nil)
	cases := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"removed switch_pm_text", map[string]any{"results": []any{good}, "switch_pm_text": "x", "switch_pm_parameter": "y"}, "no parameter"},
		{"duplicate ids", map[string]any{"results": []any{good, good}}, "RESULT_ID_DUPLICATE"},
		{"long id", map[string]any{"results": []any{article(strings.Repeat("x", 65), "t", nil)}}, "RESULT_ID_INVALID"},
		{"no title", map[string]any{"results": []any{map[string]any{"type": "article", "id": "a", "input_message_content": map[string]any{"message_text": "x"}}}}, "RESULT_TITLE_EMPTY"},
		{"no content", map[string]any{"results": []any{map[string]any{"type": "article", "id": "a", "title": "x"}}}, "input_message_content"},
		{"unknown field", map[string]any{"results": []any{map[string]any{"type": "article", "id": "a", "title": "x", "text": "y",
			"input_message_content": map[string]any{"message_text": "x"}}}}, "no field"},
		{"bad html", map[string]any{"results": []any{article("a", "<b>x", nil)}}, "parse"},
		{"empty copy_text", map[string]any{"results": []any{article("a", "x", json.RawMessage(`{"inline_keyboard":[[{"text":"a","callback_data":"d","copy_text":{"text":""}}]]}`))}}, "exactly one"},
		{"button with both", map[string]any{"results": []any{good}, "button": map[string]any{"text": "x", "start_parameter": "a", "web_app": map[string]any{"url": "https://x"}}}, "exactly one"},
		{"bad start param", map[string]any{"results": []any{good}, "button": map[string]any{"text": "x", "start_parameter": "a b"}}, "START_PARAM_INVALID"},
		{"too many", map[string]any{"results": manyResults(51)}, "RESULTS_TOO_MUCH"},
	}
	for _, c := range cases {
		q := s.PushInlineQuery(bottest.PrivateChat(alice), alice, "").InlineQuery
		c.params["inline_query_id"] = q.ID
		st, a := callJSON(t, s, "answerInlineQuery", c.params)
		if st != 400 || !strings.Contains(a.Description, c.want) {
			t.Errorf("%s: %d %q, want 400 containing %q", c.name, st, a.Description, c.want)
		}
		if _, answered := s.InlineAnswer(q.ID); answered {
			t.Errorf("%s: a refused answer was recorded", c.name)
		}
	}
	// "web_app":null (go-telegram/bot's button struct) counts as absent.
	q := s.PushInlineQuery(bottest.PrivateChat(alice), alice, "").InlineQuery
	if q.ChatType != "sender" {
		t.Errorf("chat_type in the asker's own chat = %q, want sender", q.ChatType)
	}
	if st, a := callJSON(t, s, "answerInlineQuery", map[string]any{"inline_query_id": q.ID, "results": []any{good},
		"button": map[string]any{"text": "x", "start_parameter": "new", "web_app": nil}}); st != 200 {
		t.Errorf("null web_app: %d %+v", st, a)
	}
}

func manyResults(n int) []any {
	out := []any{}
	for i := range n {
		out = append(out, article("r"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)), "t", nil))
	}
	return out
}

// A late answer is refused like Telegram's: the user stopped waiting.
func TestInlineAnswerTooLate(t *testing.T) {
	clk := newFakeClock()
	s := newServer(t, bottest.WithClock(clk.Now))
	q := s.PushInlineQuery(group, alice, "").InlineQuery
	clk.Advance(bottest.InlineAnswerTimeout + time.Second)
	st, a := callJSON(t, s, "answerInlineQuery", map[string]any{"inline_query_id": q.ID, "results": []any{}})
	if st != 400 || !strings.Contains(a.Description, "query is too old") {
		t.Fatalf("late answer: %d %+v", st, a)
	}
}

// With inline feedback off Telegram sends no chosen_inline_result; the
// message is still posted and its buttons still send callbacks.
func TestInlineFeedbackOff(t *testing.T) {
	s := newServer(t)
	s.SetInlineFeedback(false)
	up := s.PushInlineQuery(group, alice, "")
	if st, _ := callJSON(t, s, "answerInlineQuery", map[string]any{"inline_query_id": up.InlineQuery.ID,
		"results": []any{article("ev:1", "card", inlineKeyboard("rsvp:1:go"))}}); st != 200 {
		t.Fatal(st)
	}
	id, err := s.ChooseInlineResult(up.InlineQuery.ID, "ev:1")
	if err != nil || id == "" {
		t.Fatal(id, err)
	}
	if s.PendingUpdates() != 1 { // only the inline query itself
		t.Fatalf("pending updates: %d, want 1 (no chosen_inline_result)", s.PendingUpdates())
	}
	if _, ok := s.InlineMessage(id); !ok {
		t.Fatal("inline message not posted")
	}
}
