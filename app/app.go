// Package app assembles the bot from its configuration: the store (locked,
// opened and migrated), the Bot API client, the handlers, the outbox
// sender, the dispatcher, the intake (long polling or webhook), every
// scheduled job with its policy, and the ops server (health, metrics, the
// message API).
//
// It is the one place the parts are wired together. cmd/rsvpbot reads
// flags and the environment into a Config and runs the App;
// handlers/handlerstest builds the very same App for handler tests (with a
// clock, a fake Bot API and jobs run on demand), and so does the
// playground. The model is benbjohnson/wtf's Main, which "lets us share
// setup code with our end-to-end tests": a test that assembles the app
// gets the production wiring, scheduled jobs and metrics included, and
// cannot drift from it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/weather"
)

// Config is everything the App is built from. The zero value of each
// policy field is production's (cmd/rsvpbot's defaults); the fields under
// "seams" exist for tests and the playground.
type Config struct {
	// Token and APIURL reach the Bot API (APIURL "" is Telegram's).
	Token  string
	APIURL string
	// DB is the SQLite file. The App holds its lock (store.LockDatabase)
	// from New to Close: one bot per database. A postgres:// URL is
	// PostgreSQL instead, where any number of replicas may share it
	// (replicas.go).
	DB string
	// Replica names this process among the replicas on PostgreSQL (""
	// host-pid).
	Replica string
	// Admins are the bot admins' user ids (/stats).
	Admins []int64
	// Timezone is the zone of chats that have not chosen one (nil: UTC).
	Timezone *time.Location
	// Version and Started are reported by /stats and the metrics
	// (Started zero: when New was called).
	Version string
	Started time.Time
	// Logger receives every component's log, tagged with "component"
	// (nil: discarded).
	Logger *slog.Logger

	// Limits are the sender's rate limits (nil: outbox's defaults).
	Limits *outbox.Limits
	// Flood are the budgets in front of the handlers (zero: off). Its
	// OnDrop, if set, is called besides the flood_dropped_total metric.
	Flood handlers.FloodConfig
	// Reminders are the default reminder offsets (nil:
	// scheduler.DefaultOffsets; empty: none).
	Reminders []time.Duration
	// LedgerRetention is how long the outbox ledger keeps an attempt (0:
	// DefaultLedgerRetention; negative: forever, no purge job).
	LedgerRetention time.Duration

	// BackupDir, if set, receives a backup of the database every
	// BackupEvery (RSVPBOT_BACKUP_DIR, RSVPBOT_BACKUP_EVERY; the "backup"
	// job, backup.go); the newest BackupKeep are kept.
	BackupDir   string
	BackupEvery time.Duration

	// GeocodingURL and ForecastURL are Open-Meteo's endpoints; with both
	// empty (and Weather nil) there is no weather.
	GeocodingURL, ForecastURL string

	// HTTPAddr is where the ops server listens ("": no ops server unless
	// Listener is set).
	HTTPAddr string
	// APIToken enables the message API on the ops server.
	APIToken string
	// WebhookURL set means webhook mode: updates are posted to WebhookPath
	// on the ops server with WebhookSecret; empty means long polling.
	WebhookURL, WebhookSecret, WebhookPath string
	// PublicURL is the ops server's public base URL (RSVPBOT_PUBLIC_URL):
	// set, /calendar gives feed URLs under it and the ops server serves
	// them at /cal/<token>.ics; it needs the ops server.
	PublicURL string

	// Seams.

	// Now is the clock of the handlers, the reminders, the series and the
	// purge jobs (nil: time.Now).
	Now func() time.Time
	// ManualJobs leaves the scheduled jobs unscheduled: Run does not tick
	// them, RunJob runs one now.
	ManualJobs bool
	// Listener, if set, serves the ops server instead of listening on
	// HTTPAddr.
	Listener net.Listener
	// Weather, if set, replaces Open-Meteo (a fake in tests).
	Weather handlers.Weather
	// AdjustHandlers, if set, may change the handlers' dependencies just
	// before they are built (a ChatAdmins that fails, a fake weather).
	AdjustHandlers func(*handlers.Deps)
	// Timing tunes delays for tests; zero values are production's.
	Timing Timing
}

// Timing holds the delays tests shorten. Zero is each package's default.
type Timing struct {
	ClientTimeout      time.Duration // one Bot API call (bot.ClientOptions)
	PollTimeout        time.Duration // getUpdates long poll
	MinBackoff         time.Duration // intake retry backoff
	MaxBackoff         time.Duration
	SenderPollInterval time.Duration // outbox sender's idle poll
	DispatchGrace      time.Duration // dispatcher's grace at shutdown
	ShutdownTimeout    time.Duration // Run's bound on a graceful stop (default 20 s)
	LeaseEvery         time.Duration // replicas: how often a lease is bid for (store.LeaseConfig)
	LeaseTTL           time.Duration // replicas: how long a lease outlives its holder
	ClaimTTL           time.Duration // replicas: how long a chat claim outlives its replica
}

// LockError is the refusal to take the database's lock: another bot holds
// it (a *store.LockedError inside), or the lock file cannot be made.
type LockError struct{ Err error }

func (e *LockError) Error() string { return e.Err.Error() }
func (e *LockError) Unwrap() error { return e.Err }

// App is the assembled bot.
type App struct {
	cfg      Config
	log      *slog.Logger
	lock     *store.Lock
	db       *store.DB
	catalog  *locales.Catalog
	client   *bot.Client
	me       string // the bot's username
	handlers *handlers.App
	flood    *handlers.Flood
	sender   *outbox.Sender
	disp     *bot.Dispatcher
	intake   *bot.Intake
	health   *ops.Health
	metrics  *ops.Metrics
	server   *ops.Server
	ln       net.Listener
	backups  *ops.Backups // nil without scheduled backups
	rem      *scheduler.Reminders
	series   *scheduler.Series
	jobs     []job
	replicas *replicas // nil on SQLite

	closeOnce sync.Once
}

// New builds the App: it takes the database's lock, opens and migrates
// the database, waits until the Bot API answers getMe (backing off while
// it is unreachable; a rejected token is bot.ErrUnauthorized), builds
// every part, loads the updates a previous run left pending and, with an
// ops server, listens. Nothing runs until Run. A cancelled ctx stops the
// waiting: New then returns ctx's error.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	if cfg.Timezone == nil {
		cfg.Timezone = time.UTC
	}
	if cfg.LedgerRetention == 0 {
		cfg.LedgerRetention = DefaultLedgerRetention
	}
	if cfg.Timing.ShutdownTimeout <= 0 {
		cfg.Timing.ShutdownTimeout = 20 * time.Second
	}
	log := cfg.Logger
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close() // what was opened so far
		}
	}()

	pg := store.IsPostgresURL(cfg.DB)
	if !pg {
		if a.lock, err = store.LockDatabase(cfg.DB); err != nil {
			return nil, &LockError{Err: err}
		}
	}
	// The store keeps the wall clock (not cfg.Now): its commit times are
	// what readiness compares with real time.
	if a.db, err = a.openDB(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot open the database (RSVPBOT_DB): %w", err)
	}
	db := a.db
	if pg {
		a.replicas = newReplicas(db, cfg.Replica, cfg.Timing, log)
	} else if on, err := db.IncrementalVacuum(ctx); err == nil && !on {
		log.Warn("the database does not give the pages of purged rows back to the file system; stop the bot and run rsvpbot migrate once to switch it", "db", cfg.DB)
	}
	if a.catalog, err = locales.New(); err != nil {
		return nil, fmt.Errorf("cannot load the message catalogs: %w", err)
	}
	if a.client, err = bot.NewClient(cfg.Token, cfg.APIURL, bot.ClientOptions{Timeout: cfg.Timing.ClientTimeout}); err != nil {
		return nil, fmt.Errorf("cannot create the Telegram client: %w", err)
	}
	client := a.client
	me, err := waitForTelegram(ctx, client, log)
	if err != nil {
		return nil, err
	}
	a.me = me.Username
	log.Info("connected to Telegram", "bot", "@"+me.Username, "api", cfg.APIURL, "db", store.Redact(cfg.DB), "version", cfg.Version)

	// Readiness and metrics (package ops). The getMe above was a
	// successful call; in webhook mode the health probe repeats it while
	// the bot is idle, so that readiness stays honest without traffic.
	opsLog := log.With("component", "ops")
	probe := func(ctx context.Context) error { _, err := client.Bot().GetMe(ctx); return err }
	a.backups = a.newBackups()
	hcfg := ops.HealthConfig{DB: db, Probe: probe, Logger: opsLog, Backups: a.backups}
	if a.replicas != nil {
		hcfg.Replicas = a.replicas.leaseCheck(db)
	}
	a.health = ops.NewHealth(hcfg)
	a.health.TelegramCall(nil)
	a.metrics = ops.NewMetrics(ops.MetricsConfig{DB: db, Version: cfg.Version, Started: cfg.Started, Health: a.health, Logger: opsLog})
	if a.backups != nil {
		a.metrics.Registry().MustRegister(a.backups.Collectors()...)
	}

	wx := cfg.Weather
	if wx == nil && (cfg.GeocodingURL != "" || cfg.ForecastURL != "") {
		om, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: cfg.GeocodingURL, ForecastURL: cfg.ForecastURL,
			UserAgent: "rsvpbot/" + cfg.Version})
		if err != nil {
			return nil, fmt.Errorf("weather provider misconfigured (OPEN_METEO_*_URL): %w", err)
		}
		svc := weather.New(om, weather.Config{Logger: log.With("component", "weather"), OnCall: a.metrics.WeatherCall})
		a.metrics.SetWeatherBreaker(svc.State)
		wx = svc
	}

	// The scheduler's reminders and series render and post through the
	// handlers, which in turn create occurrences through that one series
	// runner (with the reminder planning): built first, bound to the
	// handlers once they exist.
	schedLog := log.With("component", "scheduler")
	late := &lateHandlers{}
	rcfg := scheduler.ReminderConfig{DB: db, Render: late, Defaults: cfg.Reminders, Now: cfg.Now, Logger: schedLog}
	if r := a.replicas; r != nil {
		rcfg.Leader = func() bool { _, ok := r.leader.Held(); return ok }
	}
	a.rem = scheduler.NewReminders(rcfg)
	a.series = scheduler.NewSeries(scheduler.SeriesConfig{DB: db, Poster: late, Plan: a.rem.Plan, Now: cfg.Now, Logger: schedLog})

	deps := handlers.Deps{
		Weather:     wx,
		DB:          db,
		Catalog:     a.catalog,
		Logger:      log.With("component", "handlers"),
		Now:         cfg.Now,
		Admins:      cfg.Admins,
		BotUsername: me.Username,
		DefaultTZ:   cfg.Timezone,
		ChatAdmins:  client.ChatAdmins,
		Series:      a.series,
		PublicURL:   cfg.PublicURL,
	}
	if cfg.AdjustHandlers != nil {
		cfg.AdjustHandlers(&deps)
	}
	h := handlers.New(deps)
	late.h = h
	a.handlers = h
	h.EnableReminders(cfg.Reminders)
	h.EnableStats(handlers.StatsInfo{Version: cfg.Version, Started: cfg.Started})
	a.metrics.SetKnownCommand(h.HasCommand)

	a.sender = outbox.NewSender(db, client, outbox.Config{
		Limits:       cfg.Limits,
		Logger:       log.With("component", "sender"),
		OnFate:       h.OnFate,
		OnMigrated:   h.OnMigrated,
		Observer:     ops.Observers(a.metrics.Outbox(), a.health),
		Probe:        probe,
		PollInterval: cfg.Timing.SenderPollInterval,
		StartEmpty:   pg,
	})

	// Flood budgets in front of the handlers; commands left unanswered
	// are counted by the budget that ran out.
	floodDropped := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rsvpbot", Name: "flood_dropped_total",
		Help: "Commands not answered because a flood budget ran out, by budget (user or chat)."}, []string{"budget"})
	a.metrics.Registry().MustRegister(floodDropped)
	flood := cfg.Flood
	onDrop := flood.OnDrop
	flood.OnDrop = func(scope string) {
		floodDropped.WithLabelValues(scope).Inc()
		if onDrop != nil {
			onDrop(scope)
		}
	}
	a.flood = h.FloodGuard(flood)

	dcfg := bot.DispatcherConfig{Logger: log.With("component", "dispatch"),
		Observe: a.metrics.ObserveUpdate, Grace: cfg.Timing.DispatchGrace}
	if a.replicas != nil {
		dcfg.Replica, dcfg.ClaimTTL = a.replicas.name, cfg.Timing.ClaimTTL
	}
	a.disp = bot.NewDispatcher(db, a.flood, dcfg)
	n, err := a.disp.Load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // stopped while starting: nothing was taken, nothing is lost
		}
		return nil, fmt.Errorf("cannot load pending updates: %w", err)
	}
	if n > 0 {
		log.Info("resuming updates left pending by the last run", "count", n)
	}
	a.intake = bot.NewIntake(db, client, bot.IntakeConfig{
		WebhookConnections: webhookConnections(pg),
		Logger:             log.With("component", "intake"),
		Stored:             a.metrics.CountReceived(a.disp.Add),
		PollTimeout:        cfg.Timing.PollTimeout,
		MinBackoff:         cfg.Timing.MinBackoff,
		MaxBackoff:         cfg.Timing.MaxBackoff,
		OnCall: func(err error) {
			a.health.TelegramCall(err)
			a.health.Polled(err)
			a.metrics.IntakeCall(err)
			a.sender.TelegramCall(err)
		},
	})

	if err := a.addJobs(); err != nil {
		return nil, err
	}
	if err := a.listen(); err != nil {
		return nil, err
	}
	return a, nil
}

// listen builds the ops server (/healthz, /readyz, /metrics, the message
// API with an API token, the webhook in webhook mode) and its listener.
func (a *App) listen() error {
	cfg := a.cfg
	if cfg.HTTPAddr == "" && cfg.Listener == nil {
		if cfg.PublicURL != "" {
			return errors.New("RSVPBOT_PUBLIC_URL is set but there is no ops server (RSVPBOT_HTTP_ADDR) to serve calendar feeds")
		}
		return nil
	}
	var api *ops.API
	if cfg.APIToken != "" {
		var err error
		if api, err = ops.NewAPI(ops.APIConfig{DB: a.db, Token: cfg.APIToken, Metrics: a.metrics,
			Logger: a.log.With("component", "api")}); err != nil {
			return fmt.Errorf("cannot start the message API: %w", err)
		}
	}
	a.server = ops.NewServer(ops.Config{Health: a.health, Metrics: a.metrics, API: api, Logger: a.log.With("component", "ops")})
	if cfg.WebhookURL != "" {
		if err := a.server.Handle(cfg.WebhookPath, a.intake.Webhook(cfg.WebhookSecret)); err != nil {
			return fmt.Errorf("cannot serve the webhook (RSVPBOT_WEBHOOK_URL) at %s: %w", cfg.WebhookPath, err)
		}
	}
	if cfg.PublicURL != "" {
		if err := a.server.Handle("GET "+handlers.FeedPathPrefix, a.handlers.CalendarFeed()); err != nil {
			return fmt.Errorf("cannot serve calendar feeds (RSVPBOT_PUBLIC_URL) at %s: %w", handlers.FeedPathPrefix, err)
		}
	}
	a.ln = cfg.Listener
	if a.ln == nil {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("cannot listen on RSVPBOT_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
		}
		a.ln = ln
	}
	a.log.Info("ops server listening", "addr", a.ln.Addr().String(), "message_api", api != nil)
	return nil
}

// Run runs the bot until ctx is cancelled, then stops gracefully (work in
// flight finishes, within Timing.ShutdownTimeout). The first fatal error
// of a part (a rejected token, a failing server) stops the rest and is
// returned; a stop by ctx returns nil. Run once.
func (a *App) Run(ctx context.Context) error {
	var jobs *scheduler.Jobs
	if !a.cfg.ManualJobs {
		jobs = scheduler.NewJobs(a.log.With("component", "scheduler"), time.UTC)
		for _, j := range a.jobs {
			run := j.run
			if a.replicas != nil && !onEveryReplica(j.Name) {
				run = a.replicas.leaderOnly(run)
			}
			if err := jobs.Add(j.Name, j.Schedule, run); err != nil {
				return err // New checked the specs already
			}
		}
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}

	if a.server != nil {
		goRun("http", func(ctx context.Context) error { return a.server.Serve(ctx, a.ln) })
		goRun("telegram-probe", a.health.Run)
	}
	// On PostgreSQL the leases decide who runs the one-at-a-time parts
	// (replicas.go); alone, this process runs them all.
	single := func(l *store.Lease, name string, f func(context.Context) error) {
		if a.replicas == nil {
			goRun(name, f)
			return
		}
		goRun(name, func(ctx context.Context) error { l.WhileHeld(ctx, name, f); return nil })
	}
	// The leader's writes are fenced with its lease (store.WithFence); the
	// sender's are not: what its calls did must be recorded even after a
	// handover.
	asLeader := func(name string, f func(context.Context) error) {
		if r := a.replicas; r != nil {
			single(r.leader, name, func(ctx context.Context) error { return f(r.leader.Fenced(ctx)) })
			return
		}
		single(nil, name, f)
	}
	var sender *store.Lease
	if r := a.replicas; r != nil {
		sender = r.sender
		goRun("lease-leader", r.leader.Run)
		goRun("lease-sender", r.sender.Run)
	}
	single(sender, "sender", a.sender.Run)
	goRun("dispatcher", a.disp.Run)
	if jobs != nil {
		goRun("scheduler", jobs.Run)
	}
	asLeader("commands", untilDone(func(ctx context.Context) error {
		registerCommands(ctx, a.client, a.catalog, a.cfg.Admins, a.log)
		return nil
	}))
	if a.cfg.WebhookURL != "" {
		asLeader("webhook", untilDone(func(ctx context.Context) error {
			return keepWebhook(ctx, a.intake, a.cfg.WebhookURL, a.cfg.WebhookSecret, a.log)
		}))
	} else {
		asLeader("polling", func(ctx context.Context) error {
			if err := a.intake.DeleteWebhook(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("could not delete a webhook before polling; polling will report a conflict if one is set", "err", err)
			}
			return a.intake.Poll(ctx)
		})
	}

	<-runCtx.Done()
	cause := context.Cause(runCtx)
	a.log.Info("stopping: finishing work in flight")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.Timing.ShutdownTimeout):
		a.log.Warn("some work did not finish in time; it stays pending for the next start")
	}
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// Close closes the database and releases its lock. Call it after Run has
// returned (or instead of Run).
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.ln != nil {
			a.ln.Close() // the server closes it too when it stops; twice is harmless
		}
		if a.db != nil {
			a.db.Close()
		}
		if a.lock != nil {
			a.lock.Release()
		}
	})
}

// DB is the App's database.
func (a *App) DB() *store.DB { return a.db }

// Handlers are the App's handlers.
func (a *App) Handlers() *handlers.App { return a.handlers }

// Flood is the flood guard in front of the handlers.
func (a *App) Flood() *handlers.Flood { return a.flood }

// Sender is the outbox sender.
func (a *App) Sender() *outbox.Sender { return a.sender }

// Catalog is the message catalog.
func (a *App) Catalog() *locales.Catalog { return a.catalog }

// Metrics are the App's metrics.
func (a *App) Metrics() *ops.Metrics { return a.metrics }

// Reminders is the reminder scheduler (the "reminders" job).
func (a *App) Reminders() *scheduler.Reminders { return a.rem }

// Series is the one series runner: the "series" job's, and the handlers'.
func (a *App) Series() *scheduler.Series { return a.series }

// Addr is the ops server's address (nil without one).
func (a *App) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}
