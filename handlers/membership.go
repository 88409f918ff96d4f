package handlers

import (
	"context"
	"database/sql"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

func (a *App) registerMembership() { a.router.MyChatMember(a.membership) }

// membership follows the bot's own membership: added to a group records the
// chat (active); removed, kicked or blocked marks it inactive so nothing more
// is sent there until it comes back.
func (a *App) membership(ctx context.Context, u *bot.Update) error {
	m := u.MyChatMember
	status := m.NewChatMember.Type
	active := status == models.ChatMemberTypeMember || status == models.ChatMemberTypeAdministrator ||
		status == models.ChatMemberTypeOwner || (status == models.ChatMemberTypeRestricted && m.NewChatMember.Restricted != nil && m.NewChatMember.Restricted.IsMember)
	reason := ""
	if !active {
		reason = "bot was removed from the chat"
		if m.Chat.Type == models.ChatTypePrivate {
			reason = "bot was blocked by the user"
		}
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if err := store.SetChatActive(ctx, tx, m.Chat.ID, active, reason); err != nil {
			return err
		}
		if m.Chat.Type == models.ChatTypePrivate {
			if err := store.SetUserBlocked(ctx, tx, m.From.ID, !active); err != nil {
				return err
			}
			return store.SetUserStarted(ctx, tx, m.From.ID, active)
		}
		if active && (m.OldChatMember.Type == models.ChatMemberTypeLeft || m.OldChatMember.Type == models.ChatMemberTypeBanned) {
			lang := a.chatLang(ctx, u)
			return a.send(ctx, tx, m.Chat.ID, a.tr(lang, "group_welcome"), nil)
		}
		return nil
	})
}
