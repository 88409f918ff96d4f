package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// deadLetterDB makes a closed database in dir holding one dead letter and
// returns its path and the letter's id.
func deadLetterDB(t *testing.T, dir string) (string, int64) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "rsvpbot.db")
	db, err := store.Open(ctx, path, outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id int64
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		if id, err = outbox.Enqueue(ctx, tx, outbox.Message{ChatID: 42, Method: "sendMessage",
			Params: json.RawMessage(`{"chat_id":42,"text":"hello"}`), Lane: outbox.Bulk}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', attempts = 5, last_error = 'Bad Request: chat not found', done_at = ? WHERE id = ?`,
			store.Millis(time.Now()), id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path, id
}

func runOutboxCmd(t *testing.T, dbPath string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"outbox"}, args...), env("RSVPBOT_DB", dbPath), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// dirState is what a read must leave alone: the names in the directory
// and each file's size and modification time.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(e.Name(), fi.Size(), fi.ModTime().UnixNano()))
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// TestOutboxReadCommandsLeaveDatabaseUntouched: dead, show and stats read
// the database without creating or changing a file (no -wal, no -shm).
func TestOutboxReadCommandsLeaveDatabaseUntouched(t *testing.T) {
	dir := t.TempDir()
	path, id := deadLetterDB(t, dir)
	before := dirState(t, dir)
	time.Sleep(10 * time.Millisecond)
	for _, args := range [][]string{{"dead"}, {"show", fmt.Sprint(id)}, {"stats"}} {
		code, out, errOut := runOutboxCmd(t, path, args...)
		if code != 0 {
			t.Errorf("outbox %v: exit %d\n%s%s", args, code, out, errOut)
		}
		if args[0] == "dead" && (!strings.Contains(out, fmt.Sprint(id)) || !strings.Contains(out, "chat not found")) {
			t.Errorf("outbox dead does not list #%d:\n%s", id, out)
		}
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("reading changed the directory:\nbefore %s\nafter  %s", before, after)
	}
}

// TestOutboxDeadOnReadOnlyMount: on a read-only mount the read commands
// work and requeue is refused naming the problem. A read-only bind mount is
// the one thing that stops root from writing, so this test needs root
// (CI runs it as root; elsewhere it is skipped).
func TestOutboxDeadOnReadOnlyMount(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root in CI (it makes a read-only bind mount)")
		}
		t.Skip("needs root for a read-only bind mount")
	}
	src, ro := t.TempDir(), t.TempDir()
	_, id := deadLetterDB(t, src)
	if out, err := exec.Command("mount", "--bind", src, ro).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", ro).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	path := filepath.Join(ro, "rsvpbot.db")
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); err == nil {
		t.Fatal("the mount is writable")
	}

	code, out, errOut := runOutboxCmd(t, path, "dead")
	if code != 0 || !strings.Contains(out, fmt.Sprint(id)) || !strings.Contains(out, "1 dead letter(s)") {
		t.Fatalf("outbox dead on a read-only mount: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runOutboxCmd(t, path, "show", fmt.Sprint(id)); code != 0 || !strings.Contains(out, "chat not found") {
		t.Errorf("outbox show: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runOutboxCmd(t, path, "stats"); code != 0 || !strings.Contains(out, "dead:") {
		t.Errorf("outbox stats: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runOutboxCmd(t, path, "requeue", fmt.Sprint(id))
	if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "cannot be opened for writing") {
		t.Errorf("outbox requeue on a read-only mount: exit %d\n%s%s", code, out, errOut)
	}
}
