package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// On-commit hooks.
//
// A caller that needs something to happen once its own work is durable
// (the outbox wakes its sender after an Enqueue) marks its transaction
// with OnCommit. The hook runs after the COMMIT that made that caller's
// work durable, and only then: not after other transactions, not after a
// group-commit member that was rolled back to its savepoint, not after an
// attempt that Tx retries (the retry registers it again).
//
// Callers hold only a *sql.Tx, so the hook travels the way statements do:
// OnCommit executes a marker statement whose argument is the hook, and the
// writer connection (stmtcache.go's cachingConn) keeps it in its DB's
// collector instead of sending it to SQLite.

// onCommitMarker is the statement text that carries a hook to the writer
// connection; it never reaches SQLite.
const onCommitMarker = "-- store: on commit"

// commitHook is a hook on its way through database/sql to the connection.
type commitHook func()

// ErrNotWriter is returned by OnCommit for a transaction that is not one
// of a DB's write transactions (the read pool, another driver).
var ErrNotWriter = errors.New("store: OnCommit needs a transaction of DB.Tx")

// OnCommit registers f to run once tx commits, if the work of the caller
// that registered it commits with it. f must not block (it runs on the
// committing goroutine) and must not use the database synchronously.
func OnCommit(ctx context.Context, tx *sql.Tx, f func()) error {
	return mark(ctx, tx, commitHook(f))
}

// mark sends a hook (commitHook or wakeName) to tx's connection.
func mark(ctx context.Context, tx *sql.Tx, hook any) error {
	_, err := tx.ExecContext(ctx, onCommitMarker, hook)
	if err != nil && !errors.Is(err, ErrNotWriter) {
		// Not our connection: database/sql refused the hook argument.
		return fmt.Errorf("%w: %w", ErrNotWriter, err)
	}
	return err
}

// Wake is OnCommit for the hook registered under name by DB.SetWaker
// (nothing if none is): how a package function that holds only the
// transaction (outbox.Enqueue) wakes the long-lived worker that consumes
// its rows (the outbox's sender).
func Wake(ctx context.Context, tx *sql.Tx, name string) error {
	return mark(ctx, tx, wakeName(name))
}

// wakeName is Wake's argument on its way to the connection.
type wakeName string

// SetWaker registers f to run after the commit of every transaction that
// called Wake with name, replacing an earlier f for that name (nil removes
// it). It is wiring: outbox.NewSender registers its Notify.
func (db *DB) SetWaker(name string, f func()) {
	h := db.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wakers == nil {
		h.wakers = map[string]func(){}
	}
	if f == nil {
		delete(h.wakers, name)
		return
	}
	h.wakers[name] = f
}

// commitHooks collects the hooks registered on one DB's writer connection.
// runGroup takes them after each member: kept for the commit if the member
// succeeded, discarded if it was rolled back.
type commitHooks struct {
	mu     sync.Mutex
	fs     []func()
	wakers map[string]func() // SetWaker
	// wakersFrom, if set, is where SetWaker's registry lives: a
	// PostgreSQL connection collects its own transaction's hooks but
	// shares its DB's wakers.
	wakersFrom *commitHooks
}

func (h *commitHooks) add(f func()) {
	h.mu.Lock()
	h.fs = append(h.fs, f)
	h.mu.Unlock()
}

// take returns the hooks collected since the last take and forgets them.
func (h *commitHooks) take() []func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	fs := h.fs
	h.fs = nil
	return fs
}

// execMarker is the connection's handling of the marker statement.
func (h *commitHooks) execMarker(args []driver.NamedValue) (driver.Result, error) {
	if h == nil || len(args) != 1 {
		return nil, ErrNotWriter
	}
	switch v := args[0].Value.(type) {
	case commitHook:
		if v != nil {
			h.add(v)
		}
	case wakeName:
		if f := h.waker(string(v)); f != nil {
			h.add(f)
		}
	default:
		return nil, ErrNotWriter
	}
	return driver.RowsAffected(0), nil
}

// waker is the function SetWaker registered under name (nil if none),
// from the DB's registry.
func (h *commitHooks) waker(name string) func() {
	if h.wakersFrom != nil {
		h = h.wakersFrom
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wakers[name]
}

// wakeNamed runs the waker registered under name, if any, now.
func (h *commitHooks) wakeNamed(name string) {
	if f := h.waker(name); f != nil {
		f()
	}
}

// wakeAll runs every registered waker now.
func (h *commitHooks) wakeAll() {
	h.mu.Lock()
	fs := make([]func(), 0, len(h.wakers))
	for _, f := range h.wakers {
		fs = append(fs, f)
	}
	h.mu.Unlock()
	for _, f := range fs {
		f()
	}
}
