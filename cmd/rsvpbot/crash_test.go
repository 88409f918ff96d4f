package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

// buildBinary builds rsvpbot once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rsvpbot-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rsvpbot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// botProcess runs the real binary against a fake Bot API.
type botProcess struct {
	t    *testing.T
	bin  string
	env  []string
	cmd  *exec.Cmd
	logs *os.File
}

// killableBot is the setup of a test that kills the real binary: the
// fake Bot API (closed when the test ends), a database path, and a bot
// process on them, not started. It skips under -short.
func killableBot(t *testing.T) (*bottest.Server, string, *botProcess) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	fake := bottest.NewServer()
	t.Cleanup(fake.Close)
	dbPath := filepath.Join(t.TempDir(), "rsvpbot.db")
	return fake, dbPath, newBotProcess(t, fake, dbPath)
}

func newBotProcess(t *testing.T, fake *bottest.Server, dbPath string, extra ...string) *botProcess {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(t.TempDir(), "bot.log"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"TELEGRAM_BOT_TOKEN="+fake.Token,
		"TELEGRAM_API_URL="+fake.URL,
		"RSVPBOT_DB="+dbPath,
		"RSVPBOT_HTTP_ADDR=",
		"RSVPBOT_RATE_GLOBAL=0", "RSVPBOT_RATE_CHAT=0", "RSVPBOT_RATE_GROUP=0",
		"RSVPBOT_FLOOD_USER=off", "RSVPBOT_FLOOD_CHAT=off", // a stream of commands on purpose
		"LOG_FORMAT=json", "LOG_LEVEL=warn",
	)
	return &botProcess{t: t, bin: bin, env: append(env, extra...), logs: logs}
}

func (p *botProcess) start() {
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *botProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *botProcess) stop() int {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.kill()
		p.t.Fatal("bot did not stop within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *botProcess) log() string {
	b, _ := os.ReadFile(p.logs.Name())
	return string(b)
}

func readDB(t *testing.T, path string) *store.DB {
	db, err := store.OpenNoMigrate(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashSafeIntake streams 1,000 updates across 50 chats into the real
// binary while killing it with SIGKILL at random points. After the last
// restart every update must have been handled exactly once (its effect, the
// reply row in the outbox, exists once) and each chat's replies must be in
// order. A conversation begun before a kill resumes at the same step.
func TestCrashSafeIntake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const chats, perChat = 50, 20
	fake := bottest.NewServer()
	defer fake.Close()
	dbPath := filepath.Join(t.TempDir(), "crash.db")
	p := newBotProcess(t, fake, dbPath)
	p.start()

	users := make([]models.User, chats)
	for i := range users {
		users[i] = models.User{ID: int64(5000 + i), FirstName: fmt.Sprintf("U%d", i), LanguageCode: "en"}
	}
	// A conversation that must survive a kill.
	convUser := models.User{ID: 4999, FirstName: "Conv", LanguageCode: "en"}
	fake.PushCommand(bottest.PrivateChat(convUser), convUser, "/timezone")

	rng := rand.New(rand.NewPCG(1, 2))
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		rng := rand.New(rand.NewPCG(3, 4)) // the kill loop has its own
		for n := range perChat {
			for c := range chats {
				u := users[c]
				fake.PushCommand(bottest.PrivateChat(u), u, fmt.Sprintf("/c%d_%d", c, n))
			}
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
	}()

	kills := 0
	streaming := true
	for streaming || kills < 5 {
		time.Sleep(time.Duration(150+rng.IntN(350)) * time.Millisecond)
		p.kill()
		kills++
		p.start()
		select {
		case <-pushed:
			streaming = false
		default:
		}
	}
	// Answer the conversation after the kills: it must be at the same step.
	fake.PushMessage(bottest.PrivateChat(convUser), convUser, "Europe/Berlin")

	db := readDB(t, dbPath)
	defer db.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	total := chats*perChat + 2
	waitUntil(t, 60*time.Second, "every update handled and every reply sent", func() bool {
		return fake.PendingUpdates() == 0 &&
			count(`SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == total &&
			count(`SELECT count(*) FROM outbox WHERE state IN ('pending','sending')`) == 0
	})
	if code := p.stop(); code != 0 {
		t.Fatalf("graceful stop exited %d\n%s", code, p.log())
	}
	t.Logf("%d SIGKILLs during the stream", kills)

	if n := count(`SELECT count(*) FROM inbox`); n != total {
		t.Fatalf("inbox holds %d updates, want %d", n, total)
	}
	if n := count(`SELECT count(*) FROM inbox WHERE error <> ''`); n != 0 {
		t.Fatalf("%d updates failed", n)
	}
	// Effects: exactly one reply row per command, in each chat's order.
	re := regexp.MustCompile(`/c(\d+)_(\d+)`)
	rows, err := db.R.Query(`SELECT chat_id, params FROM outbox WHERE method = 'sendMessage' AND chat_id >= 5000 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	last := map[int64]int{}
	for rows.Next() {
		var chat int64
		var params string
		rows.Scan(&chat, &params)
		m := re.FindStringSubmatch(params)
		if m == nil {
			t.Fatalf("reply without its command: %s", params)
		}
		seen[m[0]]++
		var n int
		fmt.Sscan(m[2], &n)
		if prev, ok := last[chat]; ok && n <= prev {
			t.Fatalf("chat %d: reply to #%d enqueued after #%d", chat, n, prev)
		}
		last[chat] = n
	}
	rows.Close()
	if len(seen) != chats*perChat {
		t.Fatalf("%d distinct replies, want %d", len(seen), chats*perChat)
	}
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("%s answered %d times", k, v)
		}
	}
	// Delivery: every chat shows every reply, in order; a duplicate is only
	// possible as the ambiguity rule allows (a send cut off by a kill).
	dups := 0
	for c, u := range users {
		want := 0
		for _, m := range fake.Messages(u.ID) {
			if m.From == nil || !m.From.IsBot {
				continue
			}
			mm := re.FindStringSubmatch(m.Text)
			if mm == nil {
				continue
			}
			var n int
			fmt.Sscan(mm[2], &n)
			switch {
			case n == want:
				want++
			case n == want-1:
				dups++
			default:
				t.Fatalf("chat %d shows reply #%d when #%d was due", c, n, want)
			}
		}
		if want != perChat {
			t.Fatalf("chat %d shows %d of %d replies", c, want, perChat)
		}
	}
	ambiguous := count(`SELECT count(*) FROM ledger WHERE ambiguous = 1`)
	t.Logf("delivered duplicates: %d (ambiguous attempts in the ledger: %d)", dups, ambiguous)
	if dups > ambiguous {
		t.Fatalf("%d duplicates but only %d ambiguous attempts", dups, ambiguous)
	}

	var tz string
	db.R.QueryRow(`SELECT timezone FROM chats WHERE id = ?`, convUser.ID).Scan(&tz)
	if tz != "Europe/Berlin" {
		t.Fatalf("conversation did not resume after SIGKILL: timezone %q\n%s", tz, strings.Join(textsOf(fake, convUser.ID), "\n"))
	}
}

func textsOf(fake *bottest.Server, chat int64) []string {
	var out []string
	for _, m := range fake.Messages(chat) {
		out = append(out, m.Text)
	}
	return out
}

// TestGracefulStopAndUnreachableAPI: with the API down the bot keeps
// retrying and says so; SIGTERM stops it with status 0.
func TestGracefulStopAndUnreachableAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	fake := bottest.NewServer()
	url := fake.URL
	fake.Close() // nothing listens there now
	dbPath := filepath.Join(t.TempDir(), "down.db")
	p := newBotProcess(t, &bottest.Server{Token: fake.Token, URL: url}, dbPath)
	p.start()
	waitUntil(t, 10*time.Second, "a retry message", func() bool { return strings.Contains(p.log(), "cannot reach the Telegram API") })
	time.Sleep(1500 * time.Millisecond)
	if strings.Count(p.log(), "cannot reach") > 4 {
		t.Fatalf("retrying too fast:\n%s", p.log())
	}
	if code := p.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.log())
	}
	if strings.Contains(p.log(), fake.Token) || strings.Contains(p.log(), strings.SplitN(fake.Token, ":", 2)[1]) {
		t.Fatalf("token leaked into the log:\n%s", p.log())
	}
}

func TestRejectedTokenStops(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	fake := bottest.NewServer()
	defer fake.Close()
	p := newBotProcess(t, &bottest.Server{Token: "42:wrong-token-for-sure", URL: fake.URL}, filepath.Join(t.TempDir(), "x.db"))
	p.start()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatal("bot kept running with a rejected token")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(p.log(), "TELEGRAM_BOT_TOKEN") {
		t.Fatalf("exit %d, log:\n%s", code, p.log())
	}
}

// TestBadConfigExits2 runs the binary with a wrong value: it exits 2 with
// one line naming the variable.
func TestBadConfigExits2(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), nil, env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_TIMEZONE", "Nowhere/Land"), &strings.Builder{}, &stderr)
	if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "RSVPBOT_TIMEZONE") {
		t.Fatalf("exit %d: %q", code, stderr.String())
	}
}
