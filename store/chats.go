package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Chat is a private chat, group or supergroup the bot is in.
type Chat struct {
	ID             int64
	Type           string // private, group, supergroup, channel
	Title          string
	Username       string
	Language       string // chosen by the chat's admins; '' = default
	Timezone       string // IANA name; '' = the bot's default
	Active         bool   // false once blocked, kicked or deleted
	InactiveReason string
	FirstSeen      time.Time
	LastSeen       time.Time
}

// UpsertChat records a chat seen in an update. Seeing a chat again does not
// reactivate it: only an explicit SetChatActive does (a user writing to the
// bot, the bot being added back), because a stale update can still arrive
// from a group that has since removed the bot.
func UpsertChat(ctx context.Context, q Querier, c Chat, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO chats (id, type, title, username, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    type      = excluded.type,
    title     = excluded.title,
    username  = excluded.username,
    last_seen = excluded.last_seen
-- As for users: only what changed, last_seen at most once a minute.
WHERE chats.type IS DISTINCT FROM excluded.type OR chats.title IS DISTINCT FROM excluded.title
   OR chats.username IS DISTINCT FROM excluded.username OR excluded.last_seen - chats.last_seen >= 60000`,
		c.ID, c.Type, c.Title, c.Username, Millis(now), Millis(now))
	return err
}

// GetChat returns the chat with id; ok is false if it is unknown.
func GetChat(ctx context.Context, q Querier, id int64) (c Chat, ok bool, err error) {
	var first, last int64
	err = q.QueryRowContext(ctx, `
SELECT id, type, title, username, language, timezone, active, inactive_reason, first_seen, last_seen
FROM chats WHERE id = ?`, id).Scan(&c.ID, &c.Type, &c.Title, &c.Username, &c.Language, &c.Timezone,
		&c.Active, &c.InactiveReason, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, false, nil
	}
	if err != nil {
		return Chat{}, false, err
	}
	c.FirstSeen, c.LastSeen = FromMillis(first), FromMillis(last)
	return c, true, nil
}

// SetChatActive marks a chat active or inactive (with the reason, e.g.
// "bot was blocked by the user"). Nothing is sent to an inactive chat.
func SetChatActive(ctx context.Context, q Querier, id int64, active bool, reason string) error {
	if active {
		reason = ""
	}
	_, err := q.ExecContext(ctx, `UPDATE chats SET active = ?1, inactive_reason = ?2
WHERE id = ?3 AND (active IS DISTINCT FROM ?1 OR inactive_reason IS DISTINCT FROM ?2)`, active, reason, id)
	return err
}

// SetChatTimezone stores the chat's IANA time zone.
func SetChatTimezone(ctx context.Context, q Querier, id int64, tz string) error {
	_, err := q.ExecContext(ctx, `UPDATE chats SET timezone = ? WHERE id = ?`, tz, id)
	return err
}

// SetChatLanguage stores the language of the chat's shared messages.
func SetChatLanguage(ctx context.Context, q Querier, id int64, lang string) error {
	_, err := q.ExecContext(ctx, `UPDATE chats SET language = ? WHERE id = ?`, lang, id)
	return err
}

// chatRefs lists every (table, column) of the store's that holds a chat id,
// so that a group upgraded to a supergroup keeps its events, cards and
// conversations. A feature that adds a table with a chat id adds it here,
// with the other column of a unique key the chat id is part of (other),
// if any: a row already under the new id with the same other value gives
// way to the moved one.
// (The outbox moves its own queued rows: it calls MigrateChat.)
var chatRefs = []struct{ table, column, other string }{
	{"inbox", "chat_id", ""},
	{"conversations", "chat_id", "user_id"}, // PRIMARY KEY (chat_id, user_id)
	{"events", "chat_id", ""},
	{"event_cards", "chat_id", "message_id"}, // UNIQUE (chat_id, message_id)
	{"series", "chat_id", ""},
	{"chat_members", "chat_id", "user_id"},   // PRIMARY KEY (chat_id, user_id)
	{"calendar_feeds", "chat_id", "user_id"}, // UNIQUE (user_id, chat_id)
}

// MigrateChat moves a chat to a new id (Telegram's migrate_to_chat_id) and
// rewrites every stored reference to it, inside the caller's transaction.
func MigrateChat(ctx context.Context, tx *sql.Tx, from, to int64, now time.Time) error {
	// The new chat row takes over the old one's settings.
	if _, err := tx.ExecContext(ctx, `
INSERT INTO chats (id, type, title, username, language, timezone, active, inactive_reason, first_seen, last_seen)
SELECT ?, 'supergroup', title, username, language, timezone, 1, '', first_seen, ?
FROM chats WHERE id = ?
ON CONFLICT(id) DO UPDATE SET language = excluded.language, timezone = excluded.timezone, active = 1`,
		to, Millis(now), from); err != nil {
		return fmt.Errorf("migrating chat %d to %d: %w", from, to, err)
	}
	for _, r := range chatRefs {
		// What SQLite's UPDATE OR REPLACE did, in SQL PostgreSQL also
		// speaks: the rows the move would collide with go first.
		if r.other != "" {
			q := fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s = ?1 AND %[3]s IN (SELECT %[3]s FROM %[1]s WHERE %[2]s = ?2)`,
				r.table, r.column, r.other)
			if _, err := tx.ExecContext(ctx, q, to, from); err != nil {
				return fmt.Errorf("migrating chat %d to %d in %s: %w", from, to, r.table, err)
			}
		}
		q := fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ?`, r.table, r.column, r.column)
		if _, err := tx.ExecContext(ctx, q, to, from); err != nil {
			return fmt.Errorf("migrating chat %d to %d in %s: %w", from, to, r.table, err)
		}
	}
	return SetChatActive(ctx, tx, from, false, "migrated to supergroup")
}
