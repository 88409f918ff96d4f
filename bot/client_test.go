package bot

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// reply_markup goes out as the JSON given, not through the library's
// structs (which add "copy_text":{"text":""} to every button and drop
// fields they do not know).
func TestCallSendsReplyMarkupAsGiven(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	c, err := NewClient(fake.Token, fake.URL, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	markup := `{"inline_keyboard":[[{"callback_data":"rsvp:1:go","text":"Going"},{"text":"Copy","copy_text":{"text":"ev_1"}}],[{"text":"Open","url":"https://example.org","future_field":{"x":1}}]]}`
	ctx := context.Background()
	for _, method := range []string{"sendMessage", "editMessageText", "editMessageReplyMarkup"} {
		params := map[string]any{"chat_id": 5, "text": "Party " + method, "reply_markup": json.RawMessage(markup)}
		if method != "sendMessage" {
			params["message_id"] = 1
		}
		raw, _ := json.Marshal(params)
		if method == "editMessageReplyMarkup" {
			// The same markup again would be "not modified".
			markup2 := `{"inline_keyboard":[[{"text":"Copy","copy_text":{"text":"ev_2"}}]]}`
			raw, _ = json.Marshal(map[string]any{"chat_id": 5, "message_id": 1, "reply_markup": json.RawMessage(markup2)})
			markup = markup2
		}
		res, err := c.Call(ctx, method, raw)
		if err != nil {
			t.Fatalf("%s: %v (%s)", method, err, res.Description)
		}
		calls := fake.CallsTo(method)
		if got := calls[len(calls)-1].Params["reply_markup"]; got != markup {
			t.Errorf("%s sent\n%s\nwant\n%s", method, got, markup)
		}
	}
}
