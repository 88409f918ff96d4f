package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

// Inline updates are asked for (allowed_updates: Telegram withholds kinds
// not named once a list is given) and, having no chat, are ordered per
// user: an inline query, its chosen result and a press on the inline
// message all queue behind the user's own private chat.
func TestInlineUpdatesAreAskedForAndKeyedByUser(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t, "")
	var mu sync.Mutex
	var got []store.InboxUpdate
	in := bot.NewIntake(db, newClient(t, fake), bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Stored: func(ups []store.InboxUpdate) { mu.Lock(); got = append(got, ups...); mu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- in.Poll(ctx) }()
	// The first poll sets allowed_updates; from then on the fake filters.
	waitFor(t, "first poll", func() bool { return len(fake.CallsTo("getUpdates")) > 0 })

	group := bottest.Group(-500, "G")
	q := fake.PushInlineQuery(group, ann, "picnic").InlineQuery
	fake.PushMessage(group, ann, "/help") // a command in a group, for contrast
	if st, _ := callAnswer(t, fake, q.ID); st != 200 {
		t.Fatalf("answer: %d", st)
	}
	id, err := fake.ChooseInlineResult(q.ID, "ev:1:1")
	if err != nil {
		t.Fatal(err)
	}
	fake.PushInlineCallback(ann, id, "rsvp:1:go")
	waitFor(t, "4 stored updates", func() bool { return countInbox(t, db) == 4 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := fake.Summary(); s.UpdatesFiltered != 0 {
		t.Fatalf("the fake withheld %d updates the bot did not ask for", s.UpdatesFiltered)
	}
	mu.Lock()
	defer mu.Unlock()
	wantKinds := []string{"inline_query", "message", "chosen_inline_result", "callback_query"}
	wantChats := []int64{ann.ID, -500, ann.ID, ann.ID}
	for i, u := range got {
		if u.Kind != wantKinds[i] || u.ChatID != wantChats[i] || u.UserID != ann.ID {
			t.Errorf("update %d: kind %q chat %d user %d, want %q %d %d", i, u.Kind, u.ChatID, u.UserID, wantKinds[i], wantChats[i], ann.ID)
		}
	}
}

func callAnswer(t *testing.T, fake *bottest.Server, queryID string) (int, error) {
	t.Helper()
	c := newClient(t, fake)
	res, err := c.Call(context.Background(), "answerInlineQuery", []byte(`{"inline_query_id":"`+queryID+`","is_personal":true,"cache_time":5,
		"results":[{"type":"article","id":"ev:1:1","title":"Picnic","input_message_content":{"message_text":"<b>Picnic</b>","parse_mode":"HTML"},
		"reply_markup":{"inline_keyboard":[[{"text":"Go","callback_data":"rsvp:1:go"}]]}}],
		"button":{"text":"Create an event","start_parameter":"new"}}`))
	return res.HTTPStatus, err
}

// Edits of inline messages go out as stored and Telegram's true is a
// success (the library's methods would expect a Message); failures keep
// the fields the sender classifies by.
func TestClientInlineEdits(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	q := fake.PushInlineQuery(bottest.Group(-500, "G"), ann, "").InlineQuery
	if st, err := callAnswer(t, fake, q.ID); st != 200 || err != nil {
		t.Fatalf("answer: %d %v", st, err)
	}
	id, _ := fake.ChooseInlineResult(q.ID, "ev:1:1")
	c := newClient(t, fake)
	edit := func(text string) (bot.Result, error) {
		return c.Call(context.Background(), "editMessageText", []byte(`{"inline_message_id":"`+id+`","text":"`+text+`",
			"reply_markup":{"inline_keyboard":[[{"text":"Go","callback_data":"rsvp:1:go"}]]}}`))
	}
	if res, err := edit("Moved"); err != nil || res.HTTPStatus != 200 || res.MessageID != 0 {
		t.Fatalf("inline edit: %+v %v", res, err)
	}
	if m, _ := fake.InlineMessage(id); m.Text != "Moved" || m.ReplyMarkup == nil {
		t.Fatalf("inline message: %+v", m)
	}
	if res, err := edit("Moved"); err == nil || res.ErrorCode != 400 || !strings.Contains(res.Description, "not modified") {
		t.Fatalf("same edit: %+v %v", res, err)
	}
	fake.FailNext(bottest.Fault{Method: "editMessageText", Status: 429, RetryAfter: 3})
	var tmr *tg.TooManyRequestsError
	if res, err := edit("Again"); !errors.As(err, &tmr) || tmr.RetryAfter != 3 || res.RetryAfter != 3 {
		t.Fatalf("429: %+v %v", res, err)
	}
	res, err := c.Call(context.Background(), "editMessageText", []byte(`{"inline_message_id":"gone","text":"x"}`))
	if err == nil || res.ErrorCode != 400 || !strings.Contains(res.Description, "MESSAGE_ID_INVALID") {
		t.Fatalf("unknown inline message: %+v %v", res, err)
	}
}
