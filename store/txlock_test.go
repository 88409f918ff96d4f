package store

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"
)

// Two transactions that LockTx one key run one after the other: the second
// takes the lock only once the first has ended; other keys do not wait.
func TestLockTxSerialisesOneKey(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	key := LockKey("test", 1, 2)
	var inside atomic.Int32
	var overlapped atomic.Bool
	done := make(chan error, 3)
	run := func(k int64, hold time.Duration) {
		done <- db.Tx(ctx, func(tx *sql.Tx) error {
			if err := LockTx(ctx, tx, k); err != nil {
				return err
			}
			if k == key {
				if inside.Add(1) > 1 {
					overlapped.Store(true)
				}
				defer inside.Add(-1)
			}
			time.Sleep(hold)
			return nil
		})
	}
	go run(key, 200*time.Millisecond)
	go run(key, 200*time.Millisecond)
	go run(LockKey("test", 3), 0)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if overlapped.Load() {
		t.Fatal("two transactions held one key at once")
	}
	if LockKey("test", 1, 2) == LockKey("test", 2, 1) || LockKey("a", 1) == LockKey("b", 1) {
		t.Fatal("lock keys collide")
	}
}
