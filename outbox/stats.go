package outbox

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// Queue is the outbox's one read model: what ops metrics, /stats, the
// `rsvpbot outbox stats` CLI and the sender's own monitor show. ReadQueue
// reads it; the rules it applies (which attempts failed, which conditions
// warn, at which thresholds) are decided here and nowhere else.
type Queue struct {
	// At is the time the queue was read as of.
	At time.Time

	// Depth now, by lane (index with Interactive, Edit, Bulk).
	Pending [numLanes]int64
	Sending [numLanes]int64
	Dead    [numLanes]int64
	// OldestPending is the age of the oldest pending row (0 if none).
	OldestPending time.Duration
	// DeadLastHour is how many rows were dead-lettered in the hour before
	// At, whatever the window (the dead-letter growth condition).
	DeadLastHour int64

	// Over Window, ending at At (all zero when Window is 0), counted by
	// whole clock hours from the hourly rollups (migration 00003): the
	// hours from the one holding At-Window to the one holding At, both
	// included, so a window covers at least Window and less than
	// Window+1h (the last hour: the previous clock hour and the current
	// one). Rows are counted by their hour: ledger rows by created_at,
	// sent and dead rows by done_at.
	Window      time.Duration
	Sent        int64 // rows delivered
	Failed      int64 // attempts that did not deliver (Class.Delivered false)
	RateLimited int64 // 429s received
	Retries     int64 // attempts after a row's first
	Ambiguous   int64 // attempts that may have been delivered without a response
	DeadNew     int64 // rows dead-lettered in the window
	// Enqueue → sent, of the rows sent in the window, from a histogram:
	// the upper bound of the percentile's bucket (buckets ten a decade,
	// so at most about 26% above the exact figure).
	LatencyP50 time.Duration
	LatencyP95 time.Duration
}

func total(a [numLanes]int64) int64 { return a[0] + a[1] + a[2] }

// PendingTotal is the pending depth over all lanes.
func (q Queue) PendingTotal() int64 { return total(q.Pending) }

// SendingTotal is how many rows are in flight.
func (q Queue) SendingTotal() int64 { return total(q.Sending) }

// DeadTotal is how many dead letters wait for an operator.
func (q Queue) DeadTotal() int64 { return total(q.Dead) }

// Depth is the depth of a queued or dead state by lane (zero for others).
func (q Queue) Depth(s State) [numLanes]int64 {
	switch s {
	case StatePending:
		return q.Pending
	case StateSending:
		return q.Sending
	case StateDead:
		return q.Dead
	}
	return [numLanes]int64{}
}

// Warning thresholds, the only ones: every reader compares through
// Queue.Conditions.
const (
	PendingWarnDepth = 1000 // pending rows
	DeadWarnPerHour  = 10   // rows dead-lettered in the last hour
)

// Condition names.
const (
	CondPendingDepth = "pending_depth"      // more than PendingWarnDepth rows pending
	CondDeadGrowth   = "dead_letter_growth" // more than DeadWarnPerHour dead letters in the last hour
)

// Condition is one warning condition of the queue.
type Condition struct {
	Name      string // CondPendingDepth, CondDeadGrowth
	Value     int64  // what is measured
	Threshold int64  // the condition holds above it
	Holds     bool
	// Warning is the condition as a sentence, for logs and the CLI.
	Warning string
}

// Conditions lists every warning condition, holding or not, in a fixed
// order.
func (q Queue) Conditions() []Condition {
	c := []Condition{
		{Name: CondPendingDepth, Value: q.PendingTotal(), Threshold: PendingWarnDepth,
			Warning: "pending depth above " + itoa(PendingWarnDepth) + ": " + itoa(q.PendingTotal())},
		{Name: CondDeadGrowth, Value: q.DeadLastHour, Threshold: DeadWarnPerHour,
			Warning: "dead letters in the last hour above " + itoa(DeadWarnPerHour) + ": " + itoa(q.DeadLastHour)},
	}
	for i := range c {
		c[i].Holds = c[i].Value > c[i].Threshold
	}
	return c
}

// Warnings lists the conditions that hold, as sentences; empty when all
// is well.
func (q Queue) Warnings() []string {
	var w []string
	for _, c := range q.Conditions() {
		if c.Holds {
			w = append(w, c.Warning)
		}
	}
	return w
}

// ReadQueue reads the queue as of now, with the counts of the window
// before now (window 0: depths and conditions only). Depths, the oldest
// pending row and DeadLastHour are exact; the window's counts are read
// from the hourly rollups, by whole hours (see Queue.Window), so their
// cost does not grow with the traffic. Pass a read transaction for
// figures that agree with each other.
func ReadQueue(ctx context.Context, q store.Querier, now time.Time, window time.Duration) (Queue, error) {
	st := Queue{At: now, Window: max(window, 0)}
	rows, err := q.QueryContext(ctx, `
SELECT state, lane, COUNT(*) FROM outbox
WHERE state IN ('pending', 'sending', 'dead')
GROUP BY state, lane`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var state State
		var lane int
		var n int64
		if err := rows.Scan(&state, &lane, &n); err != nil {
			rows.Close()
			return st, err
		}
		if lane < 0 || lane >= numLanes {
			continue
		}
		switch state {
		case StatePending:
			st.Pending[lane] += n
		case StateSending:
			st.Sending[lane] += n
		case StateDead:
			st.Dead[lane] += n
		}
	}
	if err := rows.Close(); err != nil {
		return st, err
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	// INDEXED BY: without it the planner reads every dead row through
	// outbox_state to check its done_at.
	var oldest *int64
	if err := q.QueryRowContext(ctx, `
SELECT (SELECT MIN(created_at) FROM outbox WHERE state = 'pending'),
       (SELECT COUNT(*) FROM outbox INDEXED BY outbox_dead_done WHERE state = 'dead' AND done_at >= ?)`,
		store.Millis(now.Add(-time.Hour))).Scan(&oldest, &st.DeadLastHour); err != nil {
		return st, err
	}
	if oldest != nil {
		st.OldestPending = max(now.Sub(store.FromMillis(*oldest)), 0)
	}
	if st.Window == 0 {
		return st, nil
	}

	from, to := hourOf(now.Add(-st.Window)), hourOf(now)
	outcomes, err := q.QueryContext(ctx, `
SELECT outcome, SUM(n), SUM(retries), SUM(ambiguous)
FROM ledger_hourly WHERE hour BETWEEN ? AND ?
GROUP BY outcome`, from, to)
	if err != nil {
		return st, err
	}
	for outcomes.Next() {
		var class Class
		var n, retries, ambiguous int64
		if err := outcomes.Scan(&class, &n, &retries, &ambiguous); err != nil {
			outcomes.Close()
			return st, err
		}
		if !class.Delivered() {
			st.Failed += n
		}
		if class == ClassRateLimited {
			st.RateLimited += n
		}
		st.Retries += retries
		st.Ambiguous += ambiguous
	}
	if err := outcomes.Close(); err != nil {
		return st, err
	}
	if err := outcomes.Err(); err != nil {
		return st, err
	}
	err = q.QueryRowContext(ctx, `
SELECT COALESCE(SUM(sent), 0), COALESCE(SUM(dead), 0)
FROM outbox_hourly WHERE hour BETWEEN ? AND ?`, from, to).Scan(&st.Sent, &st.DeadNew)
	if err != nil {
		return st, err
	}
	if st.Sent > 0 {
		if st.LatencyP50, st.LatencyP95, err = latencyPercentiles(ctx, q, from, to); err != nil {
			return st, err
		}
	}
	return st, nil
}

// hourOf is the rollup hour of t (migration 00003): Unix milliseconds
// divided by an hour's.
func hourOf(t time.Time) int64 { return store.Millis(t) / time.Hour.Milliseconds() }

// latencyPercentiles reads the p50 and p95 enqueue-to-sent latency of the
// rows sent in the rollup hours from..to, from their histogram: each is
// the upper bound of the bucket the percentile's row falls in (the row at
// offset floor((sent-1)·p) in latency order), so at most about 26% above
// the exact figure (see outbox_latency_bounds).
func latencyPercentiles(ctx context.Context, q store.Querier, from, to int64) (p50, p95 time.Duration, err error) {
	rows, err := q.QueryContext(ctx, `
SELECT le_ms, SUM(n) FROM outbox_latency_hourly WHERE hour BETWEEN ? AND ?
GROUP BY le_ms ORDER BY le_ms`, from, to)
	if err != nil {
		return 0, 0, err
	}
	type bucket struct{ le, n int64 }
	var buckets []bucket
	var total int64
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.le, &b.n); err != nil {
			rows.Close()
			return 0, 0, err
		}
		buckets = append(buckets, b)
		total += b.n
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, 0, err
	}
	pct := func(p float64) time.Duration {
		off := int64(float64(total-1) * p)
		var seen int64
		for _, b := range buckets {
			if seen += b.n; seen > off {
				return time.Duration(b.le) * time.Millisecond
			}
		}
		return 0
	}
	return pct(0.50), pct(0.95), nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
