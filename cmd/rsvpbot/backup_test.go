package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

func TestConfigBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_BACKUP_DIR", dir), true)
	if err != nil || c.BackupDir != dir || c.BackupEvery != 24*time.Hour {
		t.Fatalf("dir alone: %+v %v", c, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("the directory was not created at start: %v", err)
	}
	c, err = LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_BACKUP_DIR", dir, "RSVPBOT_BACKUP_EVERY", "2d"), true)
	if err != nil || c.BackupEvery != 48*time.Hour {
		t.Fatalf("every 2d: %+v %v", c, err)
	}
	if c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken), true); err != nil || c.BackupDir != "" || c.BackupEvery != 0 {
		t.Fatalf("default: %+v %v", c, err)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o600)
	for _, tc := range []struct {
		kv   []string
		name string
	}{
		{[]string{"RSVPBOT_BACKUP_EVERY", "1h"}, "RSVPBOT_BACKUP_EVERY"},
		{[]string{"RSVPBOT_BACKUP_DIR", dir, "RSVPBOT_BACKUP_EVERY", "30s"}, "RSVPBOT_BACKUP_EVERY"},
		{[]string{"RSVPBOT_BACKUP_DIR", dir, "RSVPBOT_BACKUP_EVERY", "often"}, "RSVPBOT_BACKUP_EVERY"},
		{[]string{"RSVPBOT_BACKUP_DIR", dir, "RSVPBOT_BACKUP_EVERY", "-1h"}, "RSVPBOT_BACKUP_EVERY"},
		{[]string{"RSVPBOT_BACKUP_DIR", file}, "RSVPBOT_BACKUP_DIR"},
		{[]string{"RSVPBOT_BACKUP_DIR", filepath.Join(file, "sub")}, "RSVPBOT_BACKUP_DIR"},
	} {
		// What the bot prints: exit 2, one line naming the variable.
		var stdout, stderr bytes.Buffer
		kv := append([]string{"TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_DB", filepath.Join(t.TempDir(), "x.db")}, tc.kv...)
		code := run(context.Background(), []string{"run"}, env(kv...), &stdout, &stderr)
		line := stderr.String()
		if code != 2 || strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "rsvpbot: "+tc.name+": ") {
			t.Errorf("%v: exit %d, %q", tc.kv, code, line)
		}
		if strings.Contains(tc.kv[len(tc.kv)-2], "DIR") && !strings.Contains(line, tc.kv[len(tc.kv)-1]) {
			t.Errorf("%v: the directory is not named: %q", tc.kv, line)
		}
	}
}

// runCmd runs the rsvpbot binary with a subcommand.
func runCmd(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestBackupCommandUsageAndRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot.db")
	db, err := store.Open(ctx, dbPath, outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	cmd := func(dbPath string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"backup"}, args...), env("RSVPBOT_DB", dbPath), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for _, args := range [][]string{nil, {"a.db", "b.db"}, {"--force"}} {
		if code, _, stderr := cmd(dbPath, args...); code != 2 || !strings.Contains(stderr, "usage: rsvpbot backup FILE") {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
	if code, _, stderr := cmd(filepath.Join(dir, "none.db"), filepath.Join(dir, "c.db")); code != 1 || !strings.Contains(stderr, "none.db (RSVPBOT_DB)") {
		t.Errorf("missing database: exit %d %q", code, stderr)
	}
	dst := filepath.Join(dir, "copy.db")
	code, stdout, stderr := cmd(dbPath, dst)
	if code != 0 || !strings.Contains(stdout, "written to "+dst+" and checked") || stderr != "" {
		t.Fatalf("backup: exit %d %q %q", code, stdout, stderr)
	}
	before, _ := os.ReadFile(dst)
	code, _, stderr = cmd(dbPath, dst)
	if code != 1 || !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, dst) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("second backup to one file: exit %d %q", code, stderr)
	}
	if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
		t.Fatal("an existing backup was changed")
	}
	// The usage text lists the command.
	var help bytes.Buffer
	run(ctx, []string{"help"}, env(), &help, io.Discard)
	if !strings.Contains(help.String(), "rsvpbot backup FILE") {
		t.Fatalf("usage lacks backup:\n%s", help.String())
	}
}

// snapshot is what a restore must bring back, read from a database file.
type snapshot struct {
	events, rsvps, reminders []string
	pending                  []int64 // outbox rows pending or sending
}

func readSnapshot(t *testing.T, path string) snapshot {
	t.Helper()
	db, err := store.OpenReadOnly(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := func(q string) []string {
		r, err := db.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			if err := r.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	var s snapshot
	s.events = rows(`SELECT id || '|' || chat_id || '|' || title || '|' || starts_at || '|' || status FROM events ORDER BY id`)
	s.rsvps = rows(`SELECT event_id || '|' || user_id || '|' || status || '|' || guests FROM rsvps ORDER BY 1`)
	s.reminders = rows(`SELECT event_id || '|' || offset_ms || '|' || due_at || '|' || (sent_at IS NULL) FROM reminders ORDER BY 1`)
	for _, id := range rows(`SELECT id FROM outbox WHERE state IN ('pending', 'sending') ORDER BY id`) {
		var n int64
		fmt.Sscan(id, &n)
		s.pending = append(s.pending, n)
	}
	return s
}

// missing lists what of want is not in got.
func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestRestoreDrill backs up the real binary's database under load with
// the real `rsvpbot backup`, stops the bot, starts a bot on the copy and
// checks that every event, RSVP, reminder and pending reply the backup
// holds is there, that the pending replies get sent and that the bot
// answers new commands. The emulator rate-limits groups while the load
// runs, so replies (cards, card edits) wait in the outbox when the backup
// is taken.
func TestRestoreDrill(t *testing.T) {
	fake, dbPath, p := killableBot(t)
	p.start()
	groups := []models.Chat{bottest.Group(-8100, "Runners"), bottest.Group(-8200, "Readers"), bottest.Group(-8300, "Cooks")}
	users := make([]models.User, 12)
	for i := range users {
		users[i] = models.User{ID: int64(8001 + i), FirstName: fmt.Sprint("U", i), LanguageCode: "en"}
	}
	day := time.Now().UTC().AddDate(0, 0, 5).Format("2006-01-02")

	// Warm-up: one event per group, its card delivered (to press on).
	for i, g := range groups {
		fake.PushMessage(g, users[i], fmt.Sprintf("/event Meetup %d | %s 18:00 | Hall", i, day))
	}
	cards := map[int64]models.Message{} // group → its first card
	waitUntil(t, 30*time.Second, "the first cards", func() bool {
		for _, g := range groups {
			for _, m := range fake.Messages(g.ID) {
				if strings.HasPrefix(m.Text, "📅 Meetup") {
					cards[g.ID] = m
				}
			}
		}
		return len(cards) == len(groups)
	})

	// The event id each card's buttons carry (rsvp:ID:go).
	eventOf := map[int64]int64{}
	for g, card := range cards {
		if card.ReplyMarkup == nil {
			t.Fatalf("card without buttons: %+v", card)
		}
		for _, row := range card.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				var id int64
				if _, err := fmt.Sscanf(b.CallbackData, "rsvp:%d:", &id); err == nil && eventOf[g] == 0 {
					eventOf[g] = id
				}
			}
		}
		if eventOf[g] == 0 {
			t.Fatalf("no rsvp button on the card: %+v", card.ReplyMarkup)
		}
	}

	// Load: groups limited to 4 messages a minute by the emulator (429
	// beyond), so replies pile up; users press RSVP buttons, create
	// events and ask for help privately.
	fake.SetLimits(bottest.Limits{GroupPerMinute: 4})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		statuses := []string{"go", "maybe", "no"}
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			g := groups[n%len(groups)]
			u := users[n%len(users)]
			switch n % 10 {
			case 0:
				fake.PushMessage(g, u, fmt.Sprintf("/event Load %d | %s 19:30 | Park", n, day))
			case 1:
				fake.PushCommand(bottest.PrivateChat(u), u, "/help")
			default:
				card := cards[g.ID]
				fake.PushCallback(g, u, card.ID, fmt.Sprintf("rsvp:%d:%s", eventOf[g.ID], statuses[n%3]))
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	// Reminders are planned by the reminders job, every 10 s.
	live := readDB(t, dbPath)
	waitUntil(t, 30*time.Second, "reminders planned", func() bool {
		var n int
		live.R.QueryRow(`SELECT count(*) FROM reminders`).Scan(&n)
		return n >= 4
	})
	live.Close()

	// The backup, by the real command, while the bot works.
	backup := filepath.Join(t.TempDir(), "backup.db")
	code, stdout, stderr := runCmd(t, p.bin, p.env, "backup", backup)
	if code != 0 {
		t.Fatalf("rsvpbot backup: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("%s", strings.TrimSpace(stdout))
	time.Sleep(time.Second) // the load goes on after the backup
	close(stop)
	wg.Wait()
	if code := p.stop(); code != 0 {
		t.Fatalf("bot exit %d\n%s", code, p.log())
	}

	// What the backup holds, read before any bot opens it.
	want := readSnapshot(t, backup)
	if len(want.events) < 4 || len(want.rsvps) < 3 || len(want.reminders) < 4 || len(want.pending) == 0 {
		t.Fatalf("the drill is too thin: %d events, %d RSVPs, %d reminders, %d pending replies in the backup",
			len(want.events), len(want.rsvps), len(want.reminders), len(want.pending))
	}
	t.Logf("backup: %d events, %d RSVPs, %d reminders, %d replies pending", len(want.events), len(want.rsvps), len(want.reminders), len(want.pending))
	orig := readSnapshot(t, dbPath)
	if len(orig.events) < len(want.events) {
		t.Fatalf("the bot's database has fewer events (%d) than its backup (%d)", len(orig.events), len(want.events))
	}

	// Restore: the copy in place of a database, and a bot on it.
	restored := filepath.Join(t.TempDir(), "rsvpbot.db")
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fake.SetLimits(bottest.Limits{})
	q := newBotProcess(t, fake, restored)
	q.start()

	rdb := readDB(t, restored)
	defer rdb.Close()
	state := func(id int64) string {
		var s string
		rdb.R.QueryRow(`SELECT state FROM outbox WHERE id = ?`, id).Scan(&s)
		return s
	}
	waitUntil(t, 60*time.Second, "every reply pending in the backup sent", func() bool {
		for _, id := range want.pending {
			if s := state(id); s != "sent" && s != "replaced" {
				return false
			}
		}
		return true
	})
	var sent int
	for _, id := range want.pending {
		if state(id) == "sent" {
			sent++
		}
	}
	if sent == 0 {
		t.Fatal("none of the replies pending in the backup was sent (all replaced)")
	}

	// It carries on: a new command is answered, a new event gets its card.
	ann := users[0]
	before := len(textsOf(fake, ann.ID))
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")
	fake.PushMessage(groups[0], ann, "/event After restore | "+day+" 20:00 | Roof")
	waitUntil(t, 30*time.Second, "a new command answered", func() bool { return len(textsOf(fake, ann.ID)) > before })
	waitUntil(t, 30*time.Second, "a new event's card", func() bool {
		return strings.Contains(strings.Join(textsOf(fake, groups[0].ID), "\n"), "📅 After restore")
	})
	if code := q.stop(); code != 0 {
		t.Fatalf("restored bot exit %d\n%s", code, q.log())
	}

	got := readSnapshot(t, restored)
	for what, m := range map[string][]string{
		"events":    missing(want.events, got.events),
		"RSVPs":     missing(want.rsvps, got.rsvps),
		"reminders": missing(want.reminders, got.reminders),
	} {
		if len(m) > 0 {
			t.Errorf("%d of the backup's %s are missing after the restore: %v", len(m), what, m)
		}
	}
	if len(got.events) != len(want.events)+1 {
		t.Errorf("%d events after the restore, want the backup's %d and the new one", len(got.events), len(want.events))
	}
	t.Logf("restored bot: %d sent of %d pending, events %d", sent, len(want.pending), len(got.events))
}
