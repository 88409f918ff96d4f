package handlers

import (
	"context"
	"database/sql"
	"strings"

	"github.com/rsvpbot/rsvpbot/bot"
)

func (a *App) registerHelp() { a.router.Command("help", a.help) }

// help lists the commands this user can use, admin commands only for bot
// admins. It never touches a conversation in progress, so /help mid-way
// answers and the conversation goes on.
func (a *App) help(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	var b strings.Builder
	b.WriteString(a.tr(lang, "help_header"))
	b.WriteString("\n\n")
	var admin strings.Builder
	for _, c := range a.Catalog.Commands(lang, a.IsAdmin(u.UserID)) {
		if !a.router.HasCommand(c.Command) {
			continue
		}
		line := "/" + c.Command + " — " + esc(c.Description) + "\n"
		if c.Admin {
			admin.WriteString(line)
		} else {
			b.WriteString(line)
		}
	}
	if admin.Len() > 0 {
		b.WriteString("\n" + a.tr(lang, "help_admin_header") + "\n" + admin.String())
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		return a.reply(ctx, tx, u, strings.TrimSpace(b.String()), nil)
	})
}
