package handlers

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

func (a *App) registerTimezone() {
	a.router.Command("timezone", a.timezone)
	a.registerFlow(&flow{name: "timezone", steps: map[string]stepFunc{"zone": a.timezoneAnswer}, guard: a.chatAdminsInGroups})
}

// timezone shows or sets the chat's time zone; without an argument it asks
// for one (a one-step conversation). In groups only chat admins may set it:
// checked here for "/timezone <zone>", and by the flow's guard for the
// answer.
func (a *App) timezone(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	arg := strings.TrimSpace(u.Args)
	// Only setting the zone asks Telegram who the chat's admins are.
	if arg != "" && u.Msg() != nil && u.Msg().Chat.Type != models.ChatTypePrivate {
		ok, err := a.mayAdministerChat(ctx, u.ChatID, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return a.answerText(ctx, u, lang, "chat_admins_only")
		}
	}
	if arg == "" {
		cur := a.chatTZ(ctx, a.DB.R, u.ChatID).String()
		ask := a.tr(lang, "timezone_current", locales.Args{"Zone": cur}) + "\n" + a.tr(lang, "timezone_usage")
		return a.startConversation(ctx, u, "timezone", "zone", nil, ask, nil)
	}
	loc, ok := parseZone(arg)
	if !ok {
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			return a.reply(ctx, tx, u, a.tr(lang, "timezone_unknown", locales.Args{"Zone": tgtext.Echo(arg)}), nil)
		})
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if err := store.SetChatTimezone(ctx, tx, u.ChatID, loc.String()); err != nil {
			return err
		}
		return a.reply(ctx, tx, u, a.tr(lang, "timezone_set", locales.Args{"Zone": loc.String()}), nil)
	})
}

func (a *App) timezoneAnswer(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	loc, ok := parseZone(text)
	if !ok {
		return stepResult{Next: "zone", Reply: a.tr(c.lang, "timezone_unknown", locales.Args{"Zone": tgtext.Echo(text)})}, nil
	}
	return stepResult{
		Reply:   a.tr(c.lang, "timezone_set", locales.Args{"Zone": loc.String()}),
		Effects: func(tx *sql.Tx) error { return store.SetChatTimezone(ctx, tx, u.ChatID, loc.String()) },
	}, nil
}

// parseZone accepts IANA names in any case ("europe/berlin") and UTC.
// "Local" is refused: it would mean the server's zone, not the user's.
func parseZone(s string) (*time.Location, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 || strings.EqualFold(s, "local") || strings.Contains(s, "..") {
		return nil, false
	}
	if loc, err := time.LoadLocation(s); err == nil {
		return loc, true
	}
	// Title-case each path segment: "america/new_york" -> "America/New_York".
	parts := strings.Split(s, "/")
	for i, p := range parts {
		words := strings.Split(strings.ToLower(p), "_")
		for j, w := range words {
			if w != "" {
				words[j] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		parts[i] = strings.Join(words, "_")
	}
	if loc, err := time.LoadLocation(strings.Join(parts, "/")); err == nil {
		return loc, true
	}
	if strings.EqualFold(s, "utc") || strings.EqualFold(s, "gmt") {
		return time.UTC, true
	}
	return nil, false
}
