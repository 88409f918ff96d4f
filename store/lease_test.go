package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

// One holder at a time; a new term at every change of holder; the old
// holder's writes are fenced off; a release frees the lease at once.
func TestLeaseOneHolderAndFencing(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.UnixMilli(1_800_000_000_000)
	ttl := 10 * time.Second

	termA, held, err := AcquireLease(ctx, db, "leader", "a", ttl, now)
	if err != nil || !held || termA != 1 {
		t.Fatalf("a's first bid = %d, %v, %v; want term 1", termA, held, err)
	}
	if _, held, err := AcquireLease(ctx, db, "leader", "b", ttl, now.Add(time.Second)); err != nil || held {
		t.Fatalf("b took a live lease: %v, %v", held, err)
	}
	if term, held, _ := AcquireLease(ctx, db, "leader", "a", ttl, now.Add(5*time.Second)); !held || term != termA {
		t.Fatalf("a's renewal = %d, %v; want the same term %d", term, held, termA)
	}
	fence := func(holder string, term int64, at time.Time) error {
		return db.Tx(ctx, func(tx *sql.Tx) error { return FenceLease(ctx, db, tx, "leader", holder, term, at) })
	}
	if err := fence("a", termA, now.Add(6*time.Second)); err != nil {
		t.Fatalf("a's fence while holding: %v", err)
	}
	// a stops renewing: b takes over once the renewal's TTL has passed.
	if _, held, _ := AcquireLease(ctx, db, "leader", "b", ttl, now.Add(14*time.Second)); held {
		t.Fatal("b took the lease before it expired")
	}
	termB, held, err := AcquireLease(ctx, db, "leader", "b", ttl, now.Add(16*time.Second))
	if err != nil || !held || termB != termA+1 {
		t.Fatalf("b's takeover = %d, %v, %v; want term %d", termB, held, err, termA+1)
	}
	if err := fence("a", termA, now.Add(16*time.Second)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a's fence after the takeover = %v; want ErrLeaseLost", err)
	}
	if _, held, _ := AcquireLease(ctx, db, "leader", "a", ttl, now.Add(17*time.Second)); held {
		t.Fatal("a took back b's live lease")
	}
	if err := ReleaseLease(ctx, db, "leader", "b"); err != nil {
		t.Fatal(err)
	}
	termA2, held, err := AcquireLease(ctx, db, "leader", "a", ttl, now.Add(18*time.Second))
	if err != nil || !held || termA2 != termB+1 {
		t.Fatalf("a after b's release = %d, %v, %v; want term %d", termA2, held, err, termB+1)
	}
	ls, err := Leases(ctx, db.R)
	if err != nil || len(ls) != 1 || ls[0].Holder != "a" || ls[0].Term != termA2 {
		t.Fatalf("Leases = %+v, %v", ls, err)
	}
}

// The Lease bidder: the first of two takes it; when it stops (releasing),
// the other takes it without waiting for the TTL.
func TestLeaseBidderHandover(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := NewLease(db, "sender", "a", LeaseConfig{Every: 20 * time.Millisecond, TTL: time.Minute})
	b := NewLease(db, "sender", "b", LeaseConfig{Every: 20 * time.Millisecond, TTL: time.Minute})
	actx, stopA := context.WithCancel(ctx)
	doneA := make(chan struct{})
	go func() { a.Run(actx); close(doneA) }()
	waitFor(t, func() bool { _, ok := a.Held(); return ok })
	go b.Run(ctx)
	time.Sleep(100 * time.Millisecond)
	if _, ok := b.Held(); ok {
		t.Fatal("both hold the lease")
	}
	stopA()
	<-doneA
	if _, ok := a.Held(); ok {
		t.Fatal("a still holds the lease after stopping")
	}
	waitFor(t, func() bool { _, ok := b.Held(); return ok })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A chat has one claim holder; a release keeps the claim while updates
// are pending; a taken-over claim fences the old holder's transaction;
// the orphan scan finds pending chats nobody holds.
func TestChatClaims(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.UnixMilli(1_800_000_000_000)
	ttl := 10 * time.Second
	const chat = -100123

	if ok, err := ClaimChat(ctx, db, chat, "a", ttl, now); err != nil || !ok {
		t.Fatalf("a's claim = %v, %v", ok, err)
	}
	if ok, err := ClaimChat(ctx, db, chat, "b", ttl, now); err != nil || ok {
		t.Fatalf("b claimed a held chat: %v, %v", ok, err)
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := InsertUpdates(ctx, tx, []InboxUpdate{{UpdateID: 7, ChatID: chat, Kind: "message", Payload: []byte(`{}`), ReceivedAt: now}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := ReleaseChat(ctx, db, chat, "a"); err != nil || ok {
		t.Fatalf("release with an update pending = %v, %v; want kept", ok, err)
	}
	ups, err := ChatPendingUpdates(ctx, db.R, chat, 0, 10)
	if err != nil || len(ups) != 1 || ups[0].UpdateID != 7 {
		t.Fatalf("pending = %+v, %v", ups, err)
	}
	if ids, _ := UnclaimedChats(ctx, db.R, now, 10); len(ids) != 0 {
		t.Fatalf("a held chat listed as unclaimed: %v", ids)
	}
	// a dies: its claim expires; the scan finds the chat; b takes it and
	// a's late transaction is fenced off.
	later := now.Add(ttl + time.Second)
	if ids, _ := UnclaimedChats(ctx, db.R, later, 10); len(ids) != 1 || ids[0] != chat {
		t.Fatalf("unclaimed after expiry = %v; want [%d]", ids, chat)
	}
	if ok, err := ClaimChat(ctx, db, chat, "b", ttl, later); err != nil || !ok {
		t.Fatalf("b's takeover = %v, %v", ok, err)
	}
	err = db.Tx(ctx, func(tx *sql.Tx) error { return FenceChat(ctx, tx, chat, "a", later.Add(ttl)) })
	if !errors.Is(err, ErrClaimLost) {
		t.Fatalf("a's fence after the takeover = %v; want ErrClaimLost", err)
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		if err := FenceChat(ctx, tx, chat, "b", later.Add(ttl)); err != nil {
			return err
		}
		_, err := MarkUpdateDone(ctx, tx, 7, "", later)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := ReleaseChat(ctx, db, chat, "b"); err != nil || !ok {
		t.Fatalf("release with nothing pending = %v, %v", ok, err)
	}
	if ok, _ := ClaimChat(ctx, db, chat, "a", ttl, later); !ok {
		t.Fatal("a cannot claim a released chat")
	}
	if n, err := RenewChatClaims(ctx, db, "a", later.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("renew = %d, %v", n, err)
	}
	if m, _ := ChatClaimCounts(ctx, db.R, later); m["a"] != 1 {
		t.Fatalf("claim counts = %v", m)
	}
}

// At shutdown the lease is released only once the work under it has
// returned: the next holder never overlaps a sender finishing its calls.
func TestLeaseReleasedOnlyAfterItsWork(t *testing.T) {
	db := openTest(t)
	cfg := LeaseConfig{Every: 20 * time.Millisecond, TTL: time.Minute}
	a := NewLease(db, "sender", "a", cfg)
	actx, stopA := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	finished := make(chan time.Time, 1)
	go a.Run(actx)
	go a.WhileHeld(actx, "work", func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		time.Sleep(300 * time.Millisecond) // calls in flight
		finished <- time.Now()
		return nil
	})
	<-started
	stopA()
	bctx, stopB := context.WithCancel(context.Background())
	defer stopB()
	b := NewLease(db, "sender", "b", cfg)
	go b.Run(bctx)
	waitFor(t, func() bool { _, ok := b.Held(); return ok })
	took := time.Now()
	if done := <-finished; took.Before(done) {
		t.Fatalf("b took the lease %s before a's work returned", done.Sub(took))
	}
}

// Work done for a lease holder passes the lease's fence down in its
// context: every write transaction under it checks the lease first, and
// commits nothing once the lease is another's.
func TestFencedContextGuardsEveryWrite(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	l := NewLease(db, "leader", "a", LeaseConfig{Every: 20 * time.Millisecond, TTL: time.Minute})
	write := func(ctx context.Context, id int64) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := InsertUpdates(ctx, tx, []InboxUpdate{{UpdateID: id, Kind: "message", Payload: []byte(`{}`), ReceivedAt: time.Now()}})
			return err
		})
	}
	if err := write(l.Fenced(ctx), 1); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a write before the lease was taken = %v; want ErrLeaseLost", err)
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go l.Run(lctx)
	waitFor(t, func() bool { _, ok := l.Held(); return ok })
	if err := write(l.Fenced(ctx), 2); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	// Another replica takes the lease over (a's renewals stopped long ago).
	stop()
	waitFor(t, func() bool { _, ok := l.Held(); return !ok })
	if _, held, err := AcquireLease(ctx, db, "leader", "b", time.Minute, time.Now()); err != nil || !held {
		t.Fatalf("b's bid = %v, %v", held, err)
	}
	if err := write(l.Fenced(ctx), 3); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a's write after the takeover = %v; want ErrLeaseLost", err)
	}
	if ups, _ := PendingUpdates(ctx, db.R, 0, 10); len(ups) != 1 || ups[0].UpdateID != 2 {
		t.Fatalf("stored %+v; want only the holder's update 2", ups)
	}
}
