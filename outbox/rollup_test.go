package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// rollupRecount reads the hourly rollups (migration 00003) and the same
// figures recounted from the raw ledger and outbox rows, as text.
func rollupRecount(t *testing.T, db *store.DB) (rollups, recount []string) {
	t.Helper()
	read := func(q string) []string {
		rows, err := db.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			if err := rows.Scan(p...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(v...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	for _, q := range [][2]string{
		{`SELECT 'ledger', hour, outcome, n, retries, ambiguous FROM ledger_hourly WHERE n > 0`,
			`SELECT 'ledger', created_at / 3600000, outcome, count(*), sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END), sum(CASE WHEN ambiguous <> 0 THEN 1 ELSE 0 END) FROM ledger GROUP BY 2, 3`},
		{`SELECT 'outbox', hour, sent, dead FROM outbox_hourly WHERE sent > 0 OR dead > 0`,
			`SELECT 'outbox', done_at / 3600000, sum(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM outbox
			 WHERE state IN ('sent', 'dead') AND done_at IS NOT NULL GROUP BY 2`},
		// Each sent row's bucket: the least bound at or above its latency.
		{`SELECT 'latency', hour, le_ms, n FROM outbox_latency_hourly WHERE n > 0`,
			`SELECT 'latency', done_at / 3600000, (SELECT min(le_ms) FROM outbox_latency_bounds WHERE le_ms >= sent_at - created_at), count(*)
			 FROM outbox WHERE state = 'sent' GROUP BY 2, 3`},
	} {
		rollups = append(rollups, read(q[0])...)
		recount = append(recount, read(q[1])...)
	}
	return rollups, recount
}

// The rollups equal a recount of the raw rows after sends, retries, 429s,
// network errors and dead letters (rejected calls) made through the real sender and record
// path over several clock hours, and after a dead letter's requeue; the
// window's figures of ReadQueue are theirs.
func TestRollupsEqualRecount(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	clk := newFakeClock()
	caller := &scriptCaller{clk: clk}
	var mu sync.Mutex
	perChat := map[int64]int{}
	caller.respond = func(n int, method string, chat int64) (bot.Result, error) {
		mu.Lock()
		perChat[chat]++
		k := perChat[chat]
		mu.Unlock()
		switch {
		case chat == 1: // never deliverable: dead at once
			return bot.Result{HTTPStatus: 400, ErrorCode: 400, Description: "Bad Request: nope"}, tgbot.ErrorBadRequest
		case chat == 2 && k%2 == 1: // a 429 before each delivery
			return bot.Result{HTTPStatus: 429, ErrorCode: 429, RetryAfter: 30, Sent: true,
					Description: "Too Many Requests: retry after 30"},
				&tgbot.TooManyRequestsError{Message: "too many requests", RetryAfter: 30}
		case chat == 3 && k%3 != 0: // server errors, retried with backoff
			return serverError()
		case chat == 4 && k == 1: // no response
			return bot.Result{}, errors.New("connection reset by peer")
		}
		return bot.Result{HTTPStatus: 200, MessageID: n, Sent: true}, nil
	}
	var msgs []Message
	for i := range 4 {
		for chat := int64(1); chat <= 8; chat++ {
			msgs = append(msgs, textMsg(chat, Lane(i%numLanes), fmt.Sprint("m", i)))
		}
	}
	enqueue(t, db, msgs[:16]...)
	s := NewSender(db, caller, Config{Clock: clk, Logger: testLogger(t)})
	stop := startSender(t, s)
	// Move the clock on in 20-minute steps, so the rows finish over
	// several hours; the rest are enqueued midway.
	for step := 0; step < 400 && !(step > 10 && allFinal(t, db)); step++ {
		if step == 3 {
			enqueue(t, db, msgs[16:]...)
		}
		time.Sleep(20 * time.Millisecond)
		clk.Advance(20 * time.Minute)
	}
	if !allFinal(t, db) {
		var left []string
		rows, _ := db.R.Query(`SELECT id, chat_id, lane, state, head, attempts, failures, next_attempt_at FROM outbox WHERE state IN ('pending', 'sending')`)
		for rows.Next() {
			var a, b, c, e, f, g, h int64
			var d string
			rows.Scan(&a, &b, &c, &d, &e, &f, &g, &h)
			left = append(left, fmt.Sprint(a, b, c, d, e, f, g, h-store.Millis(clk.Now())))
		}
		rows.Close()
		t.Fatalf("rows still queued: %v %q", countState(t, db), left)
	}
	stop()

	rollups, recount := rollupRecount(t, db)
	if !reflect.DeepEqual(rollups, recount) {
		t.Fatalf("rollups\n%q\nrecount\n%q", rollups, recount)
	}
	var hours, outcomes int
	db.R.QueryRow(`SELECT count(DISTINCT hour), count(DISTINCT outcome) FROM ledger_hourly`).Scan(&hours, &outcomes)
	if st := countState(t, db); st[StateDead] < 2 || st[StateSent] < 20 || hours < 2 || outcomes < 4 {
		t.Fatalf("the mix did not happen: states %v, %d hours, %d outcomes", st, hours, outcomes)
	}

	// ReadQueue's window reads the rollups: over a window covering every
	// hour, its figures are the raw rows'.
	now := clk.Now()
	q, err := ReadQueue(ctx, db.R, now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var sent, dead, failed, limited, retries int64
	db.R.QueryRow(`SELECT sum(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM outbox`).Scan(&sent, &dead)
	db.R.QueryRow(`SELECT sum(CASE WHEN outcome NOT IN (?, ?, ?) THEN 1 ELSE 0 END), sum(CASE WHEN outcome = ? THEN 1 ELSE 0 END),
		sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END) FROM ledger`,
		ClassOK, ClassNotModified, ClassGone, ClassRateLimited).Scan(&failed, &limited, &retries)
	if q.Sent != sent || q.DeadNew != dead || q.Failed != failed || q.RateLimited != limited || q.Retries != retries {
		t.Errorf("ReadQueue: sent %d dead %d failed %d 429 %d retries %d; raw rows: %d %d %d %d %d",
			q.Sent, q.DeadNew, q.Failed, q.RateLimited, q.Retries, sent, dead, failed, limited, retries)
	}
	// Percentiles are the upper bound of the exact percentile's bucket.
	var exact50, exact95 int64
	db.R.QueryRow(`SELECT sent_at - created_at AS d FROM outbox WHERE state = 'sent' ORDER BY d LIMIT 1 OFFSET ?`, (sent-1)/2).Scan(&exact50)
	db.R.QueryRow(`SELECT sent_at - created_at AS d FROM outbox WHERE state = 'sent' ORDER BY d LIMIT 1 OFFSET ?`, int64(float64(sent-1)*0.95)).Scan(&exact95)
	for _, c := range []struct {
		got   time.Duration
		exact int64
	}{{q.LatencyP50, exact50}, {q.LatencyP95, exact95}} {
		if ms := c.got.Milliseconds(); ms < c.exact || float64(ms) > 1.27*float64(c.exact)+1 {
			t.Errorf("percentile %dms, exact %dms: not the exact figure's bucket bound", ms, c.exact)
		}
	}
	// A window of an hour counts the current and the previous clock hour.
	q1, err := ReadQueue(ctx, db.R, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var sent1 int64
	db.R.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'sent' AND done_at / 3600000 BETWEEN ? AND ?`,
		hourOf(now)-1, hourOf(now)).Scan(&sent1)
	if q1.Sent != sent1 {
		t.Errorf("last hour: %d sent, want %d (the current and previous clock hours)", q1.Sent, sent1)
	}

	// A requeued dead letter leaves its hour's count.
	var deadID int64
	db.R.QueryRow(`SELECT id FROM outbox WHERE state = 'dead' ORDER BY id LIMIT 1`).Scan(&deadID)
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return Requeue(ctx, tx, deadID) }); err != nil {
		t.Fatal(err)
	}
	if rollups, recount := rollupRecount(t, db); !reflect.DeepEqual(rollups, recount) {
		t.Fatalf("after a requeue: rollups\n%q\nrecount\n%q", rollups, recount)
	}

	// The retention purges the rollups of the hours before the cutoff.
	var n int64
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		n, err = purgeRollups(ctx, tx, now.Add(time.Hour))
		return err
	})
	var left int
	db.R.QueryRow(`SELECT (SELECT count(*) FROM ledger_hourly) + (SELECT count(*) FROM outbox_hourly) + (SELECT count(*) FROM outbox_latency_hourly)`).Scan(&left)
	if err != nil || n == 0 || left != 0 {
		t.Errorf("purgeRollups: %d purged, %d left, %v", n, left, err)
	}
}
