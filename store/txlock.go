package store

import (
	"context"
	"database/sql"
	"hash/fnv"
)

// Transaction locks.
//
// Some decisions span rows that do not exist yet: whether a row joining a
// queue is its head depends on the rows before it, which another
// transaction may be finishing at that moment. On SQLite the single writer
// makes every transaction see the others whole; on PostgreSQL
// transactions run at once, and the ones that make such a decision for the
// same thing take the same lock first (a transaction-scoped advisory lock:
// held until the transaction ends, taken again freely by the same one).

// lockMarker is the statement that carries a LockTx to the connection; it
// never reaches SQLite.
const lockMarker = "-- store: lock"

// lockKey is LockTx's key on its way to the connection.
type lockKey int64

// LockTx makes tx the only transaction holding the lock named by key until
// it ends; others that Lock the same key wait for it. On SQLite (one
// writer) it does nothing.
func LockTx(ctx context.Context, tx *sql.Tx, key int64) error {
	_, err := tx.ExecContext(ctx, lockMarker, lockKey(key))
	return err
}

// LockKey names a lock by its parts (e.g. "outbox line", a chat, a lane).
func LockKey(kind string, ids ...int64) int64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	for _, id := range ids {
		var b [8]byte
		for i := range b {
			b[i] = byte(id >> (8 * i))
		}
		h.Write(b[:])
	}
	return int64(h.Sum64())
}
