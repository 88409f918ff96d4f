package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// Claiming and calling: which due rows go next (lanes, fairness, per-chat
// pacing), the short transaction that marks them sending, and the workers
// that make the calls outside any transaction.

// readyAt reports when a call to the chat may start (zero: now).
func (s *Sender) readyAt(id int64, method string, now time.Time) (at time.Time, busy bool) {
	cs, ok := s.chats[id]
	if !ok {
		return time.Time{}, false
	}
	if cs.busy {
		return time.Time{}, true
	}
	if cs.blockedUntil.After(now) {
		return cs.blockedUntil, false
	}
	if cs.lim != nil && paced(method) {
		if t := cs.lim.TokensAt(now); t < 1 {
			return now.Add(tokenWait(cs.lim, t)), false
		}
	}
	return time.Time{}, false
}

// paced reports whether a method counts against the per-chat limits.
// Answering a callback or an inline query posts nothing in a chat, and a
// user is watching a spinner until it arrives, so it is paced only by the
// global limit.
func paced(method string) bool {
	return method != "answerCallbackQuery" && method != "answerInlineQuery"
}

// candidate is a due line head, as scanned.
type candidate struct {
	id     int64
	chat   int64
	method string
}

// cycle scans due heads, picks up to budget of them by lane priority and
// fairness, claims them and hands them to workers. It returns how many were
// handed out and, if none, when something becomes due.
func (s *Sender) cycle(ctx context.Context, now time.Time, budget int) (int, time.Time, error) {
	var cands [numLanes][]candidate
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	taken := map[int64]bool{}
	for lane := range numLanes {
		c, nextDue, err := s.scan(ctx, Lane(lane), now, budget, taken)
		if err != nil {
			return 0, time.Time{}, err
		}
		cands[lane] = c
		soonest(nextDue)
	}
	var picks []candidate
	var idx [numLanes]int
	for len(picks) < budget {
		var avail [numLanes]bool
		some := false
		for l := range numLanes {
			avail[l] = idx[l] < len(cands[l])
			some = some || avail[l]
		}
		if !some {
			break
		}
		l := s.fair.choose(avail)
		picks = append(picks, cands[l][idx[l]])
		idx[l]++
	}
	if len(picks) == 0 {
		return 0, next, nil
	}
	// A 429 that arrived during the scan may forbid what was picked.
	if s.drainHits() {
		return 0, now, nil
	}
	jobs, drops, err := s.claim(ctx, picks)
	if err != nil {
		return 0, time.Time{}, err
	}
	for _, d := range drops {
		s.obs.Dropped(d.method, DropChatInactive)
	}
	for _, j := range jobs {
		if s.global != nil {
			s.global.AllowN(now, 1)
		}
		cs := s.chat(j.chat)
		if cs.lim != nil && paced(j.method) {
			cs.lim.AllowN(now, 1)
		}
		cs.busy = true
		s.inflight++
		j.seq = s.brk.begin()
		s.jobs <- j
	}
	if len(jobs) == 0 {
		// Everything picked had changed under us (replaced, dropped):
		// look again at once.
		return 0, now, nil
	}
	return len(jobs), next, nil
}

// scan reads the due heads of one lane in due order and keeps those whose
// chat may be called now, at most one per chat (taken) and at most limit.
// nextDue is the earliest time a skipped or not yet due head becomes
// callable (zero if none is known; busy chats wake us when they finish).
func (s *Sender) scan(ctx context.Context, lane Lane, now time.Time, limit int, taken map[int64]bool) (out []candidate, nextDue time.Time, err error) {
	rows, err := s.db.R.QueryContext(ctx, sqlScan(lane), scanLimit)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	soonest := func(t time.Time) {
		if nextDue.IsZero() || t.Before(nextDue) {
			nextDue = t
		}
	}
	nowMs := store.Millis(now)
	for rows.Next() {
		var c candidate
		var due int64
		if err := rows.Scan(&c.id, &c.chat, &c.method, &due); err != nil {
			return nil, time.Time{}, err
		}
		if due > nowMs {
			soonest(store.FromMillis(due))
			break
		}
		if taken[c.chat] {
			continue
		}
		at, busy := s.readyAt(c.chat, c.method, now)
		if busy {
			continue
		}
		if !at.IsZero() {
			soonest(at)
			continue
		}
		taken[c.chat] = true
		out = append(out, c)
		if len(out) >= limit {
			break
		}
	}
	return out, nextDue, rows.Err()
}

// fairness implements the lane shares: strict priority, except that a
// lower lane passed over editEvery-1 (Edit) or bulkEvery-1 (Bulk) times in
// a row while it had due rows gets the next slot.
type fairness struct {
	skipped [numLanes]int
}

func (f *fairness) choose(avail [numLanes]bool) Lane {
	l := Lane(-1)
	switch {
	case avail[Bulk] && f.skipped[Bulk] >= bulkEvery-1:
		l = Bulk
	case avail[Edit] && f.skipped[Edit] >= editEvery-1:
		l = Edit
	default:
		for i := range numLanes {
			if avail[i] {
				l = Lane(i)
				break
			}
		}
	}
	for i := range numLanes {
		if Lane(i) != l && avail[i] {
			f.skipped[i]++
		}
	}
	f.skipped[l] = 0
	return l
}

// dropped is a row dropped unsent, with its chat's other rows.
type dropped struct {
	id     int64
	chat   int64
	method string
	ref    string
}

// claim marks picked rows 'sending' in one short transaction, re-checking
// that each is still the pending head of its line, and drops the queues of
// chats that became inactive.
func (s *Sender) claim(ctx context.Context, picks []candidate) (jobs []job, drops []dropped, err error) {
	now := store.Millis(s.clk.Now())
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		jobs, drops = jobs[:0], drops[:0]
		for _, c := range picks {
			var j job
			var params string
			err := tx.QueryRowContext(ctx, sqlClaim, c.id).Scan(
				&j.id, &j.chat, &j.lane, &j.method, &params, &j.attempts, &j.failures, &j.createdAt, &j.ref)
			if errors.Is(err, sql.ErrNoRows) {
				// Changed since the scan (replaced, requeued ahead of it),
				// or its chat is inactive: drop the chat's queue then.
				var reason string
				err := tx.QueryRowContext(ctx, sqlChatActive, c.chat).Scan(&reason)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				d, err := dropChat(ctx, tx, c.chat, "chat inactive: "+reason, now)
				if err != nil {
					return err
				}
				for _, d := range d {
					if err := s.hear(ctx, tx, d.fate()); err != nil {
						s.log.Error("outbox: fate hook failed; the row stays dropped", "id", d.id, "ref", d.ref, "err", err)
					}
				}
				drops = append(drops, d...)
				continue
			}
			if err != nil {
				return err
			}
			j.params = json.RawMessage(params)
			jobs = append(jobs, j)
		}
		return nil
	})
	if len(drops) > 0 && err == nil {
		s.log.Info("outbox: dropped rows of inactive chats", "rows", len(drops))
	}
	return jobs, drops, err
}

// dropChat marks every pending row of a chat dropped (kept, not deleted, so
// the record shows what was not sent and why). Answers to inline queries
// stay: they post nothing in the chat (sqlClaim sends them regardless), so
// the lines they are in get their next head.
func dropChat(ctx context.Context, tx *sql.Tx, chat int64, why string, now int64) ([]dropped, error) {
	rows, err := tx.QueryContext(ctx, `
UPDATE outbox SET state = 'dropped', head = 0, done_at = ?, last_error = ?
WHERE chat_id = ? AND state = 'pending' AND method <> 'answerInlineQuery'
RETURNING id, chat_id, method, ref`, now, why, chat)
	if err != nil {
		return nil, err
	}
	out, err := scanDropped(rows)
	if err != nil {
		return nil, err
	}
	for lane := range numLanes {
		if err := promote(ctx, tx, chat, Lane(lane)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanDropped reads the RETURNING id, chat_id, method, ref of rows
// just dropped.
func scanDropped(rows *sql.Rows) ([]dropped, error) {
	defer rows.Close()
	var out []dropped
	for rows.Next() {
		var d dropped
		if err := rows.Scan(&d.id, &d.chat, &d.method, &d.ref); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (d dropped) fate() Fate {
	return Fate{Ref: d.ref, ID: d.id, ChatID: d.chat, State: StateDropped}
}

// work makes calls. A call is never cancelled by shutdown (only bounded by
// CallTimeout): abandoning it half-way would turn a clean stop into an
// ambiguous attempt.
func (s *Sender) work(ctx context.Context) {
	callCtx := context.WithoutCancel(ctx)
	for j := range s.jobs {
		cctx, cancel := context.WithTimeout(callCtx, s.cfg.CallTimeout)
		res, err := s.client.Call(cctx, j.method, withChatID(j.params, j.chat))
		cancel()
		at := s.clk.Now()
		out := classify(j.method, res, err)
		if out.act == actWait || out.act == actPause {
			s.hits <- event{chat: j.chat, out: out, at: at}
		}
		// The breaker decides whether a failure counts against the row; one
		// it cannot judge yet is parked and handed on later.
		for _, r := range s.brk.finish(result{job: j, res: res, out: out, at: at}) {
			s.results <- r
		}
	}
}

// withChatID makes the params' chat_id the row's (which store.MigrateChat
// may have changed since the row was enqueued).
func withChatID(params json.RawMessage, chat int64) json.RawMessage {
	var probe struct {
		ChatID json.RawMessage `json:"chat_id"`
	}
	want := strconv.FormatInt(chat, 10)
	if json.Unmarshal(params, &probe) != nil || probe.ChatID == nil || string(probe.ChatID) == want {
		return params
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(params, &m) != nil {
		return params
	}
	m["chat_id"] = json.RawMessage(want)
	b, err := json.Marshal(m)
	if err != nil {
		return params
	}
	return b
}

// messageIDOf is the message_id in a call's params (0 if none).
func messageIDOf(params json.RawMessage) int {
	var p struct {
		MessageID int `json:"message_id"`
	}
	_ = json.Unmarshal(params, &p)
	return p.MessageID
}
