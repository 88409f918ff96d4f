package app_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// gate forwards TCP connections to target while open; while closed it
// refuses them (accepts and closes at once), as a database host that is
// down or unreachable does.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   bool
}

func newGate(t *testing.T, target string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			open := g.open
			g.mu.Unlock()
			if !open {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return g
}

func (g *gate) set(open bool) { g.mu.Lock(); g.open = open; g.mu.Unlock() }

// PostgreSQL unreachable at start: the bot keeps retrying, /healthz 200
// and /readyz 503 naming the database meanwhile; once it is reachable the
// bot starts, on the same address, ready. A wrong database name is no
// reason to wait: New fails at once with store.ErrBadURL, password hidden.
func TestPostgresUnreachableAtStart(t *testing.T) {
	dsn := storetest.Postgres(t, "start")
	u, _ := url.Parse(dsn)
	g := newGate(t, u.Host)
	u.Host = g.ln.Addr().String()
	fake := bottest.NewServer()
	defer fake.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{Token: fake.Token, APIURL: fake.URL, DB: u.String(), Version: "t", ManualJobs: true, Listener: ln,
		Weather: stubWeather{}, LedgerRetention: -1}
	type made struct {
		a   *app.App
		err error
	}
	done := make(chan made, 1)
	go func() { a, err := app.New(context.Background(), cfg); done <- made{a, err} }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "PostgreSQL not reachable") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz while PostgreSQL is away: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz while PostgreSQL is away: %d", code)
	}
	if code, _ := get("/telegram/webhook"); code != http.StatusServiceUnavailable {
		t.Fatalf("a webhook while PostgreSQL is away: %d, want 503 (Telegram redelivers)", code)
	}
	select {
	case m := <-done:
		t.Fatalf("New returned while PostgreSQL was away: %v", m.err)
	case <-time.After(500 * time.Millisecond):
	}
	g.set(true)
	var m made
	select {
	case m = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("New still waiting 30 s after PostgreSQL came back")
	}
	if m.err != nil {
		t.Fatal(m.err)
	}
	defer m.a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.a.Run(ctx) }()
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusOK && strings.Contains(body, "replicas: ok: this replica") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after PostgreSQL came back: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}

	// A database that does not exist: no waiting, and no password shown.
	bad, _ := url.Parse(dsn)
	bad.User = url.UserPassword("postgres", "s3cret")
	bad.Path = "/no_such_database_here"
	cfg.DB, cfg.Listener = bad.String(), nil
	_, err = app.New(context.Background(), cfg)
	if !errors.Is(err, store.ErrBadURL) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New with a missing database = %v; want ErrBadURL without the password", err)
	}
}
