package ops_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// A full disk fails commits, not the rolled-back write probe: readiness
// follows the latest real commit. With the disk full (the store's
// CommitFault seam failing every COMMIT), /readyz answers 503 and says
// why; once space returns it is ready again without waiting for traffic.
func TestNotReadyWhileCommitsFail(t *testing.T) {
	var full atomic.Bool
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "rsvpbot.db"), outbox.WithSchema(store.Options{TxRetries: 1,
		CommitFault: func() error {
			if full.Load() {
				return errors.New("database or disk is full")
			}
			return nil
		}}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := newEnv(t, envOptions{db: db, noAPI: true})
	ready := func() (int, string) {
		r := e.do(http.MethodGet, "/readyz", "", nil)
		return r.status, string(r.body)
	}
	if st, body := ready(); st != 200 {
		t.Fatalf("before: %d %s", st, body)
	}

	full.Store(true)
	err = db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO users (id, first_seen, last_seen) VALUES (1, 0, 0)`)
		return err
	})
	if err == nil {
		t.Fatal("a commit on a full disk succeeded")
	}
	st, body := ready()
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "database: FAIL: not writable: commits fail since") ||
		!strings.Contains(body, "database or disk is full") {
		t.Fatalf("full disk: %d %s", st, body)
	}
	// Still full: readiness checks with a real commit, which fails too.
	if st, body := ready(); st != http.StatusServiceUnavailable {
		t.Fatalf("still full: %d %s", st, body)
	}

	full.Store(false) // space returns; nothing else writes
	if st, body := ready(); st != 200 || !strings.Contains(body, "database: ok: writable") {
		t.Fatalf("after space returned: %d %s", st, body)
	}
}

// Two bots with one token and different databases: Telegram (the fake)
// answers each poll with 409 as the other's poll starts, and they split
// the updates. /readyz says so with 503 while it lasts, and is ready again
// once the other process is gone and a poll succeeds.
func TestNotReadyWhileAnotherProcessPolls(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t)
	e := newEnv(t, envOptions{db: db, noAPI: true})
	ready := func() (int, string) {
		r := e.do(http.MethodGet, "/readyz", "", nil)
		return r.status, string(r.body)
	}
	intake := func(db *store.DB, onCall func(error)) *bot.Intake {
		c, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return bot.NewIntake(db, c, bot.IntakeConfig{PollTimeout: time.Second, MinBackoff: 5 * time.Millisecond,
			MaxBackoff: 20 * time.Millisecond, OnCall: onCall})
	}
	ours := intake(db, func(err error) { e.health.TelegramCall(err); e.health.Polled(err) })
	theirs := intake(openDB(t), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oursDone := make(chan struct{})
	go func() { defer close(oursDone); ours.Poll(ctx) }()
	waitFor(t, "our first poll", func() bool { return len(fake.CallsTo("getUpdates")) > 0 })
	if st, body := ready(); st != 200 {
		t.Fatalf("alone: %d %s", st, body)
	}

	otherCtx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan struct{})
	go func() { defer close(otherDone); theirs.Poll(otherCtx) }()
	var body string
	waitFor(t, "503 with the reason", func() bool {
		var st int
		st, body = ready()
		return st == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "polling: FAIL: another process is polling this bot token (409 Conflict)") {
		t.Fatalf("conflict: %s", body)
	}
	// An error that is no answer (a dropped connection) does not end it.
	e.health.Polled(errors.New("connection reset"))
	if st, _ := ready(); st != http.StatusServiceUnavailable {
		t.Fatal("a network error ended the conflict")
	}

	stopOther()
	<-otherDone
	waitFor(t, "ready after the other process stopped", func() bool { st, _ := ready(); return st == 200 })
	if _, body := ready(); !strings.Contains(body, "polling: ok") {
		t.Fatalf("after: %s", body)
	}
	cancel()
	<-oursDone
}
