package store

// The RSVP rule: what a person's answer becomes when they press a button.
// It is pure (no database, no clock): ApplyRSVP (rsvps.go) reads what it
// needs inside its transaction, asks NextRSVP, and writes the outcome.
// Who is promoted from the waitlist when places free up is waitlist.go's.

import (
	"errors"
	"fmt"
	"time"
)

// MaxGuests is how many guests one person may bring.
const MaxGuests = 10

// RSVPAction is what a person asked for with a button.
type RSVPAction int

// RSVP actions.
const (
	ActGoing RSVPAction = iota
	ActMaybe
	ActDecline
	ActAddGuest    // bring one more guest (and go, if not going yet)
	ActRemoveGuest // bring one guest fewer
)

// RSVPRefusal says why an action changed nothing.
type RSVPRefusal int

// Reasons an RSVP action changed nothing.
const (
	RefusedNone           RSVPRefusal = iota
	RefusedUnchanged                  // already the answer asked for
	RefusedNoRoomForGuest             // going, and the event is full
	RefusedNoGuests                   // -1 without guests
	RefusedTooManyGuests              // already MaxGuests
)

// Errors of ApplyRSVP: the action is refused because of the event.
var (
	ErrEventNotFound  = errors.New("event not found")
	ErrEventCancelled = errors.New("event cancelled")
	ErrRSVPClosed     = errors.New("RSVPs are closed")
	// ErrRSVPDeadline is ErrRSVPClosed before the start: the organizer's
	// RSVP deadline has passed.
	ErrRSVPDeadline = fmt.Errorf("%w: the RSVP deadline has passed", ErrRSVPClosed)
)

// RSVPsOpen reports why e takes no answers at now: ErrEventCancelled;
// ErrRSVPDeadline once its RSVP deadline has come and it has not started;
// ErrRSVPClosed once it has started. nil while it takes them.
func RSVPsOpen(e Event, now time.Time) error {
	switch {
	case e.Cancelled():
		return ErrEventCancelled
	case !now.Before(e.StartsAt):
		return ErrRSVPClosed
	case !now.Before(e.RSVPClosesAt()):
		return ErrRSVPDeadline
	}
	return nil
}

// OthersSeats is how many places everyone but cur takes, given the
// event's counts (which include cur's own answer).
func OthersSeats(c RSVPCounts, cur RSVP) int {
	others := c.GoingSeats
	if cur.Status == RSVPGoing {
		others -= cur.Seats()
	}
	return others
}

// NextRSVP is the RSVP rule. Given a person's current answer cur (Status
// "" if they have not answered), the places taken by everyone else
// (OthersSeats) and the event's capacity (0: no limit), it returns their
// answer after act, or why act changes nothing (then next is cur).
//
// Going people plus their guests may not exceed the capacity: whoever
// does not fit joins the waitlist, and a guest that does not fit is
// refused rather than sending its host to the back of the line. Declining
// drops the guests. The position is not the rule's: a new status puts the
// person at the end of its line, which the caller numbers.
func NextRSVP(cur RSVP, others, capacity int, act RSVPAction) (next RSVP, refused RSVPRefusal, err error) {
	fits := func(seats int) bool { return capacity == 0 || others+seats <= capacity }
	goOrWait := func(seats int) RSVPStatus {
		if fits(seats) {
			return RSVPGoing
		}
		return RSVPWaitlist
	}
	next = cur
	switch act {
	case ActGoing:
		if cur.Status == RSVPGoing || cur.Status == RSVPWaitlist {
			return cur, RefusedUnchanged, nil
		}
		next.Status = goOrWait(cur.Seats())
	case ActMaybe:
		if cur.Status == RSVPMaybe {
			return cur, RefusedUnchanged, nil
		}
		next.Status = RSVPMaybe
	case ActDecline:
		if cur.Status == RSVPDeclined {
			return cur, RefusedUnchanged, nil
		}
		next.Status, next.Guests = RSVPDeclined, 0
	case ActAddGuest:
		switch {
		case cur.Guests >= MaxGuests:
			return cur, RefusedTooManyGuests, nil
		case cur.Status == RSVPGoing && !fits(cur.Seats()+1):
			return cur, RefusedNoRoomForGuest, nil
		case cur.Status == RSVPGoing || cur.Status == RSVPWaitlist:
			next.Guests++
		default: // "+1" from no answer, maybe or declined means "I'm coming, with a guest"
			next.Guests++
			next.Status = goOrWait(next.Seats())
		}
	case ActRemoveGuest:
		if cur.Guests == 0 {
			return cur, RefusedNoGuests, nil
		}
		next.Guests--
	default:
		return cur, RefusedNone, fmt.Errorf("unknown RSVP action %d", act)
	}
	return next, RefusedNone, nil
}

// FreesPlaces reports whether going from before to after gives places
// back (someone going stops going, or brings fewer guests): the moment
// the waitlist may move up.
func FreesPlaces(before, after RSVP) bool {
	return before.Status == RSVPGoing && (after.Status != RSVPGoing || after.Seats() < before.Seats())
}
