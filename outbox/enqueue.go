package outbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// Lane is a message's priority class. Lower lanes are served first, with a
// guaranteed share for the others (see the package doc).
type Lane int

const (
	// Interactive is a reply to a user's own action: a command answer, a
	// callback answer. A person is waiting for it.
	Interactive Lane = 0
	// Edit is an update of something already posted (an event card).
	Edit Lane = 1
	// Bulk is everything nobody is waiting for right now: reminders,
	// announcements, digests.
	Bulk Lane = 2
)

const numLanes = 3

func (l Lane) String() string {
	switch l {
	case Interactive:
		return "interactive"
	case Edit:
		return "edit"
	case Bulk:
		return "bulk"
	}
	return fmt.Sprintf("lane(%d)", int(l))
}

// Message is one Bot API call to make.
type Message struct {
	// ChatID is the chat the call affects; it keys pacing, per-chat order
	// and blocking. For answerCallbackQuery use the chat the button is in
	// (the presser's id for a button on an inline message); for
	// answerInlineQuery the id of the user who asked; for an edit of an
	// inline message (inline_message_id, no chat_id) InlineChat.
	ChatID int64
	// Method is the Bot API method name (sendMessage, editMessageText, ...).
	Method string
	// Params is marshalled to the Bot API wire JSON (a json.RawMessage or
	// []byte is taken as is, as JSON). It must include chat_id, a number
	// equal to ChatID, for every method that has one; the sender rewrites
	// it if the chat migrates. Files go as bot.WireFile.
	Params any
	// Lane is the priority class.
	Lane Lane
	// DedupKey, if set, makes enqueuing the same key twice enqueue once:
	// the second call returns the first row's id and changes nothing.
	DedupKey string
	// CoalesceKey, if set, replaces a still-pending (not yet sending) row
	// with the same key: that row is marked "replaced" and this one is
	// queued at the end of its line. Use it for edits of one message
	// ("edit:<chat>:<message id>"), so a burst of edits costs few calls.
	CoalesceKey string
	// Ref is an opaque reference for Config.OnFate, which hears it in the
	// transaction that gives the row its fate (sent, dead, dropped). It
	// is how the enqueuer learns what became of its message (a posted
	// card's message id, a reminder that could not be delivered).
	Ref string
}

// InlineChat is the pacing key of edits of inline messages (cards posted
// with @bot in chats the bot may not be in). They name no chat, so they
// share this one key: one line in id order, one call in flight, paced by
// the global limit only. It lies outside Telegram's id range (ids have at
// most 52 significant bits), so it is no chat's id, and no chats row ever
// makes it inactive.
const InlineChat int64 = -1 << 62

// ErrInvalid is wrapped by Enqueue errors about the message itself.
var ErrInvalid = errors.New("outbox: invalid message")

// Enqueue queues m inside the caller's transaction and returns the row id.
// Nothing is sent until tx commits (which wakes the sender of tx's
// database: see store.Wake; a sender in another process polls),
// which is what ties "the state changed" to "the user is told" atomically.
//
// Enqueue never checks whether the chat is active: the sender drops rows of
// inactive chats when it reaches them, so a chat that comes back (and is
// marked active again) before then still gets its messages.
func Enqueue(ctx context.Context, tx *sql.Tx, m Message) (id int64, err error) {
	params, err := wireParams(m)
	if err != nil {
		return 0, err
	}
	lead, params, err := fitLimits(m.Method, params) // limits.go
	if err != nil {
		return 0, err
	}
	if m.DedupKey != "" {
		if id, found, err := dedupID(ctx, tx, m.DedupKey); err != nil || found {
			return id, err
		}
	}
	if twin, key, err := pendingTwin(ctx, tx, m, params); err != nil || twin != 0 {
		return twin, err
	} else if key != "" {
		m.CoalesceKey = key
	}
	if m.DedupKey == "" {
		return enqueueRows(ctx, tx, m, lead, params)
	}
	return enqueueDeduped(ctx, tx, m, lead, params)
}

// enqueueDeduped is enqueueRows for a message with a dedup key, which
// another transaction may be enqueueing at the same moment (on
// PostgreSQL: handlers on two replicas; on SQLite the writer serialises
// them and the lookup above finds the first). The loser's insert waits for
// the winner and fails on dedup_key's unique index; its rows are undone
// to a savepoint and it answers with the winner's id, as if the lookup
// had found it, instead of failing the caller's transaction.
func enqueueDeduped(ctx context.Context, tx *sql.Tx, m Message, lead []json.RawMessage, params json.RawMessage) (int64, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT outbox_dedup`); err != nil {
		return 0, err
	}
	id, err := enqueueRows(ctx, tx, m, lead, params)
	if err != nil && store.IsUniqueViolation(err) {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO outbox_dedup`); rerr != nil {
			return 0, errors.Join(err, rerr)
		}
		if first, found, lerr := dedupID(ctx, tx, m.DedupKey); lerr == nil && found {
			id, err = first, nil
		}
	}
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE outbox_dedup`); err != nil {
		return 0, err
	}
	return id, nil
}

// enqueueRows writes a message's rows (lead: the earlier parts of one
// split for length) and wakes the sender at commit.
func enqueueRows(ctx context.Context, tx *sql.Tx, m Message, lead []json.RawMessage, params json.RawMessage) (id int64, err error) {
	now := store.Millis(time.Now())

	// The line's head first (holdLine; the order the sender locks rows
	// in: a head, then the row it promotes), then coalescing, so the new
	// row's line is computed without the rows it replaces. Only 'pending'
	// rows are replaced: a 'sending' row is on the wire already and the
	// new row simply follows it.
	type line struct {
		chat int64
		lane Lane
	}
	var lines []line // lines that lost a row: their head may have been it
	if err := holdLine(ctx, tx, m.ChatID, m.Lane); err != nil {
		return 0, err
	}
	if m.CoalesceKey != "" {
		rows, err := tx.QueryContext(ctx, `
UPDATE outbox SET state = 'replaced', head = 0, done_at = ?, last_error = 'replaced by a newer row with the same coalesce key'
WHERE coalesce_key = ? AND state = 'pending'
RETURNING chat_id, lane`, now, m.CoalesceKey)
		if err != nil {
			return 0, fmt.Errorf("outbox: coalescing: %w", err)
		}
		for rows.Next() {
			var l line
			if err := rows.Scan(&l.chat, &l.lane); err != nil {
				rows.Close()
				return 0, err
			}
			lines = append(lines, l)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, fmt.Errorf("outbox: coalescing: %w", err)
		}
	}

	// A message split for length: the earlier parts go first, in the same
	// line, carrying only the coalesce key (a newer message replaces all of
	// them); the last part is the row the caller's keys and hook are about.
	for _, p := range lead {
		if _, err := insertRow(ctx, tx, Message{ChatID: m.ChatID, Method: m.Method, Lane: m.Lane, CoalesceKey: m.CoalesceKey}, p, now); err != nil {
			return 0, err
		}
	}
	if id, err = insertRow(ctx, tx, m, params, now); err != nil {
		return 0, err
	}
	// A replaced head hands its line to the next row (often this one).
	for _, l := range lines {
		if err := promote(ctx, tx, l.chat, l.lane); err != nil {
			return 0, err
		}
	}
	// Only a transaction that enqueued wakes the sender, once it commits.
	if err := store.Wake(ctx, tx, wakeSender); err != nil {
		return 0, fmt.Errorf("outbox: enqueue: %w", err)
	}
	return id, nil
}

// insertRow adds one row; it heads its line if nothing else of the line
// is queued.
func insertRow(ctx context.Context, tx *sql.Tx, m Message, params json.RawMessage, now int64) (id int64, err error) {
	err = tx.QueryRowContext(ctx, `
INSERT INTO outbox (chat_id, lane, method, params, dedup_key, coalesce_key, ref, next_attempt_at, created_at, head)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8,
        CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE chat_id = ?1 AND lane = ?2 AND state IN ('pending', 'sending'))
             THEN 0 ELSE 1 END)
RETURNING id`,
		m.ChatID, int(m.Lane), m.Method, string(params), nullIfEmpty(m.DedupKey), nullIfEmpty(m.CoalesceKey),
		m.Ref, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("outbox: enqueue %s to %d: %w", m.Method, m.ChatID, err)
	}
	return id, nil
}

// holdLine makes the transaction wait for any other that holds the head
// of a (chat, lane) line — the sender recording its fate — before the
// head of a row is decided. Without it, on PostgreSQL (concurrent
// transactions) a row enqueued while the sender finishes the line's last
// queued row sees that row still 'sending' and is not made head, and the
// sender's promote, not seeing the new row, promotes nothing: the line
// would have no head until the hourly repair. Locking the head row (an
// UPDATE that changes nothing) waits for the sender's commit, and the
// statements after it see the line as it then is; if this transaction
// locks first, the sender's finish waits instead and its promote sees the
// new row. On SQLite the writer serialises transactions anyway, and this
// costs a probe of outbox_line (and a rewrite of the head row, if any).
func holdLine(ctx context.Context, tx *sql.Tx, chatID int64, lane Lane) error {
	_, err := tx.ExecContext(ctx, sqlHoldLine, chatID, int(lane))
	if err != nil {
		return fmt.Errorf("outbox: waiting for the line of chat %d: %w", chatID, err)
	}
	return nil
}

// pendingTwin coalesces identical replies: a reply (an interactive
// sendMessage with no keys or hook of its own) whose content equals a reply
// still pending in the same chat — the same answer to the same command,
// asked again before the first answer went out — is not queued again: the
// pending one answers both, and its id is returned as twin. Only what the
// message replies to may differ. Otherwise key is the message's content
// key, to be stored as its coalesce key (a newer identical reply finds it;
// no caller's key can look like it, so nothing is ever replaced by it).
func pendingTwin(ctx context.Context, tx *sql.Tx, m Message, params json.RawMessage) (twin int64, key string, err error) {
	if m.Method != "sendMessage" || m.Lane != Interactive || m.DedupKey != "" || m.CoalesceKey != "" || m.Ref != "" {
		return 0, "", nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(params, &fields); err != nil {
		return 0, "", nil // wireParams accepted it; nothing to compare
	}
	delete(fields, "reply_parameters")
	delete(fields, "reply_to_message_id")
	canon, err := json.Marshal(fields) // map keys sorted: a canonical form
	if err != nil {
		return 0, "", nil
	}
	sum := sha256.Sum256(canon)
	key = "same:" + strconv.FormatInt(m.ChatID, 10) + ":" + hex.EncodeToString(sum[:16])
	err = tx.QueryRowContext(ctx, `SELECT id FROM outbox WHERE coalesce_key = ? AND state = 'pending' LIMIT 1`, key).Scan(&twin)
	switch {
	case err == nil:
		return twin, "", nil
	case errors.Is(err, sql.ErrNoRows):
		return 0, key, nil
	}
	return 0, "", fmt.Errorf("outbox: looking for an identical pending reply: %w", err)
}

// dedupID is the row enqueued with dedupKey, if any (in any state): the
// one dedup lookup, which Enqueue, Queued and Lookup share.
func dedupID(ctx context.Context, q store.Querier, dedupKey string) (id int64, found bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT id FROM outbox WHERE dedup_key = ?`, dedupKey).Scan(&id)
	switch {
	case err == nil:
		return id, true, nil
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("outbox: dedup lookup: %w", err)
}

// Queued reports whether a message with dedupKey was ever enqueued (in
// any state): what a producer that must act at most once checks first.
func Queued(ctx context.Context, q store.Querier, dedupKey string) (bool, error) {
	_, found, err := dedupID(ctx, q, dedupKey)
	return found, err
}

// Lookup returns the row enqueued with dedupKey and its attempts, if there
// is one: what Enqueue would deduplicate a message with that key against.
func Lookup(ctx context.Context, q store.Querier, dedupKey string) (Row, []Attempt, bool, error) {
	id, found, err := dedupID(ctx, q, dedupKey)
	if err != nil || !found {
		return Row{}, nil, false, err
	}
	row, atts, err := Get(ctx, q, id)
	return row, atts, err == nil, err
}

// promote marks the first queued row of a (chat, lane) line as its head.
// It is called after anything that may change which row is first (a row
// added, finished, requeued or moved), and is idempotent. Only heads are
// scanned by the sender, which keeps a chat with a long queue from costing
// a scan of its whole queue on every claim.
func promote(ctx context.Context, q store.Querier, chatID int64, lane Lane) error {
	_, err := q.ExecContext(ctx, sqlPromote, chatID, int(lane))
	if err != nil {
		return fmt.Errorf("outbox: promoting line head of chat %d: %w", chatID, err)
	}
	return nil
}

func wireParams(m Message) (json.RawMessage, error) {
	if m.Method == "" {
		return nil, fmt.Errorf("%w: empty method", ErrInvalid)
	}
	if m.ChatID == 0 {
		return nil, fmt.Errorf("%w: %s without a chat id", ErrInvalid, m.Method)
	}
	if m.Lane < Interactive || m.Lane > Bulk {
		return nil, fmt.Errorf("%w: lane %d", ErrInvalid, int(m.Lane))
	}
	var raw json.RawMessage
	switch p := m.Params.(type) {
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, m.Method, err)
		}
		raw = b
	}
	var probe struct {
		ChatID json.RawMessage `json:"chat_id"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%w: %s params are not a JSON object: %v", ErrInvalid, m.Method, err)
	}
	if m.ChatID == InlineChat {
		// An edit of an inline message: it names the message by
		// inline_message_id and has no chat.
		var p struct {
			InlineMessageID string `json:"inline_message_id"`
		}
		_ = json.Unmarshal(raw, &p)
		if p.InlineMessageID == "" || probe.ChatID != nil {
			return nil, fmt.Errorf("%w: %s to InlineChat must carry inline_message_id and no chat_id", ErrInvalid, m.Method)
		}
		return raw, nil
	}
	if probe.ChatID == nil {
		if m.Method != "answerCallbackQuery" && m.Method != "answerInlineQuery" {
			return nil, fmt.Errorf("%w: %s params have no chat_id", ErrInvalid, m.Method)
		}
	} else if id, err := strconv.ParseInt(string(probe.ChatID), 10, 64); err != nil || id != m.ChatID {
		// A number, and the one pacing is keyed on (the sender rewrites it
		// when the chat migrates; @usernames are not supported).
		return nil, fmt.Errorf("%w: %s params chat_id %s is not ChatID %d", ErrInvalid, m.Method, probe.ChatID, m.ChatID)
	}
	return raw, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
