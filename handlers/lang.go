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
}

// lang shows or sets a language. In a private chat it is the user's; in a
// group it is the language of the chat's shared messages (event cards,
// group reminders), which only the chat's admins may change.
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
		return a.commit(ctx, u, func(tx *sql.Tx) error { return a.reply(ctx, tx, u, text, a.langKeyboard()) })
	}
	if !a.Catalog.Supported(arg) {
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			return a.reply(ctx, tx, u, a.tr(lang, "lang_unknown", locales.Args{"Lang": tgtext.Echo(arg)}), a.langKeyboard())
		})
	}
	if group {
		ok, err := a.canAdministerChat(ctx, u.ChatID, u.UserID)
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
		ok, err := a.canAdministerChat(ctx, u.ChatID, u.UserID)
		if err != nil {
			return err
		}
		if !ok {
			return a.answerToast(ctx, u, lang, "chat_admins_only", false)
		}
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if err := a.toast(ctx, tx, u, a.Catalog.LanguageName(l), false); err != nil {
			return err
		}
		return a.setLang(ctx, tx, u, group, l)
	})
}
