package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const goodToken = "123456:ABC-def_ghi"

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIURL != "https://api.telegram.org" || c.DB != "data/rsvpbot.db" || c.HTTPAddr != "127.0.0.1:8080" {
		t.Errorf("defaults: %+v", c)
	}
	if c.RateGlobal != 30 || c.RateChat != 1 || c.RateGroup != 20 {
		t.Errorf("rates: %v %v %v", c.RateGlobal, c.RateChat, c.RateGroup)
	}
	if len(c.Reminders) != 2 || c.Reminders[0] != 24*time.Hour || c.Reminders[1] != time.Hour {
		t.Errorf("reminders: %v", c.Reminders)
	}
	if c.Timezone != time.UTC && c.Timezone.String() != "UTC" {
		t.Errorf("timezone: %v", c.Timezone)
	}
	if c.LedgerRetention != 90*24*time.Hour {
		t.Errorf("ledger retention: %v", c.LedgerRetention)
	}
	if c.LogFormat != "" || c.LogLevel != "info" || c.WebhookURL != "" || len(c.Admins) != 0 {
		t.Errorf("log/webhook/admins: %+v", c)
	}
}

func TestConfigGoodValues(t *testing.T) {
	c, err := LoadConfig(env(
		"TELEGRAM_BOT_TOKEN", goodToken,
		"TELEGRAM_API_URL", "http://127.0.0.1:9999/",
		"RSVPBOT_DB", "/tmp/x.db",
		"RSVPBOT_ADMINS", "42, 7,42",
		"RSVPBOT_HTTP_ADDR", ":9090",
		"RSVPBOT_API_TOKEN", "0123456789abcdef",
		"RSVPBOT_WEBHOOK_URL", "https://bot.example.com/tg/hook",
		"RSVPBOT_WEBHOOK_SECRET", "s3cret_-X",
		"RSVPBOT_RATE_GLOBAL", "1200/min",
		"RSVPBOT_RATE_CHAT", "0.5",
		"RSVPBOT_RATE_GROUP", "1/s",
		"RSVPBOT_REMINDERS", "1h, 2d,15m",
		"RSVPBOT_TIMEZONE", "Europe/Berlin",
		"OPEN_METEO_GEOCODING_URL", "http://127.0.0.1:1/geo",
		"OPEN_METEO_FORECAST_URL", "http://127.0.0.1:1/fc",
		"LOG_FORMAT", "JSON",
		"LOG_LEVEL", "debug",
		"RSVPBOT_LEDGER_RETENTION", "30d",
	), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIURL != "http://127.0.0.1:9999" {
		t.Errorf("api url trailing slash kept: %q", c.APIURL)
	}
	if len(c.Admins) != 2 || c.Admins[0] != 42 || c.Admins[1] != 7 {
		t.Errorf("admins: %v", c.Admins)
	}
	if c.RateGlobal != 20 || c.RateChat != 0.5 || c.RateGroup != 60 {
		t.Errorf("rates: %v %v %v", c.RateGlobal, c.RateChat, c.RateGroup)
	}
	if want := []time.Duration{48 * time.Hour, time.Hour, 15 * time.Minute}; len(c.Reminders) != 3 || c.Reminders[0] != want[0] || c.Reminders[2] != want[2] {
		t.Errorf("reminders: %v", c.Reminders)
	}
	if c.LedgerRetention != 30*24*time.Hour {
		t.Errorf("ledger retention: %v", c.LedgerRetention)
	}
	if c.Timezone.String() != "Europe/Berlin" || c.WebhookPath != "/tg/hook" || c.LogFormat != "json" || c.LogLevel != "debug" {
		t.Errorf("%+v", c)
	}
}

func TestConfigEmptyHTTPAddrDisables(t *testing.T) {
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_HTTP_ADDR", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "" {
		t.Errorf("HTTPAddr = %q, want disabled", c.HTTPAddr)
	}
}

func TestConfigReminderOff(t *testing.T) {
	c, err := LoadConfig(env("TELEGRAM_BOT_TOKEN", goodToken, "RSVPBOT_REMINDERS", "off"), true)
	if err != nil || len(c.Reminders) != 0 {
		t.Fatalf("%v %v", c, err)
	}
}

// Every bad value is refused with an error naming the variable.
func TestConfigBadValues(t *testing.T) {
	cases := []struct {
		kv      []string
		varName string
	}{
		{nil, "TELEGRAM_BOT_TOKEN"},
		{[]string{"TELEGRAM_BOT_TOKEN", "not a token"}, "TELEGRAM_BOT_TOKEN"},
		{[]string{"TELEGRAM_API_URL", "ftp://x"}, "TELEGRAM_API_URL"},
		{[]string{"TELEGRAM_API_URL", "api.telegram.org"}, "TELEGRAM_API_URL"},
		{[]string{"RSVPBOT_ADMINS", "12,abc"}, "RSVPBOT_ADMINS"},
		{[]string{"RSVPBOT_ADMINS", "-5"}, "RSVPBOT_ADMINS"},
		{[]string{"RSVPBOT_HTTP_ADDR", "localhost"}, "RSVPBOT_HTTP_ADDR"},
		{[]string{"RSVPBOT_HTTP_ADDR", "127.0.0.1:99999"}, "RSVPBOT_HTTP_ADDR"},
		{[]string{"RSVPBOT_API_TOKEN", "short"}, "RSVPBOT_API_TOKEN"},
		{[]string{"RSVPBOT_API_TOKEN", "0123456789abcdef", "RSVPBOT_HTTP_ADDR", ""}, "RSVPBOT_API_TOKEN"},
		{[]string{"RSVPBOT_WEBHOOK_URL", "not a url"}, "RSVPBOT_WEBHOOK_URL"},
		{[]string{"RSVPBOT_WEBHOOK_URL", "https://x.example.com"}, "RSVPBOT_WEBHOOK_URL"},
		{[]string{"RSVPBOT_WEBHOOK_URL", "https://x.example.com/hook"}, "RSVPBOT_WEBHOOK_SECRET"},
		{[]string{"RSVPBOT_WEBHOOK_URL", "https://x.example.com/hook", "RSVPBOT_WEBHOOK_SECRET", "ok", "RSVPBOT_HTTP_ADDR", ""}, "RSVPBOT_WEBHOOK_URL"},
		{[]string{"RSVPBOT_WEBHOOK_SECRET", "has space"}, "RSVPBOT_WEBHOOK_SECRET"},
		{[]string{"RSVPBOT_RATE_GLOBAL", "abc"}, "RSVPBOT_RATE_GLOBAL"},
		{[]string{"RSVPBOT_RATE_GLOBAL", "-1"}, "RSVPBOT_RATE_GLOBAL"},
		{[]string{"RSVPBOT_RATE_GLOBAL", "NaN"}, "RSVPBOT_RATE_GLOBAL"},
		{[]string{"RSVPBOT_RATE_CHAT", "1/fortnight"}, "RSVPBOT_RATE_CHAT"},
		{[]string{"RSVPBOT_RATE_GROUP", "x/min"}, "RSVPBOT_RATE_GROUP"},
		{[]string{"RSVPBOT_REMINDERS", "1h,banana"}, "RSVPBOT_REMINDERS"},
		{[]string{"RSVPBOT_REMINDERS", "-1h"}, "RSVPBOT_REMINDERS"},
		{[]string{"RSVPBOT_REMINDERS", "100d"}, "RSVPBOT_REMINDERS"},
		{[]string{"RSVPBOT_TIMEZONE", "Mars/Olympus"}, "RSVPBOT_TIMEZONE"},
		{[]string{"RSVPBOT_TIMEZONE", "Local"}, "RSVPBOT_TIMEZONE"},
		{[]string{"OPEN_METEO_GEOCODING_URL", "::"}, "OPEN_METEO_GEOCODING_URL"},
		{[]string{"OPEN_METEO_FORECAST_URL", "x"}, "OPEN_METEO_FORECAST_URL"},
		{[]string{"LOG_FORMAT", "xml"}, "LOG_FORMAT"},
		{[]string{"LOG_LEVEL", "loud"}, "LOG_LEVEL"},
		{[]string{"RSVPBOT_DB", os.TempDir()}, "RSVPBOT_DB"},
		{[]string{"RSVPBOT_DB", "postgres://bob:pw-s3cret@db.example:port/rsvp"}, "RSVPBOT_DB"},
		{[]string{"RSVPBOT_DB", "postgres://bob:pw-s3cret@db.example/rsvp?sslmode=sometimes"}, "RSVPBOT_DB"},
		{[]string{"RSVPBOT_DB", "postgres://bob@db.example/rsvp", "RSVPBOT_BACKUP_DIR", "/tmp/b"}, "RSVPBOT_BACKUP_DIR"},
		{[]string{"RSVPBOT_LEDGER_RETENTION", "forever"}, "RSVPBOT_LEDGER_RETENTION"},
		{[]string{"RSVPBOT_LEDGER_RETENTION", "5m"}, "RSVPBOT_LEDGER_RETENTION"},
		{[]string{"RSVPBOT_LEDGER_RETENTION", "213505d"}, "RSVPBOT_LEDGER_RETENTION"},
	}
	for _, tc := range cases {
		kv := tc.kv
		if tc.varName != "TELEGRAM_BOT_TOKEN" {
			kv = append([]string{"TELEGRAM_BOT_TOKEN", goodToken}, kv...)
		}
		_, err := LoadConfig(env(kv...), true)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%v: got %v, want a ConfigError", tc.kv, err)
			continue
		}
		if ce.Var != tc.varName || !strings.HasPrefix(err.Error(), tc.varName+": ") {
			t.Errorf("%v: error %q names %s, want %s", tc.kv, err, ce.Var, tc.varName)
		}
		if strings.Contains(err.Error(), goodToken) || strings.Contains(err.Error(), "pw-s3cret") {
			t.Errorf("%v: error leaks the token or a password: %q", tc.kv, err)
		}
	}
}

func TestConfigTokenNotRequiredForDBCommands(t *testing.T) {
	if _, err := LoadConfig(env(), false); err != nil {
		t.Fatal(err)
	}
}

func TestEveryVariableIsDocumented(t *testing.T) {
	// The contract from DEVELOPERS.md: these names are fixed.
	for _, name := range []string{"TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "RSVPBOT_DB", "RSVPBOT_ADMINS", "RSVPBOT_HTTP_ADDR",
		"RSVPBOT_API_TOKEN", "RSVPBOT_WEBHOOK_URL", "RSVPBOT_WEBHOOK_SECRET", "RSVPBOT_RATE_GLOBAL", "RSVPBOT_RATE_CHAT",
		"RSVPBOT_RATE_GROUP", "RSVPBOT_FLOOD_USER", "RSVPBOT_REMINDERS", "RSVPBOT_TIMEZONE", "RSVPBOT_PUBLIC_URL",
		"RSVPBOT_LEDGER_RETENTION", "RSVPBOT_BACKUP_DIR", "RSVPBOT_BACKUP_EVERY", "OPEN_METEO_GEOCODING_URL",
		"OPEN_METEO_FORECAST_URL", "LOG_FORMAT", "LOG_LEVEL"} {
		found := false
		for _, v := range envVars {
			found = found || v.name == name
		}
		if !found {
			t.Errorf("%s is not declared", name)
		}
	}
	// Every declared variable has its row in the README's table.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars {
		if !strings.Contains(string(readme), "| `"+v.name+"` |") {
			t.Errorf("README.md does not document %s", v.name)
		}
	}
}
