package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// commitFaults fails commits through store.Options.CommitFault: n > 0 fails
// the next n commits, n < 0 every commit until reset.
type commitFaults struct{ n atomic.Int64 }

var errDiskFull = errors.New("database or disk is full")

func (f *commitFaults) fault() error {
	for {
		n := f.n.Load()
		switch {
		case n < 0:
			return errDiskFull
		case n == 0:
			return nil
		case f.n.CompareAndSwap(n, n-1):
			return errDiskFull
		}
	}
}

// countingHandler counts Handle calls per update.
type countingHandler struct {
	*recorder
	calls map[int64]*atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, u *bot.Update) error {
	if c := h.calls[u.ID]; c != nil {
		c.Add(1)
	}
	return h.recorder.Handle(ctx, u)
}

// inboxOutcome is what the inbox and the effects table say about updates.
type inboxOutcome struct {
	done, withError, effects, apologies int
	order                               map[int64][]int64 // chat -> committed effects in commit order
}

func outcome(t *testing.T, db *store.DB) inboxOutcome {
	t.Helper()
	o := inboxOutcome{order: map[int64][]int64{}}
	db.R.QueryRow(`SELECT count(*), count(NULLIF(error, '')) FROM inbox WHERE done_at IS NOT NULL`).Scan(&o.done, &o.withError)
	db.R.QueryRow(`SELECT count(*), coalesce(sum(apology), 0) FROM effects`).Scan(&o.effects, &o.apologies)
	rows, err := db.R.Query(`SELECT chat_id, update_id FROM effects WHERE apology = 0 ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var chat, id int64
		rows.Scan(&chat, &id)
		o.order[chat] = append(o.order[chat], id)
	}
	return o
}

// A transaction that fails because the database cannot write (a full disk)
// is not the update's fault: the update is neither marked done with the
// error nor apologised for; it stays pending, its chat waits, and it is
// handled, in order, once commits succeed again. The first part is the
// moment that lost updates in the field: the disk frees up after the
// handler's commit failed but before the failure was recorded, so the
// "failed" mark (and the apology) commit while the real work never did.
func TestDispatchKeepsUpdatesTheDatabaseCouldNotTake(t *testing.T) {
	var faults commitFaults
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "full.db"),
		store.Options{TxRetries: 1, CommitFault: faults.fault})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE effects (update_id INTEGER UNIQUE, chat_id INTEGER, apology INTEGER DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	h := countingHandler{recorder: rec, calls: map[int64]*atomic.Int64{}}
	for id := range int64(10) {
		h.calls[id+1] = &atomic.Int64{}
	}
	d := bot.NewDispatcher(db, h, bot.DispatcherConfig{Workers: 1, RetryDelay: 10 * time.Millisecond})
	in := bot.NewIntake(db, nil, bot.IntakeConfig{Stored: d.Add})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Part 1: the disk is full for exactly as long as the first handler's
	// transaction tries (TxRetries 1: two commits).
	if _, err := in.Save(ctx, []json.RawMessage{message(1, 70, "a"), message(2, 70, "b"), message(3, 71, "c")}); err != nil {
		t.Fatal(err)
	}
	faults.n.Store(2)
	go d.Run(ctx)
	waitFor(t, "three updates done", func() bool { return outcome(t, db).done == 3 })
	o := outcome(t, db)
	if o.withError != 0 || o.apologies != 0 || o.effects != 3 {
		t.Fatalf("a passing full disk: %+v (updates marked failed or apologised for instead of retried)", o)
	}
	if got := fmt.Sprint(o.order[70]); got != "[1 2]" {
		t.Fatalf("chat 70 handled as %s", got)
	}

	// Part 2: the disk stays full. Updates are tried again and again, none
	// is marked done, and the store says its writes fail.
	gate := make(chan struct{})
	rec.mu.Lock()
	rec.slow[72] = gate
	rec.mu.Unlock()
	if _, err := in.Save(ctx, []json.RawMessage{message(4, 72, "d"), message(5, 72, "e"), message(6, 73, "f")}); err != nil {
		t.Fatal(err)
	}
	faults.n.Store(-1)
	close(gate)
	waitFor(t, "retries on a full disk", func() bool { return h.calls[4].Load() >= 3 && h.calls[6].Load() >= 3 })
	if o := outcome(t, db); o.done != 3 || o.effects != 3 {
		t.Fatalf("on a full disk: %+v", o)
	}
	if h.calls[5].Load() != 0 {
		t.Fatal("update 5 overtook update 4 of its chat")
	}
	if st := db.WriteState(); !errors.Is(st.Err, errDiskFull) {
		t.Fatalf("write state on a full disk: %+v", st)
	}

	faults.n.Store(0) // space returns
	waitFor(t, "all six done", func() bool { return outcome(t, db).done == 6 })
	o = outcome(t, db)
	if o.withError != 0 || o.apologies != 0 || o.effects != 6 {
		t.Fatalf("after space returned: %+v", o)
	}
	if got := fmt.Sprint(o.order[72]); got != "[4 5]" {
		t.Fatalf("chat 72 handled as %s", got)
	}
	if st := db.WriteState(); st.Err != nil {
		t.Fatalf("write state after space returned: %+v", st)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.failed) != 0 {
		t.Fatalf("apologised for %v", rec.failed)
	}
}
