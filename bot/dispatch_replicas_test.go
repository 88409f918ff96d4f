package bot_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rsvpbot/rsvpbot/bot"
)

// TestReplicaHandlesUpdatesStoredElsewhereInOrder: behind a load balancer
// a chat's webhook calls land on any replica. Replica a holds the chat and
// is busy with update 1; update 2 lands on replica b, which stores it and
// leaves it to a's claim; update 3 lands on a. Replica a must handle 2
// (which its own queue never saw) before 3, and then give the chat up.
func TestReplicaHandlesUpdatesStoredElsewhereInOrder(t *testing.T) {
	db := dispatchDB(t)
	rec := newRecorder()
	gate := make(chan struct{})
	rec.slow[100] = gate
	inA, stopA := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 2, Replica: "a"})
	inB, stopB := dispatching(t, db, rec, bot.DispatcherConfig{Workers: 2, Replica: "b"})
	ctx := t.Context()

	if _, err := inA.Save(ctx, []json.RawMessage{message(1, 100, "one")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replica a's claim on the chat", func() bool {
		return count(t, db, `SELECT count(*) FROM chat_claims WHERE chat_id = 100 AND owner = 'a'`) == 1
	})
	if _, err := inB.Save(ctx, []json.RawMessage{message(2, 100, "two")}); err != nil {
		t.Fatal(err)
	}
	if _, err := inA.Save(ctx, []json.RawMessage{message(3, 100, "three")}); err != nil {
		t.Fatal(err)
	}
	close(gate)
	waitFor(t, "all three handled", func() bool {
		return count(t, db, `SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == 3
	})
	waitFor(t, "the chat given up", func() bool {
		return count(t, db, `SELECT count(*) FROM chat_claims`) == 0
	})
	stopA()
	stopB()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.order[100]; !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("handled in the order %v, want [1 2 3]", got)
	}
}
