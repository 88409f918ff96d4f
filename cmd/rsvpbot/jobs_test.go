package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

// The app the handlers' tests run is the app rsvpbot runs: the scheduled
// jobs of production's configuration (every variable at its default) are
// those of the test harness, by name and schedule.
func TestJobsSameAsHarness(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	cfg, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", fake.Token, "TELEGRAM_API_URL", fake.URL,
		"RSVPBOT_DB", filepath.Join(t.TempDir(), "rsvpbot.db"), "RSVPBOT_HTTP_ADDR", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := app.New(context.Background(), cfg.app(time.Now(), slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	h := handlerstest.Start(t, handlerstest.Options{})

	got, want := fmt.Sprint(h.Main.Jobs()), fmt.Sprint(prod.Jobs())
	if got != want {
		t.Errorf("the harness's jobs\n  %s\nare not production's\n  %s", got, want)
	}
	if len(prod.Jobs()) < 7 {
		t.Errorf("production has only %d jobs: %s", len(prod.Jobs()), want)
	}
	// RSVPBOT_LEDGER_RETENTION's default is the app's.
	if cfg.LedgerRetention != app.DefaultLedgerRetention {
		t.Errorf("RSVPBOT_LEDGER_RETENTION defaults to %v, the app to %v", cfg.LedgerRetention, app.DefaultLedgerRetention)
	}
}

// RSVPBOT_LEDGER_RETENTION=off keeps the ledger: no purge job.
func TestLedgerRetentionOffHasNoPurge(t *testing.T) {
	cfg, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_LEDGER_RETENTION", "off"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.app(time.Now(), nil).LedgerRetention; got >= 0 {
		t.Errorf("off becomes LedgerRetention %v; the app purges unless it is negative", got)
	}
}
