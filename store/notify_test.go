package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// A transaction that calls Wake on one replica wakes the worker registered
// under that name on another (LISTEN/NOTIFY), once it commits; a rolled
// back one wakes nobody.
func TestWakeReachesOtherReplicas(t *testing.T) {
	url := storetest.Postgres(t, "wake")
	ctx := context.Background()
	a, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	woken := make(chan struct{}, 16)
	b.SetWaker("outbox", func() { woken <- struct{}{} })
	// Once a committed Wake has come through, b's listener is up (it also
	// runs every waker once when it connects): drain what came so far.
	if err := a.Tx(ctx, func(tx *sql.Tx) error { return Wake(ctx, tx, "outbox") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("the other replica's listener never heard a committed Wake")
	}
	time.Sleep(300 * time.Millisecond)
	for len(woken) > 0 {
		<-woken
	}
	errRollback := context.Canceled
	if err := a.Tx(ctx, func(tx *sql.Tx) error {
		if err := Wake(ctx, tx, "outbox"); err != nil {
			return err
		}
		return errRollback
	}); err != errRollback {
		t.Fatal(err)
	}
	select {
	case <-woken:
		t.Fatal("a rolled back transaction woke the other replica")
	case <-time.After(300 * time.Millisecond):
	}
	if err := a.Tx(ctx, func(tx *sql.Tx) error { return Wake(ctx, tx, "outbox") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the other replica was not woken")
	}
}
