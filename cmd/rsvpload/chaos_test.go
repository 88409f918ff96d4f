package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/load"
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
