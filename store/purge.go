package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Housekeeping: purges that never stall the writer.
//
// A retention purge of a big table as one DELETE holds the single writer
// for as long as it takes to delete every old row (seconds for a million
// ledger rows) while every update waits behind it. PurgeBatched deletes
// instead in steps: short write transactions, each through Tx like any
// other write. Then it gives the freed pages back to the file system
// (incremental auto_vacuum) in steps of the same kind. One loop, steps,
// runs both:
//
//   - a step's size (rows, pages) follows how long the last one ran,
//     aiming at stepTarget, so a step stays short on a slow disk or a
//     busy machine (moving a page near the end of the file can cost far
//     more than deleting a row);
//   - after each step the write-ahead log is checkpointed from a reader
//     connection: a checkpoint does not need the writer, whereas the
//     automatic one runs inside whichever COMMIT finds the log long, and
//     a purge writes the log fast;
//   - between steps it pauses for as long as the last one ran, so updates
//     go in between and the purge takes at most about half the writer.

const (
	// defaultPurgeBatch is Options.PurgeBatch's default.
	defaultPurgeBatch = 500
	// stepTarget is how long one step should hold the writer: well under
	// the 50 ms an update may wait for it, as a step's time varies a lot
	// with the machine's load.
	stepTarget = 5 * time.Millisecond
	// firstReclaimStep and maxReclaimStep are the pages the first
	// incremental_vacuum step frees, and the most any step does.
	firstReclaimStep, maxReclaimStep = 64, 500
)

// BatchDelete is one purge statement for PurgeBatched: a DELETE of at most
// as many rows as its last parameter, which PurgeBatched appends to Args,
// selected through an index so that each batch finds its rows without a
// scan:
//
//	DELETE FROM t WHERE id IN (SELECT id FROM t WHERE created_at < ? LIMIT ?)
//
// (by the table's key: PostgreSQL has no rowid).
type BatchDelete struct {
	Query string
	Args  []any
}

// PurgeBatched runs each statement in turn, batch after batch of at most
// Options.PurgeBatch rows (the first batch of each exactly that many),
// until a batch deletes fewer rows than it was allowed, and returns how
// many rows each deleted. Each batch is its own
// write transaction (see the steps above). It stops when ctx ends,
// returning what was deleted so far with ctx's error. Afterwards, if it
// deleted anything, it gives the freed pages back (ReclaimFreePages).
func (db *DB) PurgeBatched(ctx context.Context, dels ...BatchDelete) ([]int64, error) {
	counts := make([]int64, len(dels))
	var deleted bool
	for i, d := range dels {
		n, err := db.steps(ctx, db.opts.PurgeBatch, db.opts.PurgeBatch, func(tx *sql.Tx, limit int) (int64, bool, error) {
			res, err := tx.ExecContext(ctx, d.Query, append(append([]any(nil), d.Args...), limit)...)
			if err != nil {
				return 0, false, err
			}
			n, err := res.RowsAffected()
			return n, n == int64(limit), err
		})
		counts[i] = n
		deleted = deleted || n > 0
		if err != nil {
			return counts, err
		}
	}
	if deleted {
		if _, err := db.ReclaimFreePages(ctx); err != nil {
			return counts, err
		}
	}
	return counts, nil
}

// ReclaimFreePages gives the database's free pages back to the file
// system in steps (see above) and returns how many it gave back. It does
// nothing on a database whose auto_vacuum is not INCREMENTAL
// (IncrementalVacuum tells; see EnableIncrementalVacuum). The file itself
// shrinks at the checkpoint after the last step.
func (db *DB) ReclaimFreePages(ctx context.Context) (int64, error) {
	if on, err := db.IncrementalVacuum(ctx); err != nil || !on {
		return 0, err
	}
	return db.steps(ctx, firstReclaimStep, maxReclaimStep, func(tx *sql.Tx, pages int) (int64, bool, error) {
		var before, after int64
		if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&before); err != nil || before == 0 {
			return 0, false, err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, pages)); err != nil {
			return 0, false, err
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&after); err != nil {
			return 0, false, err
		}
		return before - after, after > 0 && after < before, nil
	})
}

// steps runs step in write transactions until it reports no more to do,
// and returns the sum of what the committed steps did (a step retried by
// Tx counts once),
// passing each the size it may work on: first, then sized after the last
// one's time to aim at stepTarget, between 1 and limit, shrinking at once
// and growing by at most a quarter a step. Between
// steps it checkpoints the write-ahead log from a reader and pauses.
func (db *DB) steps(ctx context.Context, first, limit int, step func(tx *sql.Tx, size int) (done int64, more bool, err error)) (int64, error) {
	size := first
	var total int64
	for {
		var n int64
		var more bool
		var ran time.Duration
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			start := time.Now()
			n, more, err = step(tx, size)
			ran = time.Since(start)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
		if ran > 0 {
			next := int64(size) * int64(stepTarget) / int64(ran)
			size = int(min(max(1, next), int64(size)+int64(size)/4+1, int64(limit)))
		}
		if err := db.checkpoint(ctx); err != nil {
			return total, err
		}
		if err := pause(ctx, ran); err != nil {
			return total, err
		}
	}
}

// IncrementalVacuum reports whether the database's auto_vacuum mode is
// INCREMENTAL, so that freed pages can be given back. It asks the writer
// connection: a reader opened before a switch may still see the old mode.
// On PostgreSQL it reports false, so ReclaimFreePages does nothing.
func (db *DB) IncrementalVacuum(ctx context.Context) (bool, error) {
	if db.pg {
		return false, nil // PostgreSQL's autovacuum reuses freed space itself
	}
	var mode int
	if err := db.W.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return false, fmt.Errorf("database %s: reading auto_vacuum: %w", db.path, err)
	}
	return mode == 2, nil
}

// EnableIncrementalVacuum switches a database created before rsvpbot set
// auto_vacuum (new databases get it from Open) to INCREMENTAL, which takes
// one VACUUM: a rewrite of the whole file that holds the writer throughout
// and needs as much free disk again as the file's size. So it is never
// done by the bot itself: `rsvpbot migrate` does it while no bot holds the
// database. It reports whether it converted anything: never on
// PostgreSQL.
func (db *DB) EnableIncrementalVacuum(ctx context.Context) (bool, error) {
	if db.pg {
		return false, nil // nothing to convert: see IncrementalVacuum
	}
	if on, err := db.IncrementalVacuum(ctx); err != nil || on {
		return false, err
	}
	// VACUUM cannot run inside a transaction: the writer pool's one
	// connection runs both statements on its own.
	if _, err := db.W.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return false, err
	}
	if _, err := db.W.ExecContext(ctx, `VACUUM`); err != nil {
		return false, err
	}
	return true, nil
}

// newFileVacuum makes a new database give freed pages back in steps
// (ReclaimFreePages). Open calls it on a file with no tables yet, where
// the switch (auto_vacuum, then the VACUUM that applies it to a file the
// WAL pragma already wrote) costs nothing. Setting it on every connection
// instead would write the file's header at every open. An older file is
// switched by EnableIncrementalVacuum.
func (db *DB) newFileVacuum(ctx context.Context) error {
	var tables int
	if err := db.W.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil || tables > 0 {
		return err
	}
	_, err := db.EnableIncrementalVacuum(ctx)
	return err
}

// pause waits for d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
