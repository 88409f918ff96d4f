package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

// The backup job writes a checked backup when one is due (counting from
// the newest file, across restarts), keeps the newest app.BackupKeep,
// retries a failure after app.BackupRetry, and warns (log, /readyz,
// metric) once the last success is older than twice the period.
func TestBackupJob(t *testing.T) {
	ctx := context.Background()
	fake := bottest.NewServer()
	defer fake.Close()
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	logs := &syncBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{Token: fake.Token, APIURL: fake.URL, DB: filepath.Join(t.TempDir(), "bot.db"), Now: now, ManualJobs: true,
		BackupDir: dir, BackupEvery: time.Hour, Listener: ln, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	found := false
	for _, j := range a.Jobs() {
		found = found || j.Name == "backup" && j.Schedule == "@every 1m0s"
	}
	if !found {
		t.Fatalf("no backup job every minute: %v", a.Jobs())
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Run(rctx)
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	job := func() string {
		t.Helper()
		res, err := a.RunJob(ctx, "backup")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := job(); !strings.Contains(res, "rsvpbot-20261207T030000Z.db written and checked") {
		t.Fatalf("first run: %q", res)
	}
	if res := job(); res != "" {
		t.Fatalf("a backup again before the period: %q", res)
	}
	for range 8 {
		advance(time.Hour)
		if res := job(); !strings.Contains(res, "written and checked") {
			t.Fatalf("run: %q", res)
		}
	}
	files, _ := store.BackupsIn(dir)
	if len(files) != app.BackupKeep || !strings.HasSuffix(files[len(files)-1], "rsvpbot-20261207T110000Z.db") {
		t.Fatalf("kept %v, want the newest %d", files, app.BackupKeep)
	}
	if m := get("/metrics"); !strings.Contains(m, "rsvpbot_backup_warning 0") ||
		!strings.Contains(m, `rsvpbot_backups_total{result="ok"} 9`) {
		t.Fatalf("metrics:\n%s", m)
	}

	// Failing: the directory is gone. The first failure is an error, not
	// yet a warning; the retry waits; past twice the period it warns.
	os.RemoveAll(dir)
	advance(time.Hour)
	if _, err := a.RunJob(ctx, "backup"); err == nil || !strings.Contains(err.Error(), "RSVPBOT_BACKUP_DIR") {
		t.Fatalf("backup into a missing directory: %v", err)
	}
	if strings.Contains(logs.String(), "level=WARN msg=\"scheduled backups are failing\"") {
		t.Fatal("warned before the last success was twice the period old")
	}
	advance(10 * time.Minute)
	if res, err := a.RunJob(ctx, "backup"); res != "" || err != nil {
		t.Fatalf("retried before BackupRetry: %q %v", res, err)
	}
	advance(55 * time.Minute)
	if _, err := a.RunJob(ctx, "backup"); err == nil {
		t.Fatal("backup into a missing directory succeeded")
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"scheduled backups are failing\"") {
		t.Fatalf("no warning in the log:\n%s", logs.String())
	}
	if r := get("/readyz"); !strings.Contains(r, "backup: WARN: older than twice RSVPBOT_BACKUP_EVERY") {
		t.Fatalf("readyz:\n%s", r)
	}
	if m := get("/metrics"); !strings.Contains(m, "rsvpbot_backup_warning 1") {
		t.Fatalf("metrics:\n%s", m)
	}
	cancel()
}

// After a restart the newest backup in the directory counts: no backup
// is taken before it is a period old.
func TestBackupJobCountsFromTheNewestFile(t *testing.T) {
	ctx := context.Background()
	fake := bottest.NewServer()
	defer fake.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	clock := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	cfg := app.Config{Token: fake.Token, APIURL: fake.URL, DB: dbPath, Now: func() time.Time { return clock }, ManualJobs: true,
		BackupDir: dir, BackupEvery: 6 * time.Hour}
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.BackupToDir(ctx, dbPath, dir, clock.Add(-5*time.Hour), app.BackupKeep, store.Options{}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a, err = app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if res, err := a.RunJob(ctx, "backup"); res != "" || err != nil {
		t.Fatalf("backup 5 h after the last, every 6 h: %q %v", res, err)
	}
}
