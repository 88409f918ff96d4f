package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

// Tests of the breaker (breaker.go): the real client against bot/bottest
// over HTTP, a real SQLite file, and the sender on a fake clock that the
// test drives, so that minutes of outage cost a few seconds.

// reachObserver records the sender's reachability reports.
type reachObserver struct {
	NopObserver
	mu     sync.Mutex
	events []reachEvent
}

type reachEvent struct {
	reachable bool
	since     time.Time
}

func (o *reachObserver) Reachability(reachable bool, since time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, reachEvent{reachable, since})
}

func (o *reachObserver) Events() []reachEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]reachEvent(nil), o.events...)
}

// driveClock moves clk forward by step whenever the system has been quiet
// (activity unchanged) for a few milliseconds of real time, until stop is
// called, so that the sender's waits (backoff, probes, pacing) pass
// quickly while the time its real work takes (HTTP, SQLite, the race
// detector) does not count as fake time. It is synchronisation, not a
// measurement: the figures the tests check are the sender's timestamps.
//
// hold, if not nil, stops the clock while it returns true (a call or its
// recording in progress).
func driveClock(t testing.TB, clk *fakeClock, step time.Duration, activity func() int, hold func() bool) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		last, quiet := -1, 0
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if a := activity(); a != last {
				last, quiet = a, 0
				continue
			}
			if quiet++; quiet >= 2 && (hold == nil || !hold()) {
				clk.Advance(step)
			}
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// activityOf counts what the fake answered and the sender recorded.
func activityOf(fake *bottest.Server, db *store.DB) func() int {
	return func() int {
		var n int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM ledger`).Scan(&n)
		return n + len(fake.Calls())
	}
}

// probeWith is Config.Probe as production wires it: getMe.
func probeWith(c *bot.Client) func(context.Context) error {
	return func(ctx context.Context) error { _, err := c.Bot().GetMe(ctx); return err }
}

func rowsOf(t testing.TB, db *store.DB, ids []int64) []Row {
	t.Helper()
	rows := make([]Row, len(ids))
	for i, id := range ids {
		rows[i], _ = getRow(t, db, id)
	}
	return rows
}

func TestTelegramDownTwoMinutesNothingDeadLettered(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	fake := newFake(t)
	client := newClient(t, fake)
	obs := &reachObserver{}
	s := NewSender(db, client, Config{Clock: clk, Logger: testLogger(t), Observer: obs, Probe: probeWith(client)})

	// 200 replies to 40 chats (20 private, 20 groups), 5 each, queued while
	// Telegram is down.
	chats := burstChats(40)
	ids := enqueue(t, db, burstMessages(chats, 5, Interactive)...)
	fake.StartOutage(bottest.Outage{})
	t0 := clk.Now()
	startSender(t, s)

	stop := driveClock(t, clk, 200*time.Millisecond, activityOf(fake, db), nil)
	waitFor(t, 2*time.Minute, "two minutes of outage (fake time)", func() bool { return clk.Now().Sub(t0) >= 2*time.Minute })
	stop()
	// Let calls in flight at this instant be recorded before looking.
	waitFor(t, 10*time.Second, "nothing sending", func() bool { return countState(t, db)[StateSending] == 0 })

	st := countState(t, db)
	if st[StateDead] != 0 || st[StateSent] != 0 {
		t.Fatalf("during the outage: states %v, want all pending", st)
	}
	for _, r := range rowsOf(t, db, ids) {
		if r.Failures != 0 {
			t.Fatalf("row %d: %d failures counted during an outage, want 0 (attempts %d)", r.ID, r.Failures, r.Attempts)
		}
	}
	sendsDuringOutage := len(fake.CallsTo("sendMessage"))
	probesDuringOutage := len(fake.CallsTo("getMe"))
	// Sending paused as a whole: the first wave of calls, then probes only.
	if sendsDuringOutage > 16 {
		t.Errorf("%d sendMessage calls during a 2 min outage; the sender did not pause", sendsDuringOutage)
	}
	// Probes back off to ProbeMax (15 s): about 12 in 2 minutes, never a storm.
	if probesDuringOutage < 5 || probesDuringOutage > 20 {
		t.Errorf("%d probes during a 2 min outage, want 5..20", probesDuringOutage)
	}
	// One report, dated from the outage's first failed call.
	var first int64
	if err := db.R.QueryRow(`SELECT MIN(created_at) FROM ledger`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	evs := obs.Events()
	if len(evs) != 1 || evs[0].reachable {
		t.Fatalf("reachability events %v, want one 'unreachable'", evs)
	}
	if since := evs[0].since; since.Before(store.FromMillis(first)) || since.Sub(store.FromMillis(first)) > time.Second {
		t.Errorf("unreachable since %s, want the first failure's time %s", since.Format(time.StampMilli), store.FromMillis(first).Format(time.StampMilli))
	}

	// Telegram comes back.
	fake.EndOutage()
	back := clk.Now()
	// No failure is expected now: hold the clock while anything is being
	// sent, so that the figure below is the sender's waiting, not its work.
	driveClock(t, clk, 20*time.Millisecond, activityOf(fake, db), func() bool {
		var sending bool
		_ = db.R.QueryRow(`SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'sending')`).Scan(&sending)
		return sending
	})
	waitFor(t, 2*time.Minute, "all rows final", func() bool { return allFinal(t, db) })

	st = countState(t, db)
	if st[StateSent] != len(ids) || st[StateDead] != 0 {
		t.Fatalf("after the outage: states %v, want %d sent, 0 dead", st, len(ids))
	}
	var last time.Time
	for _, r := range rowsOf(t, db, ids) {
		if r.SentAt.After(last) {
			last = r.SentAt
		}
	}
	took := last.Sub(back)
	sum := fake.Summary()
	t.Logf("200 replies, outage 2m0s: %d sendMessage calls and %d probes during it; all delivered %s after Telegram came back; fake: %s",
		sendsDuringOutage, probesDuringOutage, took.Round(time.Millisecond), sum)
	// The return is noticed within ProbeMax (15 s); then pacing (a group
	// gets one message per 3 s: 5 take 12 s) and the global 30/s.
	if took > 40*time.Second {
		t.Errorf("all delivered %s after the return, want well under a minute (<= 40 s)", took)
	}
	if sum.Duplicates != 0 || sum.OrderViolations != 0 {
		t.Errorf("duplicates %d, order violations %d; want 0 (a dropped connection has no effect)", sum.Duplicates, sum.OrderViolations)
	}
	if evs := obs.Events(); len(evs) != 2 || !evs[1].reachable {
		t.Errorf("reachability events %v, want unreachable then reachable", evs)
	}
	// The ledger still records every attempt.
	var ledger, attempts int
	if err := db.R.QueryRow(`SELECT (SELECT COUNT(*) FROM ledger), (SELECT SUM(attempts) FROM outbox)`).Scan(&ledger, &attempts); err != nil {
		t.Fatal(err)
	}
	if ledger != attempts || ledger != len(fake.CallsTo("sendMessage")) {
		t.Errorf("ledger rows %d, attempts %d, sendMessage calls %d: want all equal", ledger, attempts, len(fake.CallsTo("sendMessage")))
	}
}

// A message whose own call always fails with 500 while other chats' calls
// succeed is still dead-lettered after exactly 5 tries, with other traffic
// around (its failures are settled by other chats' answers) and alone (by
// probes).
func TestOwnFailureStillDeadLettersAfterFiveTries(t *testing.T) {
	for _, others := range []int{10, 0} {
		t.Run(fmt.Sprintf("others=%d", others), func(t *testing.T) {
			db := openDB(t)
			clk := newFakeClock()
			fake := newFake(t)
			client := newClient(t, fake)
			obs := &reachObserver{}
			s := NewSender(db, client, Config{Clock: clk, Logger: testLogger(t), Observer: obs, Probe: probeWith(client)})
			const poison = 777
			fake.FailNext(bottest.Fault{Method: "sendMessage", ChatID: poison, Times: 1000, Status: 500})
			var msgs []Message
			if others > 0 {
				msgs = burstMessages(burstChats(others), 10, Interactive)
			}
			msgs = append(msgs, textMsg(poison, Interactive, "poison"))
			ids := enqueue(t, db, msgs...)
			startSender(t, s)
			driveClock(t, clk, 10*time.Millisecond, activityOf(fake, db), nil)
			waitFor(t, 2*time.Minute, "all rows final", func() bool { return allFinal(t, db) })

			r, atts := getRow(t, db, ids[len(ids)-1])
			if r.State != StateDead || r.Attempts != 5 || r.Failures != 5 || len(atts) != 5 {
				t.Fatalf("poison row: state %s attempts %d failures %d ledger %d; want dead after 5", r.State, r.Attempts, r.Failures, len(atts))
			}
			calls := 0
			for _, c := range fake.CallsTo("sendMessage") {
				if c.ChatID == poison {
					calls++
				}
			}
			if calls != 5 {
				t.Errorf("%d calls to the poison chat, want 5", calls)
			}
			if st := countState(t, db); st[StateSent] != len(ids)-1 || st[StateDead] != 1 {
				t.Errorf("states %v, want %d sent and 1 dead", st, len(ids)-1)
			}
			if evs := obs.Events(); len(evs) != 0 {
				t.Errorf("reachability events %v: one message's failures paused sending", evs)
			}
			t.Logf("probes: %d", len(fake.CallsTo("getMe")))
		})
	}
}

// The flaky network: 30 % of calls answered 5xx and 10 % dropped,
// at random, across 40 chats. Failures that other chats' calls share are
// not counted, so nothing is dead-lettered (before the breaker, about 1 %
// of rows failed 5 times in a row and went to the dead letters).
func TestFlakyNetworkNothingDeadLettered(t *testing.T) {
	fake := newFake(t, bottest.WithFaults(bottest.Faults{ErrorRate: 0.30, DropRate: 0.10}))
	db := openDB(t)
	client := newClient(t, fake)
	obs := &reachObserver{}
	s := NewSender(db, client, Config{Logger: testLogger(t), Workers: 16, Observer: obs, Probe: probeWith(client),
		Limits: &Limits{}, RetryBase: 5 * time.Millisecond, RetryMax: 40 * time.Millisecond})
	chats := burstChats(40)
	ids := enqueue(t, db, burstMessages(chats, 10, Bulk)...)
	startSender(t, s)
	waitFor(t, 2*time.Minute, "all rows final", func() bool { return allFinal(t, db) })

	st := countState(t, db)
	maxFail, maxAtt, counted := 0, 0, 0
	for _, r := range rowsOf(t, db, ids) {
		maxFail, maxAtt = max(maxFail, r.Failures), max(maxAtt, r.Attempts)
		counted += r.Failures
	}
	sum := fake.Summary()
	t.Logf("%d messages: states %v; %d calls (%v), injected %v; failures counted %d; most counted for one row %d, most attempts %d; reachability events %d",
		len(ids), st, sum.Calls, sum.ByStatus, sum.Injected, counted, maxFail, maxAtt, len(obs.Events()))
	if st[StateDead] != 0 || st[StateSent] != len(ids) {
		t.Fatalf("states %v, want all %d sent and none dead", st, len(ids))
	}
	if sum.OrderViolations != 0 {
		t.Errorf("%d order violations", sum.OrderViolations)
	}
}

// Without Config.Probe, an outage is probed with one real queued call at a
// time (the trial), and still nothing is dead-lettered.
func TestOutageWithoutProbeTriesOneRealCall(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	fake := newFake(t)
	s := NewSender(db, newClient(t, fake), Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{}})
	ids := enqueue(t, db, burstMessages(burstChats(10), 3, Interactive)...)
	fake.StartOutage(bottest.Outage{Status: 502})
	t0 := clk.Now()
	startSender(t, s)
	stop := driveClock(t, clk, 100*time.Millisecond, activityOf(fake, db), nil)
	waitFor(t, time.Minute, "a minute of outage (fake time)", func() bool { return clk.Now().Sub(t0) >= time.Minute })
	stop()
	waitFor(t, 10*time.Second, "nothing sending", func() bool { return countState(t, db)[StateSending] == 0 })
	during := len(fake.CallsTo("sendMessage"))
	// The first wave (until three failures from two chats), then one
	// trial per probe: at once, 1, 2, 4, 8, 15, 15, 15 s.
	if during > 16+10 {
		t.Errorf("%d calls during a 1 min outage without a probe; want the first wave and one trial per probe", during)
	}
	fake.EndOutage()
	driveClock(t, clk, 20*time.Millisecond, activityOf(fake, db), nil)
	waitFor(t, time.Minute, "all rows final", func() bool { return allFinal(t, db) })
	if st := countState(t, db); st[StateSent] != len(ids) {
		t.Fatalf("states %v, want all %d sent", st, len(ids))
	}
	for _, r := range rowsOf(t, db, ids) {
		// A failure nothing settles is counted without a probe: at most the
		// first one, before the breaker opened.
		if r.Failures > 1 {
			t.Errorf("row %d: %d failures counted", r.ID, r.Failures)
		}
	}
	t.Logf("%d sendMessage calls during the outage", during)
}

// An answer seen elsewhere (the intake's getUpdates) makes a paused sender
// probe at once: the return is noticed without waiting out the backoff.
func TestAnswerElsewhereProbesAtOnce(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	fake := newFake(t)
	client := newClient(t, fake)
	obs := &reachObserver{}
	s := NewSender(db, client, Config{Clock: clk, Logger: testLogger(t), Observer: obs, Probe: probeWith(client),
		Limits: &Limits{}, ProbeMax: time.Hour})
	ids := enqueue(t, db, burstMessages(burstChats(4), 2, Interactive)...)
	fake.StartOutage(bottest.Outage{})
	t0 := clk.Now()
	startSender(t, s)
	stop := driveClock(t, clk, 100*time.Millisecond, activityOf(fake, db), nil)
	waitFor(t, time.Minute, "a minute of outage (fake time)", func() bool { return clk.Now().Sub(t0) >= time.Minute })
	stop()
	waitFor(t, 10*time.Second, "nothing sending", func() bool { return countState(t, db)[StateSending] == 0 })
	if evs := obs.Events(); len(evs) != 1 || evs[0].reachable {
		t.Fatalf("reachability events %v, want one 'unreachable'", evs)
	}
	// Probes back off (1, 2, 4, 8, 16, 32 s, ...): the next one is far
	// off. The clock stands still from here on.
	fake.EndOutage()
	probes := len(fake.CallsTo("getMe"))
	s.TelegramCall(errors.New("getUpdates: connection refused")) // a failure elsewhere changes nothing
	time.Sleep(50 * time.Millisecond)
	if n := len(fake.CallsTo("getMe")); n != probes {
		t.Fatalf("a failure elsewhere made %d probes", n-probes)
	}
	s.TelegramCall(nil)
	waitFor(t, 10*time.Second, "all rows sent without the clock moving", func() bool { return allFinal(t, db) })
	if st := countState(t, db); st[StateSent] != len(ids) {
		t.Fatalf("states %v", st)
	}
	if n := len(fake.CallsTo("getMe")); n != probes+1 {
		t.Errorf("%d probes after the hint, want 1", n-probes)
	}
}
