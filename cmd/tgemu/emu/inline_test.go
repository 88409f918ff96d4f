package emu

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/bot"
)

// Inline mode through the control API and the bot's real client: a query
// pushed, answered, chosen, edited by inline_message_id, and pressed.
func TestInlineControlAPI(t *testing.T) {
	cfg := DefaultConfig()
	e, srv := newTestEmu(t, cfg)
	client, err := bot.NewClient(cfg.Token, srv.URL, bot.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var up struct {
		UpdateID    int64 `json:"update_id"`
		InlineQuery struct {
			ID       string `json:"id"`
			Query    string `json:"query"`
			ChatType string `json:"chat_type"`
		} `json:"inline_query"`
	}
	if err := json.Unmarshal([]byte(post(t, srv.URL+"/_emu/inline/query",
		`{"from":{"id":7,"first_name":"Ann"},"chat":{"id":-4001,"title":"G"},"query":"picnic"}`)), &up); err != nil {
		t.Fatal(err)
	}
	if up.InlineQuery.ID == "" || up.InlineQuery.Query != "picnic" || up.InlineQuery.ChatType != "group" {
		t.Fatalf("pushed query: %+v", up)
	}
	if st := status(t, srv.URL+"/_emu/inline/answer?id="+up.InlineQuery.ID); st != http.StatusNotFound {
		t.Fatalf("answer before the bot answered: %d", st)
	}
	if _, err := client.Call(ctx, "answerInlineQuery", json.RawMessage(`{"inline_query_id":"`+up.InlineQuery.ID+`","is_personal":true,
		"results":[{"type":"article","id":"ev:1:1","title":"Picnic","input_message_content":{"message_text":"<b>Picnic</b>","parse_mode":"HTML"},
		"reply_markup":{"inline_keyboard":[[{"text":"Go","callback_data":"rsvp:1:go"}]]}}]}`)); err != nil {
		t.Fatal(err)
	}
	if a := get(t, srv.URL+"/_emu/inline/answer?id="+up.InlineQuery.ID); !strings.Contains(a, `"id": "ev:1:1"`) ||
		!strings.Contains(a, `"is_personal": true`) || !strings.Contains(a, `"callback_data": "rsvp:1:go"`) || strings.Contains(a, "copy_text") {
		t.Fatalf("answer: %s", a)
	}
	var chosen struct {
		InlineMessageID string `json:"inline_message_id"`
	}
	json.Unmarshal([]byte(post(t, srv.URL+"/_emu/inline/choose", `{"query_id":"`+up.InlineQuery.ID+`","result_id":"ev:1:1"}`)), &chosen)
	if chosen.InlineMessageID == "" || e.Fake.PendingUpdates() != 2 {
		t.Fatalf("choose: %+v, pending %d", chosen, e.Fake.PendingUpdates())
	}
	if _, err := client.Call(ctx, "editMessageText", json.RawMessage(`{"inline_message_id":"`+chosen.InlineMessageID+`","text":"Picnic moved",
		"reply_markup":{"inline_keyboard":[[{"text":"Go","callback_data":"rsvp:1:go"}]]}}`)); err != nil {
		t.Fatal(err)
	}
	if m := get(t, srv.URL+"/_emu/inline/message?id="+chosen.InlineMessageID); !strings.Contains(m, `"text": "Picnic moved"`) || strings.Contains(m, "copy_text") {
		t.Fatalf("inline message: %s", m)
	}
	if body := post(t, srv.URL+"/_emu/inline/press", `{"from":{"id":8},"inline_message_id":"`+chosen.InlineMessageID+`","data":"rsvp:1:go"}`); !strings.Contains(body, `"inline_message_id"`) {
		t.Fatalf("press: %s", body)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_emu/inline/feedback?on=false", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("feedback off: %v", err)
	}
	if help := get(t, srv.URL+"/_emu/"); !strings.Contains(help, "/_emu/inline/query") {
		t.Fatalf("help: %s", help)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
