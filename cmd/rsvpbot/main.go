// Command rsvpbot runs the Telegram bot, and offers subcommands that work on
// its database (migrate, outbox, backup, migrate-data). It reads the environment, sets up
// logging and signals; package app assembles the bot, and the behaviour
// lives in bot, handlers, outbox, scheduler, store and weather.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	_ "time/tzdata" // time zones work on machines without /usr/share/zoneinfo

	"golang.org/x/term"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runBot(ctx, lookupEnv, stderr)
	case "playground":
		return runPlayground(ctx, args, lookupEnv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, lookupEnv, stdout, stderr)
	case "outbox":
		return runOutbox(ctx, args, lookupEnv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, lookupEnv, stdout, stderr)
	case "migrate-data":
		return runMigrateData(ctx, args, lookupEnv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "rsvpbot", version)
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "rsvpbot: unknown command %q\n\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `rsvpbot — a Telegram bot for events and RSVPs that never loses a message.

Usage:
  rsvpbot [run]                    run the bot
  rsvpbot playground [--reset]     try the bot in a browser: built-in Telegram emulator, no token
  rsvpbot migrate                  apply database migrations (and switch an older file to auto_vacuum) and exit
  rsvpbot outbox dead              list dead letters
  rsvpbot outbox show ID           show an outbox message and its delivery attempts
  rsvpbot outbox requeue ID|--all  send dead letters again
  rsvpbot backup FILE              copy the database, while the bot runs, into the new file FILE (checked)
  rsvpbot migrate-data --to URL    move to PostgreSQL: copy the (stopped) bot's database into the empty database URL (checked)
  rsvpbot version                  print the version

Configuration (environment variables):
`)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, v := range envVars {
		def := v.def
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(tw, "  %s\t%s\tdefault %s\n", v.name, v.help, def)
	}
	tw.Flush()
}

// configOrExit loads the configuration, printing a one-line error naming
// the variable at fault (exit status 2) if it is wrong. The error may quote
// a value: it is scrubbed of URL passwords, as logs are.
func configOrExit(lookupEnv func(string) (string, bool), requireToken bool, stderr io.Writer) (*Config, int) {
	cfg, err := LoadConfig(lookupEnv, requireToken)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot: %s\n", bot.NewRedactor().String(err.Error()))
		return nil, 2
	}
	return cfg, 0
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runMigrate(ctx context.Context, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, code := configOrExit(lookupEnv, false, stderr)
	if cfg == nil {
		return code
	}
	db, err := store.OpenNoMigrate(ctx, cfg.DB, outbox.WithSchema(store.Options{}))
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot: %v\n", err)
		return 1
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot: %v\n", err)
		return 1
	}
	cur, _, _ := db.SchemaVersion(ctx)
	fmt.Fprintf(stdout, "database %s: applied %d migration(s); schema version %d\n", store.Redact(cfg.DB), n, cur)
	if db.Postgres() {
		return 0 // PostgreSQL's autovacuum gives space back by itself
	}
	return switchVacuum(ctx, db, cfg.DB, stdout, stderr)
}

// switchVacuum turns on incremental auto_vacuum on a database created
// before rsvpbot set it, so that purges give freed pages back to the file
// system. It rewrites the whole file once (VACUUM), holding the writer
// throughout, so it is done only here, and only while no bot holds the
// database.
func switchVacuum(ctx context.Context, db *store.DB, path string, stdout, stderr io.Writer) int {
	if on, err := db.IncrementalVacuum(ctx); err != nil || on {
		if err != nil {
			fmt.Fprintf(stderr, "rsvpbot: %v\n", err)
			return 1
		}
		return 0
	}
	lock, err := store.LockDatabase(path)
	if err != nil {
		fmt.Fprintf(stdout, "database %s does not give freed pages back to the file system; stop the bot and run rsvpbot migrate again to switch it (%v)\n", path, err)
		return 0
	}
	defer lock.Release()
	fmt.Fprintf(stdout, "database %s: switching to incremental auto_vacuum (a one-time rewrite of the file; it needs free disk space as large as the file)\n", path)
	if _, err := db.EnableIncrementalVacuum(ctx); err != nil {
		fmt.Fprintf(stderr, "rsvpbot: database %s: switching to incremental auto_vacuum: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "database %s: freed pages now go back to the file system after each purge\n", path)
	return 0
}

func runOutbox(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, code := configOrExit(lookupEnv, false, stderr)
	if cfg == nil {
		return code
	}
	// An operator's tool: it never creates a database at a mistyped path
	// nor migrates one a running bot is using.
	pg := store.IsPostgresURL(cfg.DB)
	if _, err := os.Stat(cfg.DB); err != nil && !pg {
		fmt.Fprintf(stderr, "rsvpbot outbox: no database at %s (RSVPBOT_DB): %v\n", cfg.DB, errors.Unwrap(err))
		return 1
	}
	// Reading commands open it read-only: they work on a read-only file or
	// mount, and leave the file exactly as it was.
	open := store.OpenNoMigrate
	if outbox.CLIReadOnly(args) && !pg {
		open = store.OpenReadOnly
	}
	db, err := open(ctx, cfg.DB, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot: %v\n", err)
		return 1
	}
	defer db.Close()
	if cur, latest, err := db.SchemaVersion(ctx); err != nil || cur != latest {
		fmt.Fprintf(stderr, "rsvpbot outbox: database %s is at schema version %d, this rsvpbot expects %d; run rsvpbot migrate (or start the bot) first\n", store.Redact(cfg.DB), cur, latest)
		return 1
	}
	if err := outbox.CLI(ctx, db, args, stdout); err != nil {
		fmt.Fprintf(stderr, "rsvpbot outbox: %v\n", err)
		var ue interface{ Usage() bool }
		if errors.As(err, &ue) && ue.Usage() || strings.Contains(err.Error(), "usage") {
			return 2
		}
		return 1
	}
	return 0
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
