package store

// The rsvps table: people's answers, their counts and ranks, and
// ApplyRSVP, which reads them inside a transaction, asks the RSVP rule
// (rsvp_transitions.go) and the waitlist rule (waitlist.go), and writes
// the outcome.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RSVPStatus is a person's answer.
type RSVPStatus string

// RSVP statuses. Waitlist is "going, but no place yet".
const (
	RSVPGoing    RSVPStatus = "going"
	RSVPMaybe    RSVPStatus = "maybe"
	RSVPDeclined RSVPStatus = "declined"
	RSVPWaitlist RSVPStatus = "waitlist"
)

// RSVP is one person's answer to one event.
type RSVP struct {
	EventID   int64
	UserID    int64
	Status    RSVPStatus // "" when the person has not answered
	Guests    int
	Position  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Seats is how many places the person takes when going.
func (r RSVP) Seats() int { return 1 + r.Guests }

// GetRSVP returns a person's answer; ok is false if they have not answered.
func GetRSVP(ctx context.Context, q Querier, eventID, userID int64) (r RSVP, ok bool, err error) {
	var created, updated int64
	err = q.QueryRowContext(ctx, `
SELECT event_id, user_id, status, guests, position, created_at, updated_at FROM rsvps
WHERE event_id = ? AND user_id = ?`, eventID, userID).Scan(&r.EventID, &r.UserID, &r.Status, &r.Guests, &r.Position,
		&created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return RSVP{EventID: eventID, UserID: userID}, false, nil
	}
	if err != nil {
		return RSVP{}, false, err
	}
	r.CreatedAt, r.UpdatedAt = FromMillis(created), FromMillis(updated)
	return r, true, nil
}

// Attendee is an answer with the person who gave it.
type Attendee struct {
	RSVP
	User User
}

// ListAttendees returns everyone who answered, going first, then the
// waitlist, maybe and declined; each in position order.
func ListAttendees(ctx context.Context, q Querier, eventID int64) ([]Attendee, error) {
	rows, err := q.QueryContext(ctx, `
SELECT r.event_id, r.user_id, r.status, r.guests, r.position, r.created_at, r.updated_at,
       coalesce(u.username, ''), coalesce(u.first_name, ''), coalesce(u.last_name, ''), coalesce(u.language, ''),
       coalesce(u.chosen_lang, ''), coalesce(u.started, 0), coalesce(u.blocked, 0)
FROM rsvps r LEFT JOIN users u ON u.id = r.user_id
WHERE r.event_id = ?
ORDER BY CASE r.status WHEN 'going' THEN 0 WHEN 'waitlist' THEN 1 WHEN 'maybe' THEN 2 ELSE 3 END, r.position`, eventID)
	if err != nil {
		return nil, fmt.Errorf("listing attendees of event %d: %w", eventID, err)
	}
	defer rows.Close()
	var out []Attendee
	for rows.Next() {
		var a Attendee
		var created, updated int64
		if err := rows.Scan(&a.EventID, &a.UserID, &a.Status, &a.Guests, &a.Position, &created, &updated,
			&a.User.Username, &a.User.FirstName, &a.User.LastName, &a.User.Language, &a.User.ChosenLang,
			&a.User.Started, &a.User.Blocked); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = FromMillis(created), FromMillis(updated)
		a.User.ID = a.UserID
		out = append(out, a)
	}
	return out, rows.Err()
}

// RSVPCounts summarises an event's answers.
type RSVPCounts struct {
	Going         int // people going
	GoingSeats    int // places they take, guests included
	Maybe         int
	Waitlist      int // people waiting
	WaitlistSeats int
	Declined      int
}

// CountRSVPs counts an event's answers.
func CountRSVPs(ctx context.Context, q Querier, eventID int64) (RSVPCounts, error) {
	rows, err := q.QueryContext(ctx, `
SELECT status, count(*), coalesce(sum(1 + guests), 0) FROM rsvps WHERE event_id = ? GROUP BY status`, eventID)
	if err != nil {
		return RSVPCounts{}, err
	}
	defer rows.Close()
	var c RSVPCounts
	for rows.Next() {
		var st RSVPStatus
		var people, seats int
		if err := rows.Scan(&st, &people, &seats); err != nil {
			return RSVPCounts{}, err
		}
		switch st {
		case RSVPGoing:
			c.Going, c.GoingSeats = people, seats
		case RSVPMaybe:
			c.Maybe = people
		case RSVPWaitlist:
			c.Waitlist, c.WaitlistSeats = people, seats
		case RSVPDeclined:
			c.Declined = people
		}
	}
	return c, rows.Err()
}

// WaitlistRank is the 1-based place of a person on the waitlist, 0 if they
// are not on it.
func WaitlistRank(ctx context.Context, q Querier, eventID, userID int64) (int, error) {
	var rank int
	err := q.QueryRowContext(ctx, `
SELECT count(*) FROM rsvps w
JOIN rsvps me ON me.event_id = w.event_id AND me.user_id = ? AND me.status = 'waitlist'
WHERE w.event_id = ? AND w.status = 'waitlist' AND w.position <= me.position`, userID, eventID).Scan(&rank)
	return rank, err
}

// UserEvent is an upcoming event a person is going to or waiting for.
type UserEvent struct {
	Event
	RSVP         RSVP
	WaitlistRank int
}

// UserUpcomingEvents lists the active, not yet ended events a person is
// going to or waitlisted for, soonest first.
func UserUpcomingEvents(ctx context.Context, q Querier, userID int64, now time.Time, limit int) ([]UserEvent, error) {
	rows, err := q.QueryContext(ctx, `
SELECT e.id, r.status, r.guests, r.position FROM rsvps r JOIN events e ON e.id = r.event_id
WHERE r.user_id = ? AND r.status IN ('going', 'waitlist') AND e.status = 'active'
  AND coalesce(e.ends_at, e.starts_at + ?) > ?
ORDER BY e.starts_at, e.id LIMIT ?`, userID, DefaultEventLength.Milliseconds(), Millis(now), limit)
	if err != nil {
		return nil, err
	}
	var refs []RSVP
	for rows.Next() {
		r := RSVP{UserID: userID}
		if err := rows.Scan(&r.EventID, &r.Status, &r.Guests, &r.Position); err != nil {
			rows.Close()
			return nil, err
		}
		refs = append(refs, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	out := make([]UserEvent, 0, len(refs))
	for _, r := range refs {
		e, ok, err := GetEvent(ctx, q, r.EventID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		ue := UserEvent{Event: e, RSVP: r}
		if r.Status == RSVPWaitlist {
			if ue.WaitlistRank, err = WaitlistRank(ctx, q, r.EventID, userID); err != nil {
				return nil, err
			}
		}
		out = append(out, ue)
	}
	return out, nil
}

// RSVPChange is what ApplyRSVP did.
type RSVPChange struct {
	Before RSVP // Status "" if the person had not answered
	After  RSVP
	// Refused is why nothing changed; RefusedNone when something did.
	Refused RSVPRefusal
	// WaitlistRank is the person's 1-based place on the waitlist after
	// the action, 0 if they are not on it.
	WaitlistRank int
	// Promoted are the people the action moved from the waitlist to going
	// (a place freed up).
	Promoted []RSVP
}

// ApplyRSVP applies one person's action to an event inside tx: the new
// answer, the capacity check (going people plus their guests may not
// exceed the capacity; whoever does not fit joins the waitlist), and the
// promotion of the waitlist when places free up. Counts are read inside
// the transaction after lockEvent, so concurrent clicks can never
// overbook.
//
// It fails with ErrEventNotFound, ErrEventCancelled or ErrRSVPClosed (the
// deadline or the start has passed) without changing anything.
func ApplyRSVP(ctx context.Context, tx *sql.Tx, eventID, userID int64, act RSVPAction, now time.Time) (RSVPChange, error) {
	if err := lockEvent(ctx, tx, eventID); err != nil {
		return RSVPChange{}, err
	}
	e, ok, err := GetEvent(ctx, tx, eventID)
	if err != nil {
		return RSVPChange{}, err
	}
	if !ok {
		return RSVPChange{}, ErrEventNotFound
	}
	if err := RSVPsOpen(e, now); err != nil {
		return RSVPChange{}, err
	}
	cur, _, err := GetRSVP(ctx, tx, eventID, userID)
	if err != nil {
		return RSVPChange{}, err
	}
	counts, err := CountRSVPs(ctx, tx, eventID)
	if err != nil {
		return RSVPChange{}, err
	}
	next, refused, err := NextRSVP(cur, OthersSeats(counts, cur), e.Capacity, act)
	if err != nil {
		return RSVPChange{}, err
	}
	ch := RSVPChange{Before: cur, Refused: refused}
	if refused != RefusedNone {
		ch.After = cur
		ch.WaitlistRank, err = WaitlistRank(ctx, tx, eventID, userID)
		return ch, err
	}

	if next.Status != cur.Status {
		// A new status puts the person at the end of its line.
		if next.Position, err = nextPosition(ctx, tx, eventID); err != nil {
			return RSVPChange{}, err
		}
	}
	if err := upsertRSVP(ctx, tx, next, now); err != nil {
		return RSVPChange{}, err
	}
	if _, err := TouchEvent(ctx, tx, eventID, now); err != nil {
		return RSVPChange{}, err
	}
	next.UpdatedAt = now
	if cur.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	ch.After = next
	if FreesPlaces(cur, next) {
		if ch.Promoted, err = PromoteWaitlist(ctx, tx, eventID, now); err != nil {
			return RSVPChange{}, err
		}
	}
	if next.Status == RSVPWaitlist {
		if ch.WaitlistRank, err = WaitlistRank(ctx, tx, eventID, userID); err != nil {
			return RSVPChange{}, err
		}
	}
	return ch, nil
}

// lockEvent makes the transaction the only one deciding on the event's
// places until it ends (LockTx): what it reads afterwards (the event, its
// counts, the waitlist) stays true until it commits. On SQLite write
// transactions are serialised anyway (one writer, BEGIN IMMEDIATE) and
// this costs nothing; on PostgreSQL they run at once, and a second
// transaction on the same event waits for the first, then reads what it
// committed (each statement of a READ COMMITTED transaction sees the
// latest commits). Other events are not held.
func lockEvent(ctx context.Context, tx *sql.Tx, eventID int64) error {
	if err := LockTx(ctx, tx, LockKey("event places", eventID)); err != nil {
		return fmt.Errorf("locking event %d: %w", eventID, err)
	}
	return nil
}

func nextPosition(ctx context.Context, q Querier, eventID int64) (int64, error) {
	var p int64
	err := q.QueryRowContext(ctx, `UPDATE events SET seq = seq + 1 WHERE id = ? RETURNING seq`, eventID).Scan(&p)
	return p, err
}

func upsertRSVP(ctx context.Context, q Querier, r RSVP, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO rsvps (event_id, user_id, status, guests, position, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(event_id, user_id) DO UPDATE SET
    status = excluded.status, guests = excluded.guests, position = excluded.position, updated_at = excluded.updated_at`,
		r.EventID, r.UserID, string(r.Status), r.Guests, r.Position, Millis(now), Millis(now))
	if err != nil {
		return fmt.Errorf("saving RSVP of %d to event %d: %w", r.UserID, r.EventID, err)
	}
	return nil
}
