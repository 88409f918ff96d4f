package handlers

// Visibility: who may see an event. This file is the one place that
// decides it; every command, button and link that names an event asks here.
//
// A user may see an event (its card, place, answers, calendar file,
// reminders, and refer to it by number in /remind, /editevent,
// /cancelevent) when any of these holds:
//
//  1. they act in the event's own chat (Telegram delivers a group's
//     updates only from people in it; a private chat is its user's);
//  2. they organize it, or are a bot admin (RSVPBOT_ADMINS);
//  3. they have answered it (an RSVP of any kind);
//  4. the bot has seen them in the event's chat and not seen them leave
//     (store.chat_members, fed by every update in a group: a command, a
//     button press, a join; with privacy mode on, plain chatter is not
//     seen, so a member who never used the bot there is not known yet);
//  5. they are a Telegram admin of the event's chat (asked of Telegram,
//     cached a few minutes; a lookup that fails counts as "no").
//
// Besides, anyone holding the event's share code may see it and answer:
// links that open an event (t.me/<bot>?start=ev_<code>, evw_, evi_, evm_)
// carry the code, never the id, and the organizer can replace it ("New
// link" in the Manage menu), which kills every link with the old one.
// Copies of the card already posted from an old link keep working, the way
// revoking an invitation link does not remove people who joined by it.
// An old numbered link (ev_<id>) still works for whoever may see the event
// by the rules above, and for nobody else.
//
// Buttons: a card's buttons act only on the event whose card they sit on.
// A card posted inline (inline.go) is known by its inline_message_id
// (store.inline_cards) and checked the same way.
// The message a press comes from must be a recorded copy of that event's
// card (event_cards); a message not recorded (its on-sent record was lost,
// or an old private copy was forgotten) counts only if it carries that very
// button, and either the chat has a copy of the event's card (its message
// id not recorded yet) or the presser may see the event; it is then
// recorded.
//
// Whoever may not see an event gets the same answer as for an event that
// does not exist, so ids cannot be probed.

import (
	"context"
	"strconv"
	"strings"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/store"
)

// maySeeChat applies rules 1, 2 (with creatorID as the organizer), 4 and 5
// to something that belongs to chatID: an event without its answers, or a
// recurring series.
func (a *App) maySeeChat(ctx context.Context, q store.Querier, u *bot.Update, chatID, creatorID int64) (bool, error) {
	if u.ChatID == chatID || u.UserID == chatID || u.UserID == creatorID || a.IsAdmin(u.UserID) {
		return true, nil
	}
	if u.UserID == 0 || chatID > 0 {
		return false, nil // someone else's private chat
	}
	member, err := store.IsChatMember(ctx, q, chatID, u.UserID)
	if err != nil || member {
		return member, err
	}
	admin, err := a.mayAdministerChat(ctx, chatID, u.UserID)
	if err != nil {
		a.Logger.Warn("checking chat admins for visibility", "chat", chatID, "err", err)
		return false, nil // a failed lookup is never a yes
	}
	return admin, nil
}

// maySeeEvent reports whether the user who caused u may see ev.
func (a *App) maySeeEvent(ctx context.Context, q store.Querier, u *bot.Update, ev store.Event) (bool, error) {
	if u.UserID != 0 {
		if _, answered, err := store.GetRSVP(ctx, q, ev.ID, u.UserID); err != nil || answered {
			return answered, err
		}
	}
	return a.maySeeChat(ctx, q, u, ev.ChatID, ev.CreatorID)
}

// visibleEvent reads event id for the user who caused u; ok is false both
// when there is no such event and when they may not see it.
func (a *App) visibleEvent(ctx context.Context, u *bot.Update, id int64) (store.Event, bool, error) {
	ev, ok, err := store.GetEvent(ctx, a.DB.R, id)
	if err != nil || !ok {
		return store.Event{}, false, err
	}
	if ok, err = a.maySeeEvent(ctx, a.DB.R, u, ev); err != nil || !ok {
		return store.Event{}, false, err
	}
	return ev, true, nil
}

// visibleSeries reads series id for the user who caused u; ok is false
// both when there is none and when they may not see its chat's events.
func (a *App) visibleSeries(ctx context.Context, u *bot.Update, id int64) (store.Series, bool, error) {
	x, ok, err := store.GetSeries(ctx, a.DB.R, id)
	if err != nil || !ok {
		return store.Series{}, false, err
	}
	if ok, err = a.maySeeChat(ctx, a.DB.R, u, x.ChatID, x.CreatorID); err != nil || !ok {
		return store.Series{}, false, err
	}
	return x, true, nil
}

// linkedEventFor resolves a deep-link payload to the event it opens: a
// share code opens its event for anyone; an old numbered link only for
// whoever may see the event anyway. ok is false otherwise.
func (a *App) linkedEventFor(ctx context.Context, u *bot.Update, payload string) (store.Event, bool, error) {
	id, code := parseLinkPayload(payload)
	switch {
	case id > 0:
		return a.visibleEvent(ctx, u, id)
	case code != "":
		return store.GetEventByShareCode(ctx, a.DB.R, code)
	}
	return store.Event{}, false, nil
}

// parseLinkPayload reads what follows "ev_" (or evw_, evi_, evm_) in a
// deep link: a share code, or the event number of a link made before share
// codes. At most one of id and code is set; neither for anything else.
func parseLinkPayload(s string) (id int64, code string) {
	s = strings.TrimSpace(s)
	if store.ValidShareCode(s) {
		return 0, s
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && len(s) < store.ShareCodeLen {
		return n, ""
	}
	return 0, ""
}

// cardPress checks that a button press on a card (rsvp:<id>:…, ev:<id>:…,
// evm:<id>) comes from a copy of event id's card. adopt is true when the
// message is that card but not recorded: the caller records it with
// adoptCard in its transaction.
func (a *App) cardPress(ctx context.Context, u *bot.Update, ev store.Event) (ok, adopt bool, err error) {
	cq := u.CallbackQuery
	if cq.InlineMessageID != "" {
		// A card posted inline (inline.go): a recorded copy counts for its
		// own event; one not recorded (inline feedback off) for whoever
		// may see the event, and is then recorded.
		c, found, err := store.FindInlineCard(ctx, a.DB.R, cq.InlineMessageID)
		if err != nil || found {
			return found && c.EventID == ev.ID, false, err
		}
		see, err := a.maySeeEvent(ctx, a.DB.R, u, ev)
		return see, see, err
	}
	chatID, msgID := u.ChatID, 0
	if m := cq.Message.Message; m != nil {
		chatID, msgID = m.Chat.ID, m.ID
	} else if im := cq.Message.InaccessibleMessage; im != nil {
		chatID, msgID = im.Chat.ID, im.MessageID
	}
	if msgID == 0 {
		return false, false, nil
	}
	c, found, err := store.FindEventCard(ctx, a.DB.R, chatID, msgID)
	if err != nil {
		return false, false, err
	}
	if found {
		return c.EventID == ev.ID, false, nil
	}
	m := cq.Message.Message
	if m == nil || m.ReplyMarkup == nil || !hasButton(m.ReplyMarkup, cq.Data) {
		return false, false, nil
	}
	// The bot's own card of this event, not recorded: one whose message id
	// is still on its way (the chat has a copy of the event), or an older
	// copy, which counts for someone who may see the event.
	posted, err := store.HasEventCardInChat(ctx, a.DB.R, ev.ID, chatID)
	if err != nil || posted {
		return posted, posted, err
	}
	see, err := a.maySeeEvent(ctx, a.DB.R, u, ev)
	return see, see, err
}

// noteMembers keeps store.chat_members current from an update in a group:
// its sender, people who joined, and someone who left.
func (a *App) noteMembers(ctx context.Context, q store.Querier, u *bot.Update) error {
	c := u.Chat()
	if c == nil || (c.Type != "group" && c.Type != "supergroup") {
		return nil
	}
	now := a.now(ctx)
	if from := u.From(); from != nil && !from.IsBot && u.MyChatMember == nil {
		if err := store.NoteChatMember(ctx, q, c.ID, from.ID, now); err != nil {
			return err
		}
	}
	m := u.Msg()
	if m == nil {
		return nil
	}
	for _, nm := range m.NewChatMembers {
		if !nm.IsBot {
			if err := store.NoteChatMember(ctx, q, c.ID, nm.ID, now); err != nil {
				return err
			}
		}
	}
	if lm := m.LeftChatMember; lm != nil {
		return store.ForgetChatMember(ctx, q, c.ID, lm.ID)
	}
	return nil
}
