package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestShareCodesAreRandomUniqueAndRotate(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seen := map[string]bool{}
	var first Event
	for i := range 50 {
		id := newEvent(t, db, 0)
		ev, ok, err := GetEvent(ctx, db.R, id)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if !ValidShareCode(ev.ShareCode) || seen[ev.ShareCode] {
			t.Fatalf("event %d: code %q (valid %v, repeated %v)", id, ev.ShareCode, ValidShareCode(ev.ShareCode), seen[ev.ShareCode])
		}
		seen[ev.ShareCode] = true
		if i == 0 {
			first = ev
		}
	}
	got, ok, err := GetEventByShareCode(ctx, db.R, first.ShareCode)
	if err != nil || !ok || got.ID != first.ID {
		t.Fatalf("by code: %v %v %v", got.ID, ok, err)
	}
	// The id is not a code.
	for _, s := range []string{"1", "#1", "", first.ShareCode[:9], strings.ToLower(first.ShareCode) + "x"} {
		if _, ok, err := GetEventByShareCode(ctx, db.R, s); ok || err != nil {
			t.Fatalf("%q found an event (err %v)", s, err)
		}
	}
	var code string
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		var ok bool
		code, ok, err = RotateEventShareCode(ctx, tx, first.ID, t0)
		if !ok && err == nil {
			t.Error("rotate: event not found")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if code == first.ShareCode || !ValidShareCode(code) {
		t.Fatalf("rotated to %q from %q", code, first.ShareCode)
	}
	if _, ok, _ := GetEventByShareCode(ctx, db.R, first.ShareCode); ok {
		t.Fatal("the old code still opens the event")
	}
	after, _, _ := GetEventByShareCode(ctx, db.R, code)
	if after.ID != first.ID || after.Version <= first.Version {
		t.Fatalf("new code: event %d version %d (was %d)", after.ID, after.Version, first.Version)
	}
}

// Events that exist before migration 7 get distinct random codes from it.
func TestMigrationGivesExistingEventsShareCodes(t *testing.T) {
	ctx := context.Background()
	db, err := OpenNoMigrate(ctx, filepath.Join(t.TempDir(), "old.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := db.W.Exec(`INSERT INTO events (chat_id, creator_id, title, starts_at, created_at, updated_at) VALUES (-1, 1, 'x', 1, 1, 1)`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.R.Query(`SELECT share_code FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		if !ValidShareCode(c) || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d codes", len(seen))
	}
	if _, err := db.W.Exec(`UPDATE events SET share_code = (SELECT share_code FROM events WHERE id = 1) WHERE id = 2`); err == nil {
		t.Fatal("two events may share a code: no unique index")
	}
	if _, err := p.Down(ctx); err != nil { // and back
		t.Fatal(err)
	}
}

func TestChatMembers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	check := func(want bool) {
		t.Helper()
		if got, err := IsChatMember(ctx, db.R, -5, 7); err != nil || got != want {
			t.Fatalf("member: %v %v, want %v", got, err, want)
		}
	}
	check(false)
	if err := NoteChatMember(ctx, db.W, -5, 7, t0); err != nil {
		t.Fatal(err)
	}
	if err := NoteChatMember(ctx, db.W, -5, 7, t0); err != nil {
		t.Fatal(err)
	}
	check(true)
	err := db.Tx(ctx, func(tx *sql.Tx) error { return MigrateChat(ctx, tx, -5, -1005, t0) })
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := IsChatMember(ctx, db.R, -1005, 7); !ok {
		t.Fatal("membership lost in the supergroup migration")
	}
	if err := ForgetChatMember(ctx, db.W, -1005, 7); err != nil {
		t.Fatal(err)
	}
	if ok, _ := IsChatMember(ctx, db.R, -1005, 7); ok {
		t.Fatal("still a member after leaving")
	}
}

func FuzzValidShareCode(f *testing.F) {
	for _, s := range []string{"", "1", "aB3dE6gH9k", "aB3dE6gH9-", "ünïcödé123", "aB3dE6gH9kk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) == ShareCodeLen
		for _, r := range s {
			want = want && strings.ContainsRune(base62, r)
		}
		if ValidShareCode(s) != want {
			t.Fatalf("ValidShareCode(%q) = %v", s, !want)
		}
	})
}
