package handlers_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

// One update sees one instant: the clock is read once when the update is
// dispatched, so the rows it writes (its user, its event, the event's
// card) carry the same time even when the clock moves on at every read.
func TestOneInstantPerUpdate(t *testing.T) {
	var reads atomic.Int64
	clock := func() time.Time { return evNow.Add(time.Duration(reads.Add(1)) * time.Minute) }
	h := handlerstest.Start(t, handlerstest.Options{Now: clock})
	h.Send(party, alice, "/event Quiz | sat 19:00 | Pub")
	var seen, created, updated, carded int64
	if err := h.DB.R.QueryRow(`SELECT u.last_seen, e.created_at, e.updated_at, c.created_at
FROM users u, events e JOIN event_cards c ON c.event_id = e.id WHERE u.id = ?`, alice.ID).Scan(&seen, &created, &updated, &carded); err != nil {
		t.Fatal(err)
	}
	if seen != created || created != updated || updated != carded {
		t.Fatalf("one update, several instants: user seen %d, event created %d and updated %d, card recorded %d",
			seen, created, updated, carded)
	}
	if reads.Load() < 1 {
		t.Fatal("the clock was never read")
	}
	// The next update takes a new instant.
	h.Send(party, bob, "/events")
	var bobSeen int64
	if err := h.DB.R.QueryRow(`SELECT last_seen FROM users WHERE id = ?`, bob.ID).Scan(&bobSeen); err != nil {
		t.Fatal(err)
	}
	if bobSeen <= seen {
		t.Fatalf("the next update reused the instant: %d after %d", bobSeen, seen)
	}
}
