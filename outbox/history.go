package outbox

// The statements that write history in bulk: finished rows and the ledger
// of their calls, as years of sending would have left them. Only loaders
// of synthetic data use them (internal/seed, for the large-database
// benchmarks); they live here, beside the schema, so that a change to the
// tables changes them too. The bot itself writes these rows through
// Enqueue and the sender.
const (
	// InsertFinishedSQL inserts a finished row: id, chat_id, lane,
	// method, params, state, attempts, next_attempt_at, created_at,
	// sent_at, done_at, tg_message_id.
	InsertFinishedSQL = `INSERT INTO outbox (id, chat_id, lane, method, params, dedup_key, state, head, attempts, next_attempt_at, created_at, sent_at, done_at, tg_message_id)
VALUES (?, ?, ?, ?, ?, NULL, ?, 0, ?, ?, ?, ?, ?, ?)`
	// InsertLedgerSQL inserts one call: outbox_id, chat_id, method,
	// attempt, outcome, http_status, error_code, description,
	// retry_after, tg_message_id, latency_ms, created_at.
	InsertLedgerSQL = `INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, http_status, error_code, description, retry_after, tg_message_id, latency_ms, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// AfterHistorySQL are the statements a loader runs once after inserting
// rows with InsertFinishedSQL (explicit ids): on PostgreSQL explicit ids
// bypass the identity sequence, which must then be moved past them or the
// next Enqueue collides with a loaded row; SQLite takes max(id)+1 by
// itself.
func AfterHistorySQL(postgres bool) []string {
	if !postgres {
		return nil
	}
	return []string{
		`SELECT setval(pg_get_serial_sequence('outbox', 'id'), GREATEST((SELECT max(id) FROM outbox), 1))`,
	}
}
