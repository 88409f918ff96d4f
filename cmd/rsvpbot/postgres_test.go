package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// A PostgreSQL URL no retry can fix — a database that does not exist, a
// role PostgreSQL does not know — stops the bot at start: exit 2, one line
// naming RSVPBOT_DB, the password never shown (in the line or the log).
func TestRunRefusesAWrongPostgresURL(t *testing.T) {
	base, err := url.Parse(storetest.Postgres(t, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	noDB := *base
	noDB.User, noDB.Path, noDB.RawQuery = url.UserPassword("postgres", "pw-s3cret"), "/no_such_database_here", "sslmode=disable"
	noRole := *base
	noRole.User, noRole.RawQuery = url.UserPassword("no_such_role_here", "pw-s3cret"), "sslmode=disable"
	for _, u := range []url.URL{noDB, noRole} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"run"}, env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_DB", u.String(), "LOG_FORMAT", "json"), &stdout, &stderr)
		out := stderr.String()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		if code != 2 || !strings.HasPrefix(last, "rsvpbot: RSVPBOT_DB: ") || strings.Contains(out+stdout.String(), "pw-s3cret") {
			t.Errorf("%s: exit %d, %q", u.Redacted(), code, out)
		}
	}
}

// The operator's commands work on PostgreSQL as on SQLite: migrate
// (twice: nothing to do the second time) and the outbox tool, the URL's
// password never printed.
func TestCommandsOnPostgres(t *testing.T) {
	u, err := url.Parse(storetest.Postgres(t, "commands"))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("postgres", "pw-s3cret") // trust auth ignores it
	dsn := u.String()
	for i, args := range [][]string{{"migrate"}, {"migrate"}, {"outbox", "dead"}, {"outbox", "requeue", "--all"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env("RSVPBOT_DB", dsn), &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code != 0 || strings.Contains(out, "pw-s3cret") {
			t.Fatalf("%v: exit %d, %q", args, code, out)
		}
		if i == 1 && !strings.Contains(out, "applied 0 migration(s)") {
			t.Errorf("second migrate: %q", out)
		}
	}
}
