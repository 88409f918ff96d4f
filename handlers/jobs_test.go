package handlers_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

// The harness is the production app (package app), scheduled jobs
// included: each job runs against the handlers' state on the test's clock
// and does its work — a conversation expires, an event's reminders are
// planned, old inbox rows and reminders are purged.
func TestHarnessRunsTheProductionJobs(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Minute)
	now := &atomic.Int64{}
	now.Store(start.UnixNano())
	set := func(t time.Time) { now.Store(t.UnixNano()) }
	h := handlerstest.Start(t, handlerstest.Options{Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }})

	var names []string
	for _, j := range h.Main.Jobs() {
		names = append(names, j.Name)
	}
	for _, want := range []string{"expire-conversations", "purge-inbox", "purge-ledger", "card-forecasts", "reminders", "series", "purge-reminders"} {
		if !slices.Contains(names, want) {
			t.Errorf("the harness has no %q job; it has %v", want, names)
		}
	}

	// A conversation left unanswered expires.
	alice := handlerstest.User(7101, "Alice", "en")
	h.Send(bottest.PrivateChat(alice), alice, "/event")
	asked := len(h.Texts(alice.ID))
	set(start.Add(31 * time.Minute))
	if got := h.RunJob("expire-conversations"); got != "expired 1 conversation(s)" {
		t.Errorf("expire-conversations: %q", got)
	}
	if len(h.Texts(alice.ID)) <= asked {
		t.Errorf("the user was not told the conversation expired: %q", h.Texts(alice.ID))
	}

	// An event's reminders are planned by the reminders job.
	group := bottest.Group(-7100, "Jobs")
	h.Send(group, alice, "/event Picnic | sat 19:00 | Park")
	var id int64
	if err := h.DB.R.QueryRow(`SELECT max(id) FROM events`).Scan(&id); err != nil || id == 0 {
		t.Fatalf("no event: %v; chat shows %q", err, h.Texts(group.ID))
	}
	if got := h.RunJob("reminders"); !strings.Contains(got, "1 event(s) planned") {
		t.Errorf("reminders: %q", got)
	}
	rems, err := store.EventReminders(context.Background(), h.DB.R, id)
	if err != nil || len(rems) != 2 {
		t.Fatalf("reminders of the event: %v, %v", rems, err)
	}

	// Every job runs without error; the purges honour their retention.
	for _, name := range names {
		h.RunJob(name)
	}
	set(start.Add(8 * 24 * time.Hour))
	if got := h.RunJob("purge-inbox"); strings.HasPrefix(got, "purged 0 ") {
		t.Errorf("purge-inbox kept week-old handled updates: %q", got)
	}
	set(start.Add(100 * 24 * time.Hour))
	if got := h.RunJob("purge-reminders"); !strings.HasPrefix(got, "purged 2 reminder(s)") {
		t.Errorf("purge-reminders: %q", got)
	}
	if n := h.Count(`SELECT count(*) FROM reminders`); n != 0 {
		t.Errorf("%d reminders left after their event ended 90 days ago", n)
	}
}
