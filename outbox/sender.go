package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// Caller makes one Bot API call from its wire JSON; *bot.Client is one.
type Caller interface {
	Call(ctx context.Context, method string, params json.RawMessage) (bot.Result, error)
}

// Limits are Telegram's sending limits as the sender applies them. A zero
// field means unlimited (benchmarks use that).
type Limits struct {
	// Global is calls per second across all chats (Telegram: about 30).
	Global float64
	// PrivateChat is calls per second to one private chat (chat id > 0;
	// Telegram: about 1).
	PrivateChat float64
	// GroupPerMinute is calls per minute to one group (chat id < 0;
	// Telegram: 20).
	GroupPerMinute float64
}

// DefaultLimits are Telegram's published limits.
func DefaultLimits() Limits { return Limits{Global: 30, PrivateChat: 1, GroupPerMinute: 20} }

// OnSentFunc is called in the transaction that marks a row sent, for rows
// enqueued with an OnSent reference (e.g. to store the message id of a
// posted event card). messageID is the message sent or edited (for an
// edit that was "not modified", the message_id of the parameters). An
// error is logged and rolled back (to a savepoint): the row is still marked
// sent, because it was, and sending it again would duplicate it.
type OnSentFunc func(ctx context.Context, tx *sql.Tx, ref string, chatID int64, messageID int) error

// Config tunes a Sender. The zero value is production's.
type Config struct {
	// Limits; nil means DefaultLimits(). Fields set to 0 are unlimited.
	Limits *Limits
	// Workers is how many calls may be in flight at once (default 16).
	// Each chat has at most one in flight, which is what keeps its order.
	Workers int
	// Clock is the time source (default: the real one).
	Clock Clock
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// OnSent resolves OnSent references (optional).
	OnSent OnSentFunc
	// Observer receives events for metrics (default NopObserver).
	Observer Observer
	// MaxAttempts is how many transient failures (5xx, network, ambiguous)
	// a row may have before it is dead-lettered (default 5). 429s and
	// migrations do not count: they are instructions, not failures.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff after transient
	// failures (defaults 1 s and 30 s; ±20% jitter).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often an idle sender looks for rows it was not
	// notified of: written by another process, requeued by the CLI, or
	// enqueued by code that does not call Notify (default 1 s).
	PollInterval time.Duration
	// CallTimeout bounds one call (default 60 s); the Caller's own timeout
	// should be shorter.
	CallTimeout time.Duration
	// Jitter returns a uniform value in [0, 1) for backoff jitter
	// (default math/rand/v2).
	Jitter func() float64
}

// Tunables not worth a Config field.
const (
	// stormChats 429s from distinct chats within stormWindow mean the
	// limit hit is the global one: pause everything.
	stormChats  = 2
	stormWindow = 2 * time.Second
	// unauthorizedPause is how long a 401/404 (wrong token or URL: every
	// call would fail the same way) stops all sending.
	unauthorizedPause = time.Minute
	// minCycle is the shortest interval between two claim cycles while the
	// global bucket is nearly empty, so that claims are batched (the bucket
	// holds burstWindow of tokens, more than minCycle, so nothing is lost).
	minCycle    = 5 * time.Millisecond
	burstWindow = 50 * time.Millisecond
	// scanLimit bounds the heads read per lane per cycle.
	scanLimit = 1024
	// Lane shares under contention: Edit gets at least one slot in
	// editEvery, Bulk one in bulkEvery.
	editEvery = 5
	bulkEvery = 10
	// sweepEvery is how often idle per-chat limiters are evicted.
	sweepEvery = 10 * time.Second
	// monitorEvery is how often depth and dead-letter growth are checked.
	monitorEvery = time.Minute
	// repairEvery is how often lines without a head are repaired (a safety
	// net; the code paths that change lines promote their heads).
	repairEvery = time.Hour
	// maxResponse is how much of a response body the ledger keeps.
	maxResponse = 4 << 10
)

// Sender sends queued rows, paced by Telegram's limits. Run one per
// database.
type Sender struct {
	db     *store.DB
	client Caller
	cfg    Config
	lim    Limits
	log    *slog.Logger
	obs    Observer
	clk    Clock

	notify  chan struct{}
	running atomic.Bool

	// Everything below is owned by the dispatcher goroutine (Run).
	jobs       chan job
	results    chan result
	events     chan event // recorded results
	hits       chan event // 429s and 401s, straight from the workers
	global     *rate.Limiter // nil: unlimited
	chats      map[int64]*chatState
	pauseUntil time.Time
	drainAfter bool // drain the global bucket once the pause is over
	recent429  []hit429
	fair       fairness
	inflight   int
	lastCycle  time.Time
	lastSweep  time.Time
}

// chatState is the in-memory pacing of one chat. It exists only while it
// carries information: an entry whose limiter is full, with no call in
// flight and no 429 wait, is equivalent to a fresh one and is evicted.
type chatState struct {
	lim          *rate.Limiter // nil: unlimited
	busy         bool          // a call is in flight
	blockedUntil time.Time     // 429 retry_after
}

type hit429 struct {
	chat int64
	at   time.Time
	wait time.Duration
}

// NewSender makes a sender; Run starts it.
func NewSender(db *store.DB, client Caller, cfg Config) *Sender {
	lim := DefaultLimits()
	if cfg.Limits != nil {
		lim = *cfg.Limits
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 60 * time.Second
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	s := &Sender{
		db: db, client: client, cfg: cfg, lim: lim,
		log: cfg.Logger.With("component", "outbox"), obs: cfg.Observer, clk: cfg.Clock,
		notify: make(chan struct{}, 1),
		chats:  make(map[int64]*chatState),
	}
	if lim.Global > 0 {
		burst := max(1, int(math.Ceil(lim.Global*burstWindow.Seconds())))
		s.global = rate.NewLimiter(rate.Limit(lim.Global), burst)
	}
	return s
}

// Notify wakes the sender to look for new rows now rather than at the next
// poll. It never blocks; call it after committing a transaction that
// enqueued something.
func (s *Sender) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// job is a claimed row on its way to a worker.
type job struct {
	id        int64
	chat      int64
	lane      Lane
	method    string
	params    json.RawMessage
	attempts  int
	failures  int
	createdAt int64
	onSent    string
}

// result is a finished call on its way to the recorder.
type result struct {
	job job
	res bot.Result
	out outcome
	at  time.Time // when the call returned (sender's clock)
}

// event is a recorded result on its way back to the dispatcher.
type event struct {
	chat int64
	out  outcome
	at   time.Time
}

// Run sends until ctx is cancelled. On cancellation it makes no new calls,
// waits for the calls in flight and records them, and returns nil; rows not
// yet claimed stay pending for the next start. It first recovers rows a
// previous process left in 'sending' (see the package doc).
func (s *Sender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("outbox: Sender.Run called twice")
	}
	defer s.running.Store(false)
	if err := s.recoverSending(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := s.repairHeads(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("outbox: repairing line heads", "err", err)
	}

	s.jobs = make(chan job, s.cfg.Workers)
	s.results = make(chan result, s.cfg.Workers)
	s.events = make(chan event, s.cfg.Workers)
	s.hits = make(chan event, s.cfg.Workers)
	var workers, recorder, monitor sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() { s.work(ctx) })
	}
	recorder.Go(func() { s.recordLoop(ctx) })
	monitor.Go(func() { s.monitor(ctx) })

	s.dispatch(ctx)

	// Shutdown: nothing new is claimed; wait for what is in flight.
	for s.inflight > 0 {
		s.handle(<-s.events)
	}
	close(s.jobs)
	workers.Wait()
	close(s.results)
	recorder.Wait()
	monitor.Wait()
	return nil
}

// dispatch is the scheduling loop: it claims due rows as worker slots and
// tokens allow, and otherwise waits for a result, a notification, the next
// due time or the poll interval.
func (s *Sender) dispatch(ctx context.Context) {
	for ctx.Err() == nil {
		s.drainEvents()
		now := s.clk.Now()
		if now.Sub(s.lastSweep) >= sweepEvery {
			s.sweep(now)
		}
		wake := s.step(ctx, now)
		poll := now.Add(s.cfg.PollInterval)
		if wake.IsZero() || wake.After(poll) {
			wake = poll
		}
		s.wait(ctx, now, wake)
	}
}

// step does one scheduling decision and returns when to look again: the
// zero time means "when something happens (or at the next poll)", a time
// not after now means "at once".
func (s *Sender) step(ctx context.Context, now time.Time) time.Time {
	if now.Before(s.pauseUntil) {
		return s.pauseUntil
	}
	if s.drainAfter {
		// A pause never ends in a burst: the bucket filled while paused is
		// emptied as of the end of the pause, and refills from there.
		s.drainGlobal(s.pauseUntil)
		s.drainAfter = false
	}
	free := s.cfg.Workers - s.inflight
	if free <= 0 {
		return time.Time{} // a result will wake us
	}
	budget := free
	if s.global != nil {
		tokens := s.global.TokensAt(now)
		if tokens < 1 {
			return now.Add(tokenWait(s.global, tokens))
		}
		if int(tokens) < min(free, s.global.Burst()) && now.Sub(s.lastCycle) < minCycle {
			// Let tokens accumulate a little so claims are batched.
			return s.lastCycle.Add(minCycle)
		}
		budget = min(budget, int(tokens))
	}
	s.lastCycle = now
	n, next, err := s.cycle(ctx, now, budget)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("outbox: claiming rows", "err", err)
		}
		return now.Add(time.Second)
	}
	if n > 0 {
		return now // more may be ready
	}
	return next
}

func tokenWait(l *rate.Limiter, tokens float64) time.Duration {
	d := time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second))
	return max(d, time.Millisecond)
}

func (s *Sender) drainGlobal(now time.Time) {
	if s.global == nil {
		return
	}
	if n := int(s.global.TokensAt(now)); n > 0 {
		s.global.AllowN(now, n)
	}
}

// wait blocks until ctx is done, a notification, a result (handled), or
// the clock reaches until.
func (s *Sender) wait(ctx context.Context, now, until time.Time) {
	if !until.After(now) {
		return
	}
	select {
	case <-ctx.Done():
	case <-s.notify:
	case ev := <-s.events:
		s.handle(ev)
	case ev := <-s.hits:
		s.handleHit(ev)
	case <-s.clk.At(until):
	}
}

// drainEvents handles whatever results and hits have arrived, hits first:
// a 429 must stop the sending it concerns before anything else is claimed.
func (s *Sender) drainEvents() {
	for {
		select {
		case ev := <-s.hits:
			s.handleHit(ev)
			continue
		default:
		}
		select {
		case ev := <-s.hits:
			s.handleHit(ev)
		case ev := <-s.events:
			s.handle(ev)
		default:
			return
		}
	}
}

// handle applies a recorded result: its chat may be called again (the
// row's new state is on disk, so the chat's next row is claimable).
func (s *Sender) handle(ev event) {
	s.inflight--
	s.chat(ev.chat).busy = false
}

// handleHit applies a 429 or 401 as soon as a worker sees it, before it is
// recorded, so that the window in which more calls are claimed into the
// limit is as short as possible.
func (s *Sender) handleHit(ev event) {
	cs := s.chat(ev.chat)
	if ev.out.act == actPause {
		until := ev.at.Add(unauthorizedPause)
		if until.After(s.pauseUntil) {
			s.pauseUntil = until
			s.drainAfter = true
		}
		s.log.Error("outbox: Telegram rejected the bot's credentials; pausing all sending",
			"pause", unauthorizedPause, "description", ev.out.desc)
		return
	}
	if ev.out.act != actWait {
		return
	}
	// 429: this chat waits exactly retry_after (a pause is only extended,
	// never shortened).
	ra := ev.out.retryAfter
	if until := ev.at.Add(ra); until.After(cs.blockedUntil) {
		cs.blockedUntil = until
	}
	// Several chats limited at about the same time means the global limit
	// was hit: pause everything.
	keep := s.recent429[:0]
	for _, h := range s.recent429 {
		if ev.at.Sub(h.at) < stormWindow {
			keep = append(keep, h)
		}
	}
	s.recent429 = append(keep, hit429{chat: ev.chat, at: ev.at, wait: ra})
	distinct := map[int64]bool{}
	var until time.Time
	for _, h := range s.recent429 {
		distinct[h.chat] = true
		if u := h.at.Add(h.wait); u.After(until) {
			until = u
		}
	}
	global := len(distinct) >= stormChats
	if global && until.After(s.pauseUntil) {
		s.pauseUntil = until
		s.drainAfter = true
		s.drainGlobal(ev.at)
		s.log.Warn("outbox: 429 from several chats; pausing all sending",
			"chats", len(distinct), "until", until.Format(time.RFC3339Nano))
	}
	s.obs.RateLimited(ev.chat, ra, global)
}

// chat returns the pacing state of a chat, creating it.
func (s *Sender) chat(id int64) *chatState {
	cs, ok := s.chats[id]
	if !ok {
		cs = &chatState{}
		switch {
		case id > 0 && s.lim.PrivateChat > 0:
			cs.lim = rate.NewLimiter(rate.Limit(s.lim.PrivateChat), 1)
		case id < 0 && s.lim.GroupPerMinute > 0:
			cs.lim = rate.NewLimiter(rate.Limit(s.lim.GroupPerMinute/60), 1)
		}
		s.chats[id] = cs
	}
	return cs
}

// sweep evicts chat states that carry no information, so memory follows
// the number of recently active chats, not all chats ever sent to.
func (s *Sender) sweep(now time.Time) {
	s.lastSweep = now
	for id, cs := range s.chats {
		if cs.busy || cs.blockedUntil.After(now) {
			continue
		}
		if cs.lim != nil && cs.lim.TokensAt(now) < float64(cs.lim.Burst()) {
			continue
		}
		delete(s.chats, id)
	}
}

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
// Answering a callback posts nothing in the chat, and a user is watching a
// spinner until it arrives, so it is paced only by the global limit.
func paced(method string) bool { return method != "answerCallbackQuery" }

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
	jobs, drops, err := s.claim(ctx, picks)
	if err != nil {
		return 0, time.Time{}, err
	}
	for _, d := range drops {
		s.obs.Dropped(d.method, "chat inactive")
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
	rows, err := s.db.R.QueryContext(ctx, `
SELECT o.id, o.chat_id, o.method, o.next_attempt_at FROM outbox o
WHERE o.head = 1 AND o.state = 'pending' AND o.lane = ?
  AND NOT EXISTS (SELECT 1 FROM outbox e
                  WHERE e.chat_id = o.chat_id AND e.lane = o.lane
                    AND e.state IN ('pending', 'sending') AND e.id < o.id)
ORDER BY o.next_attempt_at, o.id
LIMIT ?`, int(lane), scanLimit)
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

type dropped struct {
	id     int64
	method string
}

// claim marks picked rows 'sending' in one short transaction, re-checking
// that each is still the pending head of its line, and drops the queues of
// chats that became inactive.
func (s *Sender) claim(ctx context.Context, picks []candidate) (jobs []job, drops []dropped, err error) {
	now := store.Millis(s.clk.Now())
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		jobs, drops = jobs[:0], drops[:0]
		for _, c := range picks {
			active, reason, err := chatActive(ctx, tx, c.chat)
			if err != nil {
				return err
			}
			if !active {
				d, err := dropChat(ctx, tx, c.chat, "chat inactive: "+reason, now)
				if err != nil {
					return err
				}
				drops = append(drops, d...)
				continue
			}
			var j job
			var params string
			err = tx.QueryRowContext(ctx, `
UPDATE outbox SET state = 'sending'
WHERE id = ? AND state = 'pending' AND head = 1
  AND NOT EXISTS (SELECT 1 FROM outbox e
                  WHERE e.chat_id = outbox.chat_id AND e.lane = outbox.lane
                    AND e.state IN ('pending', 'sending') AND e.id < outbox.id)
RETURNING id, chat_id, lane, method, params, attempts, failures, created_at, on_sent`, c.id).Scan(
				&j.id, &j.chat, &j.lane, &j.method, &params, &j.attempts, &j.failures, &j.createdAt, &j.onSent)
			if errors.Is(err, sql.ErrNoRows) {
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

// chatActive reports whether the chat may be sent to; a chat with no row
// is active (the bot may send before the intake has seen it, e.g. after a
// migration).
func chatActive(ctx context.Context, q store.Querier, id int64) (bool, string, error) {
	var active bool
	var reason string
	err := q.QueryRowContext(ctx, `SELECT active, inactive_reason FROM chats WHERE id = ?`, id).Scan(&active, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return true, "", nil
	}
	return active, reason, err
}

// dropChat marks every pending row of a chat dropped (kept, not deleted, so
// the record shows what was not sent and why).
func dropChat(ctx context.Context, tx *sql.Tx, chat int64, why string, now int64) ([]dropped, error) {
	rows, err := tx.QueryContext(ctx, `
UPDATE outbox SET state = 'dropped', head = 0, done_at = ?, last_error = ?
WHERE chat_id = ? AND state = 'pending'
RETURNING id, method`, now, why, chat)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dropped
	for rows.Next() {
		var d dropped
		if err := rows.Scan(&d.id, &d.method); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
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
		s.results <- result{job: j, res: res, out: out, at: at}
	}
}

// withChatID makes the params' chat_id the row's (which store.MigrateChat
// may have changed since the row was enqueued).
func withChatID(params json.RawMessage, chat int64) json.RawMessage {
	var probe struct {
		ChatID *json.Number `json:"chat_id"`
	}
	want := strconv.FormatInt(chat, 10)
	if json.Unmarshal(params, &probe) != nil || probe.ChatID == nil || probe.ChatID.String() == want {
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
