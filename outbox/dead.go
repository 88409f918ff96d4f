package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// Row is one outbox row as stored.
type Row struct {
	ID            int64
	ChatID        int64
	Lane          Lane
	Method        string
	Params        string // wire JSON
	DedupKey      string
	CoalesceKey   string
	Ref           string // Message.Ref
	State         State
	Attempts      int // calls made
	Failures      int // transient failures since (re)queued
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        time.Time // zero unless sent
	DoneAt        time.Time // when it reached its final state
	TgMessageID   int
	LastError     string
}

// requeuedNote is the last_error of a row Requeue put back.
const requeuedNote = "requeued"

// requeued reports whether the row is back in the queue by Requeue and
// not tried since.
func (r Row) requeued() bool { return r.LastError == requeuedNote }

// AwaitingRetry reports whether the row waits for another attempt after
// one that failed in a way that is retried (atts are its attempts, oldest
// first, as Get returns them): pending, not requeued since, and its last
// attempt's class Retrying.
func (r Row) AwaitingRetry(atts []Attempt) bool {
	return r.State == StatePending && !r.requeued() && len(atts) > 0 && atts[len(atts)-1].Outcome.Retrying()
}

// Attempt is one ledger row: a call made for an outbox row.
type Attempt struct {
	ID          int64
	OutboxID    int64
	ChatID      int64
	Method      string
	Attempt     int
	Outcome     Class
	HTTPStatus  int
	ErrorCode   int
	Description string
	RetryAfter  int // seconds
	TgMessageID int
	Latency     time.Duration
	Ambiguous   bool
	Response    []byte
	CreatedAt   time.Time
}

// ErrNotFound is returned for an id with no outbox row.
var ErrNotFound = errors.New("outbox: no such row")

// ErrNotDead is returned by Requeue for a row that is not a dead letter.
var ErrNotDead = errors.New("outbox: row is not a dead letter")

const rowColumns = `id, chat_id, lane, method, params, COALESCE(dedup_key, ''), COALESCE(coalesce_key, ''), ref,
       state, attempts, failures, next_attempt_at, created_at, COALESCE(sent_at, 0), COALESCE(done_at, 0),
       tg_message_id, last_error`

func scanRow(sc interface{ Scan(...any) error }) (Row, error) {
	var r Row
	var next, created, sent, done int64
	err := sc.Scan(&r.ID, &r.ChatID, &r.Lane, &r.Method, &r.Params, &r.DedupKey, &r.CoalesceKey, &r.Ref,
		&r.State, &r.Attempts, &r.Failures, &next, &created, &sent, &done, &r.TgMessageID, &r.LastError)
	r.NextAttemptAt, r.CreatedAt = store.FromMillis(next), store.FromMillis(created)
	r.SentAt, r.DoneAt = store.FromMillis(sent), store.FromMillis(done)
	return r, err
}

// ListDead returns dead letters, oldest first; limit <= 0 means all.
func ListDead(ctx context.Context, q store.Querier, limit int) ([]Row, error) {
	query := `SELECT ` + rowColumns + ` FROM outbox WHERE state = 'dead' ORDER BY id`
	if limit > 0 {
		query += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Get returns a row and its attempts (oldest first).
func Get(ctx context.Context, q store.Querier, id int64) (Row, []Attempt, error) {
	r, err := scanRow(q.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Row{}, nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return Row{}, nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+attemptColumns+` FROM ledger WHERE outbox_id = ? ORDER BY id`, id)
	if err != nil {
		return Row{}, nil, err
	}
	defer rows.Close()
	var atts []Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return Row{}, nil, err
		}
		atts = append(atts, a)
	}
	return r, atts, rows.Err()
}

const attemptColumns = `id, outbox_id, chat_id, method, attempt, outcome, http_status, error_code, description, retry_after,
       tg_message_id, latency_ms, ambiguous, COALESCE(response, ''), created_at`

func scanAttempt(sc interface{ Scan(...any) error }) (Attempt, error) {
	var a Attempt
	var lat, created int64
	err := sc.Scan(&a.ID, &a.OutboxID, &a.ChatID, &a.Method, &a.Attempt, &a.Outcome, &a.HTTPStatus,
		&a.ErrorCode, &a.Description, &a.RetryAfter, &a.TgMessageID, &lat, &a.Ambiguous, &a.Response, &created)
	a.Latency, a.CreatedAt = time.Duration(lat)*time.Millisecond, store.FromMillis(created)
	return a, err
}

// Requeue moves a dead letter back to pending with a fresh attempt budget,
// due at once. It keeps its id and so its place in its chat's line. Safe
// while a sender runs (in this process or another): the sender only ever
// touches pending and sending rows, and picks the row up at its next poll.
func Requeue(ctx context.Context, tx *sql.Tx, id int64) error {
	var chat int64
	var lane Lane
	err := tx.QueryRowContext(ctx, `
UPDATE outbox SET state = 'pending', head = 0, failures = 0, next_attempt_at = ?, done_at = NULL, last_error = ?
WHERE id = ? AND state = 'dead'
RETURNING chat_id, lane`, store.Millis(time.Now()), requeuedNote, id).Scan(&chat, &lane)
	if errors.Is(err, sql.ErrNoRows) {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM outbox WHERE id = ?`, id).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %d", ErrNotFound, id)
			}
			return err
		}
		return fmt.Errorf("%w: %d is %s", ErrNotDead, id, state)
	}
	if err != nil {
		return err
	}
	if err := promote(ctx, tx, chat, lane); err != nil { // takes the line's lock (holdLine)
		return err
	}
	return store.Wake(ctx, tx, wakeSender)
}

// RequeueAllDead requeues every dead letter and returns how many.
func RequeueAllDead(ctx context.Context, tx *sql.Tx) (int64, error) {
	rows, err := tx.QueryContext(ctx, `
UPDATE outbox SET state = 'pending', head = 0, failures = 0, next_attempt_at = ?, done_at = NULL, last_error = ?
WHERE state = 'dead'
RETURNING chat_id, lane`, store.Millis(time.Now()), requeuedNote)
	if err != nil {
		return 0, err
	}
	type line struct {
		chat int64
		lane Lane
	}
	seen := map[line]bool{}
	var n int64
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.chat, &l.lane); err != nil {
			rows.Close()
			return 0, err
		}
		seen[l] = true
		n++
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	for l := range seen {
		if err := promote(ctx, tx, l.chat, l.lane); err != nil {
			return 0, err
		}
	}
	if n > 0 {
		if err := store.Wake(ctx, tx, wakeSender); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// PurgeLedger is the retention job (the scheduler runs it, default cutoff
// 90 days ago): it deletes ledger rows created before cutoff, and outbox
// rows that finished (sent, dropped, replaced) before cutoff, in batches
// (store.DB.PurgeBatched) so that updates go on meanwhile. Dead letters
// and queued rows are never purged. It returns how many rows were deleted
// in all. Purged outbox rows free their dedup keys.
func PurgeLedger(ctx context.Context, db *store.DB, cutoff time.Time) (int64, error) {
	c := []any{store.Millis(cutoff)}
	n, err := db.PurgeBatched(ctx, store.BatchDelete{Query: purgeLedgerSQL, Args: c}, store.BatchDelete{Query: purgeFinishedSQL, Args: c})
	if err != nil {
		return n[0] + n[1], fmt.Errorf("outbox: purging the ledger and finished rows: %w", err)
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := purgeRollups(ctx, tx, cutoff)
		return err
	})
	return n[0] + n[1], err
}

// PurgeLedger's statements (parameters: the cutoff, the batch size). A
// batch of finished rows walks outbox_done from its oldest entry, past
// the dead letters that finished before the cutoff (few: each is an
// operator's alarm) to the rows it deletes.
const (
	purgeLedgerSQL = `
DELETE FROM ledger WHERE id IN (
    SELECT id FROM ledger INDEXED BY ledger_created WHERE created_at < ? LIMIT ?)`
	purgeFinishedSQL = `
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox INDEXED BY outbox_done WHERE done_at < ? AND state IN ('sent', 'dropped', 'replaced') LIMIT ?)`
)

// DefaultRetention is how long ledger rows and finished outbox rows are kept.
const DefaultRetention = 90 * 24 * time.Hour

// purgeRollups is the hourly rollups' retention (migration 00003), run by
// PurgeLedger after the rows they count: it
// deletes the rollup rows of the hours that ended before cutoff, the
// ledger's cutoff (PurgeLedger), so a window never reads an hour whose
// raw rows are gone. It returns how many rows were deleted. The rollups
// hold a few rows an hour: one statement a table is enough.
func purgeRollups(ctx context.Context, tx *sql.Tx, cutoff time.Time) (int64, error) {
	var n int64
	for _, table := range []string{"ledger_hourly", "outbox_hourly", "outbox_latency_hourly"} {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE hour < ?`, hourOf(cutoff))
		if err != nil {
			return 0, fmt.Errorf("outbox: purging %s: %w", table, err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
