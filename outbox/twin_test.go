package outbox

import (
	"testing"
)

// replyTo is an interactive reply in a group, as the handlers write it.
func replyTo(chat int64, messageID int, text string) Message {
	return Message{ChatID: chat, Method: "sendMessage", Lane: Interactive, Params: map[string]any{
		"chat_id": chat, "text": text, "parse_mode": "HTML",
		"reply_parameters": map[string]any{"message_id": messageID, "allow_sending_without_reply": true}}}
}

// The same answer to the same command, asked again in the same chat while
// the first answer is still pending, is queued once; anything else — other
// text, another chat, another lane, a message with a key or hook of its
// own, an answer already on its way — is queued as usual.
func TestIdenticalPendingRepliesCoalesce(t *testing.T) {
	db := openDB(t)
	const group = -100
	ids := enqueue(t, db,
		replyTo(group, 1, "help text"),
		replyTo(group, 2, "help text"),  // another member's /help: same answer
		replyTo(group, 3, "help text!"), // different text
		replyTo(group-1, 4, "help text"),
	)
	if ids[1] != ids[0] {
		t.Errorf("identical pending reply queued again: ids %v", ids)
	}
	if ids[2] == ids[0] || ids[3] == ids[0] || ids[3] == ids[2] {
		t.Errorf("different replies coalesced: ids %v", ids)
	}
	if n := countState(t, db)[StatePending]; n != 3 {
		t.Errorf("%d pending rows, want 3", n)
	}

	// Not coalesced: keys, hooks and other lanes are the caller's business.
	dedup, coalesce, hook, bulk := replyTo(group, 5, "help text"), replyTo(group, 6, "help text"), replyTo(group, 7, "help text"), replyTo(group, 8, "help text")
	dedup.DedupKey, coalesce.CoalesceKey, hook.Ref, bulk.Lane = "d:1", "c:1", "card:1", Bulk
	for _, m := range []Message{dedup, coalesce, hook, bulk} {
		if id := enqueue(t, db, m)[0]; id == ids[0] {
			t.Errorf("a message with dedup %q coalesce %q ref %q lane %v joined the plain reply", m.DedupKey, m.CoalesceKey, m.Ref, m.Lane)
		}
	}

	// Once the first answer is on the wire, a new one is queued (and the
	// one after that joins the new one).
	if _, err := db.W.Exec(`UPDATE outbox SET state = 'sending' WHERE id = ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	again := enqueue(t, db, replyTo(group, 9, "help text"), replyTo(group, 10, "help text"))
	if again[0] == ids[0] || again[1] != again[0] {
		t.Errorf("after the first went out: ids %v (first %d)", again, ids[0])
	}
}
