package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reminder outcomes: how a reminder row was settled (sent_at set).
const (
	ReminderSent       = "sent"               // enqueued on time
	ReminderLate       = "late"               // enqueued after its due time (the bot was down), before the start
	ReminderStarted    = "skipped_started"    // due while the bot was down and the event had begun: skipped
	ReminderSuperseded = "skipped_superseded" // a later reminder of the same event was due too: only that one went
	ReminderCancelled  = "cancelled"          // the event was cancelled
	ReminderFailed     = "failed"             // gave up after repeated errors (see last_error)
)

// Reminder is one planned reminder of an event.
type Reminder struct {
	ID         int64
	EventID    int64
	Offset     time.Duration // how long before the start
	DueAt      time.Time
	StartsAt   time.Time // the event start DueAt was computed from
	SentAt     time.Time // zero while pending
	Outcome    string
	Recipients int
	Attempts   int
	LastError  string
}

// Pending reports whether the reminder has not been settled yet.
func (r Reminder) Pending() bool { return r.SentAt.IsZero() }

const reminderColumns = `id, event_id, offset_ms, due_at, starts_at, coalesce(sent_at, 0), outcome, recipients, attempts, last_error`

func scanReminder(s rowScanner) (Reminder, error) {
	var r Reminder
	var off, due, starts, sent int64
	err := s.Scan(&r.ID, &r.EventID, &off, &due, &starts, &sent, &r.Outcome, &r.Recipients, &r.Attempts, &r.LastError)
	r.Offset = time.Duration(off) * time.Millisecond
	r.DueAt, r.StartsAt, r.SentAt = FromMillis(due), FromMillis(starts), FromMillis(sent)
	return r, err
}

func queryReminders(ctx context.Context, q Querier, query string, args ...any) ([]Reminder, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reminder
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OffsetsKey is the canonical text of a list of offsets as reminder_plans
// stores it (milliseconds, longest first, comma-separated; "" for none).
func OffsetsKey(offsets []time.Duration) string {
	s := slices.Clone(offsets)
	slices.SortFunc(s, func(a, b time.Duration) int { return int((b - a) / time.Millisecond) })
	parts := make([]string, 0, len(s))
	for i, d := range s {
		if d <= 0 || (i > 0 && s[i-1] == d) {
			continue
		}
		parts = append(parts, strconv.FormatInt(d.Milliseconds(), 10))
	}
	return strings.Join(parts, ",")
}

// RescheduleReminders (re)computes an event's reminders for its start
// startsAt and offsets, inside the caller's transaction, and records the
// plan. Call it where an event is created or its start or offsets change;
// it is idempotent. (Code that does not call it is covered: the scheduler
// replans every event whose plan differs from the event, and re-checks the
// start when a reminder falls due.)
//
//   - A pending reminder whose offset is kept gets its new due time; one
//     whose offset was dropped is deleted.
//   - A reminder already sent for another start time is armed again if its
//     new due time is ahead (people are reminded of the new time), and
//     kept as it is otherwise. One sent for this start stays sent: RSVPs
//     and edits never send a reminder twice.
//   - A reminder whose due time has already passed when it is planned is
//     not created: an event made 30 minutes ahead gets no "in 1 hour"
//     reminder. (Reminders that fall due while the bot is down are another
//     matter: they exist, and the scheduler sends them late.)
func RescheduleReminders(ctx context.Context, q Querier, eventID int64, startsAt time.Time, offsets []time.Duration, now time.Time) error {
	existing, err := queryReminders(ctx, q, `SELECT `+reminderColumns+` FROM reminders WHERE event_id = ?`, eventID)
	if err != nil {
		return fmt.Errorf("reading reminders of event %d: %w", eventID, err)
	}
	want := map[time.Duration]bool{}
	for _, d := range offsets {
		if d > 0 {
			want[d.Truncate(time.Millisecond)] = true
		}
	}
	have := map[time.Duration]bool{}
	for _, r := range existing {
		have[r.Offset] = true
		due := startsAt.Add(-r.Offset)
		switch {
		case r.Pending() && !want[r.Offset]:
			if _, err := q.ExecContext(ctx, `DELETE FROM reminders WHERE id = ?`, r.ID); err != nil {
				return err
			}
		case r.Pending() && !due.After(now):
			// Moved into the past by the edit: it will not be sent.
			if _, err := q.ExecContext(ctx, `DELETE FROM reminders WHERE id = ?`, r.ID); err != nil {
				return err
			}
		case r.Pending():
			if _, err := q.ExecContext(ctx, `UPDATE reminders SET due_at = ?, starts_at = ?, attempts = 0, last_error = '' WHERE id = ?`,
				Millis(due), Millis(startsAt), r.ID); err != nil {
				return err
			}
		case want[r.Offset] && !r.StartsAt.Equal(startsAt) && due.After(now):
			if _, err := q.ExecContext(ctx, `
UPDATE reminders SET due_at = ?, starts_at = ?, sent_at = NULL, outcome = '', recipients = 0, attempts = 0, last_error = ''
WHERE id = ?`, Millis(due), Millis(startsAt), r.ID); err != nil {
				return err
			}
		}
	}
	// Longest offset first, so that ids follow due times. A reminder
	// another transaction planned meanwhile (on PostgreSQL a handler's
	// edit and the leader's tick may plan one event at once) stays.
	for _, d := range slices.SortedFunc(maps.Keys(want), func(a, b time.Duration) int { return int((b - a) / time.Millisecond) }) {
		due := startsAt.Add(-d)
		if have[d] || !due.After(now) {
			continue
		}
		if _, err := q.ExecContext(ctx, `
INSERT INTO reminders (event_id, offset_ms, due_at, starts_at, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (event_id, offset_ms) DO NOTHING`,
			eventID, d.Milliseconds(), Millis(due), Millis(startsAt), Millis(now)); err != nil {
			return fmt.Errorf("planning reminder of event %d: %w", eventID, err)
		}
	}
	_, err = q.ExecContext(ctx, `
INSERT INTO reminder_plans (event_id, starts_at, spec, offsets, planned_at)
VALUES (?, ?, coalesce((SELECT reminder_offsets FROM events WHERE id = ?), ''), ?, ?)
ON CONFLICT(event_id) DO UPDATE SET starts_at = excluded.starts_at, spec = excluded.spec,
    offsets = excluded.offsets, planned_at = excluded.planned_at`,
		eventID, Millis(startsAt), eventID, OffsetsKey(offsets), Millis(now))
	if err != nil {
		return fmt.Errorf("recording reminder plan of event %d: %w", eventID, err)
	}
	return nil
}

// DeleteReminders removes an event's pending reminders (call it where an
// event is cancelled). Sent ones stay as history. If it is not called, the
// scheduler settles them as "cancelled" when they fall due.
func DeleteReminders(ctx context.Context, q Querier, eventID int64) (int, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM reminders WHERE event_id = ? AND sent_at IS NULL`, eventID)
	if err != nil {
		return 0, fmt.Errorf("deleting reminders of event %d: %w", eventID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PlanCandidate is an upcoming event whose reminders need (re)planning.
type PlanCandidate struct {
	EventID  int64
	StartsAt time.Time
	Spec     string // events.reminder_offsets
}

// planNeeded is the condition, on events e LEFT JOIN reminder_plans p,
// of an event whose reminders must be (re)planned: active, upcoming, and
// its plan missing or made for another start or other offsets, or, for an
// event on the default offsets, another default (the second parameter:
// OffsetsKey of it; the first is now).
const planNeeded = `e.status = 'active' AND e.starts_at > ?
  AND (p.event_id IS NULL OR p.starts_at <> e.starts_at OR p.spec <> e.reminder_offsets
       OR (e.reminder_offsets = '' AND p.offsets <> ?))`

// EventsToPlan lists active events starting after now whose reminder plan
// is missing or out of date: another start, other offsets, or, for events
// that use the default, another default (defaultKey is OffsetsKey of it).
// It reads every upcoming event: the reminder job runs it once per start,
// and TakeReplans after that.
func EventsToPlan(ctx context.Context, q Querier, now time.Time, defaultKey string, limit int) ([]PlanCandidate, error) {
	rows, err := q.QueryContext(ctx, `
SELECT e.id, e.starts_at, e.reminder_offsets FROM events e
LEFT JOIN reminder_plans p ON p.event_id = e.id
WHERE `+planNeeded+`
ORDER BY e.starts_at LIMIT ?`, Millis(now), defaultKey, limit)
	if err != nil {
		return nil, fmt.Errorf("listing events to plan reminders for: %w", err)
	}
	defer rows.Close()
	var out []PlanCandidate
	for rows.Next() {
		var c PlanCandidate
		var starts int64
		if err := rows.Scan(&c.EventID, &starts, &c.Spec); err != nil {
			return nil, err
		}
		c.StartsAt = FromMillis(starts)
		out = append(out, c)
	}
	return out, rows.Err()
}

// TakeReplans takes up to limit events off the replan queue (which
// triggers fill when an event is created or its start, offsets or status
// change: migration 00014) and returns those of them whose plan is
// needed, as EventsToPlan decides, and how many it took. Call it in the
// transaction that plans them: a change committed meanwhile queues its
// event again.
func TakeReplans(ctx context.Context, tx *sql.Tx, now time.Time, defaultKey string, limit int) (cands []PlanCandidate, taken int, err error) {
	rows, err := tx.QueryContext(ctx, `
DELETE FROM reminder_replan WHERE event_id IN (SELECT event_id FROM reminder_replan ORDER BY event_id LIMIT ?)
RETURNING event_id`, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("taking events to replan: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for _, id := range ids {
		var c PlanCandidate
		var starts int64
		err := tx.QueryRowContext(ctx, `
SELECT e.id, e.starts_at, e.reminder_offsets FROM events e
LEFT JOIN reminder_plans p ON p.event_id = e.id
WHERE e.id = ? AND `+planNeeded, id, Millis(now), defaultKey).Scan(&c.EventID, &starts, &c.Spec)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("event %d to replan: %w", id, err)
		}
		c.StartsAt = FromMillis(starts)
		cands = append(cands, c)
	}
	return cands, len(ids), nil
}

// DueReminders lists pending reminders due at or before now with an id
// above after, in id order (so a caller can page through them).
func DueReminders(ctx context.Context, q Querier, now time.Time, after int64, limit int) ([]Reminder, error) {
	// INDEXED BY: the due rows through reminders_due, then sorted; left
	// to itself the planner walks the table in id order from after,
	// every reminder ever planned (see TestHotQueriesUseIndexes).
	return queryReminders(ctx, q, `SELECT `+reminderColumns+` FROM reminders INDEXED BY reminders_due
WHERE sent_at IS NULL AND due_at <= ? AND id > ? ORDER BY id LIMIT ?`, Millis(now), after, limit)
}

// GetReminder returns one reminder.
func GetReminder(ctx context.Context, q Querier, id int64) (Reminder, bool, error) {
	r, err := scanReminder(q.QueryRowContext(ctx, `SELECT `+reminderColumns+` FROM reminders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Reminder{}, false, nil
	}
	return r, err == nil, err
}

// EventReminders lists an event's reminders, earliest due first.
func EventReminders(ctx context.Context, q Querier, eventID int64) ([]Reminder, error) {
	return queryReminders(ctx, q, `SELECT `+reminderColumns+` FROM reminders WHERE event_id = ? ORDER BY due_at, id`, eventID)
}

// LaterReminderDue reports whether another reminder of the same event
// and start, closer to the start, is also due at now (pending or already
// sent): then r is superseded.
func LaterReminderDue(ctx context.Context, q Querier, r Reminder, now time.Time) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `
SELECT count(*) FROM reminders WHERE event_id = ? AND starts_at = ? AND due_at <= ? AND offset_ms < ?`,
		r.EventID, Millis(r.StartsAt), Millis(now), r.Offset.Milliseconds()).Scan(&n)
	return n > 0, err
}

// SettleReminder marks a pending reminder settled with outcome. It reports
// false, changing nothing, if the reminder was settled already: the guard
// that makes a reminder's messages enqueued once.
func SettleReminder(ctx context.Context, q Querier, id int64, outcome string, recipients int, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `
UPDATE reminders SET sent_at = ?, outcome = ?, recipients = ? WHERE id = ? AND sent_at IS NULL`,
		Millis(now), outcome, recipients, id)
	if err != nil {
		return false, fmt.Errorf("settling reminder %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecordReminderFailure records a failed attempt at a reminder; after maxAttempts
// it is settled as failed. It reports whether it gave up.
func RecordReminderFailure(ctx context.Context, q Querier, id int64, cause error, maxAttempts int, now time.Time) (bool, error) {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	var attempts int
	err := q.QueryRowContext(ctx, `
UPDATE reminders SET attempts = attempts + 1, last_error = ? WHERE id = ? AND sent_at IS NULL RETURNING attempts`,
		msg, id).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || attempts < maxAttempts {
		return false, err
	}
	_, err = SettleReminder(ctx, q, id, ReminderFailed, 0, now)
	return err == nil, err
}

// Recipient is a person a reminder is for: going or waitlisted.
type Recipient struct {
	User         User
	Status       RSVPStatus
	Guests       int
	WaitlistRank int  // 1-based place on the waitlist; 0 when going
	Private      bool // the bot may write to them privately
	Muted        bool // pressed "mute" for this event
}

// ReminderRecipients lists who an event's reminder is for: everyone going,
// in the order they joined, then the waitlist in its order. Private is
// true for users who started the bot, have not blocked it, and whose
// private chat the sender has not marked inactive (a 403 "bot can't
// initiate conversation" or "blocked" does that).
func ReminderRecipients(ctx context.Context, q Querier, eventID int64) ([]Recipient, error) {
	rows, err := q.QueryContext(ctx, `
SELECT r.user_id, r.status, r.guests,
       coalesce(u.username, ''), coalesce(u.first_name, ''), coalesce(u.last_name, ''), coalesce(u.language, ''),
       coalesce(u.chosen_lang, ''), coalesce(u.started, 0), coalesce(u.blocked, 0),
       coalesce(c.active, 1), m.user_id IS NOT NULL
FROM rsvps r
LEFT JOIN users u ON u.id = r.user_id
LEFT JOIN chats c ON c.id = r.user_id
LEFT JOIN reminder_mutes m ON m.event_id = r.event_id AND m.user_id = r.user_id
WHERE r.event_id = ? AND r.status IN ('going', 'waitlist')
ORDER BY CASE r.status WHEN 'going' THEN 0 ELSE 1 END, r.position`, eventID)
	if err != nil {
		return nil, fmt.Errorf("listing reminder recipients of event %d: %w", eventID, err)
	}
	defer rows.Close()
	var out []Recipient
	rank := 0
	for rows.Next() {
		var p Recipient
		var chatActive bool
		if err := rows.Scan(&p.User.ID, &p.Status, &p.Guests, &p.User.Username, &p.User.FirstName, &p.User.LastName,
			&p.User.Language, &p.User.ChosenLang, &p.User.Started, &p.User.Blocked, &chatActive, &p.Muted); err != nil {
			return nil, err
		}
		if p.Status == RSVPWaitlist {
			rank++
			p.WaitlistRank = rank
		}
		p.Private = p.User.Started && !p.User.Blocked && chatActive
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetReminderMute mutes (or unmutes) an event's reminders for one person.
// It reports whether anything changed.
func SetReminderMute(ctx context.Context, q Querier, eventID, userID int64, muted bool, now time.Time) (bool, error) {
	var res sql.Result
	var err error
	if muted {
		res, err = q.ExecContext(ctx, `INSERT INTO reminder_mutes (event_id, user_id, created_at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, eventID, userID, Millis(now))
	} else {
		res, err = q.ExecContext(ctx, `DELETE FROM reminder_mutes WHERE event_id = ? AND user_id = ?`, eventID, userID)
	}
	if err != nil {
		return false, fmt.Errorf("muting reminders of event %d for %d: %w", eventID, userID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReminderMuted reports whether a person muted an event's reminders.
func ReminderMuted(ctx context.Context, q Querier, eventID, userID int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM reminder_mutes WHERE event_id = ? AND user_id = ?`, eventID, userID).Scan(&n)
	return n > 0, err
}

// AddReminderSend records the outbox row of a private reminder message.
func AddReminderSend(ctx context.Context, q Querier, reminderID, userID, outboxID int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO reminder_sends (reminder_id, user_id, outbox_id, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT(reminder_id, user_id) DO UPDATE SET outbox_id = excluded.outbox_id, settled = 0, fate = '', created_at = excluded.created_at`,
		reminderID, userID, outboxID, Millis(now))
	return err
}

// ReminderSend is a private reminder message whose fate is known but not
// settled.
type ReminderSend struct {
	ReminderID int64
	UserID     int64
	OutboxID   int64
	// Fate is the final state the outbox reported for its message (an
	// outbox.State: sent, dead, dropped).
	Fate string
}

// RecordReminderSendFate records the fate the outbox reported for the
// message of a private reminder (outboxID is its row); nothing if the
// message is not a reminder's or its send is settled.
func RecordReminderSendFate(ctx context.Context, q Querier, outboxID int64, fate string) error {
	_, err := q.ExecContext(ctx, `UPDATE reminder_sends SET fate = ? WHERE outbox_id = ? AND settled = 0`, fate, outboxID)
	return err
}

// OpenReminderSends lists private reminder messages whose fate is known
// and not settled yet.
func OpenReminderSends(ctx context.Context, q Querier, limit int) ([]ReminderSend, error) {
	rows, err := q.QueryContext(ctx, `
SELECT reminder_id, user_id, outbox_id, fate FROM reminder_sends
WHERE settled = 0 AND fate <> '' ORDER BY outbox_id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReminderSend
	for rows.Next() {
		var s ReminderSend
		if err := rows.Scan(&s.ReminderID, &s.UserID, &s.OutboxID, &s.Fate); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SettleReminderSend marks a private reminder message settled; false if it
// was already.
func SettleReminderSend(ctx context.Context, q Querier, reminderID, userID int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE reminder_sends SET settled = 1 WHERE reminder_id = ? AND user_id = ? AND settled = 0`,
		reminderID, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PurgeReminders deletes the reminders, plans, mutes and message records
// of events that ended before before (active or cancelled), in batches
// (PurgeBatched), and returns how many reminder rows went.
func PurgeReminders(ctx context.Context, db *DB, before time.Time) (int64, error) {
	c := Millis(before)
	args := []any{c, DefaultEventLength.Milliseconds(), c}
	dels := make([]BatchDelete, len(purgeRemindersSQL))
	for i, q := range purgeRemindersSQL {
		dels[i] = BatchDelete{Query: q, Args: args}
	}
	n, err := db.PurgeBatched(ctx, dels...)
	return n[1], err
}

// purgeRemindersSQL are PurgeReminders' statements; each has the
// parameters cutoff, DefaultEventLength, cutoff and the batch size. Each
// table is walked by its own time column, which is never after the
// event's end, through an index; the event's end decides. (A mute pressed
// after its event ended goes once it too is older than the cutoff.) A
// reminder's private messages go first, so that deleting the reminder
// cascades to none.
var purgeRemindersSQL = []string{`
DELETE FROM reminder_sends WHERE (reminder_id, user_id) IN (
    SELECT s.reminder_id, s.user_id FROM reminder_sends s INDEXED BY reminder_sends_created
    JOIN reminders r ON r.id = s.reminder_id JOIN events e ON e.id = r.event_id
    WHERE s.created_at < ? AND ` + eventEndedSQL + ` LIMIT ?)`, `
DELETE FROM reminders WHERE id IN (
    SELECT r.id FROM reminders r INDEXED BY reminders_due_all JOIN events e ON e.id = r.event_id
    WHERE r.due_at < ? AND ` + eventEndedSQL + ` LIMIT ?)`, `
DELETE FROM reminder_plans WHERE event_id IN (
    SELECT p.event_id FROM reminder_plans p INDEXED BY reminder_plans_starts JOIN events e ON e.id = p.event_id
    WHERE p.starts_at < ? AND ` + eventEndedSQL + ` LIMIT ?)`, `
DELETE FROM reminder_mutes WHERE (event_id, user_id) IN (
    SELECT m.event_id, m.user_id FROM reminder_mutes m INDEXED BY reminder_mutes_created JOIN events e ON e.id = m.event_id
    WHERE m.created_at < ? AND ` + eventEndedSQL + ` LIMIT ?)`,
}

// eventEndedSQL is "event e ended before the cutoff" (parameters:
// DefaultEventLength, cutoff).
const eventEndedSQL = `coalesce(e.ends_at, e.starts_at + ?) < ?`

// LockDueReminder is GetReminder for the transaction that claims a due
// reminder. On PostgreSQL, where several replicas claim at once, it takes
// the row's lock and skips a row another transaction holds (FOR UPDATE
// SKIP LOCKED), as if it were settled: that one sends it. SQLite has one
// writer, so a plain read is the claim.
func LockDueReminder(ctx context.Context, db *DB, tx *sql.Tx, id int64) (Reminder, bool, error) {
	if !db.pg {
		return GetReminder(ctx, tx, id)
	}
	r, err := scanReminder(tx.QueryRowContext(ctx, `SELECT `+reminderColumns+` FROM reminders
WHERE id = ? AND sent_at IS NULL FOR UPDATE SKIP LOCKED`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Reminder{}, false, nil
	}
	return r, err == nil, err
}
