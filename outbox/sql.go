package outbox

// The statements of the sender's hot path, in plain sight. (store caches
// each connection's prepared statements by text, so constants cost one
// parse per connection.)
const (
	// "Nothing earlier in this row's line is still queued." Served by
	// outbox_line; it is what keeps per-chat FIFO even if two rows of a
	// line are flagged head (a requeued old row, a merged migration).
	firstInLine = `NOT EXISTS (SELECT 1 FROM outbox e
                  WHERE e.chat_id = o.chat_id AND e.lane = o.lane
                    AND e.state IN ('pending', 'sending') AND e.id < o.id)`

	// The due heads of one lane, oldest due first (outbox_ready). The
	// sender stops reading at the first head not yet due. The lane is
	// written into the text, one statement per lane, not bound: SQLite
	// (built with STAT4) plans this query with the bound lane's value
	// and re-prepares the statement whenever that value changes, so one
	// statement alternating lanes was parsed and planned again at every
	// scan (three times a cycle), which tripled its cost
	// (BenchmarkScanLanes).
	scanHead = `
SELECT o.id, o.chat_id, o.method, o.next_attempt_at FROM outbox o
WHERE o.head = 1 AND o.state = 'pending' AND o.lane = `
	scanTail = ` AND ` + firstInLine + `
ORDER BY o.next_attempt_at, o.id
LIMIT ?`
	sqlScanInteractive = scanHead + "0" + scanTail
	sqlScanEdit        = scanHead + "1" + scanTail
	sqlScanBulk        = scanHead + "2" + scanTail

	// Claim one picked head: it must still be pending and first in line,
	// and its chat not inactive (a chat with no row is active: the bot may
	// send before the intake has seen it, e.g. after a migration). An
	// answer to an inline query posts nothing in the asker's private chat:
	// someone who blocked the bot may still use it inline. The scan reads
	// without locking; this UPDATE is the claim. On PostgreSQL a second
	// claimer of the same row (two senders overlapping at a lease's
	// handover) waits for the first's row lock and then re-checks
	// state = 'pending' on the row as committed, so it claims nothing:
	// no FOR UPDATE SKIP LOCKED needed.
	sqlClaim = `
UPDATE outbox AS o SET state = 'sending'
WHERE o.id = ? AND o.state = 'pending' AND o.head = 1 AND ` + firstInLine + `
  AND (o.method = 'answerInlineQuery' OR NOT EXISTS (SELECT 1 FROM chats c WHERE c.id = o.chat_id AND c.active = 0))
RETURNING id, chat_id, lane, method, params, attempts, failures, created_at, ref`

	// Why a chat is inactive (no row: it is not).
	sqlChatActive = `SELECT inactive_reason FROM chats WHERE id = ? AND active = 0`

	sqlLedger = `
INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, http_status, error_code, description,
                    retry_after, tg_message_id, latency_ms, ambiguous, response, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	// After a group's migration: its pending rows that act on one of its
	// old messages (an edit, a delete, a pin: top-level message_id) are
	// dropped, except the row being handled. Looking inside params is
	// the one thing the dialects spell differently (params is TEXT on
	// both; PostgreSQL's ->> needs a cast to jsonb, which SQLite has no
	// name for): sqlDropMessageBound picks the text.
	sqlDropMessageBoundHead = `
UPDATE outbox SET state = 'dropped', head = 0, done_at = ?1, last_error = ?2
WHERE chat_id = ?3 AND state = 'pending' AND id <> ?4 AND `
	sqlDropMessageBoundTail = ` IS NOT NULL
RETURNING id, chat_id, method, ref`
	sqlDropMessageBoundSQLite   = sqlDropMessageBoundHead + `json_extract(params, '$.message_id')` + sqlDropMessageBoundTail
	sqlDropMessageBoundPostgres = sqlDropMessageBoundHead + `CAST(params AS jsonb) ->> 'message_id'` + sqlDropMessageBoundTail

	// A group became a supergroup: its rows follow it (store.MigrateChat
	// moves the store's references, this the outbox's).
	sqlMoveChat = `UPDATE outbox SET chat_id = ? WHERE chat_id = ?`

	// A row leaves the queue (sent, dead, dropped).
	sqlFinish = `
UPDATE outbox SET state = ?, head = 0, attempts = ?, failures = ?, sent_at = ?, done_at = ?, tg_message_id = ?,
       last_error = ?
WHERE id = ?`

	// A row goes back to pending, keeping its place (it stays head).
	sqlRetry = `
UPDATE outbox SET state = 'pending', attempts = ?, failures = ?, next_attempt_at = ?, last_error = ?
WHERE id = ?`

	// Lock the queued heads of a line, changing nothing (holdLine).
	sqlHoldLine = `
UPDATE outbox SET head = 1 WHERE chat_id = ?1 AND lane = ?2 AND state IN ('pending', 'sending') AND head = 1`

	// The first queued row of a line becomes its head (idempotent). One
	// index seek per state: an ORDER BY over "state IN (...)" would sort
	// the whole line, and a line can be long.
	sqlPromote = `
UPDATE outbox SET head = 1
WHERE id = (SELECT MIN(id) FROM (
              SELECT MIN(id) AS id FROM outbox WHERE chat_id = ?1 AND lane = ?2 AND state = 'pending'
              UNION ALL
              SELECT MIN(id) AS id FROM outbox WHERE chat_id = ?1 AND lane = ?2 AND state = 'sending') AS firsts)
  AND head = 0 AND state IN ('pending', 'sending')`
)

// sqlScan is the scan statement of lane.
func sqlScan(lane Lane) string {
	switch lane {
	case Interactive:
		return sqlScanInteractive
	case Edit:
		return sqlScanEdit
	}
	return sqlScanBulk
}

// sqlDropMessageBound is the statement of the backend (store.DB.Postgres).
func sqlDropMessageBound(postgres bool) string {
	if postgres {
		return sqlDropMessageBoundPostgres
	}
	return sqlDropMessageBoundSQLite
}
