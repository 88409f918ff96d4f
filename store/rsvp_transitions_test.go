package store

import (
	"errors"
	"testing"
	"time"
)

// The RSVP rule on its own: every action from every kind of answer, with
// and without room.
func TestNextRSVP(t *testing.T) {
	none := RSVP{}
	going := RSVP{Status: RSVPGoing}
	going2 := RSVP{Status: RSVPGoing, Guests: 2}
	waiting1 := RSVP{Status: RSVPWaitlist, Guests: 1}
	maybe := RSVP{Status: RSVPMaybe}
	declined := RSVP{Status: RSVPDeclined}
	full := RSVP{Status: RSVPGoing, Guests: MaxGuests}
	cases := []struct {
		name             string
		cur              RSVP
		others, capacity int
		act              RSVPAction
		want             RSVP
		refused          RSVPRefusal
	}{
		{"going with room", none, 3, 4, ActGoing, RSVP{Status: RSVPGoing}, RefusedNone},
		{"going without limit", none, 100, 0, ActGoing, RSVP{Status: RSVPGoing}, RefusedNone},
		{"going when full waits", none, 4, 4, ActGoing, RSVP{Status: RSVPWaitlist}, RefusedNone},
		{"going again", going, 0, 0, ActGoing, going, RefusedUnchanged},
		{"going while waiting", waiting1, 0, 0, ActGoing, waiting1, RefusedUnchanged},
		{"maybe keeps guests", going2, 0, 0, ActMaybe, RSVP{Status: RSVPMaybe, Guests: 2}, RefusedNone},
		{"maybe again", maybe, 0, 0, ActMaybe, maybe, RefusedUnchanged},
		{"decline drops guests", going2, 0, 0, ActDecline, RSVP{Status: RSVPDeclined}, RefusedNone},
		{"decline again", declined, 0, 0, ActDecline, declined, RefusedUnchanged},
		{"+1 going with room", going, 2, 4, ActAddGuest, RSVP{Status: RSVPGoing, Guests: 1}, RefusedNone},
		{"+1 going when full", going, 3, 4, ActAddGuest, going, RefusedNoRoomForGuest},
		{"+1 waiting stays waiting", waiting1, 4, 4, ActAddGuest, RSVP{Status: RSVPWaitlist, Guests: 2}, RefusedNone},
		{"+1 from nothing goes", none, 2, 4, ActAddGuest, RSVP{Status: RSVPGoing, Guests: 1}, RefusedNone},
		{"+1 from maybe waits when the pair does not fit", maybe, 3, 4, ActAddGuest, RSVP{Status: RSVPWaitlist, Guests: 1}, RefusedNone},
		{"+1 from declined goes", declined, 0, 0, ActAddGuest, RSVP{Status: RSVPGoing, Guests: 1}, RefusedNone},
		{"+1 over the most guests", full, 0, 0, ActAddGuest, full, RefusedTooManyGuests},
		{"-1", going2, 0, 0, ActRemoveGuest, RSVP{Status: RSVPGoing, Guests: 1}, RefusedNone},
		{"-1 without guests", going, 0, 0, ActRemoveGuest, going, RefusedNoGuests},
	}
	for _, c := range cases {
		got, refused, err := NextRSVP(c.cur, c.others, c.capacity, c.act)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want || refused != c.refused {
			t.Errorf("%s: got %+v refused %d, want %+v refused %d", c.name, got, refused, c.want, c.refused)
		}
	}
	if _, _, err := NextRSVP(none, 0, 0, RSVPAction(99)); err == nil {
		t.Error("an unknown action was accepted")
	}
}

// Places free up only when someone going stops going or brings fewer
// guests; the places taken by others leave out one's own.
func TestFreesPlacesAndOthersSeats(t *testing.T) {
	going2 := RSVP{Status: RSVPGoing, Guests: 2}
	for _, c := range []struct {
		before, after RSVP
		want          bool
	}{
		{going2, RSVP{Status: RSVPGoing, Guests: 1}, true},
		{going2, RSVP{Status: RSVPDeclined}, true},
		{going2, RSVP{Status: RSVPMaybe, Guests: 2}, true},
		{going2, RSVP{Status: RSVPGoing, Guests: 3}, false},
		{RSVP{Status: RSVPWaitlist, Guests: 2}, RSVP{Status: RSVPWaitlist, Guests: 1}, false},
		{RSVP{Status: RSVPMaybe}, RSVP{Status: RSVPDeclined}, false},
		{RSVP{}, RSVP{Status: RSVPGoing}, false},
	} {
		if got := FreesPlaces(c.before, c.after); got != c.want {
			t.Errorf("FreesPlaces(%+v, %+v) = %v, want %v", c.before, c.after, got, c.want)
		}
	}
	counts := RSVPCounts{Going: 3, GoingSeats: 7}
	if got := OthersSeats(counts, going2); got != 4 {
		t.Errorf("others of someone going with 2 guests: %d, want 4", got)
	}
	if got := OthersSeats(counts, RSVP{Status: RSVPWaitlist, Guests: 2}); got != 7 {
		t.Errorf("others of someone waiting: %d, want 7", got)
	}
}

// Answers close at the deadline if it comes before the start, else at the
// start, and never open on a cancelled event; a deadline that closed them
// says so (ErrRSVPDeadline, still an ErrRSVPClosed) until the start.
func TestRSVPsOpen(t *testing.T) {
	start := t0.Add(48 * time.Hour)
	ev := Event{StartsAt: start, Status: EventActive}
	withDeadline := ev
	withDeadline.RSVPDeadline = start.Add(-24 * time.Hour)
	lateDeadline := ev
	lateDeadline.RSVPDeadline = start.Add(time.Hour)
	cancelled := ev
	cancelled.Status = EventCancelled
	for _, c := range []struct {
		name string
		ev   Event
		now  time.Time
		want error
	}{
		{"before the start", ev, start.Add(-time.Minute), nil},
		{"at the start", ev, start, ErrRSVPClosed},
		{"before the deadline", withDeadline, start.Add(-25 * time.Hour), nil},
		{"at the deadline", withDeadline, start.Add(-24 * time.Hour), ErrRSVPDeadline},
		{"after the start, with a deadline", withDeadline, start, ErrRSVPClosed},
		{"a deadline after the start closes at the start", lateDeadline, start, ErrRSVPClosed},
		{"before a deadline after the start", lateDeadline, start.Add(-time.Minute), nil},
		{"cancelled", cancelled, t0, ErrEventCancelled},
	} {
		if got := RSVPsOpen(c.ev, c.now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if !errors.Is(ErrRSVPDeadline, ErrRSVPClosed) {
		t.Error("a passed deadline is not an ErrRSVPClosed")
	}
}
