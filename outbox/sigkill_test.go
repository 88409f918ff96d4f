package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// The crash test re-executes the test binary as a child process that runs
// a sender against the parent's fake Bot API and a shared database file,
// and kills it with SIGKILL at random points of a burst.

const (
	childEnv   = "OUTBOX_SIGKILL_CHILD"
	childDB    = "OUTBOX_SIGKILL_DB"
	childAPI   = "OUTBOX_SIGKILL_API"
	childToken = "OUTBOX_SIGKILL_TOKEN"
)

// sigkillChild is the child's main: send until SIGTERM (or SIGKILL).
func sigkillChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, os.Getenv(childDB), WithSchema(store.Options{}))
	if err != nil {
		log.Error("child: open", "err", err)
		return 2
	}
	defer db.Close()
	client, err := bot.NewClient(os.Getenv(childToken), os.Getenv(childAPI), bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		log.Error("child: client", "err", err)
		return 2
	}
	s := NewSender(db, client, Config{Logger: log, Workers: 16, PollInterval: 50 * time.Millisecond,
		Limits: &Limits{Global: 300, PrivateChat: 50, GroupPerMinute: 3000}})
	if err := s.Run(ctx); err != nil {
		log.Error("child: run", "err", err)
		return 1
	}
	return 0
}

func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// Latency keeps calls in flight long enough for kills to land on them.
	fake := newFake(t, bottest.WithFaults(bottest.Faults{MinLatency: time.Millisecond, MaxLatency: 4 * time.Millisecond}))
	// The child opens the same database: the SQLite file, or the test's
	// PostgreSQL schema (a killed process's rows are left sending on both).
	path := storetest.DSN(t, filepath.Join(t.TempDir(), "rsvpbot.db"))
	db := openDSN(t, path, store.Options{})
	chats := burstChats(30)
	const perChat = 20
	ids := enqueue(t, db, burstMessages(chats, perChat, Bulk)...)

	env := append(os.Environ(), childEnv+"=1", childDB+"="+path, childAPI+"="+fake.URL, childToken+"="+fake.Token)
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting the child: %v", err)
		}
		return cmd, &stderr
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := 0
	for range 6 {
		if allFinal(t, db) {
			break
		}
		cmd, _ := start()
		// Random points: some kills land during start-up and recovery,
		// most in the middle of the burst.
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
	}
	sentBeforeFinal := countState(t, db)[StateSent]
	cmd, stderr := start()
	waitFor(t, 60*time.Second, "every row final after the restarts", func() bool { return allFinal(t, db) })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("final child exited with %v; stderr:\n%s", err, stderr.String())
	}

	// Nothing lost: every row sent, every message in its chat.
	if st := countState(t, db); st[StateSent] != len(ids) {
		t.Fatalf("states %v, want all %d sent", st, len(ids))
	}
	interrupted := map[int64]bool{}
	rows, err := db.R.Query(`SELECT DISTINCT outbox_id FROM ledger WHERE ambiguous = 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		interrupted[id] = true
	}
	rows.Close()
	dups := 0
	for ci, c := range chats {
		seen := map[string]int{}
		for _, m := range fake.Messages(c) {
			seen[m.Text]++
		}
		for k := 1; k <= perChat; k++ {
			text := fmt.Sprintf("announcement %s", bottest.SeqTag(k))
			id := ids[(k-1)*len(chats)+ci]
			switch n := seen[text]; {
			case n == 0:
				t.Errorf("lost: chat %d never got %q (row %d)", c, text, id)
			case n > 1:
				dups += n - 1
				// At-least-once: a duplicate is allowed only for a row whose
				// ledger says a call may have been delivered unanswered.
				if !interrupted[id] {
					t.Errorf("chat %d got %q %d times, but row %d has no ambiguous attempt", c, text, n, id)
				}
			}
		}
	}
	sum := fake.Summary()
	if sum.OrderViolations != 0 {
		t.Errorf("order violations after crashes: %s", sum)
	}
	t.Logf("%d messages, %d SIGKILLs (%d sent before the final run); rows with ambiguous attempts: %d; duplicates delivered: %d; calls: %d",
		len(ids), kills, sentBeforeFinal, len(interrupted), dups, sum.Calls)
}
