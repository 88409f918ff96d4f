package handlers

import (
	"context"
	"database/sql"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

func (a *App) registerLang() {
	a.router.Command("lang", a.lang)
	a.router.Callback("lang", a.langButton)
	a.registerFlow(&flow{name: "lang", steps: map[string]stepFunc{"code": a.langAnswer}, guard: a.chatAdminsInGroups})
}

// lang shows or sets a language. In a private chat it is the user's; in a
// group it is the language of the chat's shared messages (event cards,
// group reminders), which only the chat's admins may change. Without an
// argument it offers the languages as buttons and, like /timezone, takes a
// typed answer too (the "lang" conversation, whose guard re-checks the
// admin rule).
func (a *App) lang(ctx context.Context, u *bot.Update) error {
	lang := a.userLang(ctx, u)
	arg := strings.ToLower(strings.TrimSpace(u.Args))
	group := u.Msg() != nil && u.Msg().Chat.Type != models.ChatTypePrivate
	if arg == "" {
		cur := lang
		if group {
			cur = a.chatLang(ctx, u)
		}
		text := a.tr(lang, "lang_current", locales.Args{"Lang": a.Catalog.LanguageName(cur)}) + "\n" + a.tr(lang, "lang_choose")
		return a.startConversation(ctx, u, "lang", "code", nil, text, a.langKeyboard())
	}
	if !a.Catalog.Supported(arg) {
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			return a.reply(ctx, tx, u, a.tr(lang, "lang_unknown", locales.Args{"Lang": tgtext.Echo(arg)}), a.langKeyboard())
		})
	}
	if group {
		ok, err := a.mayAdministerChat(ctx, u.ChatID, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return a.answerText(ctx, u, lang, "chat_admins_only")
		}
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error { return a.setLang(ctx, tx, u, group, arg) })
}

func (a *App) setLang(ctx context.Context, tx *sql.Tx, u *bot.Update, group bool, lang string) error {
	var err error
	if group {
		err = store.SetChatLanguage(ctx, tx, u.ChatID, lang)
	} else {
		err = store.SetUserChosenLang(ctx, tx, u.UserID, lang)
	}
	if err != nil {
		return err
	}
	// Confirm in the new language: it shows the choice took.
	return a.send(ctx, tx, u.ChatID, a.tr(lang, "lang_set"), nil)
}

func (a *App) langKeyboard() *models.InlineKeyboardMarkup {
	var row []models.InlineKeyboardButton
	for _, l := range a.Catalog.Languages() {
		row = append(row, models.InlineKeyboardButton{Text: a.Catalog.LanguageName(l), CallbackData: "lang:" + l})
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{row}}
}

// langButton applies a language picked from the keyboard.
func (a *App) langButton(ctx context.Context, u *bot.Update) error {
	cq := u.CallbackQuery
	_, l, _ := strings.Cut(cq.Data, ":")
	lang := a.userLang(ctx, u)
	if !a.Catalog.Supported(l) {
		return a.answerToast(ctx, u, lang, "button_stale", false)
	}
	group := u.Chat() != nil && u.Chat().Type != models.ChatTypePrivate
	if group {
		ok, err := a.mayAdministerChat(ctx, u.ChatID, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return a.answerToast(ctx, u, lang, "chat_admins_only", false)
		}
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		// A press answers /lang: its conversation, if any, is over.
		if c, ok, err := store.GetConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
			return err
		} else if ok && c.Flow == "lang" {
			if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
				return err
			}
		}
		if err := a.toast(ctx, tx, u, a.Catalog.LanguageName(l), false); err != nil {
			return err
		}
		return a.setLang(ctx, tx, u, group, l)
	})
}

// langAnswer is the typed answer to /lang: a language code or name.
func (a *App) langAnswer(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	text = strings.TrimSpace(text)
	for _, l := range a.Catalog.Languages() {
		if strings.EqualFold(text, l) || strings.EqualFold(text, a.Catalog.LanguageName(l)) {
			return stepResult{Effects: func(tx *sql.Tx) error { return a.setLang(ctx, tx, u, !isPrivate(u), l) }}, nil
		}
	}
	return stepResult{Next: "code", Reply: a.tr(c.lang, "lang_unknown", locales.Args{"Lang": tgtext.Echo(text)})}, nil
}
