package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// runBot is "rsvpbot run": the configuration, the logger and the signals
// are the command's; package app assembles and runs the bot.
func runBot(parent context.Context, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	started := time.Now()
	cfg, code := configOrExit(lookupEnv, true, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, isTerminal(stderr), cfg.Token, cfg.APIToken, cfg.WebhookSecret, store.URLPassword(cfg.DB))
	ctx, stop := signalContext(parent)
	defer stop()

	bot, err := app.New(ctx, cfg.app(started, log))
	if err != nil {
		var locked *app.LockError
		switch {
		case errors.As(err, &locked):
			// One bot per database: refused like a wrong setting, one
			// line naming the file and the pid.
			fmt.Fprintf(stderr, "rsvpbot: %v\n", &ConfigError{Var: "RSVPBOT_DB", Problem: locked.Err.Error()})
			return 2
		case errors.Is(err, store.ErrBadURL):
			// A wrong PostgreSQL URL or password: no retry fixes it.
			fmt.Fprintf(stderr, "rsvpbot: %v\n", &ConfigError{Var: "RSVPBOT_DB", Problem: err.Error()})
			return 2
		case ctx.Err() != nil:
			// Stopped while starting: nothing was taken, nothing is lost.
			log.Info("stopped")
			return 0
		}
		log.Error(err.Error())
		return 1
	}
	defer bot.Close()
	if err := bot.Run(ctx); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// app is the App's configuration from the environment's.
func (c *Config) app(started time.Time, log *slog.Logger) app.Config {
	ledger := c.LedgerRetention
	if ledger == 0 {
		ledger = -1 // RSVPBOT_LEDGER_RETENTION=off: keep every row
	}
	return app.Config{
		Token:           c.Token,
		APIURL:          c.APIURL,
		DB:              c.DB,
		Admins:          c.Admins,
		Timezone:        c.Timezone,
		Version:         version,
		Started:         started,
		Logger:          log,
		Limits:          &outbox.Limits{Global: c.RateGlobal, PrivateChat: c.RateChat, GroupPerMinute: c.RateGroup},
		Flood:           handlers.FloodConfig{UserPerMinute: c.FloodUser, ChatPerMinute: c.FloodChat},
		Reminders:       c.Reminders,
		LedgerRetention: ledger,
		BackupDir:       c.BackupDir,
		BackupEvery:     c.BackupEvery,
		GeocodingURL:    c.GeocodingURL,
		ForecastURL:     c.ForecastURL,
		HTTPAddr:        c.HTTPAddr,
		APIToken:        c.APIToken,
		WebhookURL:      c.WebhookURL,
		WebhookSecret:   c.WebhookSecret,
		WebhookPath:     c.WebhookPath,
		PublicURL:       c.PublicURL,
	}
}
