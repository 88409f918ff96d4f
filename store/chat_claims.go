package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Chat claims: one replica at a time handles a chat.
//
// With several replicas any of them may receive a chat's updates (a
// webhook behind a round-robin proxy), but a chat's updates must be
// handled one at a time, in update_id order. A replica handles a chat
// only while it holds the chat's claim row (chat_claims): it takes the
// claim when the chat is free or its claim expired (a dead replica's),
// renews it while it works, checks and extends it inside every handling
// transaction (FenceChat: a replica whose claim was taken over cannot
// commit, and on PostgreSQL the row lock makes a takeover wait for the
// transaction), and releases it only when the chat has nothing pending
// (ReleaseChat). A replica that receives an update of a chat another one
// holds leaves it: the holder reads the chat's pending updates before it
// releases, and a release that finds any keeps the claim; updates of
// chats nobody holds (a claim that expired) are found by UnclaimedChats.

// ErrClaimLost is FenceChat's answer when the chat's claim is no longer
// the caller's: its transaction must not commit.
var ErrClaimLost = errors.New("store: the chat's claim was taken over")

// ClaimChat takes chat for owner until now+ttl if it is free, expired or
// owner's already, and reports whether owner holds it.
func ClaimChat(ctx context.Context, db *DB, chatID int64, owner string, ttl time.Duration, now time.Time) (held bool, err error) {
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
INSERT INTO chat_claims (chat_id, owner, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (chat_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE chat_claims.owner = excluded.owner OR chat_claims.expires_at < ?4`, chatID, owner, Millis(now.Add(ttl)), Millis(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// ReleaseChat gives up owner's claim on chat if the chat has no pending
// update; it reports false, keeping the claim, if it has one.
func ReleaseChat(ctx context.Context, db *DB, chatID int64, owner string) (released bool, err error) {
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
DELETE FROM chat_claims WHERE chat_id = ?1 AND owner = ?2
AND NOT EXISTS (SELECT 1 FROM inbox WHERE chat_id = ?1 AND done_at IS NULL)`, chatID, owner)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if released = n == 1; released {
			return nil
		}
		// Not released: pending updates, or not owner's at all.
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM chat_claims WHERE chat_id = ? AND owner = ?`, chatID, owner).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			released = true // someone else's now: nothing of ours to keep
			return nil
		}
		return err
	})
	return released, err
}

// RenewChatClaims extends every claim of owner to until and returns how
// many there were.
func RenewChatClaims(ctx context.Context, db *DB, owner string, until time.Time) (n int64, err error) {
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chat_claims SET expires_at = ? WHERE owner = ? AND expires_at < ?`,
			Millis(until), owner, Millis(until))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// ReleaseChatClaims gives up every claim of owner (a replica stopping).
func ReleaseChatClaims(ctx context.Context, db *DB, owner string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM chat_claims WHERE owner = ?`, owner)
		return err
	})
}

// FenceChat checks, inside a handling transaction, that owner still
// holds chat's claim, and extends it to until; on PostgreSQL the row stays
// locked until tx ends, so a takeover waits for it.
func FenceChat(ctx context.Context, tx *sql.Tx, chatID int64, owner string, until time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE chat_claims SET expires_at = ? WHERE chat_id = ? AND owner = ?`,
		Millis(until), chatID, owner)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("chat %d: %w", chatID, ErrClaimLost)
	}
	return nil
}

// ChatPendingUpdates returns chat's pending updates with update_id above
// after, oldest first, at most limit.
func ChatPendingUpdates(ctx context.Context, q Querier, chatID, after int64, limit int) ([]InboxUpdate, error) {
	rows, err := q.QueryContext(ctx, `
SELECT update_id, chat_id, user_id, kind, payload, received_at FROM inbox
WHERE chat_id = ? AND update_id > ? AND done_at IS NULL ORDER BY update_id LIMIT ?`, chatID, after, limit)
	if err != nil {
		return nil, err
	}
	return scanInboxRows(rows)
}

// UnclaimedChats lists up to limit chats with pending updates and no
// live claim (a dead replica's, or updates left by a race with a
// release), oldest pending first.
func UnclaimedChats(ctx context.Context, q Querier, now time.Time, limit int) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `
SELECT i.chat_id FROM inbox i
WHERE i.done_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM chat_claims c WHERE c.chat_id = i.chat_id AND c.expires_at >= ?)
GROUP BY i.chat_id ORDER BY min(i.update_id) LIMIT ?`, Millis(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ChatClaimCounts returns how many chats each replica holds now.
func ChatClaimCounts(ctx context.Context, q Querier, now time.Time) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT owner, count(*) FROM chat_claims WHERE expires_at >= ? GROUP BY owner`, Millis(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, err
		}
		m[o] = n
	}
	return m, rows.Err()
}
