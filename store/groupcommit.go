package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit.
//
// Every handled update is one write transaction, and on this kind of
// machine the commit itself (the WAL frames written) costs as much as the
// work inside. Writers are serialised on one connection anyway, so
// transactions that arrive while another is running are run together: one
// BEGIN IMMEDIATE, each caller's fn in its own SAVEPOINT, one COMMIT. A fn
// that fails or panics is rolled back to its savepoint alone, so every
// caller still gets all-or-nothing for its own fn, and no caller returns
// before the COMMIT that made its work durable. With no concurrency a batch
// is one transaction, exactly as before.
//
// There is no background goroutine: the first caller to find the writer
// idle leads; it runs batches from the queue until its own request is
// done, then hands the lead to the oldest waiting request.

// maxGroup bounds a batch, so one COMMIT does not wait on too many fns.
const maxGroup = 32

type groupCommit struct {
	mu      sync.Mutex
	queue   []*txRequest
	leading bool

	// Background checkpoints (noteCommit).
	sinceCheckpoint int  // commits since the last checkpoint began
	checkpointing   bool // one is running
	closed          bool // Close began: start no more
	checkpoints     sync.WaitGroup
}

type txRequest struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan txResult // buffered: the leader never blocks on it
}

type txResult struct {
	lead     bool // not a result: this request leads now
	err      error
	panicked any
}

// errGroupAborted is the outcome of a member whose work was rolled back
// with the rest of its batch through no fault of its own (the commit
// failed, or SQLite rolled the whole transaction back when another
// member's statement was interrupted or hit an I/O error). Tx runs such a
// member again.
var errGroupAborted = errors.New("store: the transaction was rolled back with others of its group")

// tx1 runs fn once, in a group with whatever other transactions are
// waiting, and returns its outcome.
func (db *DB) tx1(ctx context.Context, fn func(tx *sql.Tx) error) error {
	req := &txRequest{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	g := &db.group
	g.mu.Lock()
	g.queue = append(g.queue, req)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	for {
		if lead {
			db.lead()
		}
		r := <-req.done
		if r.lead {
			lead = true
			continue
		}
		if r.panicked != nil {
			panic(r.panicked)
		}
		return r.err
	}
}

// lead runs one batch from the front of the queue, then hands the lead to
// the oldest waiting request (or gives it up). The hand-off is deferred so
// that it happens even if a member's fn ends its goroutine
// (runtime.Goexit, as t.FailNow does): otherwise every later Tx would wait
// for a leader that is gone.
func (db *DB) lead() {
	g := &db.group
	defer func() {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.leading = false
		} else {
			g.queue[0].done <- txResult{lead: true}
		}
		g.mu.Unlock()
	}()
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	db.runGroup(batch)
}

// runGroup runs a batch in one transaction and answers every member.
// Until a member's outcome is known its result is errGroupAborted, which
// Tx retries; so a member that never ran, or whose work was rolled back
// with the others', runs again rather than failing.
func (db *DB) runGroup(batch []*txRequest) {
	results := make([]txResult, len(batch))
	for i := range results {
		results[i].err = errGroupAborted
	}
	defer func() {
		for i, req := range batch {
			req.done <- results[i]
		}
	}()
	if f := db.opts.ObserveHold; f != nil {
		start := time.Now()
		defer func() { f(time.Since(start)) }()
	}
	// The transaction outlives any one caller's context: a caller that
	// gives up must not roll back the others (database/sql rolls a
	// transaction back when its context ends).
	tx, err := db.W.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i].err = err
		}
		return
	}
	finished := false
	defer func() {
		if !finished {
			tx.Rollback() // a member's fn ended the goroutine: free the writer
		}
	}()
	committed := 0
	db.hooks.take()    // hooks left by a transaction that did not go through here
	var hooks []func() // of the members that succeeded: run after the COMMIT
	broken := false
	var brokenErr error
	// A lone member needs no savepoint: if it fails, the whole (its own)
	// transaction is rolled back.
	alone := len(batch) == 1
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if alone {
			if results[i] = runMember(tx, req); results[i].err == nil && results[i].panicked == nil {
				committed++
				hooks = db.hooks.take()
			}
			break
		}
		if _, err := tx.ExecContext(context.Background(), "SAVEPOINT member"); err != nil {
			broken, brokenErr = true, err // this member never ran: it keeps errGroupAborted
			break
		}
		results[i] = runMember(tx, req)
		failed := results[i].err != nil || results[i].panicked != nil
		if err := endMember(tx, failed); err != nil {
			// SQLite rolled the whole transaction back (an interrupted
			// statement, an I/O error): everyone else's work went too.
			broken, brokenErr = true, err
			break
		}
		if mine := db.hooks.take(); !failed {
			committed++
			hooks = append(hooks, mine...)
		}
	}
	finished = true
	// A member whose statement could not write the file (a full disk, an
	// I/O error) is a failed write for readiness, as a failed COMMIT is.
	if isStorageFault(brokenErr) {
		db.noteWrite(brokenErr)
	} else {
		for _, r := range results {
			if isStorageFault(r.err) {
				db.noteWrite(r.err)
				break
			}
		}
	}
	switch {
	case broken:
		tx.Rollback()
		for i := range results {
			if results[i].err == nil && results[i].panicked == nil {
				results[i].err = errGroupAborted
			}
		}
	case committed == 0:
		tx.Rollback()
	default:
		err := db.commit(tx)
		db.noteWrite(err)
		if err != nil {
			for i := range results {
				if results[i].err == nil && results[i].panicked == nil {
					results[i].err = fmt.Errorf("%w: commit: %w", errGroupAborted, err)
				}
			}
			return
		}
		for _, f := range hooks {
			f()
		}
		db.noteCommit()
	}
}

// commit commits tx, unless Options.CommitFault fails it first.
func (db *DB) commit(tx *sql.Tx) error {
	if f := db.opts.CommitFault; f != nil {
		if err := f(); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// runMember runs one caller's fn, turning a panic into a result so that
// the leader survives it and the caller re-raises it.
func runMember(tx *sql.Tx, req *txRequest) (res txResult) {
	defer func() {
		if p := recover(); p != nil {
			res = txResult{panicked: p}
		}
	}()
	return txResult{err: req.fn(tx)}
}

// endMember releases a member's savepoint, first rolling back to it if the
// member failed.
func endMember(tx *sql.Tx, failed bool) error {
	if failed {
		if _, err := tx.ExecContext(context.Background(), "ROLLBACK TO member"); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(context.Background(), "RELEASE member")
	return err
}

// Checkpoints off the commit path.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies
// them back into the database file and fsyncs both (with
// synchronous=NORMAL, the only fsyncs there are). By default SQLite runs
// that checkpoint inside the COMMIT that takes the log past 1,000 pages,
// so about one handled update in forty waited for two fsyncs: 5–40 ms on a
// shared disk, the bulk of the reply path's p99 (docs/benchmarks.md, "The
// reply path against a plain go-telegram/bot handler").
//
// So every checkpointEvery commits a PASSIVE checkpoint runs in the
// background on a reader connection (query_only forbids changes, not
// checkpoints). A passive checkpoint never blocks the writer, which goes on
// appending meanwhile, and the log restarts from its beginning at the
// first write after a checkpoint that caught up. The writer's own
// automatic checkpoint stays as a safety net at walSafetyNet pages (dsn),
// for a log that grows faster than the background keeps up (a long
// burst). Durability is unchanged: the same fsyncs, at least as often, and
// a commit is exactly as durable as before.
const (
	checkpointEvery = 100
	walSafetyNet    = 4000
)

// noteCommit counts a commit and starts a background checkpoint when one
// is due and none is running. Called by the leader after a COMMIT.
func (db *DB) noteCommit() {
	g := &db.group
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sinceCheckpoint++
	if g.sinceCheckpoint < checkpointEvery || g.checkpointing || g.closed {
		return
	}
	g.sinceCheckpoint = 0
	g.checkpointing = true
	g.checkpoints.Add(1)
	go func() {
		defer g.checkpoints.Done()
		// A failure (the file is busy with a backup, the disk is full) is
		// left to the next checkpoint, or the writer's safety net.
		_ = db.checkpoint(context.Background())
		g.mu.Lock()
		g.checkpointing = false
		g.mu.Unlock()
	}()
}

// checkpoint copies what it can of the write-ahead log into the database
// file without waiting for the writer or readers (PASSIVE), on a reader
// connection, so that no COMMIT has to. Batched purges call it between
// their steps too.
func (db *DB) checkpoint(ctx context.Context) error {
	if db.pg {
		return nil // PostgreSQL checkpoints itself
	}
	var busy, logged, copied int
	if err := db.R.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied); err != nil {
		return fmt.Errorf("database %s: checkpoint: %w", db.path, err)
	}
	return nil
}

// stopCheckpoints waits for a background checkpoint in progress and
// starts no more (Close).
func (db *DB) stopCheckpoints() {
	g := &db.group
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.checkpoints.Wait()
}
