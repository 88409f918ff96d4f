package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
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

// shutdownTimeout bounds a graceful stop; past it the process exits anyway
// (nothing is half-committed: every write is a transaction).
const shutdownTimeout = 20 * time.Second

func runBot(parent context.Context, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	started := time.Now()
	cfg, code := configOrExit(lookupEnv, true, stderr)
	if cfg == nil {
		return code
	}
	// One bot per database: a second would reset the rows the first is
	// sending and answer its updates again. Refused before anything is
	// opened, like a wrong setting: one line naming the file and the pid.
	lock, err := store.LockDatabase(cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot: %v\n", &ConfigError{Var: "RSVPBOT_DB", Problem: err.Error()})
		return 2
	}
	defer lock.Release()
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, isTerminal(stderr), cfg.Token, cfg.APIToken, cfg.WebhookSecret)
	ctx, stop := signalContext(parent)
	defer stop()

	db, err := store.Open(ctx, cfg.DB, outbox.WithSchema(store.Options{}))
	if err != nil {
		log.Error("cannot open the database (RSVPBOT_DB)", "err", err)
		return 1
	}
	defer db.Close()

	catalog, err := locales.New()
	if err != nil {
		log.Error("cannot load the message catalogs", "err", err)
		return 1
	}
	client, err := bot.NewClient(cfg.Token, cfg.APIURL, bot.ClientOptions{})
	if err != nil {
		log.Error("cannot create the Telegram client", "err", err)
		return 1
	}

	me, err := waitForTelegram(ctx, client, log)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		log.Error(err.Error())
		return 1
	}
	log.Info("connected to Telegram", "bot", "@"+me.Username, "api", cfg.APIURL, "db", cfg.DB, "version", version)

	// Readiness and metrics (package ops). The getMe above was a
	// successful call; in webhook mode the health probe repeats it while
	// the bot is idle, so that readiness stays honest without traffic.
	opsLog := log.With("component", "ops")
	health := ops.NewHealth(ops.HealthConfig{
		DB:     db,
		Probe:  func(ctx context.Context) error { _, err := client.Bot().GetMe(ctx); return err },
		Logger: opsLog,
	})
	health.TelegramCall(nil)
	metrics := ops.NewMetrics(ops.MetricsConfig{DB: db, Version: version, Started: started, Health: health, Logger: opsLog})

	om, err := weather.NewOpenMeteo(weather.OpenMeteoConfig{GeocodingURL: cfg.GeocodingURL, ForecastURL: cfg.ForecastURL,
		UserAgent: "rsvpbot/" + version})
	if err != nil {
		log.Error("weather provider misconfigured (OPEN_METEO_*_URL)", "err", err)
		return 1
	}
	wx := weather.New(om, weather.Config{Logger: log.With("component", "weather"), OnCall: metrics.WeatherCall})
	metrics.SetWeatherBreaker(wx.State)

	app := handlers.New(handlers.Deps{
		Weather:     wx,
		DB:          db,
		Catalog:     catalog,
		Logger:      log.With("component", "handlers"),
		Admins:      cfg.Admins,
		BotUsername: me.Username,
		DefaultTZ:   cfg.Timezone,
		ChatAdmins:  client.ChatAdmins,
	})
	app.EnableStats(handlers.StatsInfo{Version: version, Started: started})
	metrics.SetKnownCommand(app.HasCommand)
	sender := outbox.NewSender(db, client, outbox.Config{
		Limits:     &outbox.Limits{Global: cfg.RateGlobal, PrivateChat: cfg.RateChat, GroupPerMinute: cfg.RateGroup},
		Logger:     log.With("component", "sender"),
		OnFate:     app.OnFate,
		OnMigrated: app.OnMigrated,
		Observer:   ops.Observers(metrics.Outbox(), health),
		Probe:      func(ctx context.Context) error { _, err := client.Bot().GetMe(ctx); return err },
	})
	// Flood budgets (RSVPBOT_FLOOD_*) in front of the handlers; commands
	// left unanswered are counted by the budget that ran out.
	floodDropped := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rsvpbot", Name: "flood_dropped_total",
		Help: "Commands not answered because a flood budget ran out, by budget (user or chat)."}, []string{"budget"})
	metrics.Registry().MustRegister(floodDropped)
	guard := app.FloodGuard(handlers.FloodConfig{UserPerMinute: cfg.FloodUser, ChatPerMinute: cfg.FloodChat,
		OnDrop: func(scope string) { floodDropped.WithLabelValues(scope).Inc() }})
	disp := bot.NewDispatcher(db, guard, bot.DispatcherConfig{Logger: log.With("component", "dispatch"), Observe: metrics.ObserveUpdate})
	if n, err := disp.Load(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped while starting: nothing was taken, nothing is lost.
			log.Info("stopped")
			return 0
		}
		log.Error("cannot load pending updates", "err", err)
		return 1
	} else if n > 0 {
		log.Info("resuming updates left pending by the last run", "count", n)
	}
	intake := bot.NewIntake(db, client, bot.IntakeConfig{
		Logger: log.With("component", "intake"),
		Stored: metrics.CountReceived(disp.Add),
		OnCall: func(err error) {
			health.TelegramCall(err)
			health.Polled(err)
			metrics.IntakeCall(err)
			sender.TelegramCall(err)
		},
	})

	jobs := scheduler.NewJobs(log.With("component", "scheduler"), time.UTC)
	housekeeping(jobs, db, app, cfg.LedgerRetention)
	remindersAndSeries(jobs, db, app, cfg.Reminders, log.With("component", "scheduler"))

	// Everything below runs until ctx is cancelled; the first fatal error
	// (a rejected token, a port in use) cancels the rest.
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

	if cfg.HTTPAddr != "" {
		// The ops server: /healthz, /readyz, /metrics, the message API
		// (with RSVPBOT_API_TOKEN) and the webhook.
		var api *ops.API
		if cfg.APIToken != "" {
			if api, err = ops.NewAPI(ops.APIConfig{DB: db, Token: cfg.APIToken, Metrics: metrics,
				Logger: log.With("component", "api")}); err != nil {
				log.Error("cannot start the message API", "err", err)
				return 1
			}
		}
		srv := ops.NewServer(ops.Config{Health: health, Metrics: metrics, API: api, Logger: opsLog})
		if cfg.WebhookURL != "" {
			if err := srv.Handle(cfg.WebhookPath, intake.Webhook(cfg.WebhookSecret)); err != nil {
				log.Error("cannot serve the webhook (RSVPBOT_WEBHOOK_URL)", "path", cfg.WebhookPath, "err", err)
				return 1
			}
		}
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			log.Error("cannot listen on RSVPBOT_HTTP_ADDR", "addr", cfg.HTTPAddr, "err", err)
			return 1
		}
		log.Info("ops server listening", "addr", ln.Addr().String(), "message_api", api != nil)
		goRun("http", func(ctx context.Context) error { return srv.Serve(ctx, ln) })
		goRun("telegram-probe", health.Run)
	}

	goRun("sender", sender.Run)
	goRun("dispatcher", disp.Run)
	goRun("scheduler", jobs.Run)
	goRun("commands", func(ctx context.Context) error { registerCommands(ctx, client, catalog, cfg.Admins, log); return nil })
	if cfg.WebhookURL != "" {
		goRun("webhook", func(ctx context.Context) error { return keepWebhook(ctx, intake, cfg, log) })
	} else {
		goRun("polling", func(ctx context.Context) error {
			if err := intake.DeleteWebhook(ctx); err != nil && ctx.Err() == nil {
				log.Warn("could not delete a webhook before polling; polling will report a conflict if one is set", "err", err)
			}
			return intake.Poll(ctx)
		})
	}

	<-runCtx.Done()
	cause := context.Cause(runCtx)
	log.Info("stopping: finishing work in flight")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		log.Warn("some work did not finish in time; it stays pending for the next start")
	}
	if cause != nil && !errors.Is(cause, context.Canceled) {
		log.Error("stopped", "err", cause)
		return 1
	}
	log.Info("stopped")
	return 0
}

// waitForTelegram calls getMe until it succeeds, backing off while the API
// is unreachable (it says so in the log; it does not exit or spin). A
// rejected token is fatal.
func waitForTelegram(ctx context.Context, client *bot.Client, log *slog.Logger) (*models.User, error) {
	backoff := time.Second
	for {
		me, err := client.Bot().GetMe(ctx)
		if err == nil {
			return me, nil
		}
		if errors.Is(err, tg.ErrorUnauthorized) {
			return nil, bot.ErrUnauthorized
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Warn("cannot reach the Telegram API; retrying", "err", bot.Redact(err.Error(), client.Token()), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// keepWebhook registers the webhook, retrying until Telegram accepts it.
func keepWebhook(ctx context.Context, intake *bot.Intake, cfg *Config, log *slog.Logger) error {
	backoff := time.Second
	for {
		err := intake.SetWebhook(ctx, cfg.WebhookURL, cfg.WebhookSecret)
		if err == nil {
			log.Info("webhook registered", "url", cfg.WebhookURL)
			return nil
		}
		if errors.Is(err, tg.ErrorUnauthorized) {
			return bot.ErrUnauthorized
		}
		log.Warn("cannot register the webhook; retrying", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// registerCommands publishes the command menu per language (admins get
// theirs per chat scope). Failures are logged: the menu is a convenience.
func registerCommands(ctx context.Context, client *bot.Client, catalog *locales.Catalog, admins []int64, log *slog.Logger) {
	for _, lang := range catalog.Languages() {
		code := lang
		if lang == "en" {
			code = "" // the default for every language without its own list
		}
		cmds := toBotCommands(catalog.Commands(lang, false))
		if _, err := client.Bot().SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: cmds, LanguageCode: code}); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("setMyCommands failed; that language keeps its old menu until the next start", "lang", lang, "err", err)
			continue
		}
		for _, id := range admins {
			scope := &models.BotCommandScopeChat{ChatID: id}
			if _, err := client.Bot().SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: toBotCommands(catalog.Commands(lang, true)),
				Scope: scope, LanguageCode: code}); err != nil {
				log.Debug("setMyCommands for an admin failed (they may not have started the bot)", "admin", id, "err", err)
			}
		}
	}
}

func toBotCommands(cs []locales.Command) []models.BotCommand {
	out := make([]models.BotCommand, len(cs))
	for i, c := range cs {
		out[i] = models.BotCommand{Command: c.Command, Description: c.Description}
	}
	return out
}

// housekeeping schedules the periodic clean-ups.
func housekeeping(jobs *scheduler.Jobs, db *store.DB, app *handlers.App, ledgerRetention time.Duration) {
	jobs.Add("expire-conversations", "@every 1m", func(ctx context.Context) (string, error) {
		n, err := app.ExpireConversations(ctx)
		if n == 0 {
			return "", err
		}
		return fmt.Sprintf("expired %d conversation(s)", n), err
	})
	jobs.Add("purge-inbox", "@every 1h", func(ctx context.Context) (string, error) {
		var n int64
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			n, err = store.PurgeInbox(ctx, tx, time.Now().Add(-7*24*time.Hour))
			return err
		})
		return fmt.Sprintf("purged %d handled update(s) older than 7 days", n), err
	})
	if ledgerRetention > 0 {
		jobs.Add("purge-ledger", "@every 6h", func(ctx context.Context) (string, error) {
			var n int64
			err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
				n, err = outbox.PurgeLedger(ctx, tx, time.Now().Add(-ledgerRetention))
				return err
			})
			return fmt.Sprintf("purged %d ledger row(s) older than %s (RSVPBOT_LEDGER_RETENTION)", n, ledgerRetention), err
		})
	}
	// Card forecasts: new events, edited places or times, and forecasts
	// older than handlers.ForecastRefresh, a few lookups a minute.
	jobs.Add("card-forecasts", "@every 1m", app.RefreshForecasts)
}

// remindersAndSeries enables /remind and /series and schedules reminders
// (planned, claimed and enqueued every 10 s; the first run also sends
// what fell due while the bot was down) and recurring series (the next
// occurrence, every minute). defaults is RSVPBOT_REMINDERS.
func remindersAndSeries(jobs *scheduler.Jobs, db *store.DB, app *handlers.App, defaults []time.Duration, log *slog.Logger) {
	app.EnableReminders(defaults)
	rem := scheduler.NewReminders(scheduler.ReminderConfig{DB: db, Render: app, Defaults: defaults, Logger: log})
	series := scheduler.NewSeries(scheduler.SeriesConfig{DB: db, Poster: app, Plan: rem.Plan, Logger: log})
	jobs.Add("reminders", "@every 10s", rem.Job())
	jobs.Add("series", "@every 1m", series.Job())
	jobs.Add("purge-reminders", "@every 6h", func(ctx context.Context) (string, error) {
		var n int64
		err := db.Tx(ctx, func(tx *sql.Tx) (err error) {
			n, err = store.PurgeReminders(ctx, tx, time.Now().Add(-90*24*time.Hour))
			return err
		})
		return fmt.Sprintf("purged %d reminder(s) of events that ended over 90 days ago", n), err
	})
}
