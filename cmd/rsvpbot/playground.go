package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rsvpbot/rsvpbot/playground"
)

// runPlayground is `rsvpbot playground`: the bot against the built-in
// Telegram emulator, in a browser (package playground). The bot itself runs
// as a child process of this one: this binary again, with `run`.
func runPlayground(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rsvpbot playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reset := fs.Bool("reset", false, "start afresh: delete the playground's database and people first")
	offline := fs.Bool("offline", false, "use the built-in fake forecast even if Open-Meteo is reachable")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: rsvpbot playground [--reset] [--offline]

Runs the bot against the built-in Telegram emulator and serves a
Telegram-like page on RSVPBOT_HTTP_ADDR (default 127.0.0.1:8080): no token,
nothing leaves this machine. Data: data/playground.db.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rsvpbot playground: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	addr := "127.0.0.1:8080"
	if v, ok := lookupEnv("RSVPBOT_HTTP_ADDR"); ok && strings.TrimSpace(v) != "" {
		addr = strings.TrimSpace(v)
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	err := playground.Run(ctx, playground.Config{
		Addr:    addr,
		DB:      filepath.Join("data", "playground.db"),
		Reset:   *reset,
		Offline: *offline,
		Env:     os.Environ(),
		Stdout:  stdout,
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	var ue *playground.UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rsvpbot playground: %v\n", ue)
		return 2
	default:
		fmt.Fprintf(stderr, "rsvpbot playground: %v\n", err)
		return 1
	}
}
