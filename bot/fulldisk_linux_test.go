//go:build linux

package bot_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/ops"
)

// mountTmpfs mounts a tmpfs of the given size. It needs root: without it
// (or where mounting is refused) the test is skipped, except in CI (CI set),
// where it must run.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("cannot mount a tmpfs for a real full disk (needs root; euid %d): %v", os.Geteuid(), err)
		}
		t.Fatalf("CI is set, so the real full-disk test must run, but a tmpfs cannot be mounted (run as root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// fillDisk writes a file until the file system is full and returns it.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 16, 1 << 12, 1 << 9} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return name
}

// waitLong is waitFor with room for a loaded machine: the race detector
// slows SQLite (compiled from C to Go) many times over.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 90*time.Second, what, cond)
}

// blobWriter is a Handler whose every update writes 32 KB, as a handler
// that enqueues a few replies does over time: on a full disk its commits
// need space the file system does not have.
type blobWriter struct {
	attempts atomic.Int64
	mu       sync.Mutex
	failed   []int64
}

func (h *blobWriter) Handle(ctx context.Context, u *bot.Update) error {
	h.attempts.Add(1)
	return u.Commit(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO effects (update_id, chat_id, blob) VALUES (?, ?, zeroblob(32768))`, u.ID, u.ChatID)
		return err
	})
}

func (h *blobWriter) Failed(ctx context.Context, tx *sql.Tx, u *bot.Update, cause error) error {
	h.mu.Lock()
	h.failed = append(h.failed, u.ID)
	h.mu.Unlock()
	_, err := tx.ExecContext(ctx, `INSERT INTO effects (update_id, chat_id, apology) VALUES (?, ?, 1)`, u.ID, u.ChatID)
	return err
}

// TestFullDiskOnARealFilesystem fills a real (tmpfs) file system under the
// database while updates are pending: no update is marked done with the
// error or apologised for, readiness says the database is not writable,
// new updates cannot be saved (so Telegram keeps them); once space returns
// every update is handled, in order, and readiness is ok again.
func TestFullDiskOnARealFilesystem(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	db := openDB(t, filepath.Join(mnt, "bot.db"))
	if _, err := db.W.Exec(`CREATE TABLE effects (update_id INTEGER UNIQUE, chat_id INTEGER, apology INTEGER DEFAULT 0, blob BLOB)`); err != nil {
		t.Fatal(err)
	}
	h := &blobWriter{}
	d := bot.NewDispatcher(db, h, bot.DispatcherConfig{Workers: 4, RetryDelay: 20 * time.Millisecond})
	in := bot.NewIntake(db, nil, bot.IntakeConfig{Stored: d.Add})
	health := ops.NewHealth(ops.HealthConfig{DB: db})
	health.TelegramCall(nil)
	databaseCheck := func() ops.Check {
		_, checks := health.Ready(context.Background())
		for _, c := range checks {
			if c.Name == "database" {
				return c
			}
		}
		t.Fatal("no database check")
		return ops.Check{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	// Registered after the database's Close, so it runs before it.
	t.Cleanup(func() { cancel(); running.Wait() })

	const chats, perChat = 3, 8
	var raws []json.RawMessage
	for i := range int64(chats * perChat) {
		raws = append(raws, message(i+1, 900+i%chats, "x"))
	}
	if _, err := in.Save(ctx, raws); err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, mnt)

	running.Go(func() { d.Run(ctx) })
	waitLong(t, "failed writes on the full disk", func() bool {
		st := db.WriteState()
		return h.attempts.Load() >= 2*chats && st.Err != nil
	})
	if st := db.WriteState(); !strings.Contains(st.Err.Error(), "full") {
		t.Fatalf("write state on a full disk: %v", st.Err)
	}
	if c := databaseCheck(); c.OK || !strings.Contains(c.Detail, "full") {
		t.Fatalf("readiness on a full disk: %+v", c)
	}
	if _, err := in.Save(ctx, []json.RawMessage{message(100, 900, "during")}); err == nil {
		t.Fatal("an update was saved on a full disk")
	}
	o := outcome(t, db)
	if o.withError != 0 || o.apologies != 0 {
		t.Fatalf("on a full disk: %+v", o)
	}
	t.Logf("on the full disk: %d attempts, %d of %d updates done (commits that found room)", h.attempts.Load(), o.done, chats*perChat)

	if err := os.Remove(filler); err != nil { // space returns
		t.Fatal(err)
	}
	// Telegram sends the refused update again.
	if _, err := in.Save(ctx, []json.RawMessage{message(100, 900, "during")}); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "every update done", func() bool { return outcome(t, db).done == chats*perChat+1 })
	o = outcome(t, db)
	if o.withError != 0 || o.apologies != 0 || o.effects != chats*perChat+1 {
		t.Fatalf("after space returned: %+v", o)
	}
	for c := range int64(chats) {
		ids := o.order[900+c]
		want := []int64{}
		for i := range int64(perChat) {
			want = append(want, c+1+i*chats)
		}
		if c == 0 {
			want = append(want, 100)
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("chat %d handled as %v, want %v", 900+c, ids, want)
		}
	}
	if c := databaseCheck(); !c.OK {
		t.Fatalf("readiness after space returned: %+v", c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.failed) != 0 {
		t.Fatalf("apologised for %v", h.failed)
	}
}
