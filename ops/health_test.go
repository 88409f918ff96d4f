package ops_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

func TestHealthzAlwaysOK(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.db.Close() // liveness does not depend on the database
	r := e.do(http.MethodGet, "/healthz", "", nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "ok" {
		t.Fatalf("healthz: %d %q", r.status, r.body)
	}
}

func TestReadyWhenAllIsWell(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do(http.MethodGet, "/readyz", "", nil)
	if r.status != 200 || !strings.HasPrefix(string(r.body), "ready\n") {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	for _, want := range []string{"database: ok", "migrations: ok", "telegram: ok"} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("readyz lacks %q: %s", want, r.body)
		}
	}
	// The probe leaves nothing behind.
	tables := `SELECT count(*) FROM sqlite_master WHERE name LIKE '%probe%'`
	if e.db.Postgres() {
		tables = `SELECT count(*) FROM pg_tables WHERE tablename LIKE '%probe%'`
	}
	if n := count(t, e.db, tables); n != 0 {
		t.Fatal("readiness probe left a table")
	}
}

func TestNotReadyWhenDatabaseIsClosed(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.db.Close()
	r := e.do(http.MethodGet, "/readyz", "", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "database: FAIL: not writable") {
		t.Fatalf("closed database: %d %s", r.status, r.body)
	}
}

// Another process holding the write lock (a stuck backup, a CLI in a long
// transaction) makes the bot unable to work: not ready, and quickly.
func TestNotReadyWhenDatabaseIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rsvpbot.db")
	db, err := store.Open(context.Background(), path, outbox.WithSchema(store.Options{BusyTimeout: 100 * time.Millisecond, TxRetries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := newEnv(t, envOptions{db: db, health: &ops.HealthConfig{DB: db, CheckTimeout: time.Second}})
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO users (id, first_seen, last_seen) VALUES (1, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.do(http.MethodGet, "/readyz", "", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "database: FAIL") {
		t.Fatalf("locked database: %d %s", r.status, r.body)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("readiness took %s with a locked database", took)
	}
	tx.Rollback()
	if r := e.do(http.MethodGet, "/readyz", "", nil); r.status != 200 {
		t.Fatalf("after the lock is released: %d %s", r.status, r.body)
	}
}

func TestNotReadyWhenMigrationsArePending(t *testing.T) {
	db, err := store.OpenNoMigrate(context.Background(), filepath.Join(t.TempDir(), "old.db"), outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := newEnv(t, envOptions{db: db, noAPI: true})
	r := e.do(http.MethodGet, "/readyz", "", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "migrations: FAIL: not applied") {
		t.Fatalf("unmigrated database: %d %s", r.status, r.body)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodGet, "/readyz", "", nil); r.status != 200 {
		t.Fatalf("after migrating: %d %s", r.status, r.body)
	}
}

// In webhook mode a quiet bot makes no calls: the probe keeps readiness
// honest both ways.
func TestReadinessFollowsTelegram(t *testing.T) {
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(time.Now())
	clock := func() time.Time { return *now.Load() }
	var probeErr atomic.Pointer[error]
	var probes atomic.Int32
	probe := func(context.Context) error {
		probes.Add(1)
		if p := probeErr.Load(); p != nil {
			return *p
		}
		return nil
	}
	db := openDB(t)
	e := newEnv(t, envOptions{db: db, health: &ops.HealthConfig{DB: db, Now: clock, Probe: probe,
		StaleAfter: 3 * time.Minute, ProbeIdle: time.Minute, ProbeEvery: 5 * time.Millisecond}})
	h := e.health
	ready := func() (int, string) {
		r := e.do(http.MethodGet, "/readyz", "", nil)
		return r.status, string(r.body)
	}
	if st, body := ready(); st != 200 {
		t.Fatalf("fresh: %d %s", st, body)
	}

	// Nothing happens for four minutes and nobody probes: not ready.
	set(clock().Add(4 * time.Minute))
	h.TelegramCall(errors.New("getUpdates: connection refused"))
	st, body := ready()
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "telegram: FAIL: no successful call for 4m0s") ||
		!strings.Contains(body, "connection refused") {
		t.Fatalf("stale: %d %s", st, body)
	}

	// The probe loop sees the silence and calls getMe: ready again.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "a probe", func() bool { return probes.Load() > 0 })
	waitFor(t, "readiness", func() bool { st, _ := ready(); return st == 200 })

	// While calls succeed (traffic), the probe stays quiet.
	n := probes.Load()
	for range 20 {
		set(clock().Add(10 * time.Second))
		h.TelegramCall(nil)
		time.Sleep(20 * time.Millisecond)
	}
	if got := probes.Load(); got != n {
		t.Fatalf("probed %d times despite traffic", got-n)
	}

	// Telegram rejects the token: probes fail, and after StaleAfter the
	// bot is not ready, whatever the (absent) traffic.
	bad := errors.New("Unauthorized")
	probeErr.Store(&bad)
	n = probes.Load()
	set(clock().Add(2 * time.Minute))
	// Two probes: the first one's outcome is recorded before the second starts.
	waitFor(t, "failing probes", func() bool { return probes.Load() >= n+2 })
	if st, _ := ready(); st != 200 {
		t.Fatal("not ready before StaleAfter")
	}
	set(clock().Add(2 * time.Minute))
	st, body = ready()
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "last error") || !strings.Contains(body, "Unauthorized") {
		t.Fatalf("after failing probes: %d %s", st, body)
	}
}

// Outbox attempts count as Telegram calls: answered ones (even errors) are
// successes, unanswered ones are not.
func TestHealthObservesOutboxAttempts(t *testing.T) {
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	h := ops.NewHealth(ops.HealthConfig{Now: func() time.Time { return *now.Load() }})
	if ok, _ := h.Ready(context.Background()); ok {
		t.Fatal("ready before any call")
	}
	h.Attempt("sendMessage", outbox.ClassNetwork, time.Second)
	if !h.LastTelegramSuccess().IsZero() {
		t.Fatal("a network failure counted as success")
	}
	h.Attempt("sendMessage", outbox.ClassBadRequest, time.Second)
	if !h.LastTelegramSuccess().Equal(t0) {
		t.Fatal("an answered call did not count")
	}
	if ok, checks := h.Ready(context.Background()); !ok {
		t.Fatalf("not ready: %+v", checks)
	}
}

// The real probe: getMe against the fake Bot API.
func TestProbeWithGetMe(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	db := openDB(t)
	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	probe := func(ctx context.Context) error { _, err := client.Bot().GetMe(ctx); return err }
	h := ops.NewHealth(ops.HealthConfig{DB: db, Probe: probe, ProbeIdle: 20 * time.Millisecond, StaleAfter: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	waitFor(t, "getMe", func() bool { return len(fake.CallsTo("getMe")) > 0 })
	waitFor(t, "ready", func() bool { ok, _ := h.Ready(context.Background()); return ok })
	cancel()
	<-done
}
