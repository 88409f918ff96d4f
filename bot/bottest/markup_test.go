package bottest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// The fake reads InlineKeyboardButton strictly: exactly one action per
// button, and a copy text of 1-256 characters. go-telegram/bot's own struct
// breaks both rules on every button, which is why rsvpbot sends markup as
// raw JSON.
func TestInlineButtonsReadStrictly(t *testing.T) {
	s := newServer(t)
	send := func(markup string) (int, apiAnswer) {
		return callJSON(t, s, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "Party?", "reply_markup": json.RawMessage(markup)})
	}
	for _, tc := range []struct{ name, markup, want string }{
		{"two actions", `{"inline_keyboard":[[{"text":"Go","callback_data":"go","url":"https://example.org"}]]}`, "exactly one of the optional fields"},
		{"library button", `{"inline_keyboard":[[{"text":"Go","callback_data":"go","copy_text":{"text":""}}]]}`, "exactly one of the optional fields"},
		{"empty copy text", `{"inline_keyboard":[[{"text":"Copy","copy_text":{"text":""}}]]}`, "copy_text text must be 1-256 characters"},
		{"long copy text", `{"inline_keyboard":[[{"text":"Copy","copy_text":{"text":"` + strings.Repeat("x", 257) + `"}}]]}`, "copy_text text must be 1-256 characters"},
		{"copy text without text", `{"inline_keyboard":[[{"text":"Copy","copy_text":{}}]]}`, "copy_text must be an object with a text field"},
		{"no action", `{"inline_keyboard":[[{"text":"Go"}]]}`, "Text buttons are unallowed"},
	} {
		status, ans := send(tc.markup)
		if status != 400 || ans.ErrorCode != 400 || !strings.HasPrefix(ans.Description, "Bad Request: ") || !strings.Contains(ans.Description, tc.want) {
			t.Errorf("%s: %d %q, want 400 mentioning %q", tc.name, status, ans.Description, tc.want)
		}
	}
	if n := len(s.Messages(alice.ID)); n != 0 {
		t.Errorf("%d refused messages were stored", n)
	}
	for _, ok := range []string{
		`{"inline_keyboard":[[{"text":"Go","callback_data":"go"},{"text":"Copy","copy_text":{"text":"ev_12"}}]]}`,
		`{"inline_keyboard":[[{"text":"Share","url":"https://t.me/share/url?url=x","style":"primary","icon_custom_emoji_id":"1"}]]}`,
	} {
		if status, ans := send(ok); status != 200 {
			t.Errorf("valid markup refused: %d %q\n%s", status, ans.Description, ok)
		}
	}
}

// The library's struct, sent as it is, is refused: the reason for the raw
// path in bot.Client.
func TestLibraryButtonRefused(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Go", CallbackData: "go"}}}}
	_, err := b.SendMessage(ctxT(t), &bot.SendMessageParams{ChatID: alice.ID, Text: "Party?", ReplyMarkup: kb})
	if err == nil || !strings.Contains(err.Error(), "callback_data, copy_text") {
		t.Fatalf("library markup: err = %v, want a refusal naming both actions", err)
	}
}
