package handlers

import (
	"context"
	"database/sql"
	"strings"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
)

func (a *App) registerStart() { a.router.Command("start", a.start) }

// start greets the user and records that the bot may now write to them
// privately (commit's touch does that). A deep-link payload
// (t.me/<bot>?start=<payload>) is handed to the handler registered for its
// prefix, e.g. "ev_<share code>" opens that event.
func (a *App) start(ctx context.Context, u *bot.Update) error {
	if p := strings.TrimSpace(u.Args); p != "" {
		prefix, rest, _ := strings.Cut(p, "_")
		if h, ok := a.deepLinks[prefix]; ok {
			return h(ctx, u, rest)
		}
	}
	lang := a.userLang(ctx, u)
	name := ""
	if f := u.From(); f != nil {
		name = f.FirstName
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		return a.reply(ctx, tx, u, a.tr(lang, "start_greeting", locales.Args{"Name": name}), nil)
	})
}
