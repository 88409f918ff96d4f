package store

// The waitlist rule: when places free up, who moves from the waitlist to
// going. Promotions is the rule itself (pure); PromoteWaitlist applies it
// inside a transaction. ApplyRSVP (rsvps.go) and an organizer raising the
// capacity call PromoteWaitlist.

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Promotions is the waitlist rule. Given the people waiting, in waitlist
// order, the places taken by those going and the capacity (0: no limit),
// it returns those who move up, in order: each whose party (guests
// included) fits in what is still free; someone whose party does not fit
// is passed over for the next who does.
func Promotions(waiting []RSVP, taken, capacity int) []RSVP {
	var up []RSVP
	for _, r := range waiting {
		if capacity > 0 && taken >= capacity {
			break
		}
		if capacity > 0 && taken+r.Seats() > capacity {
			continue
		}
		taken += r.Seats()
		up = append(up, r)
	}
	return up
}

// PromoteWaitlist moves people from the waitlist to going, in waitlist
// order, as long as places are free; someone whose party does not fit is
// passed over for the next who does. It returns those promoted, and bumps
// the event's version if there were any. It holds the event as ApplyRSVP
// does (lockEvent).
func PromoteWaitlist(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) ([]RSVP, error) {
	if err := lockEvent(ctx, tx, eventID); err != nil {
		return nil, err
	}
	e, ok, err := GetEvent(ctx, tx, eventID)
	if err != nil || !ok || e.Cancelled() {
		return nil, err
	}
	counts, err := CountRSVPs(ctx, tx, eventID)
	if err != nil {
		return nil, err
	}
	if counts.Waitlist == 0 || (e.Capacity > 0 && counts.GoingSeats >= e.Capacity) {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `
SELECT event_id, user_id, status, guests, position, created_at, updated_at FROM rsvps
WHERE event_id = ? AND status = 'waitlist' ORDER BY position`, eventID)
	if err != nil {
		return nil, err
	}
	var waiting []RSVP
	for rows.Next() {
		var r RSVP
		var created, updated int64
		if err := rows.Scan(&r.EventID, &r.UserID, &r.Status, &r.Guests, &r.Position, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		r.CreatedAt, r.UpdatedAt = FromMillis(created), FromMillis(updated)
		waiting = append(waiting, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	var promoted []RSVP
	for _, r := range Promotions(waiting, counts.GoingSeats, e.Capacity) {
		if r.Position, err = nextPosition(ctx, tx, eventID); err != nil {
			return nil, err
		}
		r.Status, r.UpdatedAt = RSVPGoing, now
		if err := upsertRSVP(ctx, tx, r, now); err != nil {
			return nil, err
		}
		promoted = append(promoted, r)
	}
	if len(promoted) > 0 {
		if _, err := TouchEvent(ctx, tx, eventID, now); err != nil {
			return nil, err
		}
	}
	return promoted, nil
}
