package ops

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// MetricsConfig tunes NewMetrics.
type MetricsConfig struct {
	// DB is read at scrape time for queue depths; nil leaves those gauges out.
	DB *store.DB
	// Version is reported by rsvpbot_build_info.
	Version string
	// Started is the process start (default: now).
	Started time.Time
	// KnownCommand reports whether a command name is registered (the
	// handlers' HasCommand); other commands are counted as "other". Nil
	// counts every command as "other" (until SetKnownCommand).
	KnownCommand func(name string) bool
	// Health, if set, provides rsvpbot_telegram_last_success_timestamp_seconds.
	Health *Health
	// Logger receives scrape errors (default: discard).
	Logger *slog.Logger
	// Now is the clock of the database gauges (default time.Now).
	Now func() time.Time
}

// Metrics is rsvpbot's Prometheus instrumentation, on a registry of its
// own. Its methods are safe for concurrent use and never block; they are
// meant to be plugged into the components' hooks (see Outbox,
// ObserveUpdate, CountReceived, IntakeCall, WeatherCall).
type Metrics struct {
	cfg     MetricsConfig
	reg     *prometheus.Registry
	breaker atomic.Pointer[func() string]
	known   atomic.Pointer[func(string) bool]

	// pausedSince is when the outbox sender paused because Telegram was
	// unreachable (Unix ns), 0 while it sends.
	pausedSince atomic.Int64

	attempts, failed, retries, dead *prometheus.CounterVec // method, class
	sent                            *prometheus.CounterVec // method, lane
	rateLimited                     *prometheus.CounterVec // scope
	dropped                         *prometheus.CounterVec // method, reason
	enqueueToSent                   *prometheus.HistogramVec
	callDuration                    *prometheus.HistogramVec

	received       *prometheus.CounterVec // kind
	handled        *prometheus.CounterVec // kind, command
	handlerErrors  *prometheus.CounterVec // command
	handlerLatency *prometheus.HistogramVec
	intakeCalls    *prometheus.CounterVec // result

	weatherCalls *prometheus.CounterVec // op, outcome

	apiRequests *prometheus.CounterVec // route, code
	apiLatency  *prometheus.HistogramVec
	apiMessages *prometheus.CounterVec // result
}

const namespace = "rsvpbot"

// NewMetrics makes the metrics and registers them, with the Go runtime and
// process collectors, on a new registry.
func NewMetrics(cfg MetricsConfig) *Metrics {
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	}
	m := &Metrics{
		cfg: cfg,
		reg: prometheus.NewRegistry(),

		attempts: counter("outbox_attempts_total", "Bot API calls made by the outbox sender, by method and outcome class.", "method", "class"),
		failed: counter("outbox_failed_attempts_total",
			"Bot API calls by the sender that did not deliver (any class but ok, not_modified, gone).", "method", "class"),
		sent:        counter("outbox_sent_total", "Messages delivered by the outbox sender.", "method", "lane"),
		rateLimited: counter("outbox_rate_limited_total", "429 answers received; scope is global when one paused all sending.", "scope"),
		retries:     counter("outbox_retries_total", "Retries scheduled after transient failures.", "method", "class"),
		dead:        counter("outbox_dead_letters_total", "Messages that failed for good (dead letters).", "method", "class"),
		dropped:     counter("outbox_dropped_total", "Messages not sent on purpose (chat inactive, callback expired).", "method", "reason"),
		enqueueToSent: histogram("outbox_enqueue_to_sent_seconds", "Time from Enqueue to Telegram accepting the message.",
			[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800}, "lane"),
		callDuration: histogram("telegram_call_duration_seconds", "Duration of one Bot API call made by the outbox sender.",
			[]float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}, "method"),

		received: counter("updates_received_total", "Updates stored by the intake (duplicates excluded).", "kind"),
		handled:  counter("updates_handled_total", "Updates handled by the dispatcher.", "kind", "command"),
		handlerErrors: counter("handler_errors_total",
			"Updates whose handler failed (the user was apologised to).", "command"),
		handlerLatency: histogram("handler_duration_seconds", "Time to handle one update, commit included.",
			[]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, "command"),
		intakeCalls: counter("intake_calls_total", "getUpdates round trips and webhook deliveries, by result.", "result"),

		weatherCalls: counter("weather_calls_total", "Weather lookups by operation and outcome.", "op", "outcome"),

		apiRequests: counter("api_requests_total", "Message API requests by route and HTTP status.", "route", "code"),
		apiLatency: histogram("api_request_duration_seconds", "Message API request duration.",
			[]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}, "route"),
		apiMessages: counter("api_messages_total", "POST /v1/messages accepted: enqueued (new) or replayed (same idempotency key).", "result"),
	}
	if cfg.KnownCommand != nil {
		m.SetKnownCommand(cfg.KnownCommand)
	}
	// Series that alerts compare against are created at zero, so that
	// rate() and increase() see them before the first event.
	for _, scope := range []string{"chat", "global"} {
		m.rateLimited.WithLabelValues(scope)
	}
	for _, r := range []string{"enqueued", "replayed"} {
		m.apiMessages.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		m.intakeCalls.WithLabelValues(r)
	}

	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": cfg.Version, "goversion": runtime.Version()}})
	buildInfo.Set(1)
	startTime := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "start_time_seconds",
		Help: "When the process started (Unix time)."})
	startTime.Set(float64(cfg.Started.UnixNano()) / 1e9)

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, startTime,
		m.attempts, m.failed, m.sent, m.rateLimited, m.retries, m.dead, m.dropped, m.enqueueToSent, m.callDuration,
		m.received, m.handled, m.handlerErrors, m.handlerLatency, m.intakeCalls,
		m.weatherCalls,
		m.apiRequests, m.apiLatency, m.apiMessages,
		&stateCollector{m: m},
	)
	return m
}

// Registry is the registry the metrics are on (to add collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format. A failing
// collector does not fail the scrape: the other metrics are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.cfg.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
		Timeout:       10 * time.Second,
	})
}

// SetKnownCommand replaces MetricsConfig.KnownCommand (for wiring in which
// the handlers are built after the metrics).
func (m *Metrics) SetKnownCommand(known func(name string) bool) { m.known.Store(&known) }

// SetWeatherBreaker makes rsvpbot_weather_breaker_state report state()
// (weather.Service.State: "closed", "half-open" or "open") at each scrape.
func (m *Metrics) SetWeatherBreaker(state func() string) { m.breaker.Store(&state) }

// WeatherCall counts a weather lookup; it is weather.Config.OnCall.
func (m *Metrics) WeatherCall(op, outcome string) {
	m.weatherCalls.WithLabelValues(bounded(op, weatherOps), bounded(outcome, weatherOutcomes)).Inc()
}

// IntakeCall counts a getUpdates round trip or webhook delivery; call it
// from bot.IntakeConfig.OnCall.
func (m *Metrics) IntakeCall(err error) {
	if err != nil {
		m.intakeCalls.WithLabelValues("error").Inc()
		return
	}
	m.intakeCalls.WithLabelValues("ok").Inc()
}

// CountReceived wraps bot.IntakeConfig.Stored: it counts the new updates
// by kind, then passes them on to next (the dispatcher's Add).
func (m *Metrics) CountReceived(next func([]store.InboxUpdate)) func([]store.InboxUpdate) {
	return func(ups []store.InboxUpdate) {
		for _, u := range ups {
			m.received.WithLabelValues(bounded(u.Kind, updateKinds)).Inc()
		}
		if next != nil {
			next(ups)
		}
	}
}

// ObserveUpdate is bot.DispatcherConfig.Observe: it counts a handled update
// and its handler's latency and error by command.
func (m *Metrics) ObserveUpdate(u *bot.Update, took time.Duration, err error) {
	cmd := m.commandLabel(u.Command)
	m.handled.WithLabelValues(bounded(u.Kind, updateKinds), cmd).Inc()
	m.handlerLatency.WithLabelValues(cmd).Observe(took.Seconds())
	if err != nil {
		m.handlerErrors.WithLabelValues(cmd).Inc()
	}
}

func (m *Metrics) commandLabel(cmd string) string {
	if cmd == "" {
		return "none"
	}
	if known := m.known.Load(); known != nil && (*known)(cmd) {
		return cmd
	}
	return "other"
}

// Outbox returns the outbox.Observer that feeds the sender's metrics.
func (m *Metrics) Outbox() outbox.Observer { return outboxObserver{m} }

type outboxObserver struct{ m *Metrics }

func (o outboxObserver) Attempt(method string, class outbox.Class, latency time.Duration) {
	method, label := bounded(method, methods), bounded(string(class), classes)
	o.m.attempts.WithLabelValues(method, label).Inc()
	if !class.Delivered() {
		o.m.failed.WithLabelValues(method, label).Inc()
	}
	if latency > 0 { // interrupted attempts (found at start) have none
		o.m.callDuration.WithLabelValues(method).Observe(latency.Seconds())
	}
}

func (o outboxObserver) RateLimited(_ int64, _ time.Duration, global bool) {
	scope := "chat"
	if global {
		scope = "global"
	}
	o.m.rateLimited.WithLabelValues(scope).Inc()
}

func (o outboxObserver) Retry(method string, class outbox.Class, _ time.Duration) {
	o.m.retries.WithLabelValues(bounded(method, methods), bounded(string(class), classes)).Inc()
}

func (o outboxObserver) DeadLetter(method string, class outbox.Class) {
	o.m.dead.WithLabelValues(bounded(method, methods), bounded(string(class), classes)).Inc()
}

func (o outboxObserver) Dropped(method, reason string) {
	reason = strings.ReplaceAll(reason, " ", "_") // "chat inactive" from the claim
	o.m.dropped.WithLabelValues(bounded(method, methods), bounded(reason, dropReasons)).Inc()
}

// Reachability records the sender's pause (see descReachable).
func (o outboxObserver) Reachability(reachable bool, since time.Time) {
	if reachable {
		o.m.pausedSince.Store(0)
		return
	}
	o.m.pausedSince.Store(max(since.UnixNano(), 1))
}

func (o outboxObserver) Sent(method string, lane outbox.Lane, sinceEnqueue time.Duration) {
	l := bounded(lane.String(), lanes)
	o.m.sent.WithLabelValues(bounded(method, methods), l).Inc()
	o.m.enqueueToSent.WithLabelValues(l).Observe(max(sinceEnqueue, 0).Seconds())
}

// Label values. Anything else is reported as "other", so that no input can
// create unbounded series.
var (
	methods = set("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
		"deleteMessage", "pinChatMessage", "sendDocument", "sendVenue")
	classes         = set(strs(outbox.Classes())...)
	dropReasons     = set(outbox.DropChatInactive, string(outbox.ClassBlocked), string(outbox.ClassExpired))
	lanes           = set(outbox.Interactive.String(), outbox.Edit.String(), outbox.Bulk.String())
	updateKinds     = set(append([]string{"edited_message"}, bot.AllowedUpdates...)...)
	weatherOps      = set("geocode", "forecast")
	weatherOutcomes = set("ok", "cache_hit", "not_found", "out_of_range", "error", "breaker_open", "canceled")
)

func strs[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func bounded(v string, allowed map[string]bool) string {
	if allowed[v] {
		return v
	}
	return "other"
}

// stateCollector reads the queue gauges from the database at scrape time,
// so they are exact even when another process changed the queue, and cost
// nothing between scrapes. Its queries use the outbox's state and done
// indexes.
type stateCollector struct{ m *Metrics }

var (
	descMessages = prometheus.NewDesc(namespace+"_outbox_messages",
		"Outbox messages now, by state (pending, sending, dead) and lane.", []string{"state", "lane"}, nil)
	descOldest = prometheus.NewDesc(namespace+"_outbox_oldest_pending_age_seconds",
		"Age of the oldest pending outbox message (0 if none).", nil, nil)
	descDeadHour = prometheus.NewDesc(namespace+"_outbox_dead_last_hour",
		"Messages dead-lettered in the last hour.", nil, nil)
	descWarning = prometheus.NewDesc(namespace+"_outbox_warning",
		"1 while an outbox warning holds: pending_depth (pending above the threshold), "+
			"dead_letter_growth (dead letters in the last hour above the threshold).", []string{"condition"}, nil)
	descThreshold = prometheus.NewDesc(namespace+"_outbox_warning_threshold",
		"Threshold of each outbox warning.", []string{"condition"}, nil)
	descInboxPending = prometheus.NewDesc(namespace+"_inbox_pending",
		"Updates stored and not yet handled.", nil, nil)
	descInboxLag = prometheus.NewDesc(namespace+"_inbox_lag_seconds",
		"Age of the oldest update not yet handled (0 if none).", nil, nil)
	descDBOK = prometheus.NewDesc(namespace+"_scrape_database_ok",
		"1 if the database queries behind the outbox and inbox gauges succeeded at this scrape.", nil, nil)
	descLastTelegram = prometheus.NewDesc(namespace+"_telegram_last_success_timestamp_seconds",
		"When Telegram last answered a call (Unix time); readiness needs it recent.", nil, nil)
	descReachable = prometheus.NewDesc(namespace+"_telegram_reachable",
		"0 while the outbox sender is paused because calls to Telegram fail across chats (its breaker is open), 1 otherwise.", nil, nil)
	descPaused = prometheus.NewDesc(namespace+"_sender_paused_seconds",
		"How long the outbox sender has been paused because Telegram is unreachable (0 while it sends).", nil, nil)
	descBreaker = prometheus.NewDesc(namespace+"_weather_breaker_state",
		"1 for the weather circuit breaker's current state (closed, half-open, open), 0 for the others.", []string{"state"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descOldest, descDeadHour, descWarning, descThreshold,
		descInboxPending, descInboxLag, descDBOK, descLastTelegram, descBreaker, descReachable, descPaused} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if h := m.cfg.Health; h != nil {
		if t := h.LastTelegramSuccess(); !t.IsZero() {
			gauge(descLastTelegram, float64(t.UnixNano())/1e9)
		}
	}
	if since := m.pausedSince.Load(); since != 0 {
		gauge(descReachable, 0)
		gauge(descPaused, max(m.cfg.Now().Sub(time.Unix(0, since)), 0).Seconds())
	} else {
		gauge(descReachable, 1)
		gauge(descPaused, 0)
	}
	if f := m.breaker.Load(); f != nil {
		cur := (*f)()
		for _, st := range []string{"closed", "half-open", "open"} {
			v := 0.0
			if st == cur {
				v = 1
			}
			gauge(descBreaker, v, st)
		}
	}
	if m.cfg.DB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := readQueues(ctx, m.cfg.DB.R, m.cfg.Now())
	if err != nil {
		m.cfg.Logger.Warn("metrics: reading queue depths", "err", err)
		gauge(descDBOK, 0)
		return
	}
	gauge(descDBOK, 1)
	for _, st := range []outbox.State{outbox.StatePending, outbox.StateSending, outbox.StateDead} {
		depth := q.outbox.Depth(st)
		for l := outbox.Interactive; l <= outbox.Bulk; l++ {
			gauge(descMessages, float64(depth[l]), string(st), l.String())
		}
	}
	gauge(descOldest, q.outbox.OldestPending.Seconds())
	gauge(descDeadHour, float64(q.outbox.DeadLastHour))
	for _, c := range q.outbox.Conditions() {
		warn := 0.0
		if c.Holds {
			warn = 1
		}
		gauge(descWarning, warn, c.Name)
		gauge(descThreshold, float64(c.Threshold), c.Name)
	}
	gauge(descInboxPending, float64(q.inboxPending))
	gauge(descInboxLag, q.inboxLag.Seconds())
}

// queues is the state of the outbox and inbox at one moment.
type queues struct {
	outbox       outbox.Queue
	inboxPending int
	inboxLag     time.Duration
}

// readQueues reads the gauges in one read transaction, so they agree with
// each other.
func readQueues(ctx context.Context, db *sql.DB, now time.Time) (queues, error) {
	var q queues
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return q, err
	}
	defer tx.Rollback()
	if q.outbox, err = outbox.ReadQueue(ctx, tx, now, 0); err != nil {
		return q, err
	}
	first, n, err := store.InboxLag(ctx, tx)
	if err != nil {
		return q, err
	}
	q.inboxPending = n
	if !first.IsZero() {
		q.inboxLag = max(now.Sub(first), 0)
	}
	return q, nil
}

// Observers combines outbox observers (the metrics and Health) into one.
func Observers(obs ...outbox.Observer) outbox.Observer { return tee(obs) }

type tee []outbox.Observer

func (t tee) Attempt(method string, class outbox.Class, latency time.Duration) {
	for _, o := range t {
		o.Attempt(method, class, latency)
	}
}

func (t tee) RateLimited(chatID int64, retryAfter time.Duration, global bool) {
	for _, o := range t {
		o.RateLimited(chatID, retryAfter, global)
	}
}

func (t tee) Retry(method string, class outbox.Class, delay time.Duration) {
	for _, o := range t {
		o.Retry(method, class, delay)
	}
}

func (t tee) DeadLetter(method string, class outbox.Class) {
	for _, o := range t {
		o.DeadLetter(method, class)
	}
}

func (t tee) Dropped(method, reason string) {
	for _, o := range t {
		o.Dropped(method, reason)
	}
}

func (t tee) Sent(method string, lane outbox.Lane, sinceEnqueue time.Duration) {
	for _, o := range t {
		o.Sent(method, lane, sinceEnqueue)
	}
}

func (t tee) Reachability(reachable bool, since time.Time) {
	for _, o := range t {
		o.Reachability(reachable, since)
	}
}
