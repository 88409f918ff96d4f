// Package load drives the real rsvpbot binary with simulated users against
// the in-process Telegram emulator (package emu), and checks what the bot
// promises: no update lost or handled twice, no reply lost, replies in
// order per chat, duplicates only where the ambiguity rule allows them.
//
// Why the emulator runs in this process rather than as a separate tgemu:
// every check needs the exact time and content of every call the bot made,
// and reading them from the fake's memory is simpler and cheaper than
// shipping them over the control API. An operator who wants to watch a run
// can still read the emulator's /_emu/summary on the address printed at
// start.
//
// A run: build (or take) the bot binary, start the emulator and a fake
// Open-Meteo on 127.0.0.1, start the bot with a fresh SQLite file in a temp
// directory, push updates as users for the mode's duration (killing the
// bot now and then in chaos mode), wait until everything pushed has been
// handled and every reply sent, stop the bot, then compare the emulator's
// record with the bot's database. See Result for what is measured. With
// -db the database is a fresh schema in PostgreSQL instead of the file,
// and with -replicas several bot processes share it behind a round-robin
// proxy (replicas.go).
package load

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/store"
)

// Mode is a load shape.
type Mode string

// Modes.
const (
	// Steady pushes Rate updates per second for Duration.
	Steady Mode = "steady"
	// Ramp starts at Rate and multiplies it by RampFactor every RampStep
	// until replies slow down past P95Threshold, the emulator answers 429,
	// or MaxRate is reached.
	Ramp Mode = "ramp"
	// Spike queues SpikeMessages bulk messages at once (a broadcast, a
	// wave of reminders) while users keep talking at Rate, and runs until
	// the spike has drained.
	Spike Mode = "spike"
	// Chaos pushes Rate updates per second for Duration with faults
	// injected, SIGKILLs and restarts the bot every KillEvery (±30 %) and
	// migrates a group half-way.
	Chaos Mode = "chaos"
	// Flood has Flooders users send FloodCommands commands each, as fast
	// as a script does, into one group over FloodFor, while that group's
	// other members keep asking (a tagged command every FloodNormalEvery,
	// and event cards) and the rest of the world talks at Rate for
	// Duration. It measures the flooded group's normal members' reply
	// latency against the 10 s target, and the other chats'.
	Flood Mode = "flood"
)

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case Steady, Ramp, Spike, Chaos, Flood:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (steady, ramp, spike, chaos or flood)", s)
}

// Config describes a run. DefaultConfig fills what a mode needs.
type Config struct {
	Mode Mode
	// Bot is the rsvpbot binary; empty builds it into the work directory.
	Bot string
	// WorkDir holds the database and the bot's log; empty makes a temp
	// directory, removed after a successful run unless Keep.
	WorkDir string
	Keep    bool

	Users  int // simulated users (each has a private chat with the bot)
	Groups int // groups the bot is in, each with some of the users

	// Rate is updates pushed per second (the starting rate for Ramp, the
	// background conversation rate for Spike).
	Rate     float64
	Duration time.Duration

	// Ramp.
	RampStep     time.Duration
	RampFactor   float64
	MaxRate      float64
	P95Threshold time.Duration

	// Spike.
	SpikeMessages int

	// Chaos.
	KillEvery time.Duration
	// Migrate upgrades one group to a supergroup half-way through a chaos run.
	Migrate bool

	// Flood.
	Flooders         int
	FloodCommands    int // per flooder
	FloodFor         time.Duration
	FloodNormalEvery time.Duration

	// Emu configures the emulator: limits and faults (Migrations are
	// ignored; Migrate does it at a moment when checks can follow it).
	Emu emu.Config
	// BotLimits are the limits the bot paces itself by (RSVPBOT_RATE_*);
	// by default the emulator's.
	BotLimits bottest.Limits
	// BotFloodUser and BotFloodChat are RSVPBOT_FLOOD_USER and
	// RSVPBOT_FLOOD_CHAT for the bot ("" leaves the bot's default). The
	// capacity modes run with them off: their simulated users are few and
	// busy on purpose, and they measure the pipeline, not the budgets.
	BotFloodUser, BotFloodChat string

	// Webhook runs the bot in webhook mode (the emulator POSTs updates to
	// it) instead of long polling.
	Webhook bool
	// Replicas, if positive, runs that many bot processes on one database
	// in webhook mode behind a round-robin proxy (replicas.go); more than
	// one needs DB.
	Replicas int
	// DB is a PostgreSQL URL (postgres://...): the run gets a fresh schema
	// in that database, dropped after a passing run. Empty: an SQLite
	// file in the work directory.
	DB string

	// Reminders is RSVPBOT_REMINDERS for the bot.
	Reminders string
	// DrainTimeout bounds the wait, after the load, for every update to be
	// handled and every reply to be sent.
	DrainTimeout time.Duration
	Seed         uint64
	// Progress receives one line per few seconds while the run goes on
	// (nil: quiet).
	Progress io.Writer
}

// DefaultConfig is a sensible run of mode m: about a minute of moderate
// load against Telegram's limits.
func DefaultConfig(m Mode) Config {
	c := Config{
		Mode: m, Users: 300, Groups: 30, Rate: 20, Duration: 30 * time.Second,
		RampStep: 10 * time.Second, RampFactor: 1.5, MaxRate: 2000, P95Threshold: 2 * time.Second,
		SpikeMessages: 10_000, KillEvery: 10 * time.Second, Migrate: true,
		Flooders: 20, FloodCommands: 100, FloodFor: 40 * time.Second, FloodNormalEvery: 5 * time.Second,
		Emu: emu.DefaultConfig(), Reminders: "2m,1m", DrainTimeout: 2 * time.Minute, Seed: 1,
	}
	c.BotLimits = c.Emu.Limits
	if m != Flood {
		c.BotFloodUser, c.BotFloodChat = "off", "off"
	}
	switch m {
	case Ramp:
		c.Rate = 5
		c.Duration = 5 * time.Minute // an upper bound; pushback ends it sooner
	case Spike:
		c.Rate = 5
		c.Duration = 5 * time.Minute // an upper bound; the drain ends it sooner
	case Flood:
		c.Rate = 10
		c.Duration = time.Minute
	case Chaos:
		c.Rate = 15
		c.Duration = 2 * time.Minute
		c.Emu.Faults = bottest.Faults{ErrorRate: 0.03, PhantomErrorRate: 0.01, DropRate: 0.01,
			MinLatency: 2 * time.Millisecond, MaxLatency: 40 * time.Millisecond}
		c.Emu.ForbiddenFraction = 0.02
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Users < 10:
		return fmt.Errorf("-users must be at least 10")
	case c.Groups < 1:
		return fmt.Errorf("-groups must be at least 1")
	case c.Rate <= 0:
		return fmt.Errorf("-rate must be positive")
	case c.Duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case c.Mode == Ramp && (c.RampFactor <= 1 || c.RampStep <= 0):
		return fmt.Errorf("-ramp-factor must be above 1 and -ramp-step positive")
	case c.Mode == Spike && c.SpikeMessages <= 0:
		return fmt.Errorf("-spike must be positive")
	case c.Mode == Flood && (c.Flooders < 1 || c.FloodCommands < 1 || c.FloodFor <= 0 || c.FloodFor+floodDelay > c.Duration || c.FloodNormalEvery <= 0):
		return fmt.Errorf("-flooders and -flood-commands must be positive, -flood-for positive and at most -duration minus %s, -flood-normal-every positive", floodDelay)
	case c.Mode == Chaos && c.KillEvery <= 0:
		return fmt.Errorf("-kill-every must be positive")
	case c.Replicas < 0:
		return fmt.Errorf("-replicas must not be negative")
	case c.Replicas > 1 && c.DB == "":
		return fmt.Errorf("-replicas %d: replicas share a PostgreSQL database: give -db postgres://user@host:5432/db", c.Replicas)
	case c.DB != "" && !store.IsPostgresURL(c.DB):
		return fmt.Errorf("-db must be a postgres:// URL (without -db the bot uses an SQLite file)")
	}
	return c.Emu.Validate()
}
