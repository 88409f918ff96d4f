package handlers

// Permissions: who may change what. This file is the one place that
// decides it (who may see an event is visibility.go's).
//
//   - A group's settings (/lang, /timezone, their conversations and
//     buttons): the chat's Telegram admins and the bot admins
//     (RSVPBOT_ADMINS). In a private chat the user is its only member,
//     hence its admin. See mayAdministerChat.
//   - An event, its reminders, a series: its organizer, the bot admins and
//     the Telegram admins of the chat it belongs to. See mayOrganize.
//
// Telegram's admins are asked (bot.Client.ChatAdmins caches the answer a
// few minutes) before any transaction, and only when the cheaper rules did
// not already decide. A lookup that fails is never a yes, and never a
// "no" either: it is an error, which the handler returns, so the user gets
// the one apology the dispatcher sends for every failed update (App.Failed)
// and nothing changes. The exception is visibility (visibility.go), where
// a failed lookup reads as "no" because a refusal there must look like an
// event that does not exist.

import (
	"context"
	"fmt"
	"slices"
)

// mayAdministerChat reports whether user may change chatID's settings
// and manage anyone's events there: the chat's Telegram admins and bot
// admins; in a private chat, its user. A failed admin lookup is an error.
func (a *App) mayAdministerChat(ctx context.Context, chatID, userID int64) (bool, error) {
	if a.IsAdmin(userID) || chatID == userID {
		return true, nil
	}
	if a.ChatAdmins == nil {
		return false, nil
	}
	ids, err := a.ChatAdmins(ctx, chatID)
	if err != nil {
		return false, fmt.Errorf("listing admins of chat %d: %w", chatID, err)
	}
	return slices.Contains(ids, userID), nil
}

// mayOrganize reports whether user may manage what creatorID organized in
// chatID (an event, its reminders, a series): the organizer, bot admins,
// and whoever may administer the chat. The organizer and bot admins never
// wait on Telegram; for anyone else a failed admin lookup is an error.
func (a *App) mayOrganize(ctx context.Context, chatID, creatorID, userID int64) (bool, error) {
	if creatorID == userID {
		return true, nil
	}
	return a.mayAdministerChat(ctx, chatID, userID)
}

// IsAdmin reports whether user is a bot admin (RSVPBOT_ADMINS).
func (a *App) IsAdmin(userID int64) bool { return slices.Contains(a.Admins, userID) }
