package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// maxBatch is how many results one record transaction takes at most.
const maxBatch = 64

// recordLoop writes results to the database in batches (one transaction
// for whatever has arrived), then tells the dispatcher. A chat stays busy
// until its result is committed, so its next row is never claimed before
// the previous one's fate (sent, or retry in place) is on disk.
func (s *Sender) recordLoop(ctx context.Context) {
	// Recording must finish even while shutting down: the calls were made.
	wctx := context.WithoutCancel(ctx)
	for r := range s.results {
		batch := []result{r}
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.results:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.recordBatch(ctx, wctx, batch)
	}
}

// effect is what a recorded result means for observers and logs.
type effect struct {
	r       result
	state   State
	delay   time.Duration // retry delay
	hookErr error         // from OnFate (logged; the fate stands)
	dropped []dropped     // the chat's other rows, dropped with it (403)
}

func (s *Sender) recordBatch(ctx, wctx context.Context, batch []result) {
	var effs []effect
	err := s.db.Tx(wctx, func(tx *sql.Tx) error {
		effs = effs[:0]
		for _, r := range batch {
			e, err := s.record(wctx, tx, r)
			if err != nil {
				return err
			}
			effs = append(effs, e)
		}
		return nil
	})
	if err != nil {
		// One bad result must not hold up the others: retry one by one,
		// each until it is written (or we give up at shutdown).
		s.log.Error("outbox: recording results; retrying one by one", "err", err, "results", len(batch))
		effs = effs[:0]
		for _, r := range batch {
			if e, ok := s.recordOne(ctx, wctx, r); ok {
				effs = append(effs, e)
			} else {
				s.events <- event{chat: r.job.chat, out: outcome{class: r.out.class}, at: r.at}
			}
		}
	}
	for _, e := range effs {
		s.report(e)
		s.events <- event{chat: e.r.job.chat, out: e.r.out, at: e.r.at}
	}
}

// recordOne retries one result until it is written. If the database stays
// unwritable after shutdown began, the row is left 'sending': the next
// start treats it as an interrupted (ambiguous) attempt, so it is not lost.
func (s *Sender) recordOne(ctx, wctx context.Context, r result) (effect, bool) {
	wait := 100 * time.Millisecond
	var stopAt time.Time
	for {
		var e effect
		err := s.db.Tx(wctx, func(tx *sql.Tx) error {
			var err error
			e, err = s.record(wctx, tx, r)
			return err
		})
		if err == nil {
			return e, true
		}
		s.log.Error("outbox: recording a result", "id", r.job.id, "err", err)
		if ctx.Err() != nil {
			if stopAt.IsZero() {
				stopAt = time.Now().Add(10 * time.Second)
			} else if time.Now().After(stopAt) {
				s.log.Error("outbox: giving up recording at shutdown; the row will be retried as interrupted", "id", r.job.id)
				return effect{}, false
			}
		}
		// Real time, not the injected clock: this waits for the database,
		// not for Telegram.
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// record writes one attempt: its ledger row, the row's new state and, for
// a row that reached its fate, the fate hook. It runs inside the batch's transaction.
func (s *Sender) record(ctx context.Context, tx *sql.Tx, r result) (effect, error) {
	j, res, out := r.job, r.res, r.out
	now := store.Millis(r.at)
	attempt := j.attempts + 1
	body := res.Body
	if len(body) > maxResponse {
		body = body[:maxResponse]
	}
	if _, err := tx.ExecContext(ctx, sqlLedger,
		j.id, j.chat, j.method, attempt, out.class, res.HTTPStatus, res.ErrorCode, out.desc,
		int(out.retryAfter/time.Second), res.MessageID, res.Latency.Milliseconds(), out.ambiguous, body, now); err != nil {
		return effect{}, fmt.Errorf("ledger: %w", err)
	}
	e := effect{r: r}
	failures := j.failures
	if out.act == actRetry && r.charge {
		failures++
	}
	// finish gives the row its fate, and the fate hook hears it.
	finish := func(state State, lastErr string) error {
		e.state = state
		sentAt := any(nil)
		msgID := 0
		if state == StateSent {
			sentAt = now
			if msgID = res.MessageID; msgID == 0 {
				msgID = messageIDOf(j.params)
			}
		}
		if _, err := tx.ExecContext(ctx, sqlFinish, state, attempt, failures, sentAt, now, res.MessageID, lastErr, j.id); err != nil {
			return err
		}
		if err := promote(ctx, tx, j.chat, j.lane); err != nil {
			return err
		}
		f := Fate{Ref: j.ref, ID: j.id, ChatID: j.chat, State: state, Class: out.class, MessageID: msgID}
		e.hookErr = errors.Join(e.hookErr, s.hear(ctx, tx, f))
		return nil
	}
	requeue := func(at time.Time, failures int) error {
		e.state = StatePending
		_, err := tx.ExecContext(ctx, sqlRetry, attempt, failures, store.Millis(at), out.desc, j.id)
		return err
	}

	switch out.act {
	case actSent:
		return e, finish(StateSent, "")
	case actRetry:
		if !r.charge {
			// Shared with other calls (Telegram away, not this message):
			// not counted, and due again soon; the breaker holds it back
			// while sending is paused.
			e.delay = backoff(1, s.cfg.RetryBase, s.cfg.RetryMax, s.cfg.Jitter())
			return e, requeue(r.at.Add(e.delay), failures)
		}
		if failures >= s.cfg.MaxAttempts {
			return e, finish(StateDead, fmt.Sprintf("%s after %d attempts: %s", out.class, failures, out.desc))
		}
		e.delay = backoff(failures, s.cfg.RetryBase, s.cfg.RetryMax, s.cfg.Jitter())
		return e, requeue(r.at.Add(e.delay), failures)
	case actWait:
		return e, requeue(r.at.Add(out.retryAfter), j.failures)
	case actPause:
		return e, requeue(r.at.Add(unauthorizedPause), j.failures)
	case actBlock:
		if j.chat == InlineChat || j.method == "answerInlineQuery" {
			// Not a chat that refused the bot: InlineChat stands for
			// every inline message, and an inline answer posts nothing in
			// the asker's chat. Only this row is given up.
			return e, finish(StateDropped, string(out.class)+": "+out.desc)
		}
		if err := deactivate(ctx, tx, j.chat, out.desc, r.at); err != nil {
			return e, err
		}
		d, err := dropChat(ctx, tx, j.chat, "chat inactive: "+out.desc, now)
		if err != nil {
			return e, err
		}
		e.dropped = d
		for _, d := range d {
			e.hookErr = errors.Join(e.hookErr, s.hear(ctx, tx, d.fate()))
		}
		return e, finish(StateDropped, "chat inactive: "+out.desc)
	case actMigrate:
		if out.migrateTo == 0 || out.migrateTo == j.chat {
			return e, finish(StateDead, "bad migration: "+out.desc)
		}
		if err := store.MigrateChat(ctx, tx, j.chat, out.migrateTo, r.at); err != nil {
			return e, err
		}
		if _, err := tx.ExecContext(ctx, sqlMoveChat, out.migrateTo, j.chat); err != nil {
			return e, err
		}
		// Rows that act on a message of the old group (edits, deletes,
		// pins) cannot follow it: the supergroup's copy of that message has
		// another id. They are dropped, not dead-lettered, and OnMigrated
		// lets their owner post afresh.
		gone := fmt.Sprintf("the group moved to %d; its old messages cannot be edited", out.migrateTo)
		rows, err := tx.QueryContext(ctx, sqlDropMessageBound(s.db.Postgres()), now, gone, out.migrateTo, j.id)
		if err != nil {
			return e, err
		}
		bound, err := scanDropped(rows)
		if err != nil {
			return e, err
		}
		for _, d := range bound {
			e.hookErr = errors.Join(e.hookErr, s.hear(ctx, tx, d.fate()))
		}
		if s.cfg.OnMigrated != nil {
			if err := s.cfg.OnMigrated(ctx, tx, j.chat, out.migrateTo); err != nil {
				return e, err
			}
		}
		if messageIDOf(j.params) != 0 {
			err = finish(StateDropped, gone)
		} else {
			// sqlMoveChat moved this row too; send it again at once, to
			// the new chat (the worker rewrites chat_id in the params).
			e.state = StatePending
			_, err = tx.ExecContext(ctx, `
UPDATE outbox SET state = 'pending', attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
				attempt, now, fmt.Sprintf("migrated to %d", out.migrateTo), j.id)
		}
		if err != nil {
			return e, err
		}
		// After this row has left 'sending': promote picks the first
		// queued row of each line, in the lines the migration merged.
		for l := range numLanes {
			if err := promote(ctx, tx, out.migrateTo, Lane(l)); err != nil {
				return e, err
			}
		}
		return e, nil
	case actDrop:
		return e, finish(StateDropped, string(out.class)+": "+out.desc)
	default: // actDead
		return e, finish(StateDead, string(out.class)+": "+out.desc)
	}
}

// hear runs the fate hook for f inside a savepoint: its failure must not
// undo the fate (a sent message is out; marking it unsent would send it
// twice). A failure is noted in the row's last_error and returned.
func (s *Sender) hear(ctx context.Context, tx *sql.Tx, f Fate) error {
	if f.Ref == "" || s.cfg.OnFate == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT on_fate`); err != nil {
		return err
	}
	herr := s.cfg.OnFate(ctx, tx, f)
	if herr != nil {
		herr = fmt.Errorf("row %d (ref %s, %s): %w", f.ID, f.Ref, f.State, herr)
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO on_fate`); err != nil {
			return errors.Join(herr, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET last_error = ? WHERE id = ?`, "on_fate: "+herr.Error(), f.ID); err != nil {
			return errors.Join(herr, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE on_fate`); err != nil {
		return errors.Join(herr, err)
	}
	return herr
}

// deactivate marks a chat inactive, creating its row if the intake never
// saw it, so that the sender keeps dropping its rows instead of calling
// Telegram again for each one.
func deactivate(ctx context.Context, tx *sql.Tx, chat int64, reason string, now time.Time) error {
	kind := "private"
	if chat < 0 {
		kind = "group"
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO chats (id, type, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		chat, kind, store.Millis(now), store.Millis(now)); err != nil {
		return err
	}
	return store.SetChatActive(ctx, tx, chat, false, reason)
}

// report tells the observer and the log what a committed result meant.
func (s *Sender) report(e effect) {
	j, out := e.r.job, e.r.out
	s.obs.Attempt(j.method, out.class, e.r.res.Latency)
	if e.hookErr != nil {
		s.log.Error("outbox: fate hook failed; the rows keep their fate", "err", e.hookErr)
	}
	switch e.state {
	case StateSent:
		if j.createdAt > 0 {
			s.obs.Sent(j.method, j.lane, e.r.at.Sub(store.FromMillis(j.createdAt)))
		}
	case StateDead:
		s.obs.DeadLetter(j.method, out.class)
		s.log.Warn("outbox: dead letter", "id", j.id, "chat", j.chat, "method", j.method,
			"class", out.class, "description", out.desc)
	case StateDropped:
		s.obs.Dropped(j.method, string(out.class))
		for _, d := range e.dropped {
			s.obs.Dropped(d.method, string(out.class))
		}
		if out.act == actBlock {
			s.log.Info("outbox: chat inactive; its queue is dropped", "chat", j.chat, "rows", 1+len(e.dropped),
				"description", out.desc)
		}
	case StatePending:
		switch out.act {
		case actRetry:
			s.obs.Retry(j.method, out.class, e.delay)
			s.log.Debug("outbox: retrying", "id", j.id, "class", out.class, "in", e.delay, "counted", e.r.charge,
				"description", out.desc)
		case actMigrate:
			s.log.Info("outbox: chat migrated; resending there", "from", j.chat, "to", out.migrateTo)
		}
	}
}

// recoverSending handles rows a previous process left 'sending': it died
// during (or just before) their calls, so they may have been delivered.
// By the ambiguity rule they are sent again, and the ledger says so.
func (s *Sender) recoverSending(ctx context.Context) error {
	now := s.clk.Now()
	type rec struct {
		id, chat int64
		method   string
		attempt  int
	}
	var recs []rec
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		recs = recs[:0]
		rows, err := tx.QueryContext(ctx, `
UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?,
       last_error = 'interrupted: the process stopped during the call'
WHERE state = 'sending'
RETURNING id, chat_id, method, attempts`, store.Millis(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.chat, &r.method, &r.attempt); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, `
INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, description, ambiguous, created_at)
VALUES (?, ?, ?, ?, 'interrupted', 'the process stopped during the call; outcome unknown, sending again', 1, ?)`,
				r.id, r.chat, r.method, r.attempt, store.Millis(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: recovering rows left sending: %w", err)
	}
	for _, r := range recs {
		s.obs.Attempt(r.method, ClassInterrupted, 0)
	}
	if len(recs) > 0 {
		s.log.Warn("outbox: rows were left sending by a stopped process; sending them again (possible duplicates)",
			"rows", len(recs))
	}
	return nil
}

// repairHeads promotes the first row of any line that has no head. The
// write paths keep heads right; this is the safety net for rows changed by
// hand or by code outside this package.
func (s *Sender) repairHeads(ctx context.Context) error {
	rows, err := s.db.R.QueryContext(ctx, `
SELECT DISTINCT o.chat_id, o.lane FROM outbox o
WHERE o.state = 'pending' AND o.head = 0 AND `+firstInLine)
	if err != nil {
		return err
	}
	type line struct {
		chat int64
		lane Lane
	}
	var lines []line
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.chat, &l.lane); err != nil {
			rows.Close()
			return err
		}
		lines = append(lines, l)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	s.log.Warn("outbox: lines without a head found; repairing", "lines", len(lines))
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, l := range lines {
			if err := promote(ctx, tx, l.chat, l.lane); err != nil {
				return err
			}
		}
		return nil
	})
}

// warnRepeatEvery is how often a warning that keeps holding is logged.
const warnRepeatEvery = 10 * time.Minute

// monitor checks the queue's warning conditions periodically (not per
// message) and logs those that hold; it also runs the head repair now and
// then.
func (s *Sender) monitor(ctx context.Context) {
	lastWarn := map[string]time.Time{}
	lastRepair := s.clk.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clk.At(s.clk.Now().Add(monitorEvery)):
		}
		now := s.clk.Now()
		q, err := ReadQueue(ctx, s.db.R, now, 0)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("outbox: health check", "err", err)
			}
			continue
		}
		for _, c := range q.Conditions() {
			if !c.Holds || now.Sub(lastWarn[c.Name]) < warnRepeatEvery {
				continue
			}
			lastWarn[c.Name] = now
			msg := "outbox: " + c.Warning
			if c.Name == CondDeadGrowth {
				msg += "; see `rsvpbot outbox dead`"
			}
			s.log.Warn(msg, "condition", c.Name, "value", c.Value, "threshold", c.Threshold)
		}
		if now.Sub(lastRepair) >= repairEvery {
			lastRepair = now
			if err := s.repairHeads(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("outbox: repairing line heads", "err", err)
			}
		}
	}
}
