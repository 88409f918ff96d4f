package store

import (
	"context"
	"fmt"
	"time"
)

// NoteChatMember records that the bot saw user in a group (a message, a
// button press, a join). Only what the bot has seen is known: someone who
// never wrote in the group since the bot joined is not a row here.
func NoteChatMember(ctx context.Context, q Querier, chatID, userID int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO chat_members (chat_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
ON CONFLICT(chat_id, user_id) DO UPDATE SET last_seen = excluded.last_seen`, chatID, userID, Millis(now), Millis(now))
	if err != nil {
		return fmt.Errorf("noting member %d of chat %d: %w", userID, chatID, err)
	}
	return nil
}

// ForgetChatMember records that user left (or was removed from) a group.
func ForgetChatMember(ctx context.Context, q Querier, chatID, userID int64) error {
	_, err := q.ExecContext(ctx, `DELETE FROM chat_members WHERE chat_id = ? AND user_id = ?`, chatID, userID)
	if err != nil {
		return fmt.Errorf("forgetting member %d of chat %d: %w", userID, chatID, err)
	}
	return nil
}

// IsChatMember reports whether the bot has seen user in the group and not
// seen them leave.
func IsChatMember(ctx context.Context, q Querier, chatID, userID int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM chat_members WHERE chat_id = ? AND user_id = ?`, chatID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("checking member %d of chat %d: %w", userID, chatID, err)
	}
	return n > 0, nil
}
