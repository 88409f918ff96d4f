package emu

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
)

func newTestEmu(t *testing.T, cfg Config) (*Emulator, *httptest.Server) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() { e.Close(); srv.Close() })
	return e, srv
}

func TestFlagsFillConfig(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	err := fs.Parse([]string{"-global", "10", "-burst", "0", "-error-rate", "0.1", "-latency-max", "50ms",
		"-forbid", "7,8", "-migrate", "-4001:-1000000004001@2s,-4002:-1000000004002",
		"-slow-rate", "0.05", "-slow-latency", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.GlobalPerSecond != 10 || cfg.Limits.PrivatePerSecond != 1 || cfg.Limits.Burst != 0 ||
		cfg.Faults.ErrorRate != 0.1 || cfg.Faults.MaxLatency != 50*time.Millisecond ||
		cfg.Faults.SlowRate != 0.05 || cfg.Faults.SlowLatency != 2*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	if len(cfg.Forbidden) != 2 || !cfg.IsForbidden(8) || cfg.IsForbidden(9) {
		t.Fatalf("forbidden %v", cfg.Forbidden)
	}
	if len(cfg.Migrations) != 2 || cfg.Migrations[0] != (Migration{-4001, -1000000004001, 2 * time.Second}) {
		t.Fatalf("migrations %v", cfg.Migrations)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Config)
		flag   string
	}{
		{func(c *Config) { c.Faults.ErrorRate = 0.7; c.Faults.DropRate = 0.5 }, "-error-rate"},
		{func(c *Config) { c.ForbiddenFraction = 2 }, "-forbid-fraction"},
		{func(c *Config) { c.Limits.GlobalPerSecond = -1 }, "-global"},
		{func(c *Config) { c.Migrations = []Migration{{From: -5, To: -6}} }, "-migrate"},
		{func(c *Config) { c.Token = "nope" }, "-token"},
		{func(c *Config) { c.BotUsername = "a b" }, "-username"},
		{func(c *Config) { c.FirstUpdateID = -1 }, "-first-update-id"},
		{func(c *Config) { c.Faults.SlowRate = 0.1 }, "-slow-latency"},
		{func(c *Config) { c.Faults.SlowRate = 1.5; c.Faults.SlowLatency = time.Second }, "-slow-rate"},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("want an error naming %s, got %v", tc.flag, err)
		}
	}
	for _, bad := range []string{"-1", "-1:x", "a:-100", "-1:-2@soon"} {
		if _, err := ParseMigration(bad); err == nil {
			t.Errorf("ParseMigration(%q) accepted", bad)
		}
	}
}

// The fraction is a property of the id (and seed), so a load generator can
// know in advance whose replies will be refused.
func TestForbiddenFractionIsStable(t *testing.T) {
	cfg := Config{ForbiddenFraction: 0.1, Seed: 3}
	again := Config{ForbiddenFraction: 0.1, Seed: 3}
	other := Config{ForbiddenFraction: 0.1, Seed: 4}
	n, differ := 0, 0
	for id := int64(1); id <= 10_000; id++ {
		if cfg.IsForbidden(id) {
			n++
		}
		if cfg.IsForbidden(id) != again.IsForbidden(id) {
			t.Fatal("not deterministic")
		}
		if cfg.IsForbidden(id) != other.IsForbidden(id) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the seed does not change who is forbidden")
	}
	if n < 800 || n > 1200 {
		t.Fatalf("%d of 10000 forbidden, want about 1000", n)
	}
}

// A forbidden user's chat refuses the bot's real client (multipart bodies)
// even right after the user wrote to the bot, which unblocks in bottest.
func TestForbiddenUserAnswers403(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Forbidden = []int64{42}
	e, srv := newTestEmu(t, cfg)
	client, err := bot.NewClient(cfg.Token, srv.URL, bot.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	post(t, srv.URL+"/_emu/push", `{"from":{"id":42},"text":"/start"}`)
	ctx := context.Background()
	res, err := client.Call(ctx, "sendMessage", json.RawMessage(`{"chat_id":42,"text":"hi"}`))
	if err == nil || res.ErrorCode != 403 {
		t.Fatalf("forbidden user: %+v, %v", res, err)
	}
	if _, err := client.Call(ctx, "sendMessage", json.RawMessage(`{"chat_id":43,"text":"hi"}`)); err != nil {
		t.Fatalf("other user: %v", err)
	}
	if s := e.Summary(); s.Forbidden != 1 || s.MessagesSent != 1 {
		t.Fatalf("summary %+v", s)
	}
}

func TestControlAPI(t *testing.T) {
	e, srv := newTestEmu(t, DefaultConfig())
	var u struct {
		UpdateID int64 `json:"update_id"`
	}
	json.Unmarshal([]byte(post(t, srv.URL+"/_emu/push",
		`{"from":{"id":7,"first_name":"Ann"},"chat":{"id":-4001,"type":"group","title":"G"},"text":"/help"}`)), &u)
	if u.UpdateID != 1 || e.Fake.PendingUpdates() != 1 {
		t.Fatalf("push: %+v", u)
	}
	post(t, srv.URL+"/_emu/push", `{"from":{"id":7},"chat":{"id":-4001},"kind":"my_chat_member","old_status":"member","new_status":"left"}`)
	if body := post(t, srv.URL+"/_emu/push", `{"from":{"id":7},"kind":"callback","data":"x"}`); !strings.Contains(body, "message_id") {
		t.Fatalf("a callback without message_id must be refused: %s", body)
	}
	msgs := get(t, srv.URL+"/_emu/messages?chat=-4001")
	if !strings.Contains(msgs, `"/help"`) {
		t.Fatalf("messages: %s", msgs)
	}
	post(t, srv.URL+"/_emu/migrate?from=-4001&to=-1000000004001", "")
	resp, err := http.Post(srv.URL+"/bot"+DefaultConfig().Token+"/sendMessage", "application/x-www-form-urlencoded",
		strings.NewReader("chat_id=-4001&text=hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"migrate_to_chat_id":-1000000004001`) {
		t.Fatalf("after migrate: %s", body)
	}
	calls := get(t, srv.URL+"/_emu/calls?since=0&method=sendMessage")
	if !strings.Contains(calls, `"injected": "migrated"`) {
		t.Fatalf("calls: %s", calls)
	}
	text := get(t, srv.URL+"/_emu/summary?format=text")
	if !strings.Contains(text, "calls: 1 (sendMessage=1)") || !strings.Contains(text, "migrated -4001 to -1000000004001") {
		t.Fatalf("summary: %s", text)
	}
	var sum Summary
	if err := json.Unmarshal([]byte(get(t, srv.URL+"/_emu/summary")), &sum); err != nil || sum.UpdatesPushed != 2 || sum.Calls != 1 {
		t.Fatalf("json summary %+v, %v", sum, err)
	}
	if help := get(t, srv.URL+"/_emu/"); !strings.Contains(help, "POST /_emu/push") {
		t.Fatalf("help: %s", help)
	}
}

func TestTimedMigration(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Migrations = []Migration{{From: -4001, To: -1000000004001, After: 10 * time.Millisecond}}
	e, _ := newTestEmu(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Run(ctx)
	if m := e.Summary().Migrations; len(m) != 1 || m[0].To != -1000000004001 {
		t.Fatalf("migrations %v", m)
	}
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
