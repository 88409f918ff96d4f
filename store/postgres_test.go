package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRewritePG(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`UPDATE t SET a = ?1 WHERE b = ?2 OR c = ?1`, `UPDATE t SET a = $1 WHERE b = $2 OR c = $1`},
		{`SELECT '?', "a?" FROM t WHERE x = ? -- what?
AND y = ? /* ? */`, `SELECT '?', "a?" FROM t WHERE x = $1 -- what?
AND y = $2 /* ? */`},
		{`SELECT 'it''s ?' WHERE a = ?`, `SELECT 'it''s ?' WHERE a = $1`},
		{`SELECT id FROM reminders INDEXED BY reminders_due WHERE due <= ?`, `SELECT id FROM reminders  WHERE due <= $1`},
		{`SELECT reindexed BY FROM t`, `SELECT reindexed BY FROM t`},
	} {
		if got := rewritePGText(c.in); got != c.want {
			t.Errorf("rewritePGText(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://bob:s3cret@db:5432/rsvp?sslmode=disable": "postgres://bob:xxxxx@db:5432/rsvp?sslmode=disable",
		"postgresql://db/rsvp?user=bob&password=s3cret":      "postgresql://db/rsvp?password=xxxxx&user=bob",
		"data/rsvpbot.db":        "data/rsvpbot.db",
		"postgres://bob@db/rsvp": "postgres://bob@db/rsvp",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A URL no retry can fix is ErrBadURL and never shows its password.
func TestPostgresBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://bob:s3cret@127.0.0.1:badport/x", Options{})
	if !errors.Is(err, ErrBadURL) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open = %v; want ErrBadURL without the password", err)
	}
}
