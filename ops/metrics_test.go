package ops_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// testApp is a minimal bot: /start and unknown commands are answered,
// /boom fails, plain text is ignored.
type testApp struct{ router *bot.Router }

func newTestApp() *testApp {
	a := &testApp{router: bot.NewRouter("bottest_bot")}
	answer := func(ctx context.Context, u *bot.Update) error {
		return u.Commit(ctx, func(tx *sql.Tx) error {
			_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.ChatID, Method: "sendMessage", Lane: outbox.Interactive,
				Params: map[string]any{"chat_id": u.ChatID, "text": "answer to /" + u.Command}})
			return err
		})
	}
	a.router.Command("start", answer)
	a.router.Command("boom", func(context.Context, *bot.Update) error { return errors.New("boom") })
	a.router.Unknown(answer)
	a.router.Text(func(ctx context.Context, u *bot.Update) error { return nil })
	return a
}

func (a *testApp) Handle(ctx context.Context, u *bot.Update) error { return a.router.Route(ctx, u) }
func (a *testApp) Failed(context.Context, *sql.Tx, *bot.Update, error) error {
	return nil
}

// pipeline runs intake, dispatcher and sender against a fake Bot API, wired
// to the metrics as cmd/rsvpbot wires them.
type pipeline struct {
	*env
	fake *bottest.Server
}

func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	fake := bottest.NewServer()
	t.Cleanup(fake.Close)
	db := openDB(t)
	app := newTestApp()
	e := &env{t: t, db: db, logs: &logBuffer{}}
	log := e.logs.logger()
	e.health = ops.NewHealth(ops.HealthConfig{DB: db, Logger: log})
	e.metrics = ops.NewMetrics(ops.MetricsConfig{DB: db, Version: "test", Health: e.health, Logger: log,
		KnownCommand: app.router.HasCommand})
	e.srv = newTestServer(t, ops.NewServer(ops.Config{Health: e.health, Metrics: e.metrics, Logger: log}))

	client, err := bot.NewClient(fake.Token, fake.URL, bot.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sender := outbox.NewSender(db, client, outbox.Config{Limits: &outbox.Limits{}, Logger: log, PollInterval: 20 * time.Millisecond,
		RetryBase: 10 * time.Millisecond, RetryMax: 10 * time.Millisecond,
		Observer: ops.Observers(e.metrics.Outbox(), e.health)})
	disp := bot.NewDispatcher(db, app, bot.DispatcherConfig{Logger: log, Observe: e.metrics.ObserveUpdate})
	intake := bot.NewIntake(db, client, bot.IntakeConfig{Logger: log, PollTimeout: time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Stored: e.metrics.CountReceived(disp.Add),
		OnCall: func(err error) { e.health.TelegramCall(err); e.metrics.IntakeCall(err) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	for _, run := range []func(context.Context) error{sender.Run, disp.Run, intake.Poll} {
		go func() { run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	return &pipeline{env: e, fake: fake}
}

func (p *pipeline) waitIdle() {
	p.t.Helper()
	waitFor(p.t, "the bot to be idle", func() bool {
		return p.fake.PendingUpdates() == 0 &&
			count(p.t, p.db, `SELECT count(*) FROM inbox WHERE done_at IS NULL`) == 0 &&
			count(p.t, p.db, `SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')`) == 0
	})
}

// A scripted run: five updates, two answers, one handler failure, a 429 and
// a 500 from Telegram. Every counter must say exactly that.
func TestMetricsCountAScriptedRun(t *testing.T) {
	p := startPipeline(t)
	ann := models.User{ID: 1001, FirstName: "Ann"}
	bob := models.User{ID: 1002, FirstName: "Bob"}
	// The first sendMessage is rate limited (retry after 1 s), the second
	// answered 500; their retries succeed.
	p.fake.FailNext(bottest.Fault{Method: "sendMessage", Status: 429, RetryAfter: 1})
	p.fake.FailNext(bottest.Fault{Method: "sendMessage", Status: 500})
	p.fake.PushMessage(bottest.PrivateChat(ann), ann, "/start")
	p.fake.PushMessage(bottest.PrivateChat(bob), bob, "/frobnicate")
	p.fake.PushMessage(bottest.PrivateChat(ann), ann, "hello there")
	p.fake.PushMessage(bottest.PrivateChat(bob), bob, "/boom")
	p.fake.PushMessage(bottest.PrivateChat(bob), bob, "/start@other_bot")
	p.waitIdle()

	// What happened, according to the fake and the ledger.
	calls := p.fake.CallsTo("sendMessage")
	statuses := map[int]int{}
	for _, c := range calls {
		statuses[c.Status]++
	}
	if len(calls) != 4 || statuses[200] != 2 || statuses[429] != 1 || statuses[500] != 1 {
		t.Fatalf("sendMessage calls: %d %v", len(calls), statuses)
	}
	st, err := outbox.ReadQueue(context.Background(), p.db.R, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	m := p.scrape()
	check := func(want float64, name string, labels ...string) {
		t.Helper()
		if got := m.value(name, labels...); got != want {
			t.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
	}
	// Outbox.
	check(4, "rsvpbot_outbox_attempts_total")
	check(2, "rsvpbot_outbox_attempts_total", "method", "sendMessage", "class", "ok")
	check(1, "rsvpbot_outbox_attempts_total", "method", "sendMessage", "class", "rate_limited")
	check(1, "rsvpbot_outbox_attempts_total", "method", "sendMessage", "class", "server_error")
	check(float64(st.Failed), "rsvpbot_outbox_failed_attempts_total")
	check(2, "rsvpbot_outbox_failed_attempts_total")
	check(0, "rsvpbot_outbox_failed_attempts_total", "class", "ok")
	check(2, "rsvpbot_outbox_sent_total", "method", "sendMessage", "lane", "interactive")
	check(float64(st.RateLimited), "rsvpbot_outbox_rate_limited_total")
	check(1, "rsvpbot_outbox_rate_limited_total", "scope", "chat")
	check(0, "rsvpbot_outbox_rate_limited_total", "scope", "global")
	check(1, "rsvpbot_outbox_retries_total", "method", "sendMessage", "class", "server_error")
	check(-1, "rsvpbot_outbox_dead_letters_total") // no series at all
	check(2, "rsvpbot_outbox_enqueue_to_sent_seconds", "lane", "interactive")
	check(4, "rsvpbot_telegram_call_duration_seconds", "method", "sendMessage")
	// The 429'd message waited its retry_after: at least one delivery took a second.
	if h := m.fams["rsvpbot_outbox_enqueue_to_sent_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleSum() < 1 {
		t.Errorf("enqueue-to-sent sum %v s, want ≥ 1 s (a 429 with retry_after 1)", h.GetSampleSum())
	}
	// Updates.
	check(5, "rsvpbot_updates_received_total", "kind", "message")
	check(5, "rsvpbot_updates_handled_total")
	check(1, "rsvpbot_updates_handled_total", "kind", "message", "command", "start")
	check(1, "rsvpbot_updates_handled_total", "command", "other") // /frobnicate
	check(1, "rsvpbot_updates_handled_total", "command", "boom")
	check(2, "rsvpbot_updates_handled_total", "command", "none") // text, and a command for another bot
	check(1, "rsvpbot_handler_errors_total", "command", "boom")
	check(1, "rsvpbot_handler_errors_total")
	check(5, "rsvpbot_handler_duration_seconds")
	if m.value("rsvpbot_intake_calls_total", "result", "ok") < 1 {
		t.Error("no intake calls counted")
	}
	// Gauges: everything delivered.
	check(0, "rsvpbot_outbox_messages")
	check(0, "rsvpbot_inbox_pending")
	check(1, "rsvpbot_scrape_database_ok")
	if m.value("rsvpbot_telegram_last_success_timestamp_seconds") < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Error("last Telegram success not recent")
	}
	check(1, "rsvpbot_build_info", "version", "test")
	if m.value("go_goroutines") <= 0 {
		t.Error("no Go runtime metrics")
	}

	// No label carries a user or chat id.
	for _, id := range []string{"1001", "1002"} {
		if regexp.MustCompile(`\{[^}]*"?` + id + `"?[^}]*\}`).MatchString(m.raw) {
			t.Errorf("a label holds the id %s", id)
		}
	}
}

func TestMetricsQueueGaugesAndWarnings(t *testing.T) {
	e := newEnv(t, envOptions{noAPI: true})
	now := time.Now()
	ctx := context.Background()
	err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		// 1,020 rows, of which 1,005 stay pending (over the depth warning),
		// spread over the lanes.
		for i := range 1020 {
			chat := int64(100 + i%50)
			lane := outbox.Lane(i % 3)
			if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chat, Method: "sendMessage", Lane: lane,
				Params: map[string]any{"chat_id": chat, "text": fmt.Sprint(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 12 rows dead in the last hour (over the growth warning), 1 long ago,
	// 2 sending; the oldest pending row was queued 90 s ago.
	ms := store.Millis(now)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE outbox SET state = 'dead', head = 0, done_at = ? WHERE id <= 12`, []any{ms}},
		{`UPDATE outbox SET state = 'dead', head = 0, done_at = ? WHERE id = 13`, []any{ms - 7200000}},
		{`UPDATE outbox SET state = 'sending' WHERE id IN (14, 15)`, nil},
		{`UPDATE outbox SET created_at = ? WHERE id = 16`, []any{ms - 90000}},
	} {
		if _, err := e.db.W.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	// Two updates wait in the inbox, the older for 30 s.
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := store.InsertUpdates(ctx, tx, []store.InboxUpdate{
			{UpdateID: 1, Kind: "message", Payload: []byte(`{}`), ReceivedAt: now.Add(-30 * time.Second)},
			{UpdateID: 2, Kind: "message", Payload: []byte(`{}`), ReceivedAt: now},
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	m := e.scrape()
	pending := float64(1020 - 15)
	if got := m.value("rsvpbot_outbox_messages", "state", "pending"); got != pending {
		t.Errorf("pending %v, want %v", got, pending)
	}
	var lanes float64
	for _, l := range []string{"interactive", "edit", "bulk"} {
		v := m.value("rsvpbot_outbox_messages", "state", "pending", "lane", l)
		if v < 300 {
			t.Errorf("pending in %s: %v", l, v)
		}
		lanes += v
	}
	if lanes != pending {
		t.Errorf("lanes sum to %v", lanes)
	}
	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{2, "rsvpbot_outbox_messages", []string{"state", "sending"}},
		{13, "rsvpbot_outbox_messages", []string{"state", "dead"}},
		{12, "rsvpbot_outbox_dead_last_hour", nil},
		{1, "rsvpbot_outbox_warning", []string{"condition", "pending_depth"}},
		{1, "rsvpbot_outbox_warning", []string{"condition", "dead_letter_growth"}},
		{1000, "rsvpbot_outbox_warning_threshold", []string{"condition", "pending_depth"}},
		{10, "rsvpbot_outbox_warning_threshold", []string{"condition", "dead_letter_growth"}},
		{2, "rsvpbot_inbox_pending", nil},
	} {
		if got := m.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if age := m.value("rsvpbot_outbox_oldest_pending_age_seconds"); age < 89 || age > 120 {
		t.Errorf("oldest pending age %v s", age)
	}
	if lag := m.value("rsvpbot_inbox_lag_seconds"); lag < 29 || lag > 60 {
		t.Errorf("inbox lag %v s", lag)
	}

	// Below the thresholds the warnings clear.
	if _, err := e.db.W.Exec(`UPDATE outbox SET state = 'sent', done_at = ? WHERE state IN ('pending', 'dead')`, store.Millis(now)); err != nil {
		t.Fatal(err)
	}
	m = e.scrape()
	if m.value("rsvpbot_outbox_warning") != 0 || m.value("rsvpbot_outbox_oldest_pending_age_seconds") != 0 {
		t.Errorf("warnings after draining: %v", m.value("rsvpbot_outbox_warning"))
	}

	// A database that cannot be read says so, and the rest is still served.
	e.db.Close()
	m = e.scrape()
	if m.value("rsvpbot_scrape_database_ok") != 0 || m.value("rsvpbot_outbox_messages") != -1 || m.value("rsvpbot_build_info") != 1 {
		t.Errorf("scrape with a closed database: ok=%v messages=%v", m.value("rsvpbot_scrape_database_ok"), m.value("rsvpbot_outbox_messages"))
	}
}

func TestMetricLabelsAreBounded(t *testing.T) {
	m := ops.NewMetrics(ops.MetricsConfig{KnownCommand: func(c string) bool { return c == "start" }})
	o := m.Outbox()
	for i := range 50 {
		o.Attempt(fmt.Sprintf("method%d", i), outbox.Class(fmt.Sprintf("class%d", i)), time.Millisecond)
		o.Dropped("sendMessage", fmt.Sprintf("reason %d", i))
		m.ObserveUpdate(&bot.Update{Kind: fmt.Sprintf("kind%d", i), Command: fmt.Sprintf("cmd%d", i)}, time.Millisecond, nil)
		m.WeatherCall(fmt.Sprintf("op%d", i), fmt.Sprintf("outcome%d", i))
	}
	o.Dropped("sendMessage", "chat inactive")
	m.SetWeatherBreaker(func() string { return "half-open" })
	srv := newTestServer(t, ops.NewServer(ops.Config{Metrics: m}))
	e := &env{t: t, srv: srv}
	s := e.scrape()
	for name, want := range map[string]int{
		"rsvpbot_outbox_attempts_total":    1,
		"rsvpbot_updates_handled_total":    1,
		"rsvpbot_weather_calls_total":      1,
		"rsvpbot_outbox_dropped_total":     2,
		"rsvpbot_weather_breaker_state":    3,
		"rsvpbot_handler_duration_seconds": 1,
	} {
		if got := len(s.fams[name].GetMetric()); got != want {
			t.Errorf("%s has %d series, want %d", name, got, want)
		}
	}
	if s.value("rsvpbot_outbox_attempts_total", "method", "other", "class", "other") != 50 ||
		s.value("rsvpbot_outbox_dropped_total", "reason", "chat_inactive") != 1 ||
		s.value("rsvpbot_weather_breaker_state", "state", "half-open") != 1 ||
		s.value("rsvpbot_weather_breaker_state", "state", "open") != 0 {
		t.Errorf("bounded values:\n%s", s.raw)
	}
}
