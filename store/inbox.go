package store

import (
	"context"
	"database/sql"
	"time"
)

// InboxUpdate is one Telegram update as stored by the intake.
type InboxUpdate struct {
	UpdateID   int64
	ChatID     int64 // 0 when the update has no chat (e.g. inline queries)
	UserID     int64
	Kind       string
	Payload    []byte // the update's JSON exactly as received
	ReceivedAt time.Time
}

const sqlInsertUpdate = `
INSERT INTO inbox (update_id, chat_id, user_id, kind, payload, received_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(update_id) DO NOTHING`

// InsertUpdates stores a batch of updates in one transaction's worth of
// statements and returns those that were new. An update_id already present
// (Telegram redelivery, a retried webhook) is ignored, which is what makes
// intake idempotent.
func InsertUpdates(ctx context.Context, tx *sql.Tx, ups []InboxUpdate) (inserted []InboxUpdate, err error) {
	for _, u := range ups {
		// One constant statement: the connection's statement cache
		// prepares it once (tx.Prepare would bypass the cache).
		res, err := tx.ExecContext(ctx, sqlInsertUpdate, u.UpdateID, u.ChatID, u.UserID, u.Kind, u.Payload, Millis(u.ReceivedAt))
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			inserted = append(inserted, u)
		}
	}
	return inserted, nil
}

// NextUpdateOffset is the getUpdates offset that confirms everything stored:
// one past the highest update_id ever stored (0 on an empty inbox, which
// makes Telegram send whatever it holds).
func NextUpdateOffset(ctx context.Context, q Querier) (int64, error) {
	var maxID sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(update_id) FROM inbox`).Scan(&maxID); err != nil {
		return 0, err
	}
	if !maxID.Valid {
		return 0, nil
	}
	return maxID.Int64 + 1, nil
}

// PendingUpdates returns up to limit unprocessed updates with update_id
// above after, oldest first. The dispatcher pages through them at start.
func PendingUpdates(ctx context.Context, q Querier, after int64, limit int) ([]InboxUpdate, error) {
	rows, err := q.QueryContext(ctx, `
SELECT update_id, chat_id, user_id, kind, payload, received_at FROM inbox
WHERE done_at IS NULL AND update_id > ? ORDER BY update_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanInboxRows(rows)
}

// scanInboxRows reads (and closes) rows of update_id, chat_id, user_id,
// kind, payload, received_at.
func scanInboxRows(rows *sql.Rows) ([]InboxUpdate, error) {
	defer rows.Close()
	var out []InboxUpdate
	for rows.Next() {
		var u InboxUpdate
		var recv int64
		if err := rows.Scan(&u.UpdateID, &u.ChatID, &u.UserID, &u.Kind, &u.Payload, &recv); err != nil {
			return nil, err
		}
		u.ReceivedAt = FromMillis(recv)
		out = append(out, u)
	}
	return out, rows.Err()
}

// MarkUpdateDone marks an update handled, recording errText if the handler
// failed. It reports false if the update was already done, so a caller can
// roll back effects that would otherwise be applied twice.
func MarkUpdateDone(ctx context.Context, tx *sql.Tx, updateID int64, errText string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ? AND done_at IS NULL`,
		Millis(now), errText, updateID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InboxLag returns the receive time of the oldest unprocessed update (zero
// if none) and the number pending.
func InboxLag(ctx context.Context, q Querier) (oldest time.Time, pending int, err error) {
	var ms sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT min(received_at), count(*) FROM inbox WHERE done_at IS NULL`).Scan(&ms, &pending)
	if ms.Valid {
		oldest = FromMillis(ms.Int64)
	}
	return oldest, pending, err
}

// UpdatesHandledSince counts updates marked done at or after t.
func UpdatesHandledSince(ctx context.Context, q Querier, t time.Time) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM inbox WHERE done_at >= ?`, Millis(t)).Scan(&n)
	return n, err
}

// PurgeInbox deletes handled updates received before cutoff, in batches
// (PurgeBatched), always keeping the newest row because the next
// getUpdates offset is derived from it.
func PurgeInbox(ctx context.Context, db *DB, cutoff time.Time) (int64, error) {
	n, err := db.PurgeBatched(ctx, BatchDelete{Query: purgeInboxSQL, Args: []any{Millis(cutoff)}})
	return n[0], err
}

const purgeInboxSQL = `
DELETE FROM inbox WHERE update_id IN (
    SELECT update_id FROM inbox INDEXED BY inbox_handled
    WHERE done_at IS NOT NULL AND received_at < ? AND update_id < (SELECT max(update_id) FROM inbox)
    LIMIT ?)`
