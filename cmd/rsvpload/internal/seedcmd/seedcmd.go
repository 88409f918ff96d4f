// Package seedcmd is `rsvpload seed`: it builds a large, realistic
// database (package internal/seed) in a file, through the real store and
// its migrations, and says what it wrote, how long it took and how big the
// file is.
package seedcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/seed"
)

// Main runs `rsvpload seed` with args (after the word seed).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rsvpload seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("db", "", "database file to create (must not exist)")
	scale := fs.Float64("scale", 1, "size: 1 is 100k users, 20k groups, 100k events, ~1M RSVPs, 2M ledger rows, 500k outbox rows, ~200k reminders; 0 only the fixtures")
	rseed := fs.Uint64("seed", 1, "seed of the random choices (same seed and flags: same database)")
	nowFlag := fs.String("now", "", "RFC 3339 instant the data is built around (default: now)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rsvpload seed -db FILE [-scale 1.0] [-seed N] [-now RFC3339]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *path == "" {
		return errors.New("-db is required")
	}
	if *scale < 0 {
		return fmt.Errorf("-scale %v: must be 0 or more", *scale)
	}
	now := time.Now().Truncate(time.Second)
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return fmt.Errorf("-now: %w", err)
		}
		now = t
	}
	if _, err := os.Stat(*path); err == nil {
		return fmt.Errorf("%s exists; seed writes a new database", *path)
	}
	start := time.Now()
	db, err := seed.Open(ctx, *path)
	if err != nil {
		return err
	}
	progress := func(step string, took time.Duration) {
		fmt.Fprintf(stderr, "  %-8s %s\n", step, took.Round(10*time.Millisecond))
	}
	res, err := seed.Run(ctx, db, seed.Config{Scale: *scale, Seed: *rseed, Now: now, Progress: progress})
	if err == nil {
		err = seed.Checkpoint(ctx, db)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	st, err := os.Stat(*path)
	if err != nil {
		return err
	}
	fx := res.Fixtures
	fmt.Fprintf(stdout, "seeded %s in %s (%.0f MB): %s\n", *path, took.Round(100*time.Millisecond), float64(st.Size())/1e6, res.Counts)
	fmt.Fprintf(stdout, "around %s; hot chat %d, big event %d (card message %d), busy user %d, reminders due from %s\n",
		now.UTC().Format(time.RFC3339), fx.HotChat, fx.BigEvent, fx.BigEventCard, fx.BusyUser, fx.DueFrom.UTC().Format(time.RFC3339))
	return nil
}
