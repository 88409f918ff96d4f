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
// instead in short transactions of at most Options.PurgeBatch rows, each
// through Tx like any other write, and pauses between them for as long as
// the last one ran, so updates go in between and the purge takes at most
// about half the writer's time. Then it gives the freed pages back to the
// file system (incremental auto_vacuum) in steps of the same kind.

const (
	// defaultPurgeBatch is Options.PurgeBatch's default: small enough that
	// one batch of ledger rows (the widest purged table, with two indexes)
	// runs in a few milliseconds.
	defaultPurgeBatch = 1000
	// reclaimStep is how many free pages one incremental_vacuum
	// transaction gives back (4 MiB of 4 KiB pages).
	reclaimStep = 1000
)

// BatchDelete is one purge statement for PurgeBatched: a DELETE of at most
// as many rows as its last parameter, which PurgeBatched appends to Args,
// selected through an index so that each batch finds its rows without a
// scan:
//
//	DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE created_at < ? LIMIT ?)
type BatchDelete struct {
	Query string
	Args  []any
}

// PurgeBatched runs each statement in turn, batch after batch, until a
// batch deletes fewer rows than the batch size, and returns how many rows
// each deleted. Each batch is its own write transaction; between them it
// pauses for as long as the last batch ran. It stops when ctx ends,
// returning what was deleted so far with ctx's error. Afterwards, if it
// deleted anything, it reclaims the freed pages (ReclaimFreePages).
func (db *DB) PurgeBatched(ctx context.Context, dels ...BatchDelete) ([]int64, error) {
	counts := make([]int64, len(dels))
	limit := db.opts.PurgeBatch
	var deleted bool
	for i, d := range dels {
		args := append(append([]any(nil), d.Args...), limit)
		for {
			var n int64
			var ran time.Duration
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				start := time.Now()
				defer func() { ran = time.Since(start) }()
				res, err := tx.ExecContext(ctx, d.Query, args...)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return counts, err
			}
			counts[i] += n
			deleted = deleted || n > 0
			if n < int64(limit) {
				break
			}
			if err := pause(ctx, ran); err != nil {
				return counts, err
			}
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
// system, reclaimStep pages per write transaction with a pause after each,
// and returns how many it gave back. It does nothing on a database whose
// auto_vacuum is not INCREMENTAL (IncrementalVacuum tells; see
// EnableIncrementalVacuum). The file itself shrinks at the next
// checkpoint of the write-ahead log.
func (db *DB) ReclaimFreePages(ctx context.Context) (int64, error) {
	var total int64
	for {
		var freed int64
		var ran time.Duration
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			start := time.Now()
			defer func() { ran = time.Since(start) }()
			var mode, before, after int64
			if err := tx.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&before); err != nil {
				return err
			}
			if mode != 2 || before == 0 {
				freed = 0
				return nil
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, reclaimStep)); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&after); err != nil {
				return err
			}
			freed = before - after
			return nil
		})
		if err != nil {
			return total, err
		}
		total += freed
		if freed == 0 {
			return total, nil
		}
		if err := pause(ctx, ran); err != nil {
			return total, err
		}
	}
}

// IncrementalVacuum reports whether the database's auto_vacuum mode is
// INCREMENTAL, so that freed pages can be given back. It asks the writer
// connection: a reader opened before a switch may still see the old mode.
func (db *DB) IncrementalVacuum(ctx context.Context) (bool, error) {
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
// database. It reports whether it converted anything.
func (db *DB) EnableIncrementalVacuum(ctx context.Context) (bool, error) {
	var mode int
	if err := db.W.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode == 2 {
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
