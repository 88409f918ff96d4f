package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// `rsvpbot migrate` switches a database made before auto_vacuum to it,
// once, and only while no bot holds the database.
func TestMigrateSwitchesAutoVacuum(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := store.Open(ctx, path, outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	// As rsvpbot before auto_vacuum left it.
	for _, q := range []string{`PRAGMA auto_vacuum = NONE`, `VACUUM`} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	vacuum := func() bool {
		t.Helper()
		db, err := store.OpenNoMigrate(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		on, err := db.IncrementalVacuum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	migrate := func() string {
		t.Helper()
		var out, errs strings.Builder
		if code := run(ctx, []string{"migrate"}, env("RSVPBOT_DB", path), &out, &errs); code != 0 {
			t.Fatalf("migrate: exit %d: %s", code, errs.String())
		}
		return out.String()
	}

	// A bot holds the database: told, not switched.
	lock, err := store.LockDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	if out := migrate(); !strings.Contains(out, "stop the bot and run rsvpbot migrate again") || vacuum() {
		t.Fatalf("migrate while a bot runs: %q, switched %v", out, vacuum())
	}
	lock.Release()

	if out := migrate(); !strings.Contains(out, "switching to incremental auto_vacuum") || !vacuum() {
		t.Fatalf("migrate: %q, switched %v", out, vacuum())
	}
	if out := migrate(); strings.Contains(out, "auto_vacuum") {
		t.Fatalf("second migrate: %q", out)
	}
}
