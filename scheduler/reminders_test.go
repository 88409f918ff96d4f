package scheduler

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// t0 is "now" when the test events are made: Sunday 1 Nov 2026, 10:00 UTC.
var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func newReminders(db *store.DB, clk *clock, defaults []time.Duration, logs *bytes.Buffer) *Reminders {
	var log *slog.Logger
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, nil))
	}
	return NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Defaults: defaults, Now: clk.Now, Logger: log})
}

func tick(t *testing.T, r *Reminders) TickResult {
	t.Helper()
	res, err := r.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sinceLast returns the outbox rows added since the previous call.
type outboxWatch struct {
	t    *testing.T
	db   *store.DB
	seen int
}

func (w *outboxWatch) next() []string {
	w.t.Helper()
	rows := outboxRows(w.t, w.db)
	out := texts(rows[w.seen:])
	w.seen = len(rows)
	return out
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("enqueued:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Events get the default offsets (24h, 1h) unless they have their own;
// each reminder goes once, on the Bulk lane, worded from the time left.
func TestDefaultAndCustomOffsets(t *testing.T) {
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	start := t0.Add(3 * 24 * time.Hour) // Wed 4 Nov 10:00
	a := event(t, db, -100, start, "", t0, 10)
	b := event(t, db, -100, start.Add(time.Hour), "2h,15m", t0, 10)
	off := event(t, db, -100, start, "off", t0, 10)
	r := newReminders(db, clk, nil, nil)
	w := &outboxWatch{t: t, db: db}

	if res := tick(t, r); res.Planned != 3 || res.Sent != 0 {
		t.Fatalf("first tick: %+v", res)
	}
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE event_id = ?`, off); n != 0 {
		t.Fatalf("%d reminders for an event with reminders off", n)
	}
	// Ticks every 10 s around each due time; each reminder goes once.
	run := func(until time.Time) {
		for clk.Now().Before(until) {
			tick(t, r)
			clk.Add(10 * time.Second)
		}
	}
	clk.Set(start.Add(-24*time.Hour - time.Minute))
	run(start.Add(-24*time.Hour + time.Minute))
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=24h0m0s to=Ann", a))
	clk.Set(start.Add(-time.Hour - time.Minute))
	run(start.Add(-time.Minute))
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=1h0m0s to=Ann", a),
		fmt.Sprintf("10: private ev%d left=2h0m0s to=Ann", b))
	run(start.Add(time.Hour))
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=15m0s to=Ann", b))
	run(start.Add(3 * time.Hour))
	expect(t, w.next())

	for _, row := range outboxRows(t, db) {
		if row.Lane != 2 || !strings.HasPrefix(row.Dedup, "rem:") || row.Method != "sendMessage" {
			t.Fatalf("row %+v: want the Bulk lane and a dedup key", row)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE sent_at IS NULL OR outcome <> 'sent'`); n != 0 {
		t.Fatalf("%d reminders not settled as sent", n)
	}

	// A changed default (RSVPBOT_REMINDERS) replans events that use it.
	c := event(t, db, -100, clk.Now().Add(48*time.Hour), "", clk.Now(), 10)
	tick(t, r)
	r2 := newReminders(db, clk, []time.Duration{30 * time.Minute}, nil)
	if res := tick(t, r2); res.Planned != 1 {
		t.Fatalf("new default: %+v", res)
	}
	var offs []int64
	rows, _ := db.R.Query(`SELECT offset_ms FROM reminders WHERE event_id = ? ORDER BY offset_ms`, c)
	for rows.Next() {
		var o int64
		rows.Scan(&o)
		offs = append(offs, o)
	}
	rows.Close()
	if !slices.Equal(offs, []int64{(30 * time.Minute).Milliseconds()}) {
		t.Fatalf("offsets after the default changed: %v", offs)
	}
}

// People the bot may write to are reminded privately (the waitlisted with
// their place); the others — never started the bot, blocked it, or whose
// private chat the sender marked inactive after a 403 — are mentioned
// together in one message in the event's group. Muted people are not
// reminded at all.
func TestPrivateGroupAndMute(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	person(t, db, 11, "Bob", false, t0)
	person(t, db, 12, "Cid", true, t0)
	person(t, db, 13, "Dan", true, t0)
	person(t, db, 14, "Eve", false, t0)
	person(t, db, 15, "Fay", true, t0)
	person(t, db, 16, "Gus", true, t0)
	tx(t, db, func(tx *sql.Tx) error {
		if err := store.SetUserBlocked(ctx, tx, 12, true); err != nil {
			return err
		}
		// Fay's private chat answered 403 earlier: the sender marked it inactive.
		if err := store.UpsertChat(ctx, tx, store.Chat{ID: 15, Type: "private"}, t0); err != nil {
			return err
		}
		return store.SetChatActive(ctx, tx, 15, false, "Forbidden: bot can't initiate conversation with a user")
	})
	start := t0.Add(2 * time.Hour)
	id := event(t, db, -100, start, "1h", t0, 10, 11, 12, 15, 16)
	tx(t, db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE events SET capacity = 5 WHERE id = ?`, id); err != nil {
			return err
		}
		for _, u := range []int64{13, 14} { // waitlisted: Dan #1, Eve #2
			if _, err := store.ApplyRSVP(ctx, tx, id, u, store.ActGoing, t0); err != nil {
				return err
			}
		}
		_, err := store.SetReminderMute(ctx, tx, id, 16, true, t0)
		return err
	})
	r := newReminders(db, clk, nil, nil)
	tick(t, r)
	clk.Set(start.Add(-time.Hour))
	res := tick(t, r)
	expect(t, (&outboxWatch{t: t, db: db}).next(),
		fmt.Sprintf("10: private ev%d left=1h0m0s to=Ann", id),
		fmt.Sprintf("13: private ev%d left=1h0m0s to=Dan#1", id),
		fmt.Sprintf("-100: group ev%d left=1h0m0s to=Bob,Cid,Fay,Eve#2", id))
	if res.Sent != 1 || res.Messages != 3 {
		t.Fatalf("%+v", res)
	}
	if n := count(t, db, `SELECT recipients FROM reminders WHERE event_id = ?`, id); n != 6 {
		t.Fatalf("recipients %d, want 6 (Gus muted)", n)
	}
}

// Editing the start recomputes pending reminders even if the editing code
// never calls RescheduleReminders: a reminder is never sent for an old
// start. A reminder already sent goes again for the new start if that is
// ahead. RSVPs made after a reminder went out do not trigger it again.
// Cancelling drops the pending ones (and DeleteReminders removes them).
func TestEditRSVPAfterAndCancel(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	person(t, db, 11, "Bob", true, t0)
	start := t0.Add(3 * 24 * time.Hour)
	id := event(t, db, -100, start, "", t0, 10)
	r := newReminders(db, clk, nil, nil)
	w := &outboxWatch{t: t, db: db}
	tick(t, r)

	clk.Set(start.Add(-24 * time.Hour))
	tick(t, r)
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=24h0m0s to=Ann", id))
	// Bob answers after the 24h reminder: he is not sent it.
	tx(t, db, func(tx *sql.Tx) error {
		_, err := store.ApplyRSVP(ctx, tx, id, 11, store.ActGoing, clk.Now())
		return err
	})
	clk.Add(time.Minute)
	tick(t, r)
	expect(t, w.next())

	// The organizer moves the event one day later (no reminder call).
	newStart := start.Add(24 * time.Hour)
	tx(t, db, func(tx *sql.Tx) error {
		ev, _, err := store.GetEvent(ctx, tx, id)
		if err != nil {
			return err
		}
		ev.StartsAt = newStart
		return store.UpdateEventDetails(ctx, tx, ev, clk.Now())
	})
	// The old 1h due time passes: nothing is sent.
	clk.Set(start.Add(-time.Hour))
	tick(t, r)
	expect(t, w.next())
	// The 24h reminder goes again, for the new start, to both.
	clk.Set(newStart.Add(-24 * time.Hour))
	tick(t, r)
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=24h0m0s to=Ann", id), fmt.Sprintf("11: private ev%d left=24h0m0s to=Bob", id))

	// A reminder stale when it falls due (the planner has not seen the
	// edit yet) is recomputed at claim time, not sent.
	tx(t, db, func(tx *sql.Tx) error {
		ev, _, err := store.GetEvent(ctx, tx, id)
		if err != nil {
			return err
		}
		ev.StartsAt = newStart.Add(30 * time.Minute)
		return store.UpdateEventDetails(ctx, tx, ev, clk.Now())
	})
	clk.Set(newStart.Add(-time.Hour))
	res, err := r.Tick(ctx) // plan runs first; claim would re-check anyway
	if err != nil {
		t.Fatal(err)
	}
	expect(t, w.next())
	if res.Planned == 0 {
		t.Fatalf("edit not replanned: %+v", res)
	}
	clk.Set(newStart.Add(-30 * time.Minute))
	tick(t, r)
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=1h0m0s to=Ann", id), fmt.Sprintf("11: private ev%d left=1h0m0s to=Bob", id))

	// Cancelled without DeleteReminders: the due reminder is dropped.
	second := event(t, db, -100, clk.Now().Add(5*time.Hour), "", clk.Now(), 10)
	tick(t, r)
	tx(t, db, func(tx *sql.Tx) error { _, err := store.CancelEvent(ctx, tx, second, clk.Now()); return err })
	clk.Add(4 * time.Hour)
	res = tick(t, r)
	expect(t, w.next())
	if res.Cancelled != 1 {
		t.Fatalf("%+v", res)
	}
	// With DeleteReminders (what the cancel code should call) the rows go.
	third := event(t, db, -100, clk.Now().Add(5*time.Hour), "", clk.Now(), 10)
	tick(t, r)
	tx(t, db, func(tx *sql.Tx) error {
		if _, err := store.CancelEvent(ctx, tx, third, clk.Now()); err != nil {
			return err
		}
		_, err := store.DeleteReminders(ctx, tx, third)
		return err
	})
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE event_id = ?`, third); n != 0 {
		t.Fatalf("%d reminders left after DeleteReminders", n)
	}
}

// After downtime, a reminder that fell due while the bot was down is sent
// at start if the event has not begun, worded from the time actually left,
// and only the one closest to the start (24h is superseded by 1h). One
// whose event has begun is skipped and logged.
func TestDowntimeCatchUpAndSkip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "down.db")
	db := openDB(t, path)
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	soon := t0.Add(30 * time.Hour)
	begun := t0.Add(29 * time.Hour)
	a := event(t, db, -100, soon, "", t0, 10)
	b := event(t, db, -100, begun, "", t0, 10)
	// c's 24h reminder row is newer (higher id) than its 1h one: the order
	// rows are claimed in must not matter.
	c := event(t, db, -100, soon, "1h", t0, 10)
	var logs bytes.Buffer
	tick(t, newReminders(db, clk, nil, &logs)) // planned
	tx(t, db, func(tx *sql.Tx) error {
		if err := store.SetEventReminderOffsets(context.Background(), tx, c, "24h,1h", t0); err != nil {
			return err
		}
		return store.RescheduleReminders(context.Background(), tx, c, soon, []time.Duration{24 * time.Hour, time.Hour}, t0)
	})
	db.Close() // the bot goes down

	// Back up 40 minutes before a's start: a's 24h and 1h reminders are
	// both overdue; b began 20 minutes ago.
	clk.Set(soon.Add(-40 * time.Minute))
	db = openDB(t, path)
	r := newReminders(db, clk, nil, &logs)
	res := tick(t, r)
	expect(t, (&outboxWatch{t: t, db: db}).next(), fmt.Sprintf("10: private ev%d left=40m0s to=Ann", a),
		fmt.Sprintf("10: private ev%d left=40m0s to=Ann", c))
	if res.Late != 2 || res.Superseded != 2 || res.Started != 2 {
		t.Fatalf("%+v", res)
	}
	outcomes := map[string]int{}
	rows, _ := db.R.Query(`SELECT event_id, offset_ms, outcome FROM reminders ORDER BY event_id, offset_ms`)
	for rows.Next() {
		var ev, off int64
		var o string
		rows.Scan(&ev, &off, &o)
		outcomes[o]++
	}
	rows.Close()
	if outcomes["late"] != 2 || outcomes["skipped_superseded"] != 2 || outcomes["skipped_started"] != 2 {
		t.Fatalf("outcomes %v", outcomes)
	}
	if !strings.Contains(logs.String(), "event has begun") || !strings.Contains(logs.String(), fmt.Sprintf("event=%d", b)) {
		t.Fatalf("skip not logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "sent late") {
		t.Fatalf("late send not logged:\n%s", logs.String())
	}
}

// A private reminder the sender dropped (the user never started the bot:
// 403, chat marked inactive) is followed by a mention in the group, once;
// that person's next reminder goes to the group directly.
func TestDroppedPrivateReminderFallsBackToGroup(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 10, "Ann", true, t0)
	person(t, db, 11, "Bob", true, t0) // marked started (e.g. wrote to the bot once), but the private chat fails
	start := t0.Add(3 * time.Hour)
	id := event(t, db, -100, start, "2h,1h", t0, 10, 11)
	r := newReminders(db, clk, nil, nil)
	w := &outboxWatch{t: t, db: db}
	tick(t, r)
	clk.Set(start.Add(-2 * time.Hour))
	tick(t, r)
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=2h0m0s to=Ann", id), fmt.Sprintf("11: private ev%d left=2h0m0s to=Bob", id))

	// The sender: Ann's goes out; Bob's gets a 403 — his chat is marked
	// inactive and the row dropped, which the fate hook records.
	fake := bottest.NewServer()
	defer fake.Close()
	fake.BlockUser(11)
	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sender := outbox.NewSender(db, client, outbox.Config{Limits: &outbox.Limits{}, Logger: slog.New(slog.DiscardHandler),
		OnFate: ReminderFate})
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sender.Run(sctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		q, err := outbox.ReadQueue(ctx, db.R, time.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if q.PendingTotal()+q.SendingTotal() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("outbox not drained")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	if len(fake.Messages(10)) != 1 || len(fake.Messages(11)) != 0 {
		t.Fatalf("delivered: Ann %d, Bob %d", len(fake.Messages(10)), len(fake.Messages(11)))
	}
	clk.Add(time.Minute)
	res := tick(t, r)
	expect(t, w.next(), fmt.Sprintf("-100: undelivered ev%d left=1h59m0s to=Bob", id))
	if res.Followups != 1 {
		t.Fatalf("%+v", res)
	}
	clk.Add(time.Minute)
	tick(t, r)
	expect(t, w.next()) // once
	if n := count(t, db, `SELECT count(*) FROM reminder_sends WHERE settled = 0`); n != 0 {
		t.Fatalf("%d sends not settled", n)
	}
	clk.Set(start.Add(-time.Hour))
	tick(t, r)
	expect(t, w.next(), fmt.Sprintf("10: private ev%d left=1h0m0s to=Ann", id), fmt.Sprintf("-100: group ev%d left=1h0m0s to=Bob", id))
}

// An event made in a private chat whose card was shared to a group: people
// without a private chat are mentioned in that group.
func TestGroupFallbackUsesSharedCard(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, "")
	clk := newClock(t0)
	person(t, db, 11, "Bob", false, t0)
	id := event(t, db, 1, t0.Add(2*time.Hour), "1h", t0, 11)
	tx(t, db, func(tx *sql.Tx) error {
		_, err := store.AddEventCard(ctx, tx, store.EventCard{EventID: id, ChatID: -200, MessageID: 5}, t0)
		return err
	})
	r := newReminders(db, clk, nil, nil)
	tick(t, r)
	clk.Add(time.Hour)
	tick(t, r)
	expect(t, (&outboxWatch{t: t, db: db}).next(), fmt.Sprintf("-200: group ev%d left=1h0m0s to=Bob", id))
}

// The crash test re-executes the test binary as a child that runs one
// tick and kills itself with SIGKILL at a chosen point.
const crashEnv = "RSVPBOT_REMINDER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild runs one tick on the database named in the environment,
// at the time given there, killing itself at the stage asked for.
func crashChild() int {
	path, stage := os.Getenv("CRASH_DB"), os.Getenv("CRASH_AT")
	now, err := time.Parse(time.RFC3339, os.Getenv("CRASH_NOW"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	db, err := store.Open(context.Background(), path, outbox.WithSchema(store.Options{}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	crashHook = func(s string) {
		if s == stage {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	r := NewReminders(ReminderConfig{DB: db, Render: textRenderer{}, Now: func() time.Time { return now }, Batch: 5})
	if _, err := r.Tick(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

func runChild(t *testing.T, path, stage string, now time.Time) (killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"=1", "CRASH_DB="+path, "CRASH_AT="+stage, "CRASH_NOW="+now.Format(time.RFC3339))
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Fatalf("child: %v\n%s", err, out)
	return false
}

// SIGKILL at the moment reminders are claimed: killed after the messages
// were enqueued but before the claim committed, nothing is left behind;
// killed just after a batch committed (claimed, not yet sent), that batch
// is not enqueued again. After the restart every (reminder, person) has
// exactly one outbox row, and the sender delivers each once.
func TestSIGKILLWhileClaimingEnqueuesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	db := openDB(t, path)
	person(t, db, 10, "Ann", true, t0)
	person(t, db, 11, "Bob", false, t0)
	start := t0.Add(2 * time.Hour)
	const events = 12 // three batches of five reminders
	for range events {
		event(t, db, -100, start, "1h", t0, 10, 11)
	}
	tick(t, newReminders(db, newClock(t0), nil, nil)) // planned
	due := start.Add(-time.Hour)

	dsn := storetest.DSN(t, path) // the database openDB opened, for the child
	if !runChild(t, dsn, "claimed", due) {
		t.Fatal("the child was not killed")
	}
	if n := count(t, db, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("%d outbox rows survived a kill before commit", n)
	}
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d reminders settled by a transaction that never committed", n)
	}
	if !runChild(t, dsn, "committed", due) {
		t.Fatal("the child was not killed")
	}
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL`); n != 5 {
		t.Fatalf("%d reminders settled after a kill right after the first batch, want 5", n)
	}
	if runChild(t, dsn, "none", due) {
		t.Fatal("the restarted child was killed")
	}
	if runChild(t, dsn, "none", due.Add(time.Minute)) { // and once more: nothing new
		t.Fatal("killed")
	}
	if n := count(t, db, `SELECT count(*) FROM reminders WHERE sent_at IS NULL OR outcome <> 'sent'`); n != 0 {
		t.Fatalf("%d reminders not sent", n)
	}
	// Ann privately and Bob by mention in the group, once per event.
	if n := count(t, db, `SELECT count(*) FROM outbox WHERE chat_id = 10`); n != events {
		t.Fatalf("Ann: %d private reminders, want %d", n, events)
	}
	if n := count(t, db, `SELECT count(*) FROM outbox WHERE chat_id = -100`); n != events {
		t.Fatalf("group: %d mentions, want %d", n, events)
	}
	if n := count(t, db, `SELECT count(*) FROM (SELECT dedup_key FROM outbox GROUP BY dedup_key HAVING count(*) > 1) d`); n != 0 {
		t.Fatal("duplicate dedup keys")
	}

	// The rows enqueued before the kill and after the restart are then
	// sent, once each, by the outbox sender.
	fake := bottest.NewServer()
	defer fake.Close()
	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sender := outbox.NewSender(db, client, outbox.Config{Limits: &outbox.Limits{}, Logger: slog.New(slog.DiscardHandler),
		PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sender.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for count(t, db, `SELECT count(*) FROM outbox WHERE state <> 'sent'`) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("outbox not drained")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if a, g := len(fake.Messages(10)), len(fake.Messages(-100)); a != events || g != events {
		t.Fatalf("delivered: Ann %d, group %d; want %d each", a, g, events)
	}
}
