// Package handlers is what the bot does with each update: one file per
// command or callback family, plus the conversation mechanism they share.
//
// Handlers never call Telegram. They read what they need (reader pool,
// weather lookups) first, then write everything — state, outbox rows for the
// replies, the update's done mark — in one transaction through commit. That
// is why a crash can neither lose a reply nor apply an update twice.
package handlers

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// Deps is what the handlers need from the rest of the program.
type Deps struct {
	DB          *store.DB
	Catalog     *locales.Catalog
	Logger      *slog.Logger
	Now         func() time.Time
	Admins      []int64
	BotUsername string
	// DefaultTZ is the zone of chats that have not chosen one
	// (RSVPBOT_TIMEZONE).
	DefaultTZ *time.Location
	// ChatAdmins lists the user ids of a group's Telegram admins. It is the
	// one Telegram call handlers make, a read made before any transaction
	// (bot.Client.ChatAdmins caches it).
	ChatAdmins func(ctx context.Context, chatID int64) ([]int64, error)
	// Weather answers /weather and fills card forecasts; nil disables both.
	Weather Weather
	// PublicURL is the public base URL of the ops server
	// (RSVPBOT_PUBLIC_URL), under which calendar feeds are served
	// (calendar.go); empty: no feeds.
	PublicURL string
	// ConversationTTL is how long a step-by-step conversation waits for
	// the next answer (default 30 min).
	ConversationTTL time.Duration
	// Series creates the occurrences of recurring series: the one runner
	// the scheduler's "series" job uses too, with its reminder planning
	// (package app builds it). Nil: /series and schedules in /event are
	// refused as unavailable.
	Series *scheduler.Series
}

// App holds the handlers and routes updates to them.
type App struct {
	Deps
	router    *bot.Router
	flows     map[string]*flow
	deepLinks map[string]func(ctx context.Context, u *bot.Update, payload string) error
}

// New builds the handlers and registers them on a router.
func New(d Deps) *App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.DefaultTZ == nil {
		d.DefaultTZ = time.UTC
	}
	if d.ConversationTTL <= 0 {
		d.ConversationTTL = 30 * time.Minute
	}
	a := &App{Deps: d, router: bot.NewRouter(d.BotUsername), flows: map[string]*flow{},
		deepLinks: map[string]func(context.Context, *bot.Update, string) error{}}
	a.registerStart()
	a.registerHelp()
	a.registerCancel()
	a.registerLang()
	a.registerTimezone()
	a.registerMembership()
	a.registerWeather()
	a.registerEvents()
	a.registerCalendar()
	a.router.Text(a.continueConversation)
	a.router.Unknown(a.unknown)
	return a
}

// Handle implements bot.Handler.
func (a *App) Handle(ctx context.Context, u *bot.Update) error {
	return a.router.Route(a.atInstant(ctx), u)
}

// Failed implements bot.Handler: it apologises, in the user's language.
func (a *App) Failed(ctx context.Context, tx *sql.Tx, u *bot.Update, cause error) error {
	lang := a.userLang(ctx, u)
	text := a.Catalog.T(lang, "error_generic")
	if u.CallbackQuery != nil {
		return a.toast(ctx, tx, u, text, true)
	}
	if u.InlineQuery != nil || u.ChosenInlineResult != nil {
		return nil // no chat to apologise in; the user simply sees no results
	}
	if u.ChatID == 0 {
		return nil
	}
	return a.send(ctx, tx, u.ChatID, esc(text), nil)
}

// commit records who and where (user and chat rows, reactivation of a
// private chat the user writes in) and then fn's effects, with the update's
// done mark, in one transaction.
func (a *App) commit(ctx context.Context, u *bot.Update, fn func(tx *sql.Tx) error) error {
	return u.Commit(ctx, func(tx *sql.Tx) error {
		if err := a.touch(ctx, tx, u); err != nil {
			return err
		}
		if fn == nil {
			return nil
		}
		return fn(tx)
	})
}

func (a *App) touch(ctx context.Context, tx *sql.Tx, u *bot.Update) error {
	now := a.now(ctx)
	from := u.From()
	if from != nil && !from.IsBot {
		if err := store.UpsertUser(ctx, tx, store.User{ID: from.ID, Username: from.Username, FirstName: from.FirstName,
			LastName: from.LastName, Language: from.LanguageCode}, now); err != nil {
			return err
		}
	}
	c := u.Chat()
	if c == nil {
		return nil
	}
	if err := store.UpsertChat(ctx, tx, store.Chat{ID: c.ID, Type: string(c.Type), Title: c.Title, Username: c.Username}, now); err != nil {
		return err
	}
	if err := a.noteMembers(ctx, tx, u); err != nil {
		return err
	}
	// A user writing to the bot privately (not the bot being blocked, which
	// arrives as my_chat_member) means the bot may write to them again.
	if c.Type == models.ChatTypePrivate && u.MyChatMember == nil && from != nil {
		if err := store.SetChatActive(ctx, tx, c.ID, true, ""); err != nil {
			return err
		}
		if err := store.SetUserStarted(ctx, tx, from.ID, true); err != nil {
			return err
		}
	}
	return nil
}

// userLang is the language for messages to the user who caused u: their
// /lang choice, else Telegram's language_code, else what was last seen.
func (a *App) userLang(ctx context.Context, u *bot.Update) string {
	var cands []string
	from := u.From()
	if from != nil {
		if su, ok, _ := store.GetUser(ctx, a.DB.R, from.ID); ok {
			cands = append(cands, su.ChosenLang, from.LanguageCode, su.Language)
		} else {
			cands = append(cands, from.LanguageCode)
		}
	}
	return a.Catalog.Resolve(cands...)
}

// chatLang is the language of messages shared by a whole chat (the event
// card, group reminders): the chat's setting, else the language of the
// user who acted, else English.
func (a *App) chatLang(ctx context.Context, u *bot.Update) string {
	if c := u.Chat(); c != nil && c.Type != models.ChatTypePrivate {
		if sc, ok, _ := store.GetChat(ctx, a.DB.R, c.ID); ok && sc.Language != "" {
			return a.Catalog.Resolve(sc.Language)
		}
	}
	return a.userLang(ctx, u)
}

// chatLangOr is the language a message in chatID is shown in: the chat's
// choice if it made one (/lang in a group), else fallback (the language a
// card or poll was posted in, or the person's).
func (a *App) chatLangOr(ctx context.Context, q store.Querier, chatID int64, fallback string) string {
	if sc, ok, _ := store.GetChat(ctx, q, chatID); ok && sc.Language != "" {
		return a.Catalog.Resolve(sc.Language)
	}
	return a.Catalog.Resolve(fallback)
}

// chatTZ is the chat's time zone, or the bot's default.
func (a *App) chatTZ(ctx context.Context, q store.Querier, chatID int64) *time.Location {
	if sc, ok, _ := store.GetChat(ctx, q, chatID); ok {
		return store.ZoneOr(sc.Timezone, a.DefaultTZ)
	}
	return a.DefaultTZ
}

// send enqueues an HTML message. text must already be escaped where it
// holds user input (esc does that).
func (a *App) send(ctx context.Context, tx *sql.Tx, chatID int64, text string, markup *models.InlineKeyboardMarkup) error {
	return a.sendOn(ctx, tx, outbox.Interactive, chatID, text, markup)
}

// sendOn enqueues an HTML message on lane.
func (a *App) sendOn(ctx context.Context, tx *sql.Tx, lane outbox.Lane, chatID int64, text string, markup *models.InlineKeyboardMarkup) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: chatID, Method: "sendMessage", Params: htmlMessage(chatID, text, markup), Lane: lane})
	return err
}

// htmlMessage is a sendMessage as the bot sends every message: HTML
// (text escaped where it holds user input), no link previews.
func htmlMessage(chatID int64, text string, markup *models.InlineKeyboardMarkup) *tg.SendMessageParams {
	p := &tg.SendMessageParams{ChatID: chatID, Text: text, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
	if markup != nil { // a nil *InlineKeyboardMarkup in the interface would encode as null
		p.ReplyMarkup = markup
	}
	return p
}

// reply answers in the chat of u, as a reply to its message in groups so
// the answer is findable in a busy chat.
func (a *App) reply(ctx context.Context, tx *sql.Tx, u *bot.Update, text string, markup *models.InlineKeyboardMarkup) error {
	p := htmlMessage(u.ChatID, text, markup)
	if m := u.Msg(); m != nil && m.Chat.Type != models.ChatTypePrivate {
		p.ReplyParameters = &models.ReplyParameters{MessageID: m.ID, AllowSendingWithoutReply: true}
	}
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.ChatID, Method: "sendMessage", Params: p, Lane: outbox.Interactive})
	return err
}

// toast answers the callback query of u (the small notice over the chat;
// an alert is a dialog the user must dismiss). Text is plain; over
// Telegram's 200 characters the outbox cuts it.
// answerToast answers a button press with only the catalog message id as a
// toast, committing the update: the answer to a stale or refused press.
func (a *App) answerToast(ctx context.Context, u *bot.Update, lang, id string, alert bool) error {
	return a.commit(ctx, u, func(tx *sql.Tx) error { return a.toast(ctx, tx, u, a.Catalog.T(lang, id), alert) })
}

// answerText replies to u with only the catalog message id, committing the
// update.
func (a *App) answerText(ctx context.Context, u *bot.Update, lang, id string) error {
	return a.commit(ctx, u, func(tx *sql.Tx) error { return a.reply(ctx, tx, u, a.tr(lang, id), nil) })
}

func (a *App) toast(ctx context.Context, tx *sql.Tx, u *bot.Update, text string, alert bool) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: u.ChatID, Method: "answerCallbackQuery", Lane: outbox.Interactive,
		Params: &tg.AnswerCallbackQueryParams{CallbackQueryID: u.CallbackQuery.ID, Text: text, ShowAlert: alert}})
	return err
}

// esc escapes user-provided text for HTML parse mode, so no title, name or
// place can break a message's markup.
func esc(s string) string { return tgtext.Escape(s) }
