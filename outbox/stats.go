package outbox

import (
	"context"
	"strconv"
	"time"

	"github.com/rsvpbot/rsvpbot/store"
)

// StatsWindow is the window Stats counts over.
const StatsWindow = time.Hour

// Statistics is the outbox's state for /stats and metrics.
type Statistics struct {
	// Queue now.
	Pending [numLanes]int64 // by lane (index with Interactive, Edit, Bulk)
	Sending int64
	Dead    int64

	// Over Window, ending at the time asked.
	Window      time.Duration
	Sent        int64 // rows delivered
	Failed      int64 // attempts that did not deliver (any class but ok/not_modified/gone)
	RateLimited int64 // 429s received
	Retries     int64 // attempts after a row's first
	Ambiguous   int64 // attempts that may have been delivered without a response
	DeadNew     int64 // rows dead-lettered in the window
	LatencyP50  time.Duration
	LatencyP95  time.Duration // enqueue → sent, of the rows sent in the window
}

// PendingTotal is the pending depth over all lanes.
func (s Statistics) PendingTotal() int64 { return s.Pending[0] + s.Pending[1] + s.Pending[2] }

// Warnings lists the conditions the sender logs warnings for, as
// sentences; empty when all is well.
func (s Statistics) Warnings() []string {
	var w []string
	if p := s.PendingTotal(); p > PendingWarnDepth {
		w = append(w, "pending depth above "+itoa(PendingWarnDepth)+": "+itoa(p))
	}
	if s.Window == time.Hour && s.DeadNew > DeadWarnPerHour {
		w = append(w, "dead letters in the last hour above "+itoa(DeadWarnPerHour)+": "+itoa(s.DeadNew))
	}
	return w
}

// Stats reads the outbox's statistics over the hour before now.
func Stats(ctx context.Context, q store.Querier, now time.Time) (Statistics, error) {
	return StatsOver(ctx, q, now, StatsWindow)
}

// StatsOver is Stats over another window.
func StatsOver(ctx context.Context, q store.Querier, now time.Time, window time.Duration) (Statistics, error) {
	st := Statistics{Window: window}
	from := store.Millis(now.Add(-window))
	rows, err := q.QueryContext(ctx, `
SELECT state, lane, COUNT(*) FROM outbox
WHERE state IN ('pending', 'sending', 'dead')
GROUP BY state, lane`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var state string
		var lane int
		var n int64
		if err := rows.Scan(&state, &lane, &n); err != nil {
			rows.Close()
			return st, err
		}
		switch state {
		case statePending:
			if lane >= 0 && lane < numLanes {
				st.Pending[lane] += n
			}
		case stateSending:
			st.Sending += n
		case stateDead:
			st.Dead += n
		}
	}
	if err := rows.Close(); err != nil {
		return st, err
	}
	if err := rows.Err(); err != nil {
		return st, err
	}

	err = q.QueryRowContext(ctx, `
SELECT COUNT(*),
       COALESCE(SUM(outcome NOT IN ('ok', 'not_modified', 'gone')), 0),
       COALESCE(SUM(outcome = 'rate_limited'), 0),
       COALESCE(SUM(attempt > 1), 0),
       COALESCE(SUM(ambiguous), 0)
FROM ledger WHERE created_at >= ? AND created_at <= ?`, from, store.Millis(now)).Scan(
		new(int64), &st.Failed, &st.RateLimited, &st.Retries, &st.Ambiguous)
	if err != nil {
		return st, err
	}
	err = q.QueryRowContext(ctx, `
SELECT COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'dead'), 0)
FROM outbox WHERE done_at >= ? AND done_at <= ?`, from, store.Millis(now)).Scan(&st.Sent, &st.DeadNew)
	if err != nil {
		return st, err
	}
	if st.Sent > 0 {
		pct := func(p float64) (time.Duration, error) {
			var ms int64
			off := int64(float64(st.Sent-1) * p)
			err := q.QueryRowContext(ctx, `
SELECT sent_at - created_at AS d FROM outbox
WHERE done_at >= ? AND done_at <= ? AND +state = 'sent' -- "+": use outbox_done, not every sent row ever
ORDER BY d LIMIT 1 OFFSET ?`, from, store.Millis(now), off).Scan(&ms)
			return time.Duration(ms) * time.Millisecond, err
		}
		if st.LatencyP50, err = pct(0.50); err != nil {
			return st, err
		}
		if st.LatencyP95, err = pct(0.95); err != nil {
			return st, err
		}
	}
	return st, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
