package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/logtest"
)

// TestOpsServerWiring runs the bot in process against the fake Bot API and
// checks that the ops server is wired to the real components: readiness,
// the message API delivering through the outbox, /stats, and metrics that
// saw all of it.
func TestOpsServerWiring(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	const apiToken = "wiring-test-token-0123456789"
	lookup := env(
		"TELEGRAM_BOT_TOKEN", fake.Token,
		"TELEGRAM_API_URL", fake.URL,
		"RSVPBOT_DB", filepath.Join(t.TempDir(), "rsvpbot.db"),
		"RSVPBOT_HTTP_ADDR", "127.0.0.1:0",
		"RSVPBOT_API_TOKEN", apiToken,
		"RSVPBOT_ADMINS", "9",
		"RSVPBOT_RATE_GLOBAL", "0", "RSVPBOT_RATE_CHAT", "0", "RSVPBOT_RATE_GROUP", "0",
		"LOG_FORMAT", "json", "LOG_LEVEL", "info",
	)
	base, logs := startInProcess(t, lookup)
	get := func(path string, auth bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+apiToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", false); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	waitUntil(t, 20*time.Second, "readiness", func() bool { code, _ := get("/readyz", false); return code == 200 })

	// The command menu is registered at start, once per language, the
	// English one as the default for every other language.
	waitUntil(t, 20*time.Second, "the command menus", func() bool {
		return len(fake.MyCommands("")) > 0 && len(fake.MyCommands("ru")) > 0 &&
			len(fake.MyCommands("de")) > 0 && len(fake.MyCommands("es")) > 0
	})
	menu := func(lang string) map[string]string {
		m := map[string]string{}
		for _, c := range fake.MyCommands(lang) {
			m[c.Command] = c.Description
		}
		return m
	}
	en, ru := menu(""), menu("ru")
	if en["event"] == "" || ru["event"] == "" || en["event"] == ru["event"] || ru["stats"] != "" {
		t.Fatalf("menus: en %v, ru %v", en, ru)
	}

	// The admin starts the bot, so their chat is known; the API writes to it.
	root := models.User{ID: 9, FirstName: "Root", LanguageCode: "en"}
	admin := bottest.PrivateChat(root)
	fake.PushMessage(admin, root, "/start")
	waitUntil(t, 20*time.Second, "the greeting", func() bool { return len(fake.Messages(9)) >= 2 })
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/messages", strings.NewReader(`{"chat_id": 9, "text": "from the API"}`))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct{ ID int64 }
	json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || accepted.ID == 0 {
		t.Fatalf("POST /v1/messages: %d", resp.StatusCode)
	}
	waitUntil(t, 20*time.Second, "the API message", func() bool {
		_, body := get(fmt.Sprintf("/v1/messages/%d", accepted.ID), true)
		return strings.Contains(body, `"state":"sent"`)
	})

	// /stats answers the admin.
	fake.PushMessage(admin, root, "/stats")
	waitUntil(t, 20*time.Second, "/stats", func() bool {
		msgs := fake.Messages(9)
		return strings.Contains(msgs[len(msgs)-1].Text, "Bot statistics")
	})

	// The metrics saw it all.
	_, metrics := get("/metrics", false)
	for _, want := range []string{
		`rsvpbot_updates_handled_total{command="start",kind="message"} 1`,
		`rsvpbot_updates_handled_total{command="stats",kind="message"} 1`,
		`rsvpbot_api_messages_total{result="enqueued"} 1`,
		`rsvpbot_outbox_messages{lane="bulk",state="pending"} 0`,
		`rsvpbot_weather_breaker_state{state="closed"} 1`,
		`rsvpbot_build_info{goversion=`,
		`rsvpbot_outbox_sent_total{lane="bulk",method="sendMessage"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(logs.String(), apiToken) {
		t.Error("the API token leaked into the log")
	}
}

// startInProcess runs the program (run) with lookup until the test ends,
// and returns the ops server's base URL, read from its log, and the log.
func startInProcess(t *testing.T, lookup func(string) (string, bool)) (string, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, lookup, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("exit code %d; log:\n%s", code, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("the bot did not stop")
		}
	})
	var base string
	waitUntil(t, 20*time.Second, "the ops server", func() bool {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "ops server listening" {
				base = "http://" + l.Addr
				return true
			}
		}
		return false
	})
	return base, logs
}
