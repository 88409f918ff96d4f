package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/internal/logtest"
)

// duplicateKeys returns the keys that occur twice in one JSON object of
// the document, at any depth ("a.b" for nested ones).
func duplicateKeys(doc []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var dups []string
	var value func(path string) error
	value = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					dups = append(dups, path+key)
				}
				seen[key] = true
				if err := value(path + key + "."); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := value(path); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	err := value("")
	return dups, err
}

func TestLoggerKeysUnique(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "json", "debug", false)
	// A component logger that a package tags again (as outbox.NewSender
	// does with the logger it is given).
	log.With("component", "sender").With("component", "outbox").Info("one", "id", 1, "id", 2)
	log.With("component", "api").Info("two", "component", "api2", "msg", "shadow", "level", "x")
	log.With("g", 1).WithGroup("req").With("a", 1).Info("three", "a", 2, slog.Group("", "b", 1), "b", 2)
	log.WithGroup("empty").Info("four")
	var recs []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		dups, err := duplicateKeys(sc.Bytes())
		if err != nil || len(dups) > 0 {
			t.Errorf("record %s: duplicate keys %v (%v)", sc.Text(), dups, err)
		}
		var m map[string]any
		json.Unmarshal(sc.Bytes(), &m)
		recs = append(recs, m)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0]["component"] != "outbox" || recs[0]["id"] != 2.0 {
		t.Errorf("the innermost value should win: %v", recs[0])
	}
	if recs[1]["component"] != "api2" || recs[1]["msg"] != "two" || recs[1]["msg_"] != "shadow" || recs[1]["level"] != "INFO" {
		t.Errorf("record attributes: %v", recs[1])
	}
	if req, _ := recs[2]["req"].(map[string]any); recs[2]["g"] != 1.0 || req["a"] != 2.0 || req["b"] != 2.0 {
		t.Errorf("groups: %v", recs[2])
	}
	if _, ok := recs[3]["empty"]; ok {
		t.Errorf("an empty group is printed: %v", recs[3])
	}
}

const (
	urlUser     = "operator"
	urlPassword = "Pa55-w0rd_xyz"
)

func TestLoggerRedactsURLPasswords(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log := newLogger(&buf, format, "debug", false, goodToken)
		u := "http://" + urlUser + ":" + urlPassword + "@127.0.0.1:9/"
		log.Info("connected to "+u, "api", u, "err", fmt.Errorf("get %q: %w", u+"bot"+goodToken+"/getMe", errors.New("refused")),
			slog.Group("g", "u", "https://a:p%40ss@x.example/path"), "odd", "https://u:p@ss@host/x")
		out := buf.String()
		for _, leak := range []string{urlPassword, "p%40ss", "p@ss", "ABC-def_ghi"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s: %q leaked: %s", format, leak, out)
			}
		}
		if !strings.Contains(out, urlUser+":xxxxx@127.0.0.1:9") || !strings.Contains(out, "refused") {
			t.Errorf("%s: expected redacted but informative output: %s", format, out)
		}
	}
}

// TestStartupLogsClean runs the real startup against the fake Bot API with
// credentials in TELEGRAM_API_URL, at debug level in JSON, with a reply
// that is retried once (so the outbox sender logs too): no record repeats
// a key, and neither the log nor /readyz shows the URL's password.
func TestStartupLogsClean(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	apiURL := strings.Replace(fake.URL, "http://", "http://"+urlUser+":"+urlPassword+"@", 1)
	lookup := env(
		"TELEGRAM_BOT_TOKEN", fake.Token,
		"TELEGRAM_API_URL", apiURL,
		"RSVPBOT_DB", filepath.Join(t.TempDir(), "rsvpbot.db"),
		"RSVPBOT_HTTP_ADDR", "127.0.0.1:0",
		"RSVPBOT_RATE_GLOBAL", "0", "RSVPBOT_RATE_CHAT", "0", "RSVPBOT_RATE_GROUP", "0",
		"LOG_FORMAT", "json", "LOG_LEVEL", "debug",
	)
	var logs logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, lookup, io.Discard, &logs) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Error("the bot did not stop")
		}
	}
	defer stop()

	var base string
	waitUntil(t, 20*time.Second, "the ops server", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "ops server listening" {
				base = "http://" + rec.Addr
				return true
			}
		}
		return false
	})
	user := models.User{ID: 77, FirstName: "Ann", LanguageCode: "en"}
	fake.FailNext(bottest.Fault{Method: "sendMessage", ChatID: 77, Status: 502})
	fake.PushMessage(bottest.PrivateChat(user), user, "/start")
	waitUntil(t, 30*time.Second, "the greeting, sent on the second try", func() bool { return len(fake.Messages(77)) >= 2 })
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()

	out := logs.String()
	if strings.Contains(out, urlPassword) || strings.Contains(string(ready), urlPassword) {
		t.Errorf("the URL password leaked:\n%s\n/readyz: %s", out, ready)
	}
	components := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		dups, err := duplicateKeys([]byte(line))
		if err != nil || len(dups) > 0 {
			t.Errorf("duplicate keys %v (%v) in %s", dups, err, line)
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			if c, ok := rec["component"].(string); ok {
				components[c] = true
			}
		}
	}
	if !components["outbox"] || !strings.Contains(out, urlUser+":xxxxx@") {
		t.Errorf("expected records from the outbox sender and the redacted API URL; components %v; log:\n%s", components, out)
	}
}

// TestURLPasswordNotInErrors: the password of TELEGRAM_API_URL stays out of
// a configuration error and of the log while Telegram is unreachable.
func TestURLPasswordNotInErrors(t *testing.T) {
	var stderr logtest.Buffer
	code := run(context.Background(), nil, env("TELEGRAM_BOT_TOKEN", goodToken,
		"TELEGRAM_API_URL", "ftp://"+urlUser+":"+urlPassword+"@example.org/"), io.Discard, &stderr)
	if code != 2 || strings.Contains(stderr.String(), urlPassword) || !strings.Contains(stderr.String(), "TELEGRAM_API_URL") {
		t.Errorf("exit %d, stderr: %s", code, stderr.String())
	}

	// A loopback port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, nil, env("TELEGRAM_BOT_TOKEN", goodToken,
			"TELEGRAM_API_URL", "http://"+urlUser+":"+urlPassword+"@"+addr,
			"RSVPBOT_DB", filepath.Join(t.TempDir(), "rsvpbot.db"), "RSVPBOT_HTTP_ADDR", "",
			"LOG_FORMAT", "json", "LOG_LEVEL", "debug"), io.Discard, &logs)
	}()
	waitUntil(t, 20*time.Second, "the retry warning", func() bool {
		return strings.Contains(logs.String(), "cannot reach the Telegram API")
	})
	cancel()
	<-exited
	if out := logs.String(); strings.Contains(out, urlPassword) || strings.Contains(out, "ABC-def_ghi") {
		t.Errorf("a secret leaked:\n%s", out)
	}
}
