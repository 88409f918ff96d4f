package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// A flow is a step-by-step conversation: a named set of steps, each of
// which validates one answer and says which step comes next. Its whole
// state (flow, step, collected data) is one row, written in the same
// transaction as the reply that asks the next question, so a restart
// resumes exactly where the user was.
//
// A conversation answers to the permission of the command that started
// it: guard, if set, is asked again before every step (a conversation can
// be started by someone the command would have refused, or outlive their
// rights), and a refusal ends the conversation. Steps never check rights
// themselves.
type flow struct {
	name  string
	steps map[string]stepFunc
	guard guardFunc
}

// guardFunc re-checks a flow's permission for the user who caused u. It
// returns the catalog id of the refusal to send, or "" to go on. A failed
// lookup is an error, never a yes: the step does not run and the
// conversation stays for the next try.
type guardFunc func(ctx context.Context, u *bot.Update, c *convo) (refusal string, err error)

// chatAdminsInGroups is the guard of a group's settings (/timezone,
// /lang): in a group only its Telegram admins and bot admins may; in a
// private chat the user is its own admin.
func (a *App) chatAdminsInGroups(ctx context.Context, u *bot.Update, _ *convo) (string, error) {
	if isPrivate(u) {
		return "", nil
	}
	ok, err := a.mayAdministerChat(ctx, u.ChatID, u.UserID)
	if err != nil || ok {
		return "", err
	}
	return "chat_admins_only", nil
}

// convo is a conversation in progress as a step sees it.
type convo struct {
	Step string
	Data map[string]string
	lang string
}

// stepResult tells the mechanism what a step decided.
type stepResult struct {
	// Next is the step to go to; "" ends the conversation.
	Next string
	// Reply is the HTML message to send (already escaped).
	Reply string
	// Effects run in the same transaction (e.g. create the event).
	Effects func(tx *sql.Tx) error
}

// stepFunc handles the user's answer to step c.Step. Invalid input is not
// an error: return the same step with a hint as Reply.
type stepFunc func(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error)

func (a *App) registerFlow(f *flow) { a.flows[f.name] = f }

// startConversation begins flow f at step with data, sending ask (with
// markup, if not nil).
func (a *App) startConversation(ctx context.Context, u *bot.Update, f, step string, data map[string]string, ask string,
	markup *models.InlineKeyboardMarkup) error {
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if err := a.saveConvo(ctx, tx, u, f, step, data); err != nil {
			return err
		}
		return a.reply(ctx, tx, u, ask, markup)
	})
}

func (a *App) saveConvo(ctx context.Context, tx *sql.Tx, u *bot.Update, f, step string, data map[string]string) error {
	return a.saveConvoIn(ctx, tx, u.ChatID, u.UserID, f, step, data)
}

// saveConvoIn is saveConvo for a conversation the bot opens itself, in a
// chat other than the update's (a question asked privately).
func (a *App) saveConvoIn(ctx context.Context, tx *sql.Tx, chatID, userID int64, f, step string, data map[string]string) error {
	if data == nil {
		// A nil map marshals to "null", which a later step would read back
		// as a nil map and panic writing into: store an empty object.
		data = map[string]string{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := a.now(ctx)
	return store.SaveConversation(ctx, tx, store.Conversation{ChatID: chatID, UserID: userID, Flow: f, Step: step,
		Data: string(raw), UpdatedAt: now, ExpiresAt: now.Add(a.ConversationTTL)})
}

// continueConversation receives every message that is not a command: if
// the user is in a conversation in this chat, the answer goes to its step.
func (a *App) continueConversation(ctx context.Context, u *bot.Update) error {
	m := u.Msg()
	if m == nil || m.From == nil {
		return nil
	}
	c, ok, err := store.GetConversation(ctx, a.DB.R, u.ChatID, u.UserID)
	if err != nil {
		return err
	}
	lang := a.userLang(ctx, u)
	if !ok {
		if m.Chat.Type == "private" && m.Text != "" {
			// In a private chat every message is for the bot: say how to
			// start rather than stay silent.
			return a.commit(ctx, u, func(tx *sql.Tx) error {
				return a.reply(ctx, tx, u, esc(a.Catalog.T(lang, "not_understood")), nil)
			})
		}
		return a.commit(ctx, u, nil) // group chatter not meant for the bot
	}
	if a.now(ctx).After(c.ExpiresAt) {
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
				return err
			}
			return a.reply(ctx, tx, u, esc(a.Catalog.T(lang, "conversation_expired")), nil)
		})
	}
	f, known := a.flows[c.Flow]
	step, stepKnown := f.steps[c.Step]
	if !known || !stepKnown {
		// A conversation from an older version whose step no longer exists.
		return a.commit(ctx, u, func(tx *sql.Tx) error {
			if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
				return err
			}
			return a.reply(ctx, tx, u, esc(a.Catalog.T(lang, "conversation_expired")), nil)
		})
	}
	cv := &convo{Step: c.Step, Data: map[string]string{}, lang: lang}
	if err := json.Unmarshal([]byte(c.Data), &cv.Data); err != nil {
		return fmt.Errorf("conversation %s/%s data: %w", c.Flow, c.Step, err)
	}
	if f.guard != nil {
		refusal, err := f.guard(ctx, u, cv)
		if err != nil {
			return fmt.Errorf("conversation %s: checking permission: %w", c.Flow, err)
		}
		if refusal != "" {
			return a.commit(ctx, u, func(tx *sql.Tx) error {
				if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
					return err
				}
				return a.reply(ctx, tx, u, a.tr(lang, refusal), nil)
			})
		}
	}
	text := m.Text
	res, err := step(ctx, u, cv, text)
	if err != nil {
		return err
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if res.Effects != nil {
			if err := res.Effects(tx); err != nil {
				return err
			}
		}
		if res.Next == "" {
			if _, err := store.DeleteConversation(ctx, tx, u.ChatID, u.UserID); err != nil {
				return err
			}
		} else if err := a.saveConvo(ctx, tx, u, c.Flow, res.Next, cv.Data); err != nil {
			return err
		}
		if res.Reply == "" {
			return nil
		}
		return a.reply(ctx, tx, u, res.Reply, nil)
	})
}

// ExpireConversations tells users whose conversation timed out and deletes
// it; the scheduler's housekeeping calls it.
func (a *App) ExpireConversations(ctx context.Context) (int, error) {
	ctx = a.atInstant(ctx) // what expired is decided at one instant
	expired, err := store.ExpiredConversations(ctx, a.DB.R, a.now(ctx), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range expired {
		err := a.DB.Tx(ctx, func(tx *sql.Tx) error {
			// Re-check inside the transaction: the user may have answered.
			cur, ok, err := store.GetConversation(ctx, tx, c.ChatID, c.UserID)
			if err != nil || !ok || !cur.ExpiresAt.Equal(c.ExpiresAt) {
				return err
			}
			if _, err := store.DeleteConversation(ctx, tx, c.ChatID, c.UserID); err != nil {
				return err
			}
			lang := "en"
			if su, ok, _ := store.GetUser(ctx, tx, c.UserID); ok {
				lang = a.Catalog.Resolve(su.ChosenLang, su.Language)
			}
			n++
			return a.send(ctx, tx, c.ChatID, esc(a.Catalog.T(lang, "conversation_expired")), nil)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// tr is a shorthand for a localized, HTML-escaped catalog string.
func (a *App) tr(lang, id string, args ...locales.Args) string {
	return esc(a.Catalog.T(lang, id, args...))
}
