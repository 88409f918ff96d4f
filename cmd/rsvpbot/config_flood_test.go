package main

import (
	"context"
	"strings"
	"testing"
)

// The flood budgets: defaults, units, off, and a wrong value exits 2 with
// one line naming the variable.
func TestConfigFlood(t *testing.T) {
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.FloodUser != 20 || c.FloodChat != 20 {
		t.Errorf("defaults: user %v/min, chat %v/min; want 20 and 20", c.FloodUser, c.FloodChat)
	}
	for _, tc := range []struct {
		user, chat         string
		wantUser, wantChat float64
	}{
		{"30/min", "10", 30, 10},
		{"1/s", "600/h", 60, 10},
		{"off", "0", 0, 0},
		{"OFF", " 12 /min ", 0, 12},
	} {
		c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_FLOOD_USER", tc.user, "RSVPBOT_FLOOD_CHAT", tc.chat), true)
		if err != nil {
			t.Errorf("%q %q: %v", tc.user, tc.chat, err)
			continue
		}
		if c.FloodUser != tc.wantUser || c.FloodChat != tc.wantChat {
			t.Errorf("%q %q: got %v %v, want %v %v", tc.user, tc.chat, c.FloodUser, c.FloodChat, tc.wantUser, tc.wantChat)
		}
	}
	for _, tc := range []struct{ name, value string }{
		{"RSVPBOT_FLOOD_USER", "lots"},
		{"RSVPBOT_FLOOD_USER", "-5/min"},
		{"RSVPBOT_FLOOD_USER", "20/fortnight"},
		{"RSVPBOT_FLOOD_USER", "1/day"},
		{"RSVPBOT_FLOOD_USER", "0.001/h"},
		{"RSVPBOT_FLOOD_CHAT", "NaN"},
		{"RSVPBOT_FLOOD_CHAT", "on"},
	} {
		var stderr strings.Builder
		code := run(context.Background(), nil, env("TELEGRAM_BOT_TOKEN", goodToken, tc.name, tc.value), &strings.Builder{}, &stderr)
		if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), tc.name) {
			t.Errorf("%s=%q: exit %d: %q", tc.name, tc.value, code, stderr.String())
		}
	}
}
