package load

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// spikeRun is a burst of bulk messages, as a big event's reminders or an
// announcement would queue. They are written straight into the bot's
// outbox — the same rows the scheduler or the message API write, in the
// same kind of transaction — so that the spike does not depend on which of
// those features exist yet. The sender notices them within its poll
// interval, as it would rows written by another process.
type spikeRun struct {
	messages int
	chats    int
	at       time.Time
	limit    float64 // the bot's global limit
}

// spikeBatch is how many rows one transaction writes: small enough that the
// bot, which shares the file, never waits long for the write lock.
const spikeBatch = 250

func enqueueSpike(ctx context.Context, db *store.DB, tr *tracker, n int, limit float64) (*spikeRun, error) {
	s := &spikeRun{messages: n, chats: max(1, n/10), at: time.Now(), limit: limit}
	for from := 0; from < n; from += spikeBatch {
		to := min(n, from+spikeBatch)
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for k := from; k < to; k++ {
				chat := int64(subscriberBase + 1 + k%s.chats)
				text := fmt.Sprintf("⏰ Reminder: “Picnic in the park” starts in one hour. {bulk:%d}", k+1)
				if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chat, Method: "sendMessage", Lane: outbox.Bulk,
					Params:   map[string]any{"chat_id": chat, "text": text},
					DedupKey: fmt.Sprintf("rsvpload:spike:%d", k+1)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("queueing the spike: %w", err)
		}
		now := time.Now()
		for k := from; k < to; k++ {
			tr.addBulk(k+1, int64(subscriberBase+1+k%s.chats), now)
		}
	}
	return s, nil
}

// drained reports whether every spike message has been delivered.
func (s *spikeRun) drained(tr *tracker) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, ti := range tr.bulk {
		if len(ti.deliveries) == 0 {
			return false
		}
	}
	return true
}

// figures measure the drain: from the first spike message delivered to the
// last, the rate of all messages sent against the limit, the 429s, and how
// long users who wrote meanwhile waited for their replies. Call with tr.mu
// held.
func (s *spikeRun) figures(res *Result, tr *tracker, loadStart time.Time) *SpikeFigures {
	f := &SpikeFigures{Messages: s.messages}
	var first, last time.Time
	for _, ti := range tr.bulk {
		if len(ti.deliveries) == 0 {
			continue
		}
		at := ti.deliveries[0].at
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	if first.IsZero() || !last.After(first) {
		return f
	}
	f.DrainSecs = last.Sub(first).Seconds()
	sent := 0
	for _, c := range tr.sendCalls {
		if !c.at.Before(first) && !c.at.After(last) {
			sent++
		}
	}
	// n messages at a steady rate span n-1 intervals.
	f.SentPerSecond = float64(sent-1) / f.DrainSecs
	if s.limit > 0 {
		f.PercentOfLimit = 100 * f.SentPerSecond / s.limit
	}
	for _, at := range tr.tooMany {
		if !at.Before(first) && !at.After(last) {
			f.TooManyDuring++
		}
	}
	var lat []time.Duration
	for _, ti := range tr.tags {
		if ti.unordered || ti.pushedAt.Before(first) || ti.pushedAt.After(last) || len(ti.deliveries) == 0 {
			continue
		}
		lat = append(lat, ti.deliveries[0].at.Sub(ti.pushedAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	f.Interactive = latencyFigures(lat)
	return f
}
