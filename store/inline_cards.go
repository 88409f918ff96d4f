package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// InlineCard is a copy of an event's card posted through inline mode: a
// message in a chat the bot may not be in, known only by its
// inline_message_id.
type InlineCard struct {
	ID              int64
	EventID         int64
	InlineMessageID string
	UserID          int64  // who posted it
	Lang            string // the language it is shown in
	Version         int64  // the event version the message shows
	CreatedAt       time.Time
}

const inlineCardColumns = `id, event_id, inline_message_id, user_id, lang, version, created_at`

func scanInlineCard(s rowScanner) (InlineCard, error) {
	var c InlineCard
	var created int64
	err := s.Scan(&c.ID, &c.EventID, &c.InlineMessageID, &c.UserID, &c.Lang, &c.Version, &created)
	c.CreatedAt = FromMillis(created)
	return c, err
}

// AddInlineCard records an inline copy of an event's card. A message
// already recorded keeps its row (its event included: an inline message
// shows one event for good); added is false then.
func AddInlineCard(ctx context.Context, q Querier, c InlineCard, now time.Time) (added bool, err error) {
	res, err := q.ExecContext(ctx, `
INSERT INTO inline_cards (event_id, inline_message_id, user_id, lang, version, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (inline_message_id) DO NOTHING`, c.EventID, c.InlineMessageID, c.UserID, c.Lang, c.Version, Millis(now))
	if err != nil {
		return false, fmt.Errorf("recording inline card of event %d: %w", c.EventID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// FindInlineCard returns the card shown by an inline message, if it is one.
func FindInlineCard(ctx context.Context, q Querier, inlineMessageID string) (c InlineCard, ok bool, err error) {
	c, err = scanInlineCard(q.QueryRowContext(ctx, `SELECT `+inlineCardColumns+` FROM inline_cards WHERE inline_message_id = ?`,
		inlineMessageID))
	if errors.Is(err, sql.ErrNoRows) {
		return InlineCard{}, false, nil
	}
	return c, err == nil, err
}

// InlineCards lists every inline copy of an event's card, oldest first.
func InlineCards(ctx context.Context, q Querier, eventID int64) ([]InlineCard, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+inlineCardColumns+` FROM inline_cards WHERE event_id = ? ORDER BY id`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InlineCard
	for rows.Next() {
		c, err := scanInlineCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetInlineCardVersion records the event version an inline card now shows.
func SetInlineCardVersion(ctx context.Context, q Querier, id, version int64) error {
	_, err := q.ExecContext(ctx, `UPDATE inline_cards SET version = ? WHERE id = ?`, version, id)
	return err
}

// ShareableEvents lists the active, not yet ended events a person may
// share inline: those they organise and those they answered Going or
// Maybe (the waitlist is a Going answer), soonest first.
func ShareableEvents(ctx context.Context, q Querier, userID int64, now time.Time, limit int) ([]Event, error) {
	return queryEvents(ctx, q, `SELECT `+eventColumns+` FROM events
WHERE status = 'active' AND coalesce(ends_at, starts_at + ?) > ?
  AND (creator_id = ? OR id IN (SELECT event_id FROM rsvps WHERE user_id = ? AND status IN ('going', 'maybe', 'waitlist')))
ORDER BY starts_at, id LIMIT ?`, DefaultEventLength.Milliseconds(), Millis(now), userID, userID, limit)
}
