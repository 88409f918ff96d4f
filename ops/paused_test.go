package ops_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/outbox"
)

// While the outbox sender is paused because Telegram is unreachable,
// /readyz answers 503 saying for how long, and the metrics say so: the
// real sender, the real client and the fake Bot API in an outage.
func TestReadyzAndMetricsFollowTheSendersPause(t *testing.T) {
	fake := bottest.NewServer()
	defer fake.Close()
	e := newEnv(t, envOptions{})
	addChat(t, e.db, 42, true, "")
	addChat(t, e.db, 43, true, "")
	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := outbox.NewSender(e.db, client, outbox.Config{Limits: &outbox.Limits{},
		Observer: ops.Observers(e.metrics.Outbox(), e.health), PollInterval: 20 * time.Millisecond,
		Probe:  func(ctx context.Context) error { _, err := client.Bot().GetMe(ctx); return err },
		Logger: (&logBuffer{}).logger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if m := e.scrape(); m.value("rsvpbot_telegram_reachable") != 1 || m.value("rsvpbot_sender_paused_seconds") != 0 {
		t.Fatalf("before the outage: reachable %v, paused %v", m.value("rsvpbot_telegram_reachable"), m.value("rsvpbot_sender_paused_seconds"))
	}
	fake.StartOutage(bottest.Outage{})
	for _, chat := range []string{"42", "43"} {
		if r := e.post("/v1/messages", `{"chat_id": `+chat+`, "text": "hello"}`); r.status != http.StatusAccepted {
			t.Fatalf("enqueue: %d %s", r.status, r.body)
		}
	}
	var body string
	waitFor(t, "/readyz to report the pause", func() bool {
		r := e.do(http.MethodGet, "/readyz", "", nil)
		body = string(r.body)
		return r.status == http.StatusServiceUnavailable
	})
	if !regexp.MustCompile(`telegram: FAIL: Telegram unreachable for \d+s`).MatchString(body) {
		t.Fatalf("readyz while paused: %s", body)
	}
	m := e.scrape()
	if m.value("rsvpbot_telegram_reachable") != 0 || m.value("rsvpbot_sender_paused_seconds") < 0 {
		t.Fatalf("while paused: reachable %v, paused %v", m.value("rsvpbot_telegram_reachable"), m.value("rsvpbot_sender_paused_seconds"))
	}

	// Telegram returns: the next probe (1 s after the first failed one)
	// finds it, sending resumes and readiness follows.
	fake.EndOutage()
	waitFor(t, "both messages sent", func() bool {
		return count(t, e.db, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`) == 2
	})
	waitFor(t, "ready again", func() bool { return e.do(http.MethodGet, "/readyz", "", nil).status == http.StatusOK })
	if m := e.scrape(); m.value("rsvpbot_telegram_reachable") != 1 || m.value("rsvpbot_sender_paused_seconds") != 0 {
		t.Fatalf("after the outage: reachable %v, paused %v", m.value("rsvpbot_telegram_reachable"), m.value("rsvpbot_sender_paused_seconds"))
	}
	if n := count(t, e.db, `SELECT COUNT(*) FROM outbox WHERE failures > 0`); n != 0 {
		t.Errorf("%d rows charged for the outage", n)
	}
}

// The detail and the gauge are computed from when the outage began.
func TestPausedForFortySeconds(t *testing.T) {
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	h := ops.NewHealth(ops.HealthConfig{Now: clock})
	m := ops.NewMetrics(ops.MetricsConfig{Health: h, Now: clock})
	obs := ops.Observers(m.Outbox(), h)
	h.TelegramCall(nil)
	obs.Reachability(false, t0)
	later := t0.Add(40 * time.Second)
	now.Store(&later)
	ok, checks := h.Ready(context.Background())
	detail := ""
	for _, c := range checks {
		if c.Name == "telegram" && !c.OK {
			detail = c.Detail
		}
	}
	if ok || !strings.HasPrefix(detail, "Telegram unreachable for 40s") {
		t.Fatalf("ready %v: %+v", ok, checks)
	}
	srv := newTestServer(t, m.Handler())
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rsvpbot_telegram_reachable 0\n", "rsvpbot_sender_paused_seconds 40\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	obs.Reachability(true, t0)
	if ok, checks := h.Ready(context.Background()); !ok {
		t.Fatalf("not ready after the pause ended: %+v", checks)
	}
}
