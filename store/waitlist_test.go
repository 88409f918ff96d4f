package store

import (
	"slices"
	"testing"
)

// The waitlist rule on its own: in order, passing over a party that does
// not fit for the next that does, stopping when the event is full.
func TestPromotions(t *testing.T) {
	w := func(user int64, guests int) RSVP { return RSVP{UserID: user, Status: RSVPWaitlist, Guests: guests} }
	users := func(rs []RSVP) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.UserID)
		}
		return out
	}
	waiting := []RSVP{w(1, 0), w(2, 3), w(3, 0), w(4, 1)}
	for _, c := range []struct {
		name            string
		taken, capacity int
		want            []int64
	}{
		{"one place", 9, 10, []int64{1}},
		{"two places pass over a party of four", 8, 10, []int64{1, 3}},
		{"six places", 4, 10, []int64{1, 2, 3}},
		{"room for all", 0, 10, []int64{1, 2, 3, 4}},
		{"no limit", 50, 0, []int64{1, 2, 3, 4}},
		{"full", 10, 10, nil},
		{"overbooked", 12, 10, nil},
	} {
		if got := users(Promotions(waiting, c.taken, c.capacity)); !slices.Equal(got, c.want) {
			t.Errorf("%s: promoted %v, want %v", c.name, got, c.want)
		}
	}
	if got := Promotions(nil, 0, 10); got != nil {
		t.Errorf("nobody waiting: promoted %v", got)
	}
}
