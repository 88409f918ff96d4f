package outbox

import (
	"errors"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// Tests in this file run the sender on a fake clock against a scripted
// Caller: time moves only when the test moves it, so pacing and backoff
// are checked to the millisecond without sleeping.

func TestBackoffBand(t *testing.T) {
	base, ceiling := time.Second, 30*time.Second
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		n := i + 1
		nominal := w * time.Second
		lo := time.Duration(float64(nominal) * 0.8)
		hi := min(time.Duration(float64(nominal)*1.2), ceiling)
		if got := backoff(n, base, ceiling, 0); got != lo {
			t.Errorf("backoff(%d, jitter 0) = %s, want %s", n, got, lo)
		}
		if got := backoff(n, base, ceiling, 0.999999); got < hi-time.Millisecond || got > hi {
			t.Errorf("backoff(%d, jitter ~1) = %s, want ~%s", n, got, hi)
		}
		if got := backoff(n, base, ceiling, 0.5); got != min(nominal, ceiling) {
			t.Errorf("backoff(%d, jitter 0.5) = %s, want %s", n, got, nominal)
		}
	}
}

// waitRow polls until the row's attempts reach n (the result is recorded).
func waitRow(t *testing.T, db *store.DB, id int64, attempts int) Row {
	t.Helper()
	var r Row
	waitFor(t, 10*time.Second, "the attempt to be recorded", func() bool {
		r, _ = getRow(t, db, id)
		return r.Attempts >= attempts && r.State != StateSending
	})
	return r
}

func TestBackoffTimingsOnFakeClock(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk, respond: func(int, string, int64) (bot.Result, error) { return serverError() }}
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{}})
	id := enqueue(t, db, textMsg(42, Interactive, "hello"))[0]
	startSender(t, s)

	nominal := time.Second
	for attempt := 1; attempt <= 5; attempt++ {
		calls := caller.waitCalls(t, attempt)
		call := calls[attempt-1]
		r := waitRow(t, db, id, attempt)
		if attempt == 5 {
			if r.State != StateDead {
				t.Fatalf("after 5 failures state = %s, want dead", r.State)
			}
			break
		}
		if r.State != StatePending || r.Failures != attempt {
			t.Fatalf("after attempt %d: state %s failures %d", attempt, r.State, r.Failures)
		}
		delay := r.NextAttemptAt.Sub(call.at)
		lo, hi := time.Duration(float64(nominal)*0.8)-time.Millisecond, time.Duration(float64(nominal)*1.2)
		if delay < lo || delay > hi {
			t.Errorf("retry %d scheduled after %s, want within [%s, %s]", attempt, delay, lo, hi)
		}
		// Just before the retry is due nothing happens...
		clk.Set(r.NextAttemptAt.Add(-time.Millisecond))
		if n := len(caller.Calls()); n != attempt {
			t.Fatalf("a call was made before the backoff ended (%d calls)", n)
		}
		// ...and at the due time it is made.
		clk.Set(r.NextAttemptAt)
		next := caller.waitCalls(t, attempt+1)[attempt]
		if next.at.Before(r.NextAttemptAt) {
			t.Errorf("retry %d made at %s, before its due time %s", attempt, next.at, r.NextAttemptAt)
		}
		nominal *= 2
	}
	r, atts := getRow(t, db, id)
	if len(atts) != 5 || r.Attempts != 5 {
		t.Fatalf("dead row has %d attempts (%d ledger rows), want 5", r.Attempts, len(atts))
	}
	for _, a := range atts {
		if a.Outcome != ClassServerError || a.HTTPStatus != 500 {
			t.Errorf("ledger attempt %d: outcome %s status %d", a.Attempt, a.Outcome, a.HTTPStatus)
		}
	}
}

func TestRetryAfterIsExactAndPacingHolds(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk, respond: func(n int, method string, chat int64) (bot.Result, error) {
		if n == 1 {
			return bot.Result{HTTPStatus: 429, ErrorCode: 429, RetryAfter: 3, Sent: true,
					Description: "Too Many Requests: retry after 3"},
				&tgbot.TooManyRequestsError{Message: "too many requests", RetryAfter: 3}
		}
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}}
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t)}) // default limits: 1/s per private chat
	ids := enqueue(t, db, textMsg(7, Interactive, "one"), textMsg(7, Interactive, "two"))
	startSender(t, s)

	first := caller.waitCalls(t, 1)[0]
	waitRow(t, db, ids[0], 1)
	// A 429 on one chat pauses that chat only, and for exactly retry_after.
	clk.Set(first.at.Add(3*time.Second - time.Millisecond))
	if n := len(caller.Calls()); n != 1 {
		t.Fatalf("%d calls before retry_after ended", n)
	}
	clk.Set(first.at.Add(3 * time.Second))
	retry := caller.waitCalls(t, 2)[1]
	if got := retry.at.Sub(first.at); got != 3*time.Second {
		t.Errorf("retry made %s after the 429, want exactly 3s", got)
	}
	r := waitRow(t, db, ids[0], 2)
	if r.State != StateSent || r.Failures != 0 {
		t.Errorf("row after retry: state %s failures %d (a 429 must not count as a failure)", r.State, r.Failures)
	}
	// The next message of the chat still waits for the chat's pacing (1/s)
	// after the retry: no burst once the wait is over.
	clk.Set(retry.at.Add(999 * time.Millisecond))
	if n := len(caller.Calls()); n != 2 {
		t.Fatalf("next message sent %d calls early: pacing ignored after a 429", n)
	}
	clk.Set(retry.at.Add(time.Second))
	third := caller.waitCalls(t, 3)[2]
	if got := third.at.Sub(retry.at); got < time.Second {
		t.Errorf("next message %s after the retry, want >= 1s", got)
	}
	if r, _ := getRow(t, db, ids[1]); r.Attempts != 1 {
		waitRow(t, db, ids[1], 1)
	}
}

func TestStormPausesEverythingOnFakeClock(t *testing.T) {
	db := openDB(t)
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk, respond: func(n int, method string, chat int64) (bot.Result, error) {
		if n <= 2 {
			return bot.Result{HTTPStatus: 429, ErrorCode: 429, RetryAfter: 5, Sent: true}, errors.New("429")
		}
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}}
	// Two workers and a global bucket of 2 at start, so chats 1 and 2 go
	// first and both get 429.
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Workers: 2,
		Limits: &Limits{Global: 30}})
	ids := enqueue(t, db, textMsg(1, Interactive, "a"), textMsg(2, Interactive, "b"), textMsg(3, Interactive, "c"))
	startSender(t, s)

	calls := caller.waitCalls(t, 2)
	t0 := calls[1].at
	waitRow(t, db, ids[0], 1)
	waitRow(t, db, ids[1], 1)
	// Chat 3 was never limited, but a storm pauses every chat.
	for _, d := range []time.Duration{100 * time.Millisecond, time.Second, 4999 * time.Millisecond} {
		clk.Set(t0.Add(d))
		if n := len(caller.Calls()); n != 2 {
			t.Fatalf("call made %s into a 5s global pause", d)
		}
	}
	// At the end of the pause the global bucket is empty (drained), so
	// the three waiting messages go out one token (1/30 s) apart, not in a
	// burst at the instant the pause ends.
	end := t0.Add(5 * time.Second)
	clk.Set(end)
	var prev time.Time
	for n := 3; n <= 5; n++ {
		clk.Advance(34 * time.Millisecond)
		c := caller.waitCalls(t, n)[n-1]
		if c.at.Before(end) {
			t.Errorf("call %d at %s, before the pause ended (%s)", n, c.at, end)
		}
		if !prev.IsZero() && c.at.Sub(prev) < 33*time.Millisecond {
			t.Errorf("calls %d and %d %s apart: a burst after the pause", n-1, n, c.at.Sub(prev))
		}
		prev = c.at
		if got := len(caller.Calls()); got > n {
			t.Errorf("%d calls after advancing one token, want %d", got, n)
		}
	}
}

// A sender that takes over from another replica starts with an empty
// global bucket (Config.StartEmpty): its first call waits for the first
// token, so a handover never bursts; without it the bucket's burst goes at
// once.
func TestStartEmptyNeverBursts(t *testing.T) {
	for _, empty := range []bool{false, true} {
		db := openDB(t)
		clk := newFakeClock()
		caller := &scriptCaller{clk: clk, respond: func(n int, _ string, _ int64) (bot.Result, error) {
			return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
		}}
		// 100/s: a burst of 5 tokens (burstWindow), one every 10 ms.
		s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t), Limits: &Limits{Global: 100}, StartEmpty: empty})
		for chat := int64(1); chat <= 5; chat++ {
			enqueue(t, db, textMsg(chat, Interactive, "hi"))
		}
		startSender(t, s)
		if !empty {
			caller.waitCalls(t, 5) // the full bucket, at once
			continue
		}
		time.Sleep(200 * time.Millisecond) // real time; the clock stands still
		if n := len(caller.Calls()); n != 0 {
			t.Fatalf("StartEmpty: %d calls before the first token", n)
		}
		clk.Set(clk.Now().Add(10 * time.Millisecond))
		caller.waitCalls(t, 1)
		time.Sleep(100 * time.Millisecond)
		if n := len(caller.Calls()); n != 1 {
			t.Fatalf("StartEmpty: %d calls after one token's time, want 1", n)
		}
	}
}
