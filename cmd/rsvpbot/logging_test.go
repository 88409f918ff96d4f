package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggerRedactsSecrets(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log := newLogger(&buf, format, "debug", false, goodToken, "apisecret0123456")
		err := fmt.Errorf("wrapped: %w", errors.New(`Post "https://api.telegram.org/bot`+goodToken+`/sendMessage": dial tcp: refused`))
		log.Error("call failed "+goodToken, "err", err, "url", "https://x/bot"+goodToken+"/getMe",
			slog.Group("g", "auth", "Bearer apisecret0123456"), "n", 3)
		log.With("token", goodToken).Info("with attrs")
		out := buf.String()
		if strings.Contains(out, goodToken) || strings.Contains(out, "ABC-def_ghi") || strings.Contains(out, "apisecret0123456") {
			t.Errorf("%s: secret leaked: %s", format, out)
		}
		if !strings.Contains(out, "<redacted>") || !strings.Contains(out, "dial tcp") {
			t.Errorf("%s: expected redacted but informative output: %s", format, out)
		}
	}
}

func TestLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "json", "warn", false)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("level filter: %s", buf.String())
	}
}
