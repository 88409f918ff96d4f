package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// TestSecondBotOnOneDatabaseIsRefused starts the real binary twice on one
// database while the first is in the middle of sending a reply. The second
// must exit 2 at once with one line naming the file and the first one's
// pid, touching nothing: the reply in flight is not reset, no false
// "interrupted" attempt is written, the first keeps working. The lock goes
// with its process, however it ends (SIGTERM, SIGKILL).
func TestSecondBotOnOneDatabaseIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	fake := bottest.NewServer()
	defer fake.Close()
	dbPath := filepath.Join(t.TempDir(), "one.db")
	first := newBotProcess(t, fake, dbPath)
	first.start()
	waitUntil(t, 30*time.Second, "the first bot polling", func() bool { return len(fake.CallsTo("getUpdates")) > 0 })

	// A reply that takes a while to send: in flight when the second starts.
	fake.SetFaults(bottest.Faults{MinLatency: 3 * time.Second})
	ann := models.User{ID: 7001, FirstName: "Ann", LanguageCode: "en"}
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")
	db := readDB(t, dbPath)
	defer db.Close()
	waitUntil(t, 30*time.Second, "a reply being sent", func() bool {
		var n int
		db.R.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'sending'`).Scan(&n)
		return n > 0
	})

	second := exec.Command(first.bin)
	second.Env = first.env
	out, err := runWithin(second, 15*time.Second)
	code := second.ProcessState.ExitCode()
	if err != nil && code == -1 {
		t.Fatalf("second bot: %v\n%s", err, out)
	}
	line := strings.TrimSpace(out)
	if code != 2 || strings.Count(line, "\n") != 0 || !strings.Contains(line, "RSVPBOT_DB") ||
		!strings.Contains(line, dbPath) || !strings.Contains(line, fmt.Sprintf("pid %d", first.cmd.Process.Pid)) {
		t.Fatalf("second bot: exit %d, output:\n%s", code, out)
	}

	waitUntil(t, 30*time.Second, "the reply sent", func() bool { return botReplies(fake, ann.ID) > 0 })
	var interrupted, resent int
	db.R.QueryRow(`SELECT count(*) FROM ledger WHERE outcome = 'interrupted'`).Scan(&interrupted)
	db.R.QueryRow(`SELECT count(*) FROM outbox WHERE attempts > 1`).Scan(&resent)
	if interrupted != 0 || resent != 0 || botReplies(fake, ann.ID) != 1 {
		t.Fatalf("the refused bot disturbed the first: %d interrupted, %d re-sent, %d replies", interrupted, resent, botReplies(fake, ann.ID))
	}
	fake.SetFaults(bottest.Faults{})

	// The lock ends with its process: after SIGKILL a new bot starts.
	first.kill()
	third := newBotProcess(t, fake, dbPath)
	third.start()
	// It answers (a getUpdates count alone could be the killed bot's last
	// long poll, recorded when its connection dropped).
	fake.PushCommand(bottest.PrivateChat(ann), ann, "/help")
	waitUntil(t, 30*time.Second, "the next bot answering", func() bool { return botReplies(fake, ann.ID) > 1 })
	if code := third.stop(); code != 0 {
		t.Fatalf("third bot exit %d:\n%s", code, third.log())
	}
}

// botReplies counts the messages the bot wrote in a chat (the chat also
// holds what the user sent).
func botReplies(fake *bottest.Server, chatID int64) int {
	n := 0
	for _, m := range fake.Messages(chatID) {
		if m.From != nil && m.From.IsBot {
			n++
		}
	}
	return n
}

// runWithin runs cmd and returns its combined output, killing it after d.
func runWithin(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("still running after %s", d)
	}
}
