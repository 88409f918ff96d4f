package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultEventLength is how long an event without an end time lasts (for
// calendar files and "is it over" checks).
const DefaultEventLength = 2 * time.Hour

// MaxGuests is how many guests one person may bring.
const MaxGuests = 10

// Event statuses.
const (
	EventActive    = "active"
	EventCancelled = "cancelled"
)

// Event is one planned get-together. Times are absolute instants; Timezone
// is the zone they are shown in.
type Event struct {
	ID          int64
	ChatID      int64 // the chat it was created in: its home card, permissions, reminders
	CreatorID   int64 // the organizer
	Title       string
	Description string
	Place       string
	StartsAt    time.Time
	EndsAt      time.Time // zero: StartsAt + DefaultEventLength
	Timezone    string    // IANA name; "" = UTC
	Capacity    int       // places, guests included; 0 = no limit
	// RSVPDeadline closes RSVPs before the start; zero: they close when
	// the event starts.
	RSVPDeadline time.Time
	Status       string
	// SeriesID is the recurring series the event belongs to, 0 for a
	// one-off (series are another feature's; events only carry the link).
	SeriesID int64
	// ReminderOffsets is the reminders feature's own encoding; "" means
	// the bot's default.
	ReminderOffsets string
	// WeatherLine is a one-line forecast the card shows when not empty.
	WeatherLine string
	// ShareCode is what links that open the event carry (never the id):
	// anyone holding it may see the event and answer. See NewShareCode.
	ShareCode string
	// Version increases with every change a card shows, so a card posted
	// before a change can tell it is behind.
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CancelledAt time.Time
}

// End is when the event ends.
func (e Event) End() time.Time {
	if e.EndsAt.IsZero() {
		return e.StartsAt.Add(DefaultEventLength)
	}
	return e.EndsAt
}

// Zone is the event's time zone (UTC if unknown).
func (e Event) Zone() *time.Location {
	if e.Timezone != "" {
		if loc, err := time.LoadLocation(e.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// Cancelled reports whether the event was called off.
func (e Event) Cancelled() bool { return e.Status == EventCancelled }

// RSVPClosesAt is when answers stop being accepted: the deadline if it is
// set and earlier than the start, else the start.
func (e Event) RSVPClosesAt() time.Time {
	if !e.RSVPDeadline.IsZero() && e.RSVPDeadline.Before(e.StartsAt) {
		return e.RSVPDeadline
	}
	return e.StartsAt
}

const eventColumns = `id, chat_id, creator_id, title, description, place, starts_at, ends_at, timezone,
capacity, rsvp_deadline, status, series_id, reminder_offsets, weather_line, share_code, version, created_at, updated_at, cancelled_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanEvent(s rowScanner) (Event, error) {
	var e Event
	var starts, created, updated int64
	var ends, deadline, series, cancelled sql.NullInt64
	err := s.Scan(&e.ID, &e.ChatID, &e.CreatorID, &e.Title, &e.Description, &e.Place, &starts, &ends, &e.Timezone,
		&e.Capacity, &deadline, &e.Status, &series, &e.ReminderOffsets, &e.WeatherLine, &e.ShareCode, &e.Version, &created, &updated, &cancelled)
	if err != nil {
		return Event{}, err
	}
	e.StartsAt, e.CreatedAt, e.UpdatedAt = FromMillis(starts), FromMillis(created), FromMillis(updated)
	e.EndsAt, e.RSVPDeadline, e.CancelledAt = fromNullMillis(ends), fromNullMillis(deadline), fromNullMillis(cancelled)
	e.SeriesID = series.Int64
	return e, nil
}

func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return FromMillis(n.Int64)
}

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return Millis(t)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateEvent stores a new active event, with a fresh share code, and
// returns its id.
func CreateEvent(ctx context.Context, q Querier, e Event, now time.Time) (int64, error) {
	for range 3 {
		code, err := NewShareCode()
		if err != nil {
			return 0, fmt.Errorf("creating event: %w", err)
		}
		var id int64
		err = q.QueryRowContext(ctx, `
INSERT INTO events (chat_id, creator_id, title, description, place, starts_at, ends_at, timezone, capacity,
                    rsvp_deadline, status, series_id, reminder_offsets, weather_line, share_code, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)
RETURNING id`,
			e.ChatID, e.CreatorID, e.Title, e.Description, e.Place, Millis(e.StartsAt), nullMillis(e.EndsAt), e.Timezone,
			e.Capacity, nullMillis(e.RSVPDeadline), nullID(e.SeriesID), e.ReminderOffsets, e.WeatherLine, code,
			Millis(now), Millis(now)).Scan(&id)
		if isUniqueViolation(err) {
			continue // the code is taken: astronomically unlikely, draw again
		}
		if err != nil {
			return 0, fmt.Errorf("creating event: %w", err)
		}
		return id, nil
	}
	return 0, errors.New("creating event: no free share code after 3 draws")
}

// GetEvent returns the event with id; ok is false if there is none.
func GetEvent(ctx context.Context, q Querier, id int64) (e Event, ok bool, err error) {
	e, err = scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, fmt.Errorf("reading event %d: %w", id, err)
	}
	return e, true, nil
}

// UpdateEventDetails stores what an organizer may edit (title, description,
// place, start, end, capacity, RSVP deadline) and bumps the version.
// It does not promote anyone: after raising the capacity, call
// PromoteWaitlist in the same transaction.
func UpdateEventDetails(ctx context.Context, q Querier, e Event, now time.Time) error {
	_, err := q.ExecContext(ctx, `
UPDATE events SET title = ?, description = ?, place = ?, starts_at = ?, ends_at = ?, capacity = ?,
                  rsvp_deadline = ?, version = version + 1, updated_at = ?,
                  -- A new place or day makes the card's forecast wrong: drop
                  -- it, and let the forecast job look it up again at once.
                  weather_line = CASE WHEN place <> ?3 OR starts_at <> ?4 THEN '' ELSE weather_line END,
                  weather_checked_at = CASE WHEN place <> ?3 OR starts_at <> ?4 THEN 0 ELSE weather_checked_at END
WHERE id = ?`,
		e.Title, e.Description, e.Place, Millis(e.StartsAt), nullMillis(e.EndsAt), e.Capacity,
		nullMillis(e.RSVPDeadline), Millis(now), e.ID)
	if err != nil {
		return fmt.Errorf("updating event %d: %w", e.ID, err)
	}
	return nil
}

// CancelEvent calls an active event off; it reports false if the event
// does not exist or was already cancelled. RSVPs are kept, so the people
// to tell can still be listed.
func CancelEvent(ctx context.Context, q Querier, id int64, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `
UPDATE events SET status = 'cancelled', cancelled_at = ?, version = version + 1, updated_at = ?
WHERE id = ? AND status = 'active'`, Millis(now), Millis(now), id)
	if err != nil {
		return false, fmt.Errorf("cancelling event %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetEventWeatherLine stores the forecast shown on the card ("" hides it)
// and records that it was looked up now, for ev as it was read before the
// lookup: if its place or start changed meanwhile, the forecast is for
// the wrong town or day and nothing is written. It bumps the version, and
// reports true, only if the line changed: the caller then refreshes the
// cards, so an unchanged forecast costs no edit.
func SetEventWeatherLine(ctx context.Context, q Querier, ev Event, line string, now time.Time) (changed bool, err error) {
	res, err := q.ExecContext(ctx, `UPDATE events SET weather_line = ?, version = version + 1, updated_at = ?
WHERE id = ? AND place = ? AND starts_at = ? AND weather_line <> ?`, line, Millis(now), ev.ID, ev.Place, Millis(ev.StartsAt), line)
	if err != nil {
		return false, fmt.Errorf("setting the forecast of event %d: %w", ev.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if err := MarkEventForecastChecked(ctx, q, ev, now); err != nil {
		return false, err
	}
	return n == 1, nil
}

// MarkEventForecastChecked records a forecast lookup for ev at at without
// changing the line (a failed lookup, to be retried later), unless ev's
// place or start changed since it was read (the edit asked for a new
// lookup at once).
func MarkEventForecastChecked(ctx context.Context, q Querier, ev Event, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE events SET weather_checked_at = ? WHERE id = ? AND place = ? AND starts_at = ?`,
		Millis(at), ev.ID, ev.Place, Millis(ev.StartsAt)); err != nil {
		return fmt.Errorf("marking the forecast of event %d checked: %w", ev.ID, err)
	}
	return nil
}

// EventsNeedingForecast lists active events with a place that start in
// [from, to) and whose forecast was last looked up before staleBefore,
// those never looked up first.
func EventsNeedingForecast(ctx context.Context, q Querier, from, to, staleBefore time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE status = 'active' AND place <> '' AND starts_at >= ? AND starts_at < ? AND weather_checked_at < ?
ORDER BY weather_checked_at, starts_at, id LIMIT ?`, Millis(from), Millis(to), Millis(staleBefore), limit)
}

// SetEventReminderOffsets stores the reminders feature's offsets ("" = the
// default). Cards do not show them, so the version stays.
func SetEventReminderOffsets(ctx context.Context, q Querier, id int64, offsets string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE events SET reminder_offsets = ?, updated_at = ? WHERE id = ?`,
		offsets, Millis(now), id)
	return err
}

// TouchEvent bumps an event's version (something its cards show changed)
// and returns the new one.
func TouchEvent(ctx context.Context, q Querier, id int64, now time.Time) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `UPDATE events SET version = version + 1, updated_at = ? WHERE id = ? RETURNING version`,
		Millis(now), id).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("touching event %d: %w", id, err)
	}
	return v, nil
}

func queryEvents(ctx context.Context, q Querier, query string, args ...any) ([]Event, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UpcomingChatEvents lists a chat's active events that have not ended,
// soonest first.
func UpcomingChatEvents(ctx context.Context, q Querier, chatID int64, now time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE chat_id = ? AND status = 'active' AND coalesce(ends_at, starts_at + ?) > ?
ORDER BY starts_at, id LIMIT ?`, chatID, DefaultEventLength.Milliseconds(), Millis(now), limit)
}

// EventsStartingBetween lists active events starting in [from, to), soonest
// first: what reminders and forecasts look at.
func EventsStartingBetween(ctx context.Context, q Querier, from, to time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE status = 'active' AND starts_at >= ? AND starts_at < ?
ORDER BY starts_at, id LIMIT ?`, Millis(from), Millis(to), limit)
}

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

// Errors of ApplyRSVP: the action is refused because of the event.
var (
	ErrEventNotFound  = errors.New("event not found")
	ErrEventCancelled = errors.New("event cancelled")
	ErrRSVPClosed     = errors.New("RSVPs are closed")
)

// ApplyRSVP applies one person's action to an event inside tx: the new
// answer, the capacity check (going people plus their guests may not
// exceed the capacity; whoever does not fit joins the waitlist), and the
// promotion of the waitlist when places free up. Counts are read inside
// the transaction, and write transactions are serialised (one writer,
// BEGIN IMMEDIATE), so concurrent clicks can never overbook.
//
// It fails with ErrEventNotFound, ErrEventCancelled or ErrRSVPClosed (the
// deadline or the start has passed) without changing anything.
func ApplyRSVP(ctx context.Context, tx *sql.Tx, eventID, userID int64, act RSVPAction, now time.Time) (RSVPChange, error) {
	e, ok, err := GetEvent(ctx, tx, eventID)
	switch {
	case err != nil:
		return RSVPChange{}, err
	case !ok:
		return RSVPChange{}, ErrEventNotFound
	case e.Cancelled():
		return RSVPChange{}, ErrEventCancelled
	case !now.Before(e.RSVPClosesAt()):
		return RSVPChange{}, ErrRSVPClosed
	}
	cur, _, err := GetRSVP(ctx, tx, eventID, userID)
	if err != nil {
		return RSVPChange{}, err
	}
	counts, err := CountRSVPs(ctx, tx, eventID)
	if err != nil {
		return RSVPChange{}, err
	}
	// Places taken by everyone else.
	others := counts.GoingSeats
	if cur.Status == RSVPGoing {
		others -= cur.Seats()
	}
	fits := func(seats int) bool { return e.Capacity == 0 || others+seats <= e.Capacity }
	goOrWait := func(seats int) RSVPStatus {
		if fits(seats) {
			return RSVPGoing
		}
		return RSVPWaitlist
	}

	ch := RSVPChange{Before: cur}
	next := cur
	switch act {
	case ActGoing:
		if cur.Status == RSVPGoing || cur.Status == RSVPWaitlist {
			ch.Refused = RefusedUnchanged
		} else {
			next.Status = goOrWait(cur.Seats())
		}
	case ActMaybe:
		if cur.Status == RSVPMaybe {
			ch.Refused = RefusedUnchanged
		} else {
			next.Status = RSVPMaybe
		}
	case ActDecline:
		if cur.Status == RSVPDeclined {
			ch.Refused = RefusedUnchanged
		} else {
			next.Status, next.Guests = RSVPDeclined, 0
		}
	case ActAddGuest:
		switch {
		case cur.Guests >= MaxGuests:
			ch.Refused = RefusedTooManyGuests
		case cur.Status == RSVPGoing && !fits(cur.Seats()+1):
			ch.Refused = RefusedNoRoomForGuest
		case cur.Status == RSVPGoing || cur.Status == RSVPWaitlist:
			next.Guests++
		default: // "+1" from no answer, maybe or declined means "I'm coming, with a guest"
			next.Guests++
			next.Status = goOrWait(next.Seats())
		}
	case ActRemoveGuest:
		if cur.Guests == 0 {
			ch.Refused = RefusedNoGuests
		} else {
			next.Guests--
		}
	default:
		return RSVPChange{}, fmt.Errorf("unknown RSVP action %d", act)
	}
	if ch.Refused != RefusedNone {
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
	if cur.Status == RSVPGoing && (next.Status != RSVPGoing || next.Seats() < cur.Seats()) {
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

// PromoteWaitlist moves people from the waitlist to going, in waitlist
// order, as long as places are free; someone whose party does not fit is
// passed over for the next who does. It returns those promoted, and bumps
// the event's version if there were any.
func PromoteWaitlist(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) ([]RSVP, error) {
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
	taken := counts.GoingSeats
	var promoted []RSVP
	for _, r := range waiting {
		if e.Capacity > 0 && taken+r.Seats() > e.Capacity {
			continue
		}
		if r.Position, err = nextPosition(ctx, tx, eventID); err != nil {
			return nil, err
		}
		r.Status, r.UpdatedAt = RSVPGoing, now
		if err := upsertRSVP(ctx, tx, r, now); err != nil {
			return nil, err
		}
		taken += r.Seats()
		promoted = append(promoted, r)
		if e.Capacity > 0 && taken >= e.Capacity {
			break
		}
	}
	if len(promoted) > 0 {
		if _, err := TouchEvent(ctx, tx, eventID, now); err != nil {
			return nil, err
		}
	}
	return promoted, nil
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

// EventCard is one posted copy of an event's card.
type EventCard struct {
	ID        int64
	EventID   int64
	ChatID    int64
	MessageID int    // 0 until the message is sent and recorded
	Lang      string // the card's language unless the chat chose one
	Version   int64  // the event version the message shows or is about to
	CreatedAt time.Time
}

const cardColumns = `id, event_id, chat_id, coalesce(message_id, 0), lang, version, created_at`

func scanCard(s rowScanner) (EventCard, error) {
	var c EventCard
	var created int64
	err := s.Scan(&c.ID, &c.EventID, &c.ChatID, &c.MessageID, &c.Lang, &c.Version, &created)
	c.CreatedAt = FromMillis(created)
	return c, err
}

// AddEventCard records a card about to be posted (MessageID 0) or one
// found posted (MessageID set), and returns its id. A known message is not
// recorded twice: its existing row's id is returned.
func AddEventCard(ctx context.Context, q Querier, c EventCard, now time.Time) (int64, error) {
	if c.MessageID != 0 {
		if old, ok, err := FindEventCard(ctx, q, c.ChatID, c.MessageID); err != nil || ok {
			return old.ID, err
		}
	}
	var id int64
	var msg any
	if c.MessageID != 0 {
		msg = c.MessageID
	}
	err := q.QueryRowContext(ctx, `
INSERT INTO event_cards (event_id, chat_id, message_id, lang, version, created_at) VALUES (?, ?, ?, ?, ?, ?)
RETURNING id`, c.EventID, c.ChatID, msg, c.Lang, c.Version, Millis(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("recording card of event %d in chat %d: %w", c.EventID, c.ChatID, err)
	}
	return id, nil
}

// GetEventCard returns one card row.
func GetEventCard(ctx context.Context, q Querier, id int64) (c EventCard, ok bool, err error) {
	c, err = scanCard(q.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM event_cards WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return EventCard{}, false, nil
	}
	return c, err == nil, err
}

// FindEventCard returns the card shown by a message, if it is one.
func FindEventCard(ctx context.Context, q Querier, chatID int64, messageID int) (c EventCard, ok bool, err error) {
	c, err = scanCard(q.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM event_cards WHERE chat_id = ? AND message_id = ?`,
		chatID, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return EventCard{}, false, nil
	}
	return c, err == nil, err
}

// SetEventCardMessage records the message a card was posted as. If the
// chat migrated meanwhile, chatID is where the message now is.
func SetEventCardMessage(ctx context.Context, q Querier, id, chatID int64, messageID int) error {
	// A click on the message may have recorded it already under another row.
	if _, err := q.ExecContext(ctx, `DELETE FROM event_cards WHERE chat_id = ? AND message_id = ? AND id <> ?`,
		chatID, messageID, id); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `UPDATE event_cards SET chat_id = ?, message_id = ? WHERE id = ?`, chatID, messageID, id)
	return err
}

// SetEventCardVersion records the event version a card now shows.
func SetEventCardVersion(ctx context.Context, q Querier, id, version int64) error {
	_, err := q.ExecContext(ctx, `UPDATE event_cards SET version = ? WHERE id = ?`, version, id)
	return err
}

// EventCards lists every copy of an event's card, oldest first.
func EventCards(ctx context.Context, q Querier, eventID int64) ([]EventCard, error) {
	return queryCards(ctx, q, `SELECT `+cardColumns+` FROM event_cards WHERE event_id = ? ORDER BY id`, eventID)
}

// HasEventCardInChat reports whether a copy of the event's card was posted
// (or is on its way) in the chat.
func HasEventCardInChat(ctx context.Context, q Querier, eventID, chatID int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM event_cards WHERE event_id = ? AND chat_id = ?`, eventID, chatID).Scan(&n)
	return n > 0, err
}

// PostedCardsInChat lists the posted cards in a chat of events that are
// active and have not ended: what a group's migration to a supergroup
// must post again.
func PostedCardsInChat(ctx context.Context, q Querier, chatID int64, now time.Time) ([]EventCard, error) {
	return queryCards(ctx, q, `
SELECT c.id, c.event_id, c.chat_id, c.message_id, c.lang, c.version, c.created_at FROM event_cards c JOIN events e ON e.id = c.event_id
WHERE c.chat_id = ? AND c.message_id IS NOT NULL AND e.status = 'active' AND coalesce(e.ends_at, e.starts_at + ?) > ?
ORDER BY c.id`, chatID, DefaultEventLength.Milliseconds(), Millis(now))
}

func queryCards(ctx context.Context, q Querier, query string, args ...any) ([]EventCard, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventCard
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ForgetPostedEventCards forgets an event's posted cards in a chat (their
// messages can no longer be edited) and reports whether a copy still on
// its way (no message id yet) remains.
func ForgetPostedEventCards(ctx context.Context, q Querier, eventID, chatID int64) (pending bool, err error) {
	if _, err := q.ExecContext(ctx, `DELETE FROM event_cards WHERE event_id = ? AND chat_id = ? AND message_id IS NOT NULL`,
		eventID, chatID); err != nil {
		return false, err
	}
	var n int
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM event_cards WHERE event_id = ? AND chat_id = ?`, eventID, chatID).Scan(&n)
	return n > 0, err
}

// ForgetEventCards stops keeping an event's cards in one chat up to date
// (the chat is about to get a fresh copy); it returns how many it forgot.
func ForgetEventCards(ctx context.Context, q Querier, eventID, chatID int64) (int, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM event_cards WHERE event_id = ? AND chat_id = ?`, eventID, chatID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
