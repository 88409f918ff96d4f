package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Leases: one replica at a time holds a role.
//
// Several replicas of the bot on one PostgreSQL database share the work,
// but some of it must have exactly one doer: getUpdates admits one
// consumer per token, Telegram's flood limits are per token so one
// process must pace the sends, and housekeeping should not run N times.
// Such a role is a lease (the leader election of River, riverqueue/river):
// a row (name, holder, term, expires_at) taken with one upsert when it is
// free, expired or already the taker's, renewed by its holder every
// LeaseConfig.Every, and lost when the holder stops renewing it for TTL.
//
// The holder trusts its lease until TTL after the start of its last
// successful renewal, by its own clock; every other replica waits until
// expires_at by the database's row, written from the holder's clock at
// that same start. So, with clocks in step, the old holder has stopped
// before a new one starts. Each change of holder gets a new term, and a
// holder's writes that must not outlive its lease check it in their own
// transaction (FenceLease), which on PostgreSQL also blocks a takeover
// until they commit.

// LeaseState is a lease's row.
type LeaseState struct {
	Name     string
	Holder   string
	Term     int64
	Acquired time.Time
	Expires  time.Time
}

// AcquireLease takes or renews the lease name for holder until now+ttl,
// if it is free, expired or holder's already; it returns the term held
// (a new one whenever the holder changes or its lease had lapsed) and
// false if another holder has it.
func AcquireLease(ctx context.Context, db *DB, name, holder string, ttl time.Duration, now time.Time) (term int64, held bool, err error) {
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
INSERT INTO leases (name, holder, term, acquired_at, expires_at) VALUES (?1, ?2, 1, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET
    term        = CASE WHEN leases.holder = excluded.holder AND leases.expires_at >= ?3 THEN leases.term ELSE leases.term + 1 END,
    acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at >= ?3 THEN leases.acquired_at ELSE excluded.acquired_at END,
    holder      = excluded.holder,
    expires_at  = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at < ?3
RETURNING term`, name, holder, Millis(now), Millis(now.Add(ttl))).Scan(&term)
		if errors.Is(err, sql.ErrNoRows) {
			term, err = 0, nil
		}
		return err
	})
	return term, term > 0, err
}

// ReleaseLease gives up holder's lease name at once, so another replica
// takes it without waiting for it to expire.
func ReleaseLease(ctx context.Context, db *DB, name, holder string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}

// ErrLeaseLost is FenceLease's answer when the lease has another holder
// or term, or lapsed: the caller's transaction must not commit.
var ErrLeaseLost = errors.New("store: the lease was lost")

// FenceLease checks, inside tx, that holder still holds lease name in
// term at now; on PostgreSQL it also locks the row in share mode, so a
// takeover waits until tx ends. Writes only the lease holder may make
// call it first.
func FenceLease(ctx context.Context, db *DB, tx *sql.Tx, name, holder string, term int64, now time.Time) error {
	q := `SELECT 1 FROM leases WHERE name = ? AND holder = ? AND term = ? AND expires_at >= ?`
	if db.pg {
		q += ` FOR SHARE`
	}
	var one int
	err := tx.QueryRowContext(ctx, q, name, holder, term, Millis(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lease %s, term %d: %w", name, term, ErrLeaseLost)
	}
	return err
}

// fenceKey carries a fence in a context (WithFence).
type fenceKey struct{}

// Fence is a check a write transaction runs first (FenceLease of a lease).
type Fence func(ctx context.Context, tx *sql.Tx) error

// WithFence returns ctx whose write transactions (DB.Tx) each run fence
// first: work done on behalf of a lease holder passes it down, and every
// write it makes, through whichever package, commits only while the lease
// is still held. A fence that fails (ErrLeaseLost) fails the transaction.
func WithFence(ctx context.Context, fence Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, fence)
}

// fenced wraps fn in ctx's fence, if it carries one.
func fenced(ctx context.Context, fn func(tx *sql.Tx) error) func(tx *sql.Tx) error {
	fence, _ := ctx.Value(fenceKey{}).(Fence)
	if fence == nil {
		return fn
	}
	return func(tx *sql.Tx) error {
		if err := fence(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	}
}

// Fenced returns ctx with this lease's fence (WithFence): the holder's
// writes under it commit only in the term it holds now.
func (l *Lease) Fenced(ctx context.Context) context.Context {
	return WithFence(ctx, func(ctx context.Context, tx *sql.Tx) error {
		term, ok := l.Held()
		if !ok {
			return fmt.Errorf("lease %s: %w", l.name, ErrLeaseLost)
		}
		return FenceLease(ctx, l.db, tx, l.name, l.holder, term, l.db.Now())
	})
}

// Leases lists every lease row, by name (for /readyz and metrics).
func Leases(ctx context.Context, q Querier) ([]LeaseState, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, holder, term, acquired_at, expires_at FROM leases ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ls []LeaseState
	for rows.Next() {
		var l LeaseState
		var acq, exp int64
		if err := rows.Scan(&l.Name, &l.Holder, &l.Term, &acq, &exp); err != nil {
			return nil, err
		}
		l.Acquired, l.Expires = FromMillis(acq), FromMillis(exp)
		ls = append(ls, l)
	}
	return ls, rows.Err()
}

// LeaseConfig tunes a Lease.
type LeaseConfig struct {
	// Every is how often the lease is bid for or renewed (default 2 s).
	Every time.Duration
	// TTL is how long a bid holds without renewal (default Every + 8 s):
	// how long a dead holder's role stays undone.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// OnChange, if set, hears every gain (held, with its term) and loss.
	OnChange func(held bool, term int64)
}

// Lease keeps bidding for one named lease on behalf of one holder and
// knows whether it holds it now.
type Lease struct {
	db     *DB
	name   string
	holder string
	cfg    LeaseConfig

	mu    sync.Mutex
	term  int64     // 0 while not held
	until time.Time // monotonic: trusted until then
	wake  chan struct{}
	ch    chan struct{} // closed and replaced at every change
	// working counts WhileHeld's work in progress: the lease is released
	// at shutdown only once it has returned (a sender finishing its calls
	// in flight must not overlap the next holder's).
	working int
	idle    chan struct{} // closed when working drops to 0
}

// NewLease makes the bidder for lease name by holder; Run bids.
func NewLease(db *DB, name, holder string, cfg LeaseConfig) *Lease {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = cfg.Every + 8*time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lease{db: db, name: name, holder: holder, cfg: cfg, wake: make(chan struct{}, 1), ch: make(chan struct{})}
}

// Name is the lease's name; Holder the replica bidding.
func (l *Lease) Name() string   { return l.name }
func (l *Lease) Holder() string { return l.holder }

// Held reports the term held now, and whether it is held.
func (l *Lease) Held() (term int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term == 0 || !time.Now().Before(l.until) {
		return 0, false
	}
	return l.term, true
}

// Changed returns a channel closed at the next gain or loss.
func (l *Lease) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ch
}

// Bid asks for a bid at once (another replica resigned: a hint).
func (l *Lease) Bid() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run bids every Every until ctx ends; then, once the work WhileHeld runs
// under the lease has returned (within TTL), it releases the lease if held,
// so another replica takes it at once without overlapping this one.
func (l *Lease) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.drain(context.WithoutCancel(ctx))
			if _, ok := l.Held(); ok {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				if err := ReleaseLease(rctx, l.db, l.name, l.holder); err != nil {
					l.cfg.Logger.Warn("could not release the lease; it expires on its own", "lease", l.name, "err", err)
				}
				cancel()
			}
			l.set(0, time.Time{})
			return nil
		case <-l.wake:
		case <-t.C:
		}
		l.bid(ctx)
		// Bid again sooner when a lapse is near (a failed renewal).
		t.Reset(l.cfg.Every)
	}
}

// drain keeps the lease renewed while the work under it finishes (at
// most TTL).
func (l *Lease) drain(ctx context.Context) {
	deadline := time.Now().Add(l.cfg.TTL)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		working, idle := l.working, l.idle
		l.mu.Unlock()
		if working == 0 {
			return
		}
		select {
		case <-idle:
			return
		case <-time.After(l.cfg.Every):
			if _, ok := l.Held(); ok {
				l.bid(ctx)
			}
		}
	}
}

// busy counts one piece of work under the lease in (+1) or out (-1).
func (l *Lease) busy(delta int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.working == 0 && delta > 0 {
		l.idle = make(chan struct{})
	}
	l.working += delta
	if l.working == 0 {
		close(l.idle)
	}
}

// bid runs one acquire and records the outcome.
func (l *Lease) bid(ctx context.Context) {
	start := time.Now()
	term, held, err := AcquireLease(ctx, l.db, l.name, l.holder, l.cfg.TTL, l.cfg.Now())
	switch {
	case err != nil:
		// Unknown outcome: keep trusting a lease held until its time runs
		// out (set leaves until alone), never beyond.
		l.mu.Lock()
		lapsed := l.term != 0 && !time.Now().Before(l.until)
		l.mu.Unlock()
		if lapsed {
			l.set(0, time.Time{})
		}
		if ctx.Err() == nil {
			l.cfg.Logger.Debug("lease bid failed", "lease", l.name, "err", err)
		}
	case held:
		l.set(term, start.Add(l.cfg.TTL))
	default:
		l.set(0, time.Time{})
	}
}

func (l *Lease) set(term int64, until time.Time) {
	l.mu.Lock()
	changed := term != l.term
	l.term, l.until = term, until
	var old chan struct{}
	if changed {
		old, l.ch = l.ch, make(chan struct{})
	}
	l.mu.Unlock()
	if !changed {
		return
	}
	close(old)
	if term != 0 {
		l.cfg.Logger.Info("lease taken", "lease", l.name, "holder", l.holder, "term", term)
	} else {
		l.cfg.Logger.Info("lease lost or released", "lease", l.name, "holder", l.holder)
	}
	if l.cfg.OnChange != nil {
		l.cfg.OnChange(term != 0, term)
	}
}

// WhileHeld runs f whenever the lease is held, with a context cancelled
// when it is lost (or ctx ends), until ctx ends. f should work until its
// context ends; if it returns earlier (an error, logged) it runs again
// after Every while the lease is still held.
func (l *Lease) WhileHeld(ctx context.Context, what string, f func(ctx context.Context) error) {
	for ctx.Err() == nil {
		ch := l.Changed()
		term, ok := l.Held()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			case <-time.After(l.cfg.Every):
			}
			continue
		}
		hctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Lost: another term, or the trust ran out without a renewal.
			for {
				if t, ok := l.Held(); !ok || t != term {
					cancel()
					return
				}
				select {
				case <-hctx.Done():
					return
				case <-l.Changed():
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
		l.busy(+1)
		err := f(hctx)
		l.busy(-1)
		if err != nil && hctx.Err() == nil {
			l.cfg.Logger.Error("leader work failed", "lease", l.name, "work", what, "err", err)
		}
		select {
		case <-hctx.Done():
		case <-time.After(l.cfg.Every):
		}
		cancel()
		<-done
	}
}
