package store

// The event_cards table: every posted copy of an event's card, so a
// change can be shown on each.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

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
