package handlers

import (
	"context"
	"database/sql"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

func (a *App) registerCancel() { a.router.Command("cancel", a.cancel) }

// cancel leaves the conversation in progress, if any.
func (a *App) cancel(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		had, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID)
		if err != nil {
			return err
		}
		if had {
			return a.reply(ctx, tx, u, a.tr(lang, "cancel_done"), nil)
		}
		return a.reply(ctx, tx, u, a.tr(lang, "cancel_nothing"), nil)
	})
}
