package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/rsvpbot/rsvpbot/store"
)

// runBackup is "rsvpbot backup FILE": a checked copy of RSVPBOT_DB in the
// new file FILE, while the bot runs or not (store.Backup).
func runBackup(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: rsvpbot backup FILE   (FILE must not exist; the database is RSVPBOT_DB)")
		return 2
	}
	cfg, code := configOrExit(lookupEnv, false, stderr)
	if cfg == nil {
		return code
	}
	if store.IsPostgresURL(cfg.DB) {
		fmt.Fprintf(stderr, "rsvpbot backup: RSVPBOT_DB is PostgreSQL (%s); back it up with pg_dump or your provider's snapshots\n", store.Redact(cfg.DB))
		return 2
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		fmt.Fprintf(stderr, "rsvpbot backup: no database at %s (RSVPBOT_DB)\n", cfg.DB)
		return 1
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	res, err := store.Backup(ctx, cfg.DB, args[0], store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup of %s written to %s and checked (quick_check ok, schema version %d): %s in %s\n",
		cfg.DB, res.Path, res.SchemaVersion, humanize.IBytes(uint64(res.Size)), res.Took.Round(time.Millisecond))
	return 0
}
