package bot

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/store"
)

// Update is one inbox update on its way through a handler. It carries the
// parsed Telegram update, the routing facts derived from it, and Commit,
// the only way a handler writes: its effects and the marking of the update
// as done share one transaction.
type Update struct {
	*models.Update

	ID     int64
	ChatID int64
	UserID int64
	Kind   string

	// Command is the lower-cased command without slash or @botname
	// ("event" for "/Event@RsvpBot x"); empty if the message is no command.
	Command string
	// Args is the text after the command, trimmed.
	Args string

	db        *store.DB
	now       func() time.Time
	committed bool
	// fence, if set, runs first in every transaction that marks the
	// update done: with several replicas it checks (and extends) this
	// replica's claim on the chat (store.FenceChat).
	fence func(ctx context.Context, tx *sql.Tx) error
}

// ErrAlreadyCommitted is returned by a second Commit for the same update:
// a handler's effects must commit together with the update's done mark.
var ErrAlreadyCommitted = errors.New("update already committed")

// errAlreadyDone aborts a transaction whose update another worker (or an
// earlier run) already marked done, so its effects are not applied twice.
var errAlreadyDone = errors.New("update already handled")

// Commit runs fn and marks the update done in one write transaction. Do the
// network I/O (weather, etc.) before calling Commit, never inside fn.
func (u *Update) Commit(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if u.committed {
		return ErrAlreadyCommitted
	}
	err := u.db.Tx(ctx, func(tx *sql.Tx) error {
		if u.fence != nil {
			if err := u.fence(ctx, tx); err != nil {
				return err
			}
		}
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		ok, err := store.MarkUpdateDone(ctx, tx, u.ID, "", u.now())
		if err != nil {
			return err
		}
		if !ok {
			return errAlreadyDone
		}
		return nil
	})
	if err == nil || errors.Is(err, errAlreadyDone) {
		u.committed = true
		return nil
	}
	return err
}

// Msg returns the message of the update (new or edited), or nil.
func (u *Update) Msg() *models.Message {
	switch {
	case u.Update.Message != nil:
		return u.Update.Message
	case u.Update.EditedMessage != nil:
		return u.Update.EditedMessage
	}
	return nil
}

// From is the user who caused the update, or nil.
func (u *Update) From() *models.User {
	if m := u.Msg(); m != nil {
		return m.From
	}
	up := u.Update
	switch {
	case up.CallbackQuery != nil:
		return &up.CallbackQuery.From
	case up.MyChatMember != nil:
		return &up.MyChatMember.From
	case up.ChatMember != nil:
		return &up.ChatMember.From
	case up.InlineQuery != nil:
		return up.InlineQuery.From
	case up.ChosenInlineResult != nil:
		return &up.ChosenInlineResult.From
	}
	return nil
}

// Chat is the chat the update happened in, or nil.
func (u *Update) Chat() *models.Chat {
	if m := u.Msg(); m != nil {
		return &m.Chat
	}
	up := u.Update
	switch {
	case up.CallbackQuery != nil && up.CallbackQuery.Message.Message != nil:
		return &up.CallbackQuery.Message.Message.Chat
	case up.CallbackQuery != nil && up.CallbackQuery.Message.InaccessibleMessage != nil:
		return &up.CallbackQuery.Message.InaccessibleMessage.Chat
	case up.MyChatMember != nil:
		return &up.MyChatMember.Chat
	case up.ChatMember != nil:
		return &up.ChatMember.Chat
	}
	return nil
}

// describe fills the routing facts of an inbox row from a parsed update.
func describe(up *models.Update) (kind string, chatID, userID int64) {
	u := &Update{Update: up}
	switch {
	case up.Message != nil:
		kind = "message"
	case up.EditedMessage != nil:
		kind = "edited_message"
	case up.CallbackQuery != nil:
		kind = "callback_query"
	case up.MyChatMember != nil:
		kind = "my_chat_member"
	case up.ChatMember != nil:
		kind = "chat_member"
	case up.InlineQuery != nil:
		kind = "inline_query"
	case up.ChosenInlineResult != nil:
		kind = "chosen_inline_result"
	default:
		kind = "other"
	}
	if c := u.Chat(); c != nil {
		chatID = c.ID
	}
	if f := u.From(); f != nil {
		userID = f.ID
	}
	// Updates without a chat (inline queries, chosen inline results,
	// presses on buttons of inline messages) are ordered per user instead:
	// a user's inline queries must not race each other either. Negative user ids do not
	// exist, and chat ids of users equal their user ids, so this cannot
	// collide with a group.
	if chatID == 0 {
		chatID = userID
	}
	return kind, chatID, userID
}

// parseCommand splits "/Cmd@Bot args" into ("cmd", "args", addressee).
// Telegram marks commands with a bot_command entity at offset 0; a message
// that merely starts with "/" without one (e.g. a path) is still treated as
// a command, which is what users expect from typing it.
func parseCommand(text string) (cmd, args, addressee string) {
	if !strings.HasPrefix(text, "/") {
		return "", "", ""
	}
	head, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		rest = head[i+1:] + " " + rest
		head = head[:i]
	}
	head = head[1:]
	head, addressee, _ = strings.Cut(head, "@")
	if head == "" || len(head) > 32 || !utf8.ValidString(head) {
		return "", "", ""
	}
	for _, r := range head {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", ""
		}
	}
	return strings.ToLower(head), strings.TrimSpace(rest), addressee
}
