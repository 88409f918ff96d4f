package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

func inlineEdit(id, text string) Message {
	return Message{ChatID: InlineChat, Method: "editMessageText", Lane: Edit, CoalesceKey: "inline:" + id,
		Params: map[string]any{"inline_message_id": id, "text": text}}
}

// Calls without a chat are accepted only in their own shapes: an inline
// edit under InlineChat naming inline_message_id (and no chat_id), an
// inline answer under the asker's id.
func TestEnqueueInlineShapes(t *testing.T) {
	db := openDB(t)
	cases := []struct {
		m  Message
		ok bool
	}{
		{inlineEdit("AgAAA1", "x"), true},
		{Message{ChatID: InlineChat, Method: "editMessageText", Lane: Edit, Params: map[string]any{"text": "x"}}, false},
		{Message{ChatID: InlineChat, Method: "editMessageText", Lane: Edit, Params: map[string]any{"inline_message_id": "A", "chat_id": InlineChat, "text": "x"}}, false},
		{Message{ChatID: 42, Method: "editMessageText", Lane: Edit, Params: map[string]any{"inline_message_id": "A", "text": "x"}}, false},
		{Message{ChatID: 42, Method: "answerInlineQuery", Lane: Interactive, Params: map[string]any{"inline_query_id": "1", "results": []any{}}}, true},
	}
	for i, c := range cases {
		err := db.Tx(context.Background(), func(tx *sql.Tx) error { _, err := Enqueue(context.Background(), tx, c.m); return err })
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("case %d (%s to %d): err %v, want ok=%v", i, c.m.Method, c.m.ChatID, err, c.ok)
		}
	}
}

// Inline edits share one key paced by the global limit only: with per-chat
// limits on and the global one off (a group — a negative id — would get 20
// a minute) five edits of five inline messages go out without the clock
// moving, one at a time, in order; edits of one message coalesce.
func TestInlineEditsShareAGlobalOnlyKey(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk}
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{PrivateChat: 1, GroupPerMinute: 20}})
	enqueue(t, db, inlineEdit("m1", "old"), inlineEdit("m1", "new"), inlineEdit("m2", "a"), inlineEdit("m3", "a"),
		inlineEdit("m4", "a"), inlineEdit("m5", "a"))
	startSender(t, s)
	calls := caller.waitCalls(t, 5)
	want := []string{"m1", "m2", "m3", "m4", "m5"}
	for i, c := range calls {
		p := map[string]any{}
		_ = json.Unmarshal(c.params, &p)
		if c.method != "editMessageText" || p["inline_message_id"] != want[i] || p["chat_id"] != nil || (i == 0 && p["text"] != "new") {
			t.Errorf("call %d: %s %v", i, c.method, p)
		}
		if !c.at.Equal(calls[0].at) {
			t.Errorf("call %d waited for the clock: per-chat pacing applied to InlineChat", i)
		}
	}
	waitFor(t, 10*time.Second, "all rows final", func() bool { return allFinal(t, db) })
	if n := countState(t, db)[StateReplaced]; n != 1 {
		t.Errorf("replaced rows: %d, want 1 (two edits of m1)", n)
	}
}

// An inline answer posts nothing in the asker's private chat: it goes out
// even when that chat is inactive (the user blocked the bot, which they
// may still use inline), and is not held by the private chat's pacing.
func TestInlineAnswerIgnoresPrivateChatState(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk}
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		if err := store.UpsertChat(context.Background(), tx, store.Chat{ID: 42, Type: "private"}, time.Now()); err != nil {
			return err
		}
		return store.SetChatActive(context.Background(), tx, 42, false, "Forbidden: bot was blocked by the user")
	})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(q string) Message {
		return Message{ChatID: 42, Method: "answerInlineQuery", Lane: Interactive, Params: map[string]any{"inline_query_id": q, "results": []any{}}}
	}
	enqueue(t, db, answer("1"), textMsg(42, Interactive, "not delivered"), answer("2"))
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{PrivateChat: 1}})
	startSender(t, s)
	calls := caller.waitCalls(t, 2)
	waitFor(t, 10*time.Second, "all rows final", func() bool { return allFinal(t, db) })
	if len(calls) != 2 || calls[0].method != "answerInlineQuery" || calls[1].method != "answerInlineQuery" {
		t.Fatalf("calls: %+v", calls)
	}
	if st := countState(t, db); st[StateSent] != 2 || st[StateDropped] != 1 {
		t.Errorf("states: %v, want the two answers sent and the message dropped", st)
	}
}

// A 403 on an inline edit gives up that row only: InlineChat is no chat
// that could have blocked the bot, and the other inline messages' edits
// go on.
func TestInlineEditForbiddenDropsOnlyItsRow(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk, respond: func(n int, method string, chat int64) (bot.Result, error) {
		if n == 1 {
			return bot.Result{HTTPStatus: 403, ErrorCode: 403, Description: "Forbidden: bot was blocked by the user", Sent: true},
				errors.New("forbidden")
		}
		return bot.Result{HTTPStatus: 200, Sent: true}, nil
	}}
	enqueue(t, db, inlineEdit("m1", "a"), inlineEdit("m2", "a"), inlineEdit("m3", "a"))
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{}})
	startSender(t, s)
	caller.waitCalls(t, 3)
	waitFor(t, 10*time.Second, "all rows final", func() bool { return allFinal(t, db) })
	if st := countState(t, db); st[StateSent] != 2 || st[StateDropped] != 1 {
		t.Errorf("states: %v, want m1 dropped and m2, m3 sent", st)
	}
	var inactive int
	if err := db.R.QueryRow(`SELECT count(*) FROM chats WHERE active = 0`).Scan(&inactive); err != nil || inactive != 0 {
		t.Errorf("a 403 on an inline edit deactivated a chat (%d, %v)", inactive, err)
	}
}
