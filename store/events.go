package store

// The events table: an event's own details, its lifecycle (created,
// edited, cancelled), its version and its forecast line. Answers are
// rsvps.go's, posted cards event_cards.go's.

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
	// Point is where Place is on the map, nil for a typed place (only
	// text). VenueTitle and VenueAddress are a venue's own fields, empty
	// for a bare location; Place is then "title, address".
	Point        *Point
	VenueTitle   string
	VenueAddress string
	StartsAt     time.Time
	EndsAt       time.Time // zero: StartsAt + DefaultEventLength
	Timezone     string    // IANA name; "" = UTC
	Capacity     int       // places, guests included; 0 = no limit
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

// Point is a place on the map, in degrees (WGS 84).
type Point struct{ Lat, Lon float64 }

// Valid reports whether p is a point on Earth.
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180 // NaN fails every comparison
}

func (e Event) lat() any {
	if e.Point == nil {
		return nil
	}
	return e.Point.Lat
}

func (e Event) lon() any {
	if e.Point == nil {
		return nil
	}
	return e.Point.Lon
}

// End is when the event ends.
func (e Event) End() time.Time {
	if e.EndsAt.IsZero() {
		return e.StartsAt.Add(DefaultEventLength)
	}
	return e.EndsAt
}

// Zone is the event's time zone (UTC if unknown).
func (e Event) Zone() *time.Location { return ZoneOr(e.Timezone, time.UTC) }

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
capacity, rsvp_deadline, status, series_id, reminder_offsets, weather_line, share_code, version, created_at, updated_at, cancelled_at,
place_lat, place_lon, venue_title, venue_address`

type rowScanner interface{ Scan(dest ...any) error }

func scanEvent(s rowScanner) (Event, error) {
	var e Event
	var starts, created, updated int64
	var ends, deadline, series, cancelled sql.NullInt64
	var lat, lon sql.NullFloat64
	err := s.Scan(&e.ID, &e.ChatID, &e.CreatorID, &e.Title, &e.Description, &e.Place, &starts, &ends, &e.Timezone,
		&e.Capacity, &deadline, &e.Status, &series, &e.ReminderOffsets, &e.WeatherLine, &e.ShareCode, &e.Version, &created, &updated, &cancelled,
		&lat, &lon, &e.VenueTitle, &e.VenueAddress)
	if err != nil {
		return Event{}, err
	}
	if lat.Valid && lon.Valid {
		e.Point = &Point{Lat: lat.Float64, Lon: lon.Float64}
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
                    rsvp_deadline, status, series_id, reminder_offsets, weather_line, share_code, created_at, updated_at,
                    place_lat, place_lon, venue_title, venue_address)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`,
			e.ChatID, e.CreatorID, e.Title, e.Description, e.Place, Millis(e.StartsAt), nullMillis(e.EndsAt), e.Timezone,
			e.Capacity, nullMillis(e.RSVPDeadline), nullID(e.SeriesID), e.ReminderOffsets, e.WeatherLine, code,
			Millis(now), Millis(now), e.lat(), e.lon(), e.VenueTitle, e.VenueAddress).Scan(&id)
		if IsUniqueViolation(err) {
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
// place with its point and venue, start, end, capacity, RSVP deadline) and
// bumps the version. It does not promote anyone: after raising the
// capacity, call PromoteWaitlist in the same transaction.
func UpdateEventDetails(ctx context.Context, q Querier, e Event, now time.Time) error {
	_, err := q.ExecContext(ctx, `
UPDATE events SET title = ?1, description = ?2, place = ?3, starts_at = ?4, ends_at = ?5, capacity = ?6,
                  rsvp_deadline = ?7, version = version + 1, updated_at = ?8,
                  -- A new place, point or day makes the card's forecast
                  -- wrong: drop it, and let the forecast job look it up
                  -- again at once.
                  weather_line = CASE WHEN place <> ?3 OR starts_at <> ?4 OR place_lat IS DISTINCT FROM ?10 OR place_lon IS DISTINCT FROM ?11
                                      THEN '' ELSE weather_line END,
                  weather_checked_at = CASE WHEN place <> ?3 OR starts_at <> ?4 OR place_lat IS DISTINCT FROM ?10 OR place_lon IS DISTINCT FROM ?11
                                            THEN 0 ELSE weather_checked_at END,
                  place_lat = ?10, place_lon = ?11, venue_title = ?12, venue_address = ?13
WHERE id = ?9`,
		e.Title, e.Description, e.Place, Millis(e.StartsAt), nullMillis(e.EndsAt), e.Capacity,
		nullMillis(e.RSVPDeadline), Millis(now), e.ID, e.lat(), e.lon(), e.VenueTitle, e.VenueAddress)
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
WHERE id = ? AND place = ? AND starts_at = ? AND place_lat IS NOT DISTINCT FROM ? AND place_lon IS NOT DISTINCT FROM ? AND weather_line <> ?`,
		line, Millis(now), ev.ID, ev.Place, Millis(ev.StartsAt), ev.lat(), ev.lon(), line)
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
	if _, err := q.ExecContext(ctx, `UPDATE events SET weather_checked_at = ?
WHERE id = ? AND place = ? AND starts_at = ? AND place_lat IS NOT DISTINCT FROM ? AND place_lon IS NOT DISTINCT FROM ?`,
		Millis(at), ev.ID, ev.Place, Millis(ev.StartsAt), ev.lat(), ev.lon()); err != nil {
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

// UpcomingEventsOrganizedBy lists the active, not yet ended events a user
// organizes, in any chat, soonest first.
func UpcomingEventsOrganizedBy(ctx context.Context, q Querier, userID int64, now time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE creator_id = ? AND status = 'active' AND coalesce(ends_at, starts_at + ?) > ?
ORDER BY starts_at, id LIMIT ?`, userID, DefaultEventLength.Milliseconds(), Millis(now), limit)
}

// EventsStartingBetween lists active events starting in [from, to), soonest
// first: what reminders and forecasts look at.
func EventsStartingBetween(ctx context.Context, q Querier, from, to time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE status = 'active' AND starts_at >= ? AND starts_at < ?
ORDER BY starts_at, id LIMIT ?`, Millis(from), Millis(to), limit)
}
