package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
)

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
func keepWebhook(ctx context.Context, intake *bot.Intake, url, secret string, log *slog.Logger) error {
	backoff := time.Second
	for {
		err := intake.SetWebhook(ctx, url, secret)
		if err == nil {
			log.Info("webhook registered", "url", url)
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
