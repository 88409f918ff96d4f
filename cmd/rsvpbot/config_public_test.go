package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// RSVPBOT_PUBLIC_URL: unset means no feeds; a base URL is kept without its
// trailing slash; a wrong value exits 2 with one line naming the variable.
func TestConfigPublicURL(t *testing.T) {
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken), true)
	if err != nil || c.PublicURL != "" {
		t.Fatalf("default: %q %v", c.PublicURL, err)
	}
	for in, want := range map[string]string{
		"https://bot.example.com":          "https://bot.example.com",
		"https://bot.example.com/":         "https://bot.example.com",
		" http://example.com/rsvpbot/ ":    "http://example.com/rsvpbot",
		"https://bot.example.com:8443/cal": "https://bot.example.com:8443/cal",
	} {
		c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_PUBLIC_URL", in), true)
		if err != nil || c.PublicURL != want {
			t.Errorf("%q: got %q, %v; want %q", in, c.PublicURL, err, want)
		}
	}
	for _, kv := range [][]string{
		{"RSVPBOT_PUBLIC_URL", "bot.example.com"},
		{"RSVPBOT_PUBLIC_URL", "webcal://bot.example.com"},
		{"RSVPBOT_PUBLIC_URL", "https://bot.example.com/?x=1"},
		{"RSVPBOT_PUBLIC_URL", "https://bot.example.com/#top"},
		{"RSVPBOT_PUBLIC_URL", "https://user:pw@bot.example.com"},
		{"RSVPBOT_PUBLIC_URL", "https://bot.example.com", "RSVPBOT_HTTP_ADDR", ""},
	} {
		var stderr strings.Builder
		code := run(context.Background(), nil, env(append([]string{"TELEGRAM_BOT_TOKEN", goodToken}, kv...)...), &strings.Builder{}, &stderr)
		if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "RSVPBOT_PUBLIC_URL") {
			t.Errorf("%q: exit %d: %q", kv, code, stderr.String())
		}
		if strings.Contains(stderr.String(), "pw@") {
			t.Errorf("%q: the error repeats a password: %q", kv, stderr.String())
		}
	}
}

// The feed /calendar gives is served by the bot's own ops server, as
// configured from the environment.
func TestCalendarFeedServedByOpsServer(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	lookup := env(
		"TELEGRAM_BOT_TOKEN", fake.Token,
		"TELEGRAM_API_URL", fake.URL,
		"RSVPBOT_DB", filepath.Join(t.TempDir(), "rsvpbot.db"),
		"RSVPBOT_HTTP_ADDR", "127.0.0.1:0",
		"RSVPBOT_PUBLIC_URL", "https://rsvp.example.com/",
		"RSVPBOT_RATE_GLOBAL", "0", "RSVPBOT_RATE_CHAT", "0", "RSVPBOT_RATE_GROUP", "0",
		"LOG_FORMAT", "json", "LOG_LEVEL", "info",
	)
	base, logs := startInProcess(t, lookup)

	ann := models.User{ID: 77, FirstName: "Ann", LanguageCode: "en"}
	fake.PushMessage(bottest.PrivateChat(ann), ann, "/calendar")
	link := regexp.MustCompile(`https://rsvp\.example\.com(/cal/[0-9A-Za-z]{22}\.ics)`)
	var path string
	waitUntil(t, 20*time.Second, "the feed link", func() bool {
		for _, m := range fake.Messages(ann.ID) {
			if s := link.FindStringSubmatch(m.Text); s != nil {
				path = s[1]
				return true
			}
		}
		return false
	})
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") ||
		!strings.Contains(string(body), "BEGIN:VCALENDAR") {
		t.Fatalf("GET %s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if strings.Contains(logs.String(), strings.TrimSuffix(strings.TrimPrefix(path, "/cal/"), ".ics")) {
		t.Error("the log holds a feed token")
	}
}
