package store

// Calendar feeds: the secret tokens of /calendar's subscription URLs and
// the events each feed lists. Rendering is the handlers' (handlers/ics.go).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FeedTokenLen is the length of a calendar feed's token: 22 base62
// characters from crypto/rand, about 131 bits, so a feed URL can be neither
// guessed nor derived from a user or chat id.
const FeedTokenLen = 22

// FeedWindow is how far back a feed reaches: events that ended less than
// this long ago, and cancelled events called off less than this long ago
// (kept, as STATUS:CANCELLED, so subscribed calendars remove them).
const FeedWindow = 30 * 24 * time.Hour

// FeedMaxEvents bounds one feed's size; past it the farthest events are
// left out.
const FeedMaxEvents = 2000

// NewFeedToken makes a fresh feed token from crypto/rand.
func NewFeedToken() (string, error) { return randomBase62(FeedTokenLen) }

// ValidFeedToken reports whether s has the form of a feed token. It does
// not say whether a feed has it.
func ValidFeedToken(s string) bool { return len(s) == FeedTokenLen && isBase62(s) }

// CalendarFeed is one subscription URL's owner: a person (UserID) or a
// group (ChatID), exactly one of them set.
type CalendarFeed struct {
	Token     string
	UserID    int64
	ChatID    int64
	CreatedBy int64
	CreatedAt time.Time
}

// CalendarFeedFor returns the token of the feed of a person (chatID 0) or
// a group (userID 0), making one if there is none yet, or a new one in
// place of the old if reset is true (the old URL stops working at once).
func CalendarFeedFor(ctx context.Context, q Querier, userID, chatID, by int64, reset bool, now time.Time) (string, error) {
	if (userID == 0) == (chatID == 0) {
		return "", errors.New("calendar feed: exactly one of user and chat")
	}
	if !reset {
		var token string
		err := q.QueryRowContext(ctx, `SELECT token FROM calendar_feeds WHERE user_id = ? AND chat_id = ?`, userID, chatID).Scan(&token)
		if err == nil {
			return token, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("reading calendar feed: %w", err)
		}
	} else if _, err := q.ExecContext(ctx, `DELETE FROM calendar_feeds WHERE user_id = ? AND chat_id = ?`, userID, chatID); err != nil {
		return "", fmt.Errorf("replacing calendar feed: %w", err)
	}
	for range 3 {
		token, err := NewFeedToken()
		if err != nil {
			return "", fmt.Errorf("calendar feed token: %w", err)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO calendar_feeds (token, user_id, chat_id, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			token, userID, chatID, by, Millis(now))
		if IsUniqueViolation(err) {
			continue // taken: astronomically unlikely, draw again
		}
		if err != nil {
			return "", fmt.Errorf("storing calendar feed: %w", err)
		}
		return token, nil
	}
	return "", errors.New("calendar feed: no free token after 3 draws")
}

// CalendarFeedByToken returns the feed whose token is token; ok is false
// for a malformed, unknown or replaced token alike.
func CalendarFeedByToken(ctx context.Context, q Querier, token string) (f CalendarFeed, ok bool, err error) {
	if !ValidFeedToken(token) {
		return CalendarFeed{}, false, nil
	}
	var created int64
	err = q.QueryRowContext(ctx, `SELECT token, user_id, chat_id, created_by, created_at FROM calendar_feeds WHERE token = ?`, token).
		Scan(&f.Token, &f.UserID, &f.ChatID, &f.CreatedBy, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return CalendarFeed{}, false, nil
	}
	if err != nil {
		return CalendarFeed{}, false, fmt.Errorf("reading calendar feed: %w", err)
	}
	f.CreatedAt = FromMillis(created)
	return f, true, nil
}

// FeedEvent is an event in a feed, with the feed owner's own answer for a
// person's feed ("" if they have not answered, e.g. the organizer).
type FeedEvent struct {
	Event
	Mine RSVPStatus
}

// FeedEvents lists what feed f shows at now, by start time: for a person,
// the events they organise or answered going, maybe or waitlisted (in any
// chat); for a group, all of its events. Either way only events that have
// not ended more than FeedWindow ago, and of the cancelled ones only those
// called off less than FeedWindow ago.
func FeedEvents(ctx context.Context, q Querier, f CalendarFeed, now time.Time) ([]FeedEvent, error) {
	since := Millis(now.Add(-FeedWindow))
	var query string
	var args []any
	if f.UserID != 0 {
		query = `SELECT ` + eventColumns + `,
       coalesce((SELECT status FROM rsvps WHERE event_id = events.id AND user_id = ?1), '')
FROM events
WHERE id IN (SELECT event_id FROM rsvps WHERE user_id = ?1 AND status IN ('going', 'maybe', 'waitlist')
             UNION SELECT id FROM events WHERE creator_id = ?1)
  AND coalesce(ends_at, starts_at + ?2) > ?3 AND (status = 'active' OR cancelled_at > ?3)
ORDER BY starts_at, id LIMIT ?4`
		args = []any{f.UserID, DefaultEventLength.Milliseconds(), since, FeedMaxEvents}
	} else {
		query = `SELECT ` + eventColumns + `, ''
FROM events
WHERE chat_id = ?1 AND coalesce(ends_at, starts_at + ?2) > ?3 AND (status = 'active' OR cancelled_at > ?3)
ORDER BY starts_at, id LIMIT ?4`
		args = []any{f.ChatID, DefaultEventLength.Milliseconds(), since, FeedMaxEvents}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing feed events: %w", err)
	}
	defer rows.Close()
	var out []FeedEvent
	for rows.Next() {
		var fe FeedEvent
		if fe.Event, err = scanEvent(withExtra{rows, []any{&fe.Mine}}); err != nil {
			return nil, err
		}
		out = append(out, fe)
	}
	return out, rows.Err()
}

// withExtra scans an event's columns followed by more.
type withExtra struct {
	rowScanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.rowScanner.Scan(append(dest, w.extra...)...) }
