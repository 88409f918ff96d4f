package bot

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/store"
)

// Handler is what the dispatcher hands updates to.
type Handler interface {
	// Handle processes an update. It writes only through u.Commit. A nil
	// return without a Commit means "nothing to change": the dispatcher
	// marks the update done. An error the store calls unavailable
	// (store.IsUnavailable: a full disk, an I/O error, a lock held too
	// long) is not the update's fault: the update stays pending and is
	// handled again, in its chat's order, without an apology.
	Handle(ctx context.Context, u *Update) error
	// Failed runs inside the transaction that marks a failed update done
	// (error recorded): it enqueues the apology to the user.
	Failed(ctx context.Context, tx *sql.Tx, u *Update, cause error) error
}

// DispatcherConfig tunes a Dispatcher.
type DispatcherConfig struct {
	// Workers bounds how many chats are served at once (default 16). One
	// slow handler occupies one worker, never another chat's queue.
	Workers int
	// Grace is how long handlers in flight may finish after shutdown
	// begins before their context is cancelled (default 10 s).
	Grace time.Duration
	// RetryDelay is the pause before retrying an update whose outcome
	// could not be written (database trouble) (default 1 s).
	RetryDelay time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	// Observe, if set, is told about each handled update (for metrics).
	Observe func(u *Update, took time.Duration, err error)

	// Replica, if set, is this process's name among several replicas
	// sharing one database: the dispatcher then handles a chat only while
	// it holds the chat's claim (store/chat_claims.go), so a chat's
	// updates run on one replica at a time, in update_id order, and chats
	// spread over the replicas. Empty: the only process (SQLite).
	Replica string
	// ClaimTTL is how long a claim outlives a replica that stopped
	// renewing it (default 10 s): how long a dead replica's chats wait.
	ClaimTTL time.Duration
	// ScanEvery is how often chats with pending updates that nobody
	// holds are looked for (default 1 s).
	ScanEvery time.Duration
}

// Dispatcher delivers inbox updates to the Handler: one chat's updates
// strictly in update_id order, different chats concurrently.
type Dispatcher struct {
	db  *store.DB
	h   Handler
	cfg DispatcherConfig

	mu     sync.Mutex
	cond   *sync.Cond
	queues map[int64][]store.InboxUpdate // per chat, not yet handled, in order
	queued map[int64]bool                // chat is in ready or held by a worker
	ready  []int64                       // chats with work and no worker
	owned  map[int64]bool                // chats this replica holds the claim of (Replica)
	closed bool
	wg     sync.WaitGroup
}

// NewDispatcher makes a dispatcher; call Load, then Run.
func NewDispatcher(db *store.DB, h Handler, cfg DispatcherConfig) *Dispatcher {
	if cfg.Workers <= 0 {
		// More workers than cores: a worker mostly waits (on a weather
		// lookup, on its turn at the writer), and the more transactions
		// wait together, the more share one commit (store's group commit).
		cfg.Workers = 16
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = 10 * time.Second
	}
	if cfg.ScanEvery <= 0 {
		cfg.ScanEvery = time.Second
	}
	d := &Dispatcher{db: db, h: h, cfg: cfg, queues: map[int64][]store.InboxUpdate{}, queued: map[int64]bool{}, owned: map[int64]bool{}}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Load queues every update left pending by an earlier run (a crash, a
// shutdown mid-way). Call it before intake starts so that new updates queue
// behind the old ones of their chat.
func (d *Dispatcher) Load(ctx context.Context) (int, error) {
	var after int64
	total := 0
	for {
		ups, err := store.PendingUpdates(ctx, d.db.R, after, 1000)
		if err != nil {
			return total, fmt.Errorf("loading pending updates: %w", err)
		}
		if len(ups) == 0 {
			return total, nil
		}
		d.Add(ups)
		total += len(ups)
		after = ups[len(ups)-1].UpdateID
	}
}

// Add queues committed inbox updates, in update_id order. It is given each
// update once: Load's at start, before the intake runs, then only the rows
// the intake newly inserted (InsertUpdates ignores re-sent ones).
func (d *Dispatcher) Add(ups []store.InboxUpdate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range ups {
		// Keep the chat's queue in update_id order even if an update is
		// committed after a later one (concurrent webhook requests). The
		// head may be in a worker's hands, so nothing goes before it.
		q := d.queues[u.ChatID]
		if slices.ContainsFunc(q, func(x store.InboxUpdate) bool { return x.UpdateID == u.UpdateID }) {
			continue // found again by a replica's scan
		}
		i := len(q)
		for i > 1 && q[i-1].UpdateID > u.UpdateID {
			i--
		}
		d.queues[u.ChatID] = slices.Insert(q, i, u)
		if !d.queued[u.ChatID] {
			d.queued[u.ChatID] = true
			d.ready = append(d.ready, u.ChatID)
			d.cond.Signal()
		}
	}
}

// Run serves queued updates until ctx is cancelled, then lets handlers in
// flight finish (within Grace) and returns. Updates not started stay
// pending in the inbox for the next run.
func (d *Dispatcher) Run(ctx context.Context) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	for range d.cfg.Workers {
		d.wg.Add(1)
		go d.worker(workCtx)
	}
	var claims sync.WaitGroup
	if d.cfg.Replica != "" {
		claims.Go(func() { d.keepClaims(ctx) })
	}
	<-ctx.Done()
	claims.Wait()
	d.mu.Lock()
	d.closed = true
	d.cond.Broadcast()
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.cfg.Grace):
		d.cfg.Logger.Warn("handlers still running after the grace period; cancelling them (their updates stay pending)")
		cancelWork()
		<-done
	}
	return nil
}

func (d *Dispatcher) worker(ctx context.Context) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		for len(d.ready) == 0 && !d.closed {
			d.cond.Wait()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		chat := d.ready[0]
		d.ready = d.ready[1:]
		head := d.queues[chat][0]
		owned := d.owned[chat]
		d.mu.Unlock()

		out := outcomeDone
		if d.cfg.Replica != "" && !owned {
			out = d.claim(ctx, chat)
		}
		if out == outcomeDone && d.cfg.Replica != "" {
			head, out = d.earliest(ctx, chat, head)
		}
		if out == outcomeDone {
			out = d.process(ctx, head)
		}

		d.mu.Lock()
		switch out {
		case outcomeLost:
			// Another replica holds the chat: it handles what is
			// pending (it reads the chat's inbox before releasing).
			delete(d.queues, chat)
			delete(d.queued, chat)
			delete(d.owned, chat)
			d.mu.Unlock()
			continue
		case outcomeRetry:
			// Keep the chat's order: the same update goes again after a
			// pause, and its chat stays held so nothing overtakes it.
			d.mu.Unlock()
			time.AfterFunc(d.cfg.RetryDelay, func() {
				d.mu.Lock()
				d.ready = append(d.ready, chat)
				d.cond.Signal()
				d.mu.Unlock()
			})
			continue
		}
		q := d.queues[chat][1:]
		if len(q) == 0 && d.cfg.Replica != "" {
			d.mu.Unlock()
			more, keep := d.release(ctx, chat)
			d.mu.Lock()
			if !keep {
				delete(d.owned, chat)
			}
			q = d.queues[chat][1:] // Add may have queued more meanwhile
			for _, u := range more {
				if !slices.ContainsFunc(q, func(x store.InboxUpdate) bool { return x.UpdateID == u.UpdateID }) {
					q = append(q, u)
				}
			}
			slices.SortFunc(q, func(a, b store.InboxUpdate) int { return cmp.Compare(a.UpdateID, b.UpdateID) })
		}
		if len(q) == 0 {
			delete(d.queues, chat)
			delete(d.queued, chat)
			d.mu.Unlock()
			continue
		}
		d.queues[chat] = q
		// Round-robin: a chat with a long backlog goes to the back.
		d.ready = append(d.ready, chat)
		d.cond.Signal()
		d.mu.Unlock()
	}
}

// outcome is what became of a chat's head update.
type outcome int

const (
	outcomeDone  outcome = iota // handled (or failed and recorded): next
	outcomeRetry                // could not be recorded: again, after a pause
	outcomeLost                 // another replica holds the chat: leave it
)

// claim takes chat's claim for this replica (Replica).
func (d *Dispatcher) claim(ctx context.Context, chat int64) outcome {
	ok, err := store.ClaimChat(ctx, d.db, chat, d.cfg.Replica, d.cfg.ClaimTTL, d.cfg.Now())
	switch {
	case err != nil:
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("cannot claim a chat; will retry", "chat_id", chat, "err", err)
		}
		return outcomeRetry
	case !ok:
		return outcomeLost
	}
	d.mu.Lock()
	d.owned[chat] = true
	d.mu.Unlock()
	return outcomeDone
}

// earliest makes sure head, the next update of a chat this replica holds,
// is the chat's earliest pending one: another replica may have stored
// earlier updates of the chat (webhook calls spread over the replicas
// by a load balancer), which it left to this claim. They are queued
// before head, and the earliest is returned to be handled first.
func (d *Dispatcher) earliest(ctx context.Context, chat int64, head store.InboxUpdate) (store.InboxUpdate, outcome) {
	ups, err := store.ChatPendingUpdates(ctx, d.db.R, chat, 0, 100)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("cannot read a chat's pending updates; will retry", "chat_id", chat, "err", err)
		}
		return head, outcomeRetry
	}
	if len(ups) == 0 || ups[0].UpdateID >= head.UpdateID {
		return head, outcomeDone
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[chat]
	for _, u := range ups {
		if u.UpdateID < head.UpdateID && !slices.ContainsFunc(q, func(x store.InboxUpdate) bool { return x.UpdateID == u.UpdateID }) {
			q = append(q, u)
		}
	}
	slices.SortFunc(q, func(a, b store.InboxUpdate) int { return cmp.Compare(a.UpdateID, b.UpdateID) })
	d.queues[chat] = q
	return q[0], outcomeDone
}

// release is called when chat's queue ran out: it returns the chat's
// updates still pending in the inbox (committed by another replica, which
// left them to this claim), or gives the claim up if there are none. keep
// reports whether the claim is still held.
func (d *Dispatcher) release(ctx context.Context, chat int64) (more []store.InboxUpdate, keep bool) {
	for ctx.Err() == nil {
		// Every pending update of the chat, not only those after the
		// last one handled: ReleaseChat refuses while any is pending, so
		// one missed here would spin this loop.
		ups, err := store.ChatPendingUpdates(ctx, d.db.R, chat, 0, 100)
		if err != nil {
			return nil, true // the claim expires on its own if this lasts
		}
		if len(ups) > 0 {
			return ups, true
		}
		released, err := store.ReleaseChat(ctx, d.db, chat, d.cfg.Replica)
		if err != nil {
			return nil, true
		}
		if released {
			return nil, false
		}
		// An update arrived between the read and the release: read again.
	}
	return nil, true
}

// keepClaims renews this replica's chat claims and queues the pending
// updates of chats nobody holds (a dead replica's), until ctx ends; then
// it gives the claims up so other replicas take the chats at once.
func (d *Dispatcher) keepClaims(ctx context.Context) {
	renew := time.NewTicker(d.cfg.ClaimTTL / 3)
	defer renew.Stop()
	scan := time.NewTicker(d.cfg.ScanEvery)
	defer scan.Stop()
	for {
		select {
		case <-ctx.Done():
			// Handlers in flight are fenced: a chat taken over meanwhile
			// just loses their commit, which stays pending for its holder.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = store.ReleaseChatClaims(rctx, d.db, d.cfg.Replica)
			cancel()
			return
		case <-renew.C:
			if _, err := store.RenewChatClaims(ctx, d.db, d.cfg.Replica, d.cfg.Now().Add(d.cfg.ClaimTTL)); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("cannot renew this replica's chat claims", "err", err)
			}
		case <-scan.C:
			d.scanUnclaimed(ctx)
		}
	}
}

// scanUnclaimed queues the pending updates of chats no replica holds.
func (d *Dispatcher) scanUnclaimed(ctx context.Context) {
	chats, err := store.UnclaimedChats(ctx, d.db.R, d.cfg.Now(), 100)
	if err != nil {
		return
	}
	for _, chat := range chats {
		ups, err := store.ChatPendingUpdates(ctx, d.db.R, chat, 0, 100)
		if err != nil {
			return
		}
		d.Add(ups)
	}
}

// process handles one update and reports whether it must be retried
// because its outcome could not be recorded.
func (d *Dispatcher) process(ctx context.Context, row store.InboxUpdate) outcome {
	log := d.cfg.Logger.With("update_id", row.UpdateID, "chat_id", row.ChatID, "kind", row.Kind)
	var up models.Update
	u := &Update{Update: &up, ID: row.UpdateID, ChatID: row.ChatID, UserID: row.UserID, Kind: row.Kind, db: d.db, now: d.cfg.Now}
	if d.cfg.Replica != "" {
		u.fence = func(ctx context.Context, tx *sql.Tx) error {
			return store.FenceChat(ctx, tx, row.ChatID, d.cfg.Replica, d.cfg.Now().Add(d.cfg.ClaimTTL))
		}
	}
	if err := json.Unmarshal(row.Payload, &up); err != nil {
		log.Error("stored update cannot be decoded; marking it done", "err", err)
		return d.markFailed(ctx, u, err, false)
	}
	start := time.Now()
	err := d.safeHandle(ctx, u)
	if d.cfg.Observe != nil {
		d.cfg.Observe(u, time.Since(start), err)
	}
	switch {
	case err == nil && u.committed:
		return outcomeDone
	case err == nil:
		if cerr := u.Commit(ctx, nil); cerr != nil {
			if errors.Is(cerr, store.ErrClaimLost) {
				return outcomeLost
			}
			log.Error("cannot mark update done; will retry", "err", cerr)
			return outcomeRetry
		}
		return outcomeDone
	case ctx.Err() != nil:
		// Shutting down: the update stays pending and runs again next start.
		return outcomeRetry
	case u.committed:
		log.Error("handler failed after committing its effects", "err", err)
		return outcomeDone
	case errors.Is(err, store.ErrClaimLost):
		// Another replica took the chat over (this one was too slow to
		// renew): its effects were not committed; the holder handles it.
		log.Warn("the chat was taken over by another replica; leaving the update to it")
		return outcomeLost
	case store.IsUnavailable(err):
		// The database could not take the write (a full disk, an I/O
		// error, a lock held too long): not the update's fault, so it is
		// neither failed nor apologised for; it stays pending, its chat
		// waits, and it runs again once the database writes again.
		log.Warn("the database cannot take this update's writes; it stays pending and runs again", "err", err)
		return outcomeRetry
	}
	log.Error("handler failed; apologising and marking the update done", "err", err, "command", u.Command)
	return d.markFailed(ctx, u, err, true)
}

// markFailed records the failure (and, if apologise, the apology) so that a
// poison update can neither wedge its chat nor loop.
func (d *Dispatcher) markFailed(ctx context.Context, u *Update, cause error, apologise bool) outcome {
	mark := func(tx *sql.Tx) error {
		if u.fence != nil {
			if err := u.fence(ctx, tx); err != nil {
				return err
			}
		}
		ok, err := store.MarkUpdateDone(ctx, tx, u.ID, truncate(cause.Error(), 1000), d.cfg.Now())
		if err != nil {
			return err
		}
		if !ok {
			return errAlreadyDone
		}
		return nil
	}
	if apologise {
		err := d.db.Tx(ctx, func(tx *sql.Tx) error {
			if err := mark(tx); err != nil {
				return err
			}
			return d.h.Failed(ctx, tx, u, cause)
		})
		switch {
		case err == nil || errors.Is(err, errAlreadyDone):
			return outcomeDone
		case errors.Is(err, store.ErrClaimLost):
			return outcomeLost
		case store.IsUnavailable(err):
			// Marking it done without the apology would leave the user
			// unanswered for a passing database fault: try again later.
			d.cfg.Logger.Error("cannot record the failed update; will retry", "update_id", u.ID, "err", err)
			return outcomeRetry
		}
		d.cfg.Logger.Error("cannot enqueue the apology; marking the update done without it", "update_id", u.ID, "err", err)
	}
	if err := d.db.Tx(ctx, mark); err != nil && !errors.Is(err, errAlreadyDone) {
		if errors.Is(err, store.ErrClaimLost) {
			return outcomeLost
		}
		d.cfg.Logger.Error("cannot record the failed update; will retry", "update_id", u.ID, "err", err)
		return outcomeRetry
	}
	return outcomeDone
}

// safeHandle turns a handler panic into an error carrying the stack.
func (d *Dispatcher) safeHandle(ctx context.Context, u *Update) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			d.cfg.Logger.Error("handler panicked", "update_id", u.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	return d.h.Handle(ctx, u)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
