package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/load"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// TestChaosShort is the CI version of `rsvpload -mode chaos`: the real
// binary under load is SIGKILLed every second or two while the emulator
// injects 5xx answers, phantom failures, dropped connections and latency,
// refuses some users with 403, and a group is upgraded to a supergroup.
// Afterwards no update may be lost or handled twice, no reply lost or out
// of order, and duplicates only where the ledger records an ambiguous
// attempt. A regression in crash safety fails the build here.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bot and SIGKILLs it for ~15 s")
	}
	cfg := load.DefaultConfig(load.Chaos)
	// Enough groups that their 20 messages a minute each keep up with the
	// load: the drain must be short, not the test.
	cfg.Users, cfg.Groups = 80, 40
	cfg.Rate = 20
	cfg.Duration = 12 * time.Second
	cfg.KillEvery = 1500 * time.Millisecond
	cfg.DrainTimeout = 45 * time.Second
	cfg.Emu.ForbiddenFraction = 0.05
	// Groups at 120 messages a minute instead of 20: step-by-step event
	// drafts in groups then finish in seconds, and the test stays short.
	cfg.Emu.Limits.GroupPerMinute = 120
	cfg.BotLimits = cfg.Emu.Limits
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	// The build is not the run: on a busy machine it can take minutes.
	bin, err := load.BuildBot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bot = bin
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Text())
	if !res.OK {
		t.Fatalf("chaos run broke an invariant (see above)")
	}
	if res.Bot.Kills < 5 {
		t.Fatalf("only %d SIGKILLs; the run was too gentle to prove anything", res.Bot.Kills)
	}
	if res.Checks.RepliesDelivered < 60 {
		t.Fatalf("only %d replies delivered; the load did not reach the bot", res.Checks.RepliesDelivered)
	}
}

// TestReplicasChaosShort is `rsvpload -mode chaos -replicas 3 -db ...`
// in brief: three replicas on PostgreSQL behind the round-robin proxy,
// one SIGKILLed at a time every couple of seconds, with the emulator's
// faults. The same invariants must hold as with one bot.
func TestReplicasChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bot and SIGKILLs replicas for ~15 s")
	}
	// The run makes its own schema in this database; storetest says
	// whether there is one (skip without RSVPBOT_TEST_POSTGRES, fail if
	// it is set and unreachable).
	db := storetest.Postgres(t, "rsvpload")
	cfg := load.DefaultConfig(load.Chaos)
	cfg.Users, cfg.Groups = 60, 30
	cfg.Rate = 15
	cfg.Duration = 12 * time.Second
	cfg.KillEvery = 2 * time.Second
	cfg.Replicas, cfg.DB = 3, db
	cfg.DrainTimeout = 60 * time.Second
	cfg.Emu.Limits.GroupPerMinute = 120
	cfg.BotLimits = cfg.Emu.Limits
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	bin, err := load.BuildBot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bot = bin
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Text())
	if !res.OK {
		t.Fatalf("chaos run with replicas broke an invariant (see above)")
	}
	if res.Bot.Kills < 4 || res.Replicas != 3 || res.Backend != "postgres" {
		t.Fatalf("%d SIGKILLs of %d replicas on %s: not the run asked for", res.Bot.Kills, res.Replicas, res.Backend)
	}
	if res.Bot.Webhooks[200] < res.Updates.Pushed {
		t.Fatalf("the proxy answered %d webhook calls 200, for %d updates", res.Bot.Webhooks[200], res.Updates.Pushed)
	}
}
