package handlers

import (
	"context"
	"database/sql"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
)

// unknown answers a command nobody handles (and a button of an older
// version) with a pointer to /help. Admin-only commands answer the same way
// to non-admins, so their existence does not leak.
func (a *App) unknown(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	if cq := u.CallbackQuery; cq != nil {
		return a.answerToast(ctx, u, lang, "button_stale", false)
	}
	if m := u.Msg(); m != nil && m.Chat.Type != "private" {
		// In groups, unknown commands are often meant for another bot:
		// stay quiet rather than answer every one.
		return a.commit(ctx, u, nil)
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		return a.reply(ctx, tx, u, a.tr(lang, "unknown_command", locales.Args{"Command": tgtext.Echo("/" + u.Command)}), nil)
	})
}
