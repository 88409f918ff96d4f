package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Conversation is the persisted state of a step-by-step dialogue with one
// user in one chat. Data is the flow's own JSON.
type Conversation struct {
	ChatID    int64
	UserID    int64
	Flow      string
	Step      string
	Data      string
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// GetConversation returns the conversation of (chat, user), expired or not;
// the caller decides what expiry means (it tells the user).
func GetConversation(ctx context.Context, q Querier, chatID, userID int64) (c Conversation, ok bool, err error) {
	var upd, exp int64
	err = q.QueryRowContext(ctx, `
SELECT chat_id, user_id, flow, step, data, updated_at, expires_at FROM conversations
WHERE chat_id = ? AND user_id = ?`, chatID, userID).Scan(&c.ChatID, &c.UserID, &c.Flow, &c.Step, &c.Data, &upd, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, false, nil
	}
	if err != nil {
		return Conversation{}, false, err
	}
	c.UpdatedAt, c.ExpiresAt = FromMillis(upd), FromMillis(exp)
	return c, true, nil
}

// SaveConversation creates or replaces the conversation of (chat, user).
func SaveConversation(ctx context.Context, q Querier, c Conversation) error {
	if c.Data == "" {
		c.Data = "{}"
	}
	_, err := q.ExecContext(ctx, `
INSERT INTO conversations (chat_id, user_id, flow, step, data, updated_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(chat_id, user_id) DO UPDATE SET
    flow = excluded.flow, step = excluded.step, data = excluded.data,
    updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
		c.ChatID, c.UserID, c.Flow, c.Step, c.Data, Millis(c.UpdatedAt), Millis(c.ExpiresAt))
	return err
}

// DeleteConversation ends the conversation of (chat, user); it reports
// whether there was one.
func DeleteConversation(ctx context.Context, q Querier, chatID, userID int64) (bool, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM conversations WHERE chat_id = ? AND user_id = ?`, chatID, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ExpiredConversations lists conversations that expired before now, so
// housekeeping can tell their users and delete them.
func ExpiredConversations(ctx context.Context, q Querier, now time.Time, limit int) ([]Conversation, error) {
	rows, err := q.QueryContext(ctx, `
SELECT chat_id, user_id, flow, step, data, updated_at, expires_at FROM conversations
WHERE expires_at < ? ORDER BY expires_at LIMIT ?`, Millis(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		var c Conversation
		var upd, exp int64
		if err := rows.Scan(&c.ChatID, &c.UserID, &c.Flow, &c.Step, &c.Data, &upd, &exp); err != nil {
			return nil, err
		}
		c.UpdatedAt, c.ExpiresAt = FromMillis(upd), FromMillis(exp)
		out = append(out, c)
	}
	return out, rows.Err()
}
