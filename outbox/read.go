package outbox

import (
	"context"
	"strconv"

	"github.com/rsvpbot/rsvpbot/store"
)

// Small reads for other packages, so that none of them names the outbox's
// tables or states (ReadQueue is the read model; these answer one
// question each).

// HasQueued reports whether a chat has a row of a lane still on its way
// (pending or sending).
func HasQueued(ctx context.Context, q store.Querier, chatID int64, lane Lane) (bool, error) {
	var queued bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox
WHERE chat_id = ? AND lane = ? AND state IN ('pending', 'sending'))`, chatID, int(lane)).Scan(&queued)
	return queued, err
}

// Unfinished is how many rows are still on their way (pending or
// sending): zero once the sender has nothing left to do.
func Unfinished(ctx context.Context, q store.Querier) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`).Scan(&n)
	return n, err
}

// EachRow calls fn with every row, in id order (for analyses of a whole
// run, like rsvpload's; fn's error stops the walk and is returned).
func EachRow(ctx context.Context, q store.Querier, fn func(Row) error) error {
	return each(ctx, q, `SELECT `+rowColumns+` FROM outbox ORDER BY id`, scanRow, fn)
}

// LastAttempts is the newest n attempts in the ledger, newest first (a
// live view such as the playground's panel).
func LastAttempts(ctx context.Context, q store.Querier, n int) ([]Attempt, error) {
	var out []Attempt
	err := each(ctx, q, `SELECT `+attemptColumns+` FROM ledger ORDER BY id DESC LIMIT `+strconv.Itoa(n), scanAttempt,
		func(a Attempt) error { out = append(out, a); return nil })
	return out, err
}

// EachAttempt calls fn with every attempt in the ledger, in id order.
func EachAttempt(ctx context.Context, q store.Querier, fn func(Attempt) error) error {
	return each(ctx, q, `SELECT `+attemptColumns+` FROM ledger ORDER BY id`, scanAttempt, fn)
}

func each[T any](ctx context.Context, q store.Querier, query string, scan func(interface{ Scan(...any) error }) (T, error), fn func(T) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}
