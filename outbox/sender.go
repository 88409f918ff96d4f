package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
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

// Fate is what became of a row enqueued with a Ref: the final state it
// reached (sent, dead or dropped) and how.
type Fate struct {
	Ref    string
	ID     int64 // the row
	ChatID int64 // the chat it went (or was to go) to, after any migration
	State  State // StateSent, StateDead or StateDropped
	// Class is the outcome of the attempt that decided it ("" when the row
	// was dropped unsent: its chat inactive, or moved to a supergroup).
	Class Class
	// MessageID is the message sent or edited (for an edit that was "not
	// modified", the message_id of the parameters); 0 unless sent.
	MessageID int
}

// FateFunc hears the fate of rows enqueued with a Ref, in the transaction
// that records it. A dead letter that is requeued is heard again at its
// next fate. Rows replaced by a newer one with the same coalesce key are
// not heard: that happens in the enqueuer's own transaction. An error is
// logged and rolled back (to a savepoint): the row keeps its fate, because
// it was, and sending it again would duplicate it.
type FateFunc func(ctx context.Context, tx *sql.Tx, f Fate) error

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
	// OnFate hears the fate of rows enqueued with a Ref (optional).
	OnFate FateFunc
	// OnMigrated is called in the transaction that moves a group to its
	// new supergroup id (after store.MigrateChat), so that whoever owns
	// messages in the old group can post them again: the supergroup's
	// copies of old messages have other ids, so they cannot be edited
	// (optional; an error rolls the migration back and it is retried).
	OnMigrated func(ctx context.Context, tx *sql.Tx, from, to int64) error
	// Observer receives events for metrics (default NopObserver).
	Observer Observer
	// MaxAttempts is how many transient failures (5xx, network, ambiguous)
	// counted against a row it may have before it is dead-lettered
	// (default 5). 429s and migrations do not count: they are
	// instructions, not failures; nor do failures shared with other chats'
	// calls (the breaker, see the package doc).
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
	// Probe makes one cheap call that proves the Bot API answers (getMe;
	// nil error: it did). The breaker uses it to tell the API's failures
	// from a message's own and to find the end of an outage (see the
	// package doc). Without it, an outage is probed with one real queued
	// call, and a failure nothing else settles is counted against its
	// message.
	Probe func(ctx context.Context) error
	// ProbeMax caps the wait between probes while Telegram is unreachable
	// (default 15 s): the longest a return can go unnoticed.
	ProbeMax time.Duration
	// StartEmpty starts every Run with an empty global bucket rather than
	// a full burst: with several replicas the sender that ran before this
	// one (another replica, before a handover) may have spent the budget
	// a moment ago, and Telegram counts per token, not per process.
	StartEmpty bool
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
	brk     *breaker
	probes  sync.WaitGroup // probes, and goroutines handing settled failures to the recorder

	// Everything below is owned by the dispatcher goroutine (Run).
	jobs       chan job
	results    chan result
	events     chan event    // recorded results
	hits       chan event    // 429s and 401s, straight from the workers
	global     *rate.Limiter // nil: unlimited
	chats      map[int64]*chatState
	pauseUntil time.Time
	drainAfter bool // drain the global bucket once the pause is over
	recent429  []hit429
	fair       fairness
	inflight   int
	lastCycle  time.Time
	// lastClaimed is how many rows the latest cycle claimed.
	lastClaimed int
	lastSweep   time.Time
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
	if cfg.ProbeMax <= 0 {
		cfg.ProbeMax = 15 * time.Second
	}
	s := &Sender{
		db: db, client: client, cfg: cfg, lim: lim,
		log: cfg.Logger.With("component", "outbox"), obs: cfg.Observer, clk: cfg.Clock,
		notify: make(chan struct{}, 1),
		chats:  make(map[int64]*chatState),
	}
	s.brk = newBreaker(cfg.Clock, cfg.ProbeMax, cfg.Probe != nil, s.Notify, s.reachability)
	// Transactions that enqueued (or requeued) wake this sender as they
	// commit; no others do. (Tests of pacing alone pass no database.)
	if db != nil {
		db.SetWaker(wakeSender, s.Notify)
	}
	if lim.Global > 0 {
		burst := max(1, int(math.Ceil(lim.Global*burstWindow.Seconds())))
		s.global = rate.NewLimiter(rate.Limit(lim.Global), burst)
	}
	return s
}

// wakeSender is the store waker (store.Wake) under which a sender
// registers its Notify: Enqueue and Requeue mark their own transactions
// with it.
const wakeSender = "outbox"

// Notify wakes the sender to look for new rows now rather than at the next
// poll. It never blocks. Enqueue and Requeue call it through the store as
// their transactions commit (store.Wake), so nobody else needs to.
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
	ref       string
	seq       uint64 // the breaker's sequence number of the call
}

// result is a finished call on its way to the recorder.
type result struct {
	job job
	res bot.Result
	out outcome
	at  time.Time // when the call returned (sender's clock)
	// charge is whether a retry counts toward MaxAttempts: set by the
	// breaker (false for failures shared with other calls).
	charge bool
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

	if s.cfg.StartEmpty {
		s.drainGlobal(s.clk.Now())
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

	// Shutdown: nothing new is claimed; wait for what is in flight. Failures
	// still waiting for the breaker's verdict are recorded uncounted.
	close(s.jobs)
	var closer sync.WaitGroup
	closer.Go(func() {
		workers.Wait()
		s.probes.Wait()
		for _, r := range s.brk.flush() {
			s.results <- r
		}
		close(s.results)
	})
	for s.inflight > 0 {
		s.handle(<-s.events)
	}
	closer.Wait()
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
		if w := s.settle(ctx, now); !w.IsZero() && (wake.IsZero() || w.Before(wake)) {
			wake = w
		}
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
		// (Never at a time before the bucket's last use: rate.Limiter
		// would count the time in between twice.)
		s.drainGlobal(later(s.pauseUntil, s.lastCycle))
		s.drainAfter = false
	}
	limit, until, probe := s.brk.gate(now)
	if probe != 0 {
		s.probe(ctx, probe)
	}
	if limit == 0 {
		return until // paused: Telegram is unreachable
	}
	free := s.cfg.Workers - s.inflight
	if free <= 0 {
		return time.Time{} // a result will wake us
	}
	budget := free
	if limit > 0 {
		budget = min(budget, limit)
	}
	if s.global != nil {
		tokens := s.global.TokensAt(now)
		if tokens < 1 {
			return now.Add(tokenWait(s.global, tokens))
		}
		if int(tokens) < min(free, s.global.Burst()) && now.Sub(s.lastCycle) < minCycle && s.lastClaimed > 0 {
			// Let tokens accumulate a little so claims are batched. Only
			// while rows keep coming: after a cycle that claimed nothing
			// there is no batch to wait for, and the row a user is
			// waiting for goes at once.
			return s.lastCycle.Add(minCycle)
		}
		budget = min(budget, int(tokens))
	}
	s.lastCycle = now
	n, next, err := s.cycle(ctx, now, budget)
	s.lastClaimed = n
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

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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

// drainHits handles the hits that have arrived and reports whether any did.
func (s *Sender) drainHits() bool {
	got := false
	for {
		select {
		case ev := <-s.hits:
			s.handleHit(ev)
			got = true
		default:
			return got
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
		case id == InlineChat:
			// Edits of inline messages: the global limit only.
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
