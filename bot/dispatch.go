package bot

import (
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
	d := &Dispatcher{db: db, h: h, cfg: cfg, queues: map[int64][]store.InboxUpdate{}, queued: map[int64]bool{}}
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
	<-ctx.Done()
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
		d.mu.Unlock()

		retry := d.process(ctx, head)

		d.mu.Lock()
		if !retry {
			q := d.queues[chat][1:]
			if len(q) == 0 {
				delete(d.queues, chat)
				delete(d.queued, chat)
				d.mu.Unlock()
				continue
			}
			d.queues[chat] = q
		}
		if retry {
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
		// Round-robin: a chat with a long backlog goes to the back.
		d.ready = append(d.ready, chat)
		d.cond.Signal()
		d.mu.Unlock()
	}
}

// process handles one update and reports whether it must be retried
// because its outcome could not be recorded.
func (d *Dispatcher) process(ctx context.Context, row store.InboxUpdate) (retry bool) {
	log := d.cfg.Logger.With("update_id", row.UpdateID, "chat_id", row.ChatID, "kind", row.Kind)
	var up models.Update
	if err := json.Unmarshal(row.Payload, &up); err != nil {
		log.Error("stored update cannot be decoded; marking it done", "err", err)
		return d.markFailed(ctx, &Update{Update: &up, ID: row.UpdateID, ChatID: row.ChatID, db: d.db, now: d.cfg.Now}, err, false)
	}
	u := &Update{Update: &up, ID: row.UpdateID, ChatID: row.ChatID, UserID: row.UserID, Kind: row.Kind, db: d.db, now: d.cfg.Now}
	start := time.Now()
	err := d.safeHandle(ctx, u)
	if d.cfg.Observe != nil {
		d.cfg.Observe(u, time.Since(start), err)
	}
	switch {
	case err == nil && u.committed:
		return false
	case err == nil:
		if cerr := u.Commit(ctx, nil); cerr != nil {
			log.Error("cannot mark update done; will retry", "err", cerr)
			return true
		}
		return false
	case ctx.Err() != nil:
		// Shutting down: the update stays pending and runs again next start.
		return true
	case u.committed:
		log.Error("handler failed after committing its effects", "err", err)
		return false
	case store.IsUnavailable(err):
		// The database could not take the write (a full disk, an I/O
		// error, a lock held too long): not the update's fault, so it is
		// neither failed nor apologised for; it stays pending, its chat
		// waits, and it runs again once the database writes again.
		log.Warn("the database cannot take this update's writes; it stays pending and runs again", "err", err)
		return true
	}
	log.Error("handler failed; apologising and marking the update done", "err", err, "command", u.Command)
	return d.markFailed(ctx, u, err, true)
}

// markFailed records the failure (and, if apologise, the apology) so that a
// poison update can neither wedge its chat nor loop.
func (d *Dispatcher) markFailed(ctx context.Context, u *Update, cause error, apologise bool) (retry bool) {
	mark := func(tx *sql.Tx) error {
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
		if err == nil || errors.Is(err, errAlreadyDone) {
			return false
		}
		if store.IsUnavailable(err) {
			// Marking it done without the apology would leave the user
			// unanswered for a passing database fault: try again later.
			d.cfg.Logger.Error("cannot record the failed update; will retry", "update_id", u.ID, "err", err)
			return true
		}
		d.cfg.Logger.Error("cannot enqueue the apology; marking the update done without it", "update_id", u.ID, "err", err)
	}
	if err := d.db.Tx(ctx, mark); err != nil && !errors.Is(err, errAlreadyDone) {
		d.cfg.Logger.Error("cannot record the failed update; will retry", "update_id", u.ID, "err", err)
		return true
	}
	return false
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
