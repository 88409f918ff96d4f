package outbox

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// askingClock is a fakeClock that remembers the deadlines the sender
// waits for, so a test can tell when it has gone idle.
type askingClock struct {
	*fakeClock
	mu  sync.Mutex
	ats []time.Time
}

func (c *askingClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	c.ats = append(c.ats, t)
	c.mu.Unlock()
	return c.fakeClock.At(t)
}

func (c *askingClock) asked(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.ats, t.Equal)
}

// A reply enqueued while the sender is idle is claimed at once, even with
// fewer global tokens than free workers and the last cycle just now: the
// pause that lets tokens gather to batch claims is for rows that keep
// coming, not for the one a user is waiting for.
func TestIdleSenderClaimsAtOnce(t *testing.T) {
	db := openDB(t)
	clk := &askingClock{fakeClock: newFakeClock()}
	caller := &scriptCaller{clk: clk}
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{Global: 30}}) // burst 2
	first := enqueue(t, db, textMsg(1, Interactive, "one"))[0]
	startSender(t, s)
	caller.waitCalls(t, 1)
	waitRow(t, db, first, 1)

	// Past the batching pause: the sender looks, finds nothing, and waits
	// for its next poll.
	clk.Advance(minCycle)
	idleUntil := clk.Now().Add(time.Second) // the default PollInterval
	waitFor(t, 10*time.Second, "the sender to go idle", func() bool { return clk.asked(idleUntil) })

	// One token and a bit left, the last cycle 0 ms ago (the clock stands
	// still): the reply goes without the clock moving.
	enqueue(t, db, textMsg(2, Interactive, "two"))
	calls := caller.waitCalls(t, 2)
	if !calls[1].at.Equal(clk.Now()) {
		t.Errorf("the reply went at %v, want at once (%v)", calls[1].at, clk.Now())
	}
}
