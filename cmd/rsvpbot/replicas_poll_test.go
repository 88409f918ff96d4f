package main

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// The production lease timing (store.LeaseConfig's defaults, which
// app.Timing leaves alone): a holder renews every leaseEvery and a dead
// holder's lease lapses leaseTTL after its last renewal began.
const (
	leaseEvery = 2 * time.Second
	leaseTTL   = 10 * time.Second
)

// TestReplicasPollingLeaderSIGKILL runs three replicas of the real binary
// in polling mode on one PostgreSQL database while users write, finds the
// holder of the leader lease (the one replica that polls) from /readyz,
// and SIGKILLs it. Another replica must take the lease and poll within
// the lease's TTL plus one bidding period (the lease lapses at most TTL
// after the kill, and the others bid every period); nothing may be lost
// or handled twice, each chat's order holds, and getUpdates sees no storm
// of 409 Conflicts: one poller at a time.
func TestReplicasPollingLeaderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dsn := storetest.Postgres(t, "polling")
	fake := bottest.NewServer()
	defer fake.Close()
	rs := newReplicaSet(t, fake, dsn, 3, false)
	rs.startAll()
	db := openDSN(t, dsn)

	load := newReplicaLoad(fake, "p", 6, 1, 8300)
	load.postCards(t)

	// The leader, and its polls seen on the fake.
	leader, term := -1, int64(0)
	waitUntil(t, 30*time.Second, "a leader that polls", func() bool {
		leader, term = rs.leader()
		if leader < 0 {
			return false
		}
		for _, c := range rs.callsOf("getUpdates") {
			if c.replica == leader {
				return true
			}
		}
		return false
	})

	streamed, stopLoad := load.streamInBackground(14, time.Second)
	defer stopLoad()

	time.Sleep(3 * time.Second) // the leader polls under load for a moment
	killed := time.Now()
	rs.procs[leader].kill()
	t.Logf("SIGKILLed replica %d, the leader (term %d)", leader, term)

	// Takeover: the first getUpdates of another replica after the kill.
	var took time.Duration
	next := -1
	waitUntil(t, leaseTTL+leaseEvery+20*time.Second, "another replica polling", func() bool {
		for _, c := range rs.callsOf("getUpdates") {
			if c.replica != leader && c.at.After(killed) {
				took, next = c.at.Sub(killed), c.replica
				return true
			}
		}
		return false
	})
	t.Logf("replica %d polls %s after the kill (lease TTL %s, bid every %s)", next, took.Round(time.Millisecond), leaseTTL, leaseEvery)
	if limit := leaseTTL + leaseEvery + 3*time.Second; took > limit { // slack for a loaded machine
		t.Errorf("takeover took %s, more than the lease's TTL plus one bidding period (%s)", took, limit)
	}
	if now, newTerm := rs.leader(); now != next {
		t.Errorf("/readyz names replica %d as the leader, but replica %d polls", now, next)
	} else if newTerm <= term {
		t.Errorf("the new leader's term %d is not after the old one's (%d)", newTerm, term)
	}
	rs.procs[leader].start() // back as a follower

	<-streamed
	load.drained(t, db, 60*time.Second)
	rs.stopAll()
	f := load.check(t, db)

	conflicts, polls := 0, 0
	for _, c := range rs.callsOf("getUpdates") {
		polls++
		if c.status == 409 {
			conflicts++
		}
	}
	pollers := map[int]bool{}
	for _, c := range rs.callsOf("getUpdates") {
		pollers[c.replica] = true
	}
	t.Logf("%d updates (%d replies, %d presses answered); getUpdates %d calls from replicas %v, %d answered 409; "+
		"replies delivered twice %d (ambiguous attempts %d)", load.total(), f.replies, f.presses, polls, slices.Sorted(maps.Keys(pollers)), conflicts, f.dups, f.ambiguous)
	if conflicts > 2 {
		t.Errorf("%d getUpdates calls answered 409 Conflict: more than one replica polled at a time", conflicts)
	}
}
