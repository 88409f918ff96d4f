package outbox

import (
	"context"
	"sync"
	"time"
)

// The breaker: the sender's view of whether the Bot API as a whole is
// reachable, and the judge of which transient failures a message is
// charged for. See "Telegram away" in the package doc for the rule; this
// file is its one implementation.
//
// It is a small explicit state machine rather than sony/gobreaker:
// gobreaker counts requests and failures in windows, but the question here
// is about order ("did a call that started after this failure get an
// answer?"), its half-open state lets real requests through rather than a
// probe of our choosing, and its timeout is fixed where ours backs off.
//
// Order is judged by a sequence number taken when a call is claimed and
// when it returns (not by the clock: calls that overlap in time must still
// be ordered, and tests run on a fake clock that does not move by itself).

type brState int

const (
	brClosed  brState = iota // sending
	brOpen                   // paused until nextProbe
	brProbing                // paused; a probe (Config.Probe) is in flight
	brTrial                  // paused except for one real call, the trial (no Config.Probe)
)

// Breaker tunables.
const (
	// tripFailures transient failures in a row (no answer in between), of
	// at least tripChats chats, open the breaker.
	tripFailures = 3
	tripChats    = 2
	// probeBase is the wait before the second probe of an outage (the
	// first is made at once); it doubles up to Config.ProbeMax.
	probeBase = time.Second
	// settleWait is how long a parked failure waits for a call claimed
	// after it before a probe is sent to settle it.
	settleWait = 250 * time.Millisecond
)

// parkedResult is a transient failure waiting for its verdict.
type parkedResult struct {
	r      result
	end    uint64 // sequence number when the call returned
	shared bool   // another message's call failed alike meanwhile
}

// failMark is a transient failure: whose, and when it returned.
type failMark struct {
	row int64
	end uint64
}

// breaker is safe for concurrent use: workers report results, the
// dispatcher asks whether it may claim, probes report from their own
// goroutines.
type breaker struct {
	clk      Clock
	maxWait  time.Duration
	hasProbe bool
	wake     func()                                // tells the dispatcher to look again
	change   func(reachable bool, since time.Time) // reports reachability changes (outside mu)

	mu        sync.Mutex
	seq       uint64
	state     brState
	openSeq   uint64    // calls claimed before this were claimed before the last trip
	nextProbe time.Time // when open
	level     int       // failed probes since a sending call was last answered
	since     time.Time // first failure of the current outage (zero: reachable)
	reported  bool      // change(false, since) was reported for this outage
	trialSeq  uint64    // the trial call in flight (brTrial), 0 if none
	probing   bool      // a probe is in flight (closed or open)

	run      int            // transient failures since the last answer
	runChats map[int64]bool // their chats
	runStart time.Time      // when the first of them returned

	parked []parkedResult
	active map[uint64]bool // claimed calls not yet returned, by start seq
	last   failMark        // the latest transient failure
	prev   failMark        // the latest one of another row than last's
}

func newBreaker(clk Clock, maxWait time.Duration, hasProbe bool, wake func(), change func(bool, time.Time)) *breaker {
	return &breaker{clk: clk, maxWait: maxWait, hasProbe: hasProbe, wake: wake, change: change,
		runChats: map[int64]bool{}, active: map[uint64]bool{}}
}

// suspect reports whether a failure may be the API's rather than the
// message's: no answer at all (network error, timeout, a cut-off body) or
// a 5xx. Every 4xx, and any other answer, is the message's own.
func suspect(r result) bool {
	if r.out.act != actRetry {
		return false
	}
	st := r.res.HTTPStatus
	return st == 0 || st == 200 || st >= 500 || r.res.ErrorCode >= 500
}

// begin registers a claimed call and returns its sequence number.
func (b *breaker) begin() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	b.active[b.seq] = true
	if b.state == brTrial && b.trialSeq == 0 {
		b.trialSeq = b.seq
	}
	return b.seq
}

// gate is the dispatcher's question before claiming: may it claim, how
// many (budget, -1 for no limit), and if not, until when to wait (zero:
// until woken). A non-zero probe is the sequence number of a probe the
// caller must launch now.
func (b *breaker) gate(now time.Time) (budget int, until time.Time, probe uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case brClosed:
		return -1, time.Time{}, 0
	case brOpen:
		if b.probing {
			return 0, time.Time{}, 0 // a probe sent to settle failures is still out
		}
		if now.Before(b.nextProbe) {
			return 0, b.nextProbe, 0
		}
		if b.hasProbe {
			b.state, b.probing = brProbing, true
			b.seq++
			return 0, time.Time{}, b.seq
		}
		b.state, b.trialSeq = brTrial, 0
		return 1, time.Time{}, 0
	case brTrial:
		if b.trialSeq == 0 {
			return 1, time.Time{}, 0
		}
	}
	return 0, time.Time{}, 0
}

// needProbe reports whether a probe must be launched to settle parked
// failures (non-zero: its sequence number): nothing claimed after the
// latest of them is in flight, so no call of ours will settle them.
// Without Config.Probe nothing can, and they are settled as if answered
// (charged unless shared: the rule before the breaker existed) and
// returned to be recorded.
func (b *breaker) needProbe(now time.Time) (probe uint64, settled []result, wait time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != brClosed || b.probing || len(b.parked) == 0 {
		return 0, nil, time.Time{}
	}
	p := b.parked[len(b.parked)-1]
	for s := range b.active {
		if s > p.end {
			return 0, nil, time.Time{}
		}
	}
	// Give the calls about to be claimed a moment to settle it: under
	// traffic they do, and a probe per failure would be waste.
	if at := p.r.at.Add(settleWait); b.hasProbe && now.Before(at) {
		return 0, nil, at
	}
	if !b.hasProbe {
		return 0, b.releaseLocked(func(parkedResult) bool { return true }, true), time.Time{}
	}
	b.probing = true
	b.seq++
	return b.seq, nil, time.Time{}
}

// finish takes a returned call's result, sets r.charge, and returns the
// results to record now: r itself unless it is parked, and any parked
// failures its answer settles.
func (b *breaker) finish(r result) []result {
	var ch *change
	defer func() { b.report(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	start := r.job.seq
	delete(b.active, start)
	isTrial := b.state == brTrial && start == b.trialSeq && start != 0
	if !suspect(r) {
		// An answer: the API is there. A non-suspect retry (an odd 4xx)
		// is the message's own.
		r.charge = r.out.act == actRetry
		if start <= b.openSeq && !isTrial {
			return []result{r} // claimed before the last trip: says nothing about now
		}
		out := []result{r}
		if isTrial {
			ch = b.closeLocked()
		}
		if b.state == brClosed {
			b.level = 0
			b.run, b.runChats = 0, map[int64]bool{}
			out = append(out, b.releaseLocked(func(p parkedResult) bool { return p.end < start }, true)...)
		}
		return out
	}
	r.charge = false
	if isTrial {
		ch = b.reopenLocked(r.at)
		return []result{r}
	}
	if b.state != brClosed || start <= b.openSeq {
		return []result{r} // while paused, or claimed before the trip: the API's
	}
	b.seq++
	end := b.seq
	row := r.job.id
	other := b.last
	if other.row == row {
		other = b.prev
	}
	shared := other.row != 0 && other.end > start
	for i := range b.parked {
		b.parked[i].shared = true
		shared = true
	}
	if b.last.row != row {
		b.prev = b.last
	}
	b.last = failMark{row: row, end: end}
	if b.run == 0 {
		b.runStart = r.at
	}
	b.run++
	b.runChats[r.job.chat] = true
	b.parked = append(b.parked, parkedResult{r: r, end: end, shared: shared})
	if b.run >= tripFailures && len(b.runChats) >= tripChats {
		out, c := b.tripLocked(r.at)
		ch = c
		return out
	}
	b.wake()
	return nil
}

// probeDone takes a probe's outcome (nil: Telegram answered).
func (b *breaker) probeDone(start uint64, err error) []result {
	var ch *change
	defer func() { b.report(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	now := b.clk.Now()
	defer b.wake()
	if err != nil {
		if b.state == brClosed {
			// The probe sent to settle parked failures failed: they were
			// the API's, and this was the outage's first failed probe.
			if b.run == 0 {
				b.runStart = now
			}
			out, _ := b.tripLocked(now)
			ch = b.reopenLocked(now)
			return out
		}
		ch = b.reopenLocked(now)
		return nil
	}
	if b.state != brClosed {
		ch = b.closeLocked()
		return nil
	}
	b.run, b.runChats = 0, map[int64]bool{}
	return b.releaseLocked(func(p parkedResult) bool { return p.end < start }, true)
}

// probeCancelled clears a probe cut short by shutdown.
func (b *breaker) probeCancelled() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if b.state == brProbing {
		b.state = brOpen
	}
}

// flush releases every parked failure uncharged (at shutdown: no verdict
// will come, and the benefit of the doubt goes to the message).
func (b *breaker) flush() []result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.releaseLocked(func(parkedResult) bool { return true }, false)
}

// releaseLocked takes the parked failures that match out of the park;
// their charge is !shared when settled by an answer, false otherwise.
func (b *breaker) releaseLocked(match func(parkedResult) bool, answered bool) []result {
	var out []result
	keep := b.parked[:0]
	for _, p := range b.parked {
		if match(p) {
			p.r.charge = answered && !p.shared
			out = append(out, p.r)
			continue
		}
		keep = append(keep, p)
	}
	b.parked = keep
	return out
}

type change struct {
	reachable bool
	since     time.Time // the outage's start
}

// tripLocked opens the breaker: every parked failure was shared.
func (b *breaker) tripLocked(now time.Time) ([]result, *change) {
	out := b.releaseLocked(func(parkedResult) bool { return true }, false)
	b.state = brOpen
	b.openSeq = b.seq
	b.nextProbe = now.Add(b.waitFor(b.level))
	if b.since.IsZero() {
		b.since = b.runStart
		if b.since.IsZero() {
			b.since = now
		}
	}
	b.run, b.runChats = 0, map[int64]bool{}
	b.wake()
	return out, nil
}

// reopenLocked is a failed probe or trial: wait longer. The first one of
// an outage makes it one: a blip that the first probe finds over is not
// reported.
func (b *breaker) reopenLocked(now time.Time) *change {
	b.level++
	b.state, b.trialSeq = brOpen, 0
	b.openSeq = b.seq
	b.nextProbe = now.Add(b.waitFor(b.level))
	b.wake()
	if !b.reported {
		b.reported = true
		return &change{reachable: false, since: b.since}
	}
	return nil
}

func (b *breaker) closeLocked() *change {
	b.state, b.trialSeq = brClosed, 0
	b.run, b.runChats = 0, map[int64]bool{}
	since := b.since
	b.since = time.Time{}
	b.wake()
	if b.reported {
		b.reported = false
		return &change{reachable: true, since: since}
	}
	return nil
}

// waitFor is the wait before probe number level+1 of an outage: none for
// the first (a blip that is already over costs one probe), then probeBase
// doubling up to maxWait.
func (b *breaker) waitFor(level int) time.Duration {
	if level <= 0 {
		return 0
	}
	d := probeBase
	for i := 1; i < level && d < b.maxWait; i++ {
		d *= 2
	}
	return min(d, b.maxWait)
}

func (b *breaker) report(ch *change) {
	if ch != nil && b.change != nil {
		b.change(ch.reachable, ch.since)
	}
}

// probe launches a probe (sequence number seq) in its own goroutine.
func (s *Sender) probe(ctx context.Context, seq uint64) {
	s.probes.Go(func() {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		err := s.cfg.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			s.brk.probeCancelled()
			return
		}
		if err != nil {
			s.log.Debug("outbox: probe failed", "err", err)
		}
		for _, r := range s.brk.probeDone(seq, err) {
			s.results <- r
		}
	})
}

// settle launches a probe when parked failures need one to be settled (or
// records them when there is no probe). It runs on the dispatcher, which
// must never block on the recorder, so results go from a goroutine.
func (s *Sender) settle(ctx context.Context, now time.Time) (wake time.Time) {
	seq, settled, wake := s.brk.needProbe(now)
	if seq != 0 {
		s.probe(ctx, seq)
	}
	if len(settled) > 0 {
		s.probes.Go(func() {
			for _, r := range settled {
				s.results <- r
			}
		})
	}
	return wake
}

// reachability logs and reports a change of the breaker.
func (s *Sender) reachability(reachable bool, since time.Time) {
	if reachable {
		s.log.Info("outbox: Telegram reachable again; sending resumed",
			"outage", s.clk.Now().Sub(since).Round(time.Second))
	} else {
		s.log.Warn("outbox: Telegram unreachable (calls fail across chats and a probe failed); sending paused, failures not counted against messages",
			"since", since.Format(time.RFC3339))
	}
	s.obs.Reachability(reachable, since)
}

// TelegramCall tells the sender how a call made elsewhere went (the
// intake's getUpdates; nil: Telegram answered). An answer while sending is
// paused makes the next probe go at once instead of at the end of its
// backoff, so a return is noticed as soon as any part of the bot sees it.
// Failures are ignored: the sender judges its own calls. It never blocks.
func (s *Sender) TelegramCall(err error) {
	if err == nil {
		s.brk.hint(s.clk.Now())
	}
}

// hint moves the next probe to now if the breaker is waiting for it.
func (b *breaker) hint(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == brOpen && !b.probing && b.nextProbe.After(now) {
		b.nextProbe = now
		b.wake()
	}
}
