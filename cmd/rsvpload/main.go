// Command rsvpload loads the real rsvpbot binary without touching
// Telegram: it runs the Telegram emulator (package emu, as tgemu does) in
// its own process, starts the bot against it with a fresh database,
// simulates users in private chats and groups, and checks the bot's
// promises from the emulator's record and the bot's database: no update
// lost or handled twice, no reply lost, replies in order per chat, and
// duplicates only within the ambiguity rule. It exits 1 when one is broken.
//
//	rsvpload -mode steady -rate 20 -duration 30s
//	rsvpload -mode ramp                      # until p95 latency or 429s push back
//	rsvpload -mode spike -spike 10000        # a broadcast's worth of bulk messages at once
//	rsvpload -mode chaos -duration 2m        # SIGKILLs every ~10 s, faults injected
//	rsvpload -mode flood                     # 20 users × 100 commands into one group
//	rsvpload -replicas 3 -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable   # 3 webhook replicas behind a proxy
//	rsvpload -mode chaos -replicas 3 -db postgres://... -kill-every 3s                 # one replica SIGKILLed at a time
//	rsvpload report -bench go-bench.txt -out docs/benchmarks.md runs/*.json
//	rsvpload seed -db big.db -scale 1 -seed 1   # a large, realistic database
//
// Modes, measurements and the report are described in docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/load"
	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/report"
	"github.com/rsvpbot/rsvpbot/cmd/rsvpload/internal/seedcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK     = 0
	exitBroken = 1 // an invariant was broken
	exitUsage  = 2
	exitError  = 3 // the run could not be carried out
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		if err := report.Main(args[1:], stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			fmt.Fprintf(stderr, "rsvpload report: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	if len(args) > 0 && args[0] == "seed" {
		if err := seedcmd.Main(ctx, args[1:], stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			fmt.Fprintf(stderr, "rsvpload seed: %v\n", err)
			return exitError
		}
		return exitOK
	}
	mode, err := load.ParseMode(modeArg(args))
	if err != nil {
		fmt.Fprintf(stderr, "rsvpload: %v\n", err)
		return exitUsage
	}
	cfg := load.DefaultConfig(mode)
	fs := flag.NewFlagSet("rsvpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("mode", string(mode), "steady, ramp, spike, chaos or flood (defaults of the other flags depend on it)")
	fs.StringVar(&cfg.Bot, "bot", "", "rsvpbot binary to run (default: build it from this module)")
	fs.StringVar(&cfg.WorkDir, "dir", "", "work directory for the database and the bot's log (default: a temp directory)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the work directory even when the run passes")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "simulated users")
	fs.IntVar(&cfg.Groups, "groups", cfg.Groups, "simulated groups")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "updates pushed per second (ramp: the first step; spike: users talking meanwhile)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to push (ramp, spike: at most)")
	fs.DurationVar(&cfg.RampStep, "ramp-step", cfg.RampStep, "ramp: time at each rate")
	fs.Float64Var(&cfg.RampFactor, "ramp-factor", cfg.RampFactor, "ramp: rate multiplier per step")
	fs.Float64Var(&cfg.MaxRate, "max-rate", cfg.MaxRate, "ramp: highest rate tried")
	fs.DurationVar(&cfg.P95Threshold, "p95", cfg.P95Threshold, "ramp: reply p95 above which the bot is pushing back")
	fs.IntVar(&cfg.SpikeMessages, "spike", cfg.SpikeMessages, "spike: bulk messages queued at once")
	fs.DurationVar(&cfg.KillEvery, "kill-every", cfg.KillEvery, "chaos: SIGKILL the bot about this often (±30%)")
	fs.BoolVar(&cfg.Migrate, "migrate-group", cfg.Migrate, "chaos: upgrade a group to a supergroup half-way")
	fs.IntVar(&cfg.Flooders, "flooders", cfg.Flooders, "flood: users flooding one group")
	fs.IntVar(&cfg.FloodCommands, "flood-commands", cfg.FloodCommands, "flood: commands each flooder sends")
	fs.DurationVar(&cfg.FloodFor, "flood-for", cfg.FloodFor, "flood: over how long the flooders send them (starting 5 s into the load)")
	fs.DurationVar(&cfg.FloodNormalEvery, "flood-normal-every", cfg.FloodNormalEvery, "flood: how often one of the flooded group's other members asks something")
	fs.BoolVar(&cfg.Webhook, "webhook", false, "run the bot in webhook mode (the emulator POSTs updates to it) instead of long polling")
	fs.IntVar(&cfg.Replicas, "replicas", 0, "run this many bot replicas on one database, in webhook mode behind a round-robin proxy (more than 1 needs -db; chaos kills one at a time)")
	fs.StringVar(&cfg.DB, "db", "", "PostgreSQL URL (postgres://user@host:5432/db?sslmode=disable): the run uses a fresh schema there; default an SQLite file")
	fs.StringVar(&cfg.Reminders, "reminders", cfg.Reminders, "RSVPBOT_REMINDERS for the bot (short offsets make reminders fall due during the run)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "how long to wait after the load for the bot to finish its work")
	fs.Uint64Var(&cfg.Seed, "load-seed", cfg.Seed, "seed of the simulated users' choices")
	botGlobal := fs.Float64("bot-global", -1, "the bot's RSVPBOT_RATE_GLOBAL (default: the emulator's -global)")
	botPrivate := fs.Float64("bot-private", -1, "the bot's RSVPBOT_RATE_CHAT (default: the emulator's -private)")
	botGroup := fs.Float64("bot-group", -1, "the bot's RSVPBOT_RATE_GROUP per minute (default: the emulator's -group)")
	fs.StringVar(&cfg.BotFloodUser, "bot-flood-user", cfg.BotFloodUser, "the bot's RSVPBOT_FLOOD_USER (empty: the bot's default; off in every mode but flood)")
	fs.StringVar(&cfg.BotFloodChat, "bot-flood-chat", cfg.BotFloodChat, "the bot's RSVPBOT_FLOOD_CHAT (empty: the bot's default; off in every mode but flood)")
	unlimited := fs.Bool("unlimited", false, "no limits anywhere: measures the bot's own capacity")
	jsonOut := fs.String("json", "", "write the result as JSON to this file (- for stdout)")
	chartOut := fs.String("chart", "", "write an SVG chart of the pacing to this file")
	quiet := fs.Bool("q", false, "no progress lines")
	cfg.Emu.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rsvpload -mode steady|ramp|spike|chaos|flood [flags]\n       rsvpload report [flags] RESULT.json...\n\nFlags (emulator flags as in tgemu):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rsvpload: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *unlimited {
		cfg.Emu.Limits.GlobalPerSecond, cfg.Emu.Limits.PrivatePerSecond, cfg.Emu.Limits.GroupPerMinute = 0, 0, 0
	}
	cfg.BotLimits = cfg.Emu.Limits
	for _, o := range []struct {
		v   float64
		dst *float64
	}{{*botGlobal, &cfg.BotLimits.GlobalPerSecond}, {*botPrivate, &cfg.BotLimits.PrivatePerSecond}, {*botGroup, &cfg.BotLimits.GroupPerMinute}} {
		if o.v >= 0 {
			*o.dst = o.v
		}
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpload: %v\n", err)
		return exitError
	}
	res.Command = "rsvpload " + strings.Join(reproducible(args), " ")
	fmt.Fprint(stdout, res.Text())
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}); err != nil {
			fmt.Fprintf(stderr, "rsvpload: %v\n", err)
			return exitError
		}
	}
	if *chartOut != "" {
		if err := writeFile(*chartOut, stdout, res.WriteChart); err != nil {
			fmt.Fprintf(stderr, "rsvpload: %v\n", err)
			return exitError
		}
	}
	if !res.OK {
		return exitBroken
	}
	return exitOK
}

// modeArg finds -mode's value before the flags are defined, because the
// other flags' defaults depend on it.
func modeArg(args []string) string {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "mode" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return string(load.Steady)
}

// reproducible drops the flags that only say where files go, so that the
// command in the report reads the same on every machine.
func reproducible(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch name {
		case "bot", "json", "chart", "dir", "db":
			if !hasVal {
				i++
			}
			continue
		case "q", "keep":
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
