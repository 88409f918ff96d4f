package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

// queuedUpdate is an update waiting for getUpdates or the webhook. It is
// encoded once when pushed, because models' MarshalJSON methods need
// pointers and some mutate what they encode.
type queuedUpdate struct {
	id   int64
	kind string // "message", "callback_query", ...: the allowed_updates name
	raw  json.RawMessage
	// chat orders webhook deliveries: one update of a chat (of a user,
	// for updates without a chat) at a time, as Telegram delivers them.
	chat int64
}

type webhookState struct {
	url, secret      string
	maxConnections   int
	lastErrorDate    int
	lastErrorMessage string
}

// defaultExcluded reports the update kinds Telegram withholds unless
// allowed_updates names them.
func defaultExcluded(kind string) bool {
	return kind == "chat_member" || kind == "message_reaction" || kind == "message_reaction_count"
}

// PrivateChat is the private chat between the bot and u.
func PrivateChat(u models.User) models.Chat {
	return models.Chat{ID: u.ID, Type: models.ChatTypePrivate, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

// Group is a group chat; ids at or below -1e12 make a supergroup, as
// Telegram's -100… ids do. id must be negative.
func Group(id int64, title string) models.Chat {
	return models.Chat{ID: id, Type: inferType(id), Title: title}
}

// PushUpdate queues a raw update and returns it as the bot will receive it,
// with update_id assigned (ids increase from 1). Updates of a kind excluded
// by the bot's allowed_updates are dropped, as Telegram does; Summary counts
// them. It panics if u cannot be encoded (e.g. a ChatMember whose variant is
// nil): that is a bug in the test.
func (s *Server) PushUpdate(u models.Update) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueue(u)
}

func (s *Server) enqueue(u models.Update) models.Update {
	s.nextUpdateID++
	u.ID = s.nextUpdateID
	raw, err := json.Marshal(&u)
	if err != nil {
		panic(fmt.Sprintf("bottest: cannot encode update: %v", err))
	}
	return s.enqueueRaw(raw)
}

// enqueueField queues an update whose one field is built as wire JSON by
// the caller (where models' encoding would add what Telegram leaves out).
func (s *Server) enqueueField(kind string, v any) models.Update {
	s.nextUpdateID++
	raw, err := json.Marshal(map[string]any{"update_id": s.nextUpdateID, kind: v})
	if err != nil {
		panic(fmt.Sprintf("bottest: cannot encode update: %v", err))
	}
	return s.enqueueRaw(raw)
}

// enqueueRaw queues an encoded update whose update_id is s.nextUpdateID.
func (s *Server) enqueueRaw(raw json.RawMessage) models.Update {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	kind := ""
	for k := range fields {
		if k != "update_id" {
			kind = k
		}
	}
	// The copy handed back is decoded from the wire form: it is exactly
	// what the bot sees and shares nothing with the server's state.
	var out models.Update
	_ = json.Unmarshal(raw, &out)
	s.counts.pushed++
	if s.excluded(kind) {
		s.counts.filtered++
		return out
	}
	s.queue = append(s.queue, queuedUpdate{id: s.nextUpdateID, kind: kind, raw: raw, chat: orderKey(&out)})
	s.wakeUpdates()
	return out
}

// orderKey is the chat whose updates a webhook receives one at a time
// (the user's id for updates without a chat).
func orderKey(u *models.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.CallbackQuery != nil:
		if m := u.CallbackQuery.Message.Message; m != nil {
			return m.Chat.ID
		}
		return u.CallbackQuery.From.ID
	case u.MyChatMember != nil:
		return u.MyChatMember.Chat.ID
	case u.ChatMember != nil:
		return u.ChatMember.Chat.ID
	case u.InlineQuery != nil:
		return u.InlineQuery.From.ID
	case u.ChosenInlineResult != nil:
		return u.ChosenInlineResult.From.ID
	}
	return 0
}

func (s *Server) excluded(kind string) bool {
	if s.allowed == nil {
		return defaultExcluded(kind)
	}
	return !s.allowed[kind]
}

// wakeUpdates wakes long polls and the webhook deliverer.
func (s *Server) wakeUpdates() {
	close(s.updatesCh)
	s.updatesCh = make(chan struct{})
	s.notifyChanged()
}

// commandEntity marks a leading /command like Telegram clients do.
func commandEntity(text string) []models.MessageEntity {
	if !strings.HasPrefix(text, "/") {
		return nil
	}
	cmd, _, _ := strings.Cut(text, " ")
	cmd, _, _ = strings.Cut(cmd, "\n")
	return []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: 0, Length: len(utf16.Encode([]rune(cmd)))}}
}

// noteUser remembers a user who appeared in a chat: groups gain a member,
// and a private message means the user (re)started the bot.
func (s *Server) noteUser(cs *chatState, from models.User) {
	s.users[from.ID] = from
	if cs.chat.Type == models.ChatTypePrivate {
		delete(s.blocked, from.ID)
		delete(s.notStarted, from.ID)
		return
	}
	if _, known := cs.members[from.ID]; !known {
		cs.members[from.ID] = models.ChatMemberTypeMember
	}
}

// PushMessage queues a text message from a user in a chat. The message
// takes the chat's next message id and stays visible in Messages. A text
// starting with "/" gets a bot_command entity. A private message clears
// BlockUser and SetNotStarted for its sender, as writing to a bot does.
func (s *Server) PushMessage(chat models.Chat, from models.User, text string) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	s.noteUser(cs, from)
	m := s.newMessage(cs, from)
	m.Text, m.Entities = text, commandEntity(text)
	return s.enqueue(models.Update{Message: m})
}

// PushLocation queues a location message (the paperclip's "Location"),
// shaped as Telegram sends it: Message.location {latitude, longitude}, no
// text.
func (s *Server) PushLocation(chat models.Chat, from models.User, lat, lon float64) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	s.noteUser(cs, from)
	m := s.newMessage(cs, from)
	m.Location = &models.Location{Latitude: lat, Longitude: lon}
	return s.enqueue(models.Update{Message: m})
}

// PushVenue queues a venue message (a place picked from the map's list),
// shaped as Telegram sends it: Message.venue {location, title, address,
// ...} and, for backward compatibility, Message.location with the same
// point; no text.
func (s *Server) PushVenue(chat models.Chat, from models.User, v models.Venue) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	s.noteUser(cs, from)
	m := s.newMessage(cs, from)
	loc := v.Location
	m.Venue, m.Location = &v, &loc
	return s.enqueue(models.Update{Message: m})
}

// PushCommand is PushMessage for a command; a missing leading "/" is added.
func (s *Server) PushCommand(chat models.Chat, from models.User, command string) models.Update {
	if !strings.HasPrefix(command, "/") {
		command = "/" + command
	}
	return s.PushMessage(chat, from, command)
}

// PushCallback queues a callback_query as if from pressed a button carrying
// data under message messageID. The query carries the message as the chat
// currently shows it (an inaccessible message if it does not exist) and can
// be answered once with answerCallbackQuery. A message posted in inline
// mode is pressed as Telegram does it: inline_message_id, no message.
func (s *Server) PushCallback(chat models.Chat, from models.User, messageID int, data string) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	s.noteUser(cs, from)
	if id := s.inlineIDOf(cs.chat.ID, messageID); id != "" {
		return s.pushInlineCallback(from, id, data) // inline.go: no message, its inline_message_id
	}
	var mim models.MaybeInaccessibleMessage
	if m := cs.find(messageID); m != nil {
		mim = models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: m}
	} else {
		mim = models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeInaccessibleMessage,
			InaccessibleMessage: &models.InaccessibleMessage{Chat: cs.chat, MessageID: messageID}}
	}
	s.callbackSeq++
	id := strconv.FormatInt(s.botUser.ID, 10) + strconv.Itoa(1_000_000+s.callbackSeq)
	s.callbacks[id] = false
	return s.enqueue(models.Update{CallbackQuery: &models.CallbackQuery{ID: id, From: from, Message: mim,
		ChatInstance: strconv.FormatInt(cs.chat.ID*31+7, 10), Data: data}})
}

// PushMyChatMember queues a my_chat_member update: from changed the bot's
// status in chat from oldStatus to newStatus (e.g. "member" → "kicked" when
// a user blocks the bot). The bot's status is remembered: in a private chat
// "kicked" blocks and "member" unblocks the user; in a group "kicked" or
// "left" makes sending calls answer 403.
func (s *Server) PushMyChatMember(chat models.Chat, from models.User, oldStatus, newStatus models.ChatMemberType) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	s.users[from.ID] = from
	upd := models.Update{MyChatMember: &models.ChatMemberUpdated{Chat: cs.chat, From: from, Date: s.unixNow(),
		OldChatMember: member(s.botUser, oldStatus), NewChatMember: member(s.botUser, newStatus)}}
	cs.members[s.botUser.ID] = newStatus
	if cs.chat.Type == models.ChatTypePrivate {
		switch newStatus {
		case models.ChatMemberTypeBanned:
			s.blocked[from.ID] = true
		case models.ChatMemberTypeMember:
			delete(s.blocked, from.ID)
			delete(s.notStarted, from.ID)
		}
	}
	return s.enqueue(upd)
}

// AddChat declares a chat's type and title (or a private chat's names)
// without any update, for chats the bot only writes to.
func (s *Server) AddChat(chat models.Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatWith(chat)
}

// SetChatMember sets a user's status in a chat without an update, e.g. to
// make someone an administrator for getChatAdministrators, or the bot's own
// status (use Bot()).
func (s *Server) SetChatMember(chat models.Chat, user models.User, status models.ChatMemberType) {
	member(user, status) // panics early on an unknown status
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.chatWith(chat)
	if user.ID != s.botUser.ID {
		s.users[user.ID] = user
	}
	cs.members[user.ID] = status
}

// PendingUpdates is the number of updates not yet confirmed by the bot.
func (s *Server) PendingUpdates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// setAllowed applies an allowed_updates parameter; like Telegram, an empty
// list restores the default and an absent one keeps the last setting.
func (s *Server) setAllowed(raw string) error {
	if raw == "" {
		return nil
	}
	var kinds []string
	if err := json.Unmarshal([]byte(raw), &kinds); err != nil {
		return fmt.Errorf("can't parse allowed updates list")
	}
	if len(kinds) == 0 {
		s.allowed = nil
		return nil
	}
	s.allowed = map[string]bool{}
	for _, k := range kinds {
		s.allowed[k] = true
	}
	return nil
}

// confirm forgets updates the bot acknowledged with offset: a positive
// offset confirms every update below it, a negative one keeps only the last
// -offset updates.
func (s *Server) confirm(offset int64) {
	before := len(s.queue)
	defer func() {
		if len(s.queue) != before {
			s.notifyChanged() // a waiting long poll records nothing yet; Wait must still see this
		}
	}()
	switch {
	case offset > 0:
		i := 0
		for i < len(s.queue) && s.queue[i].id < offset {
			i++
		}
		s.queue = slices.Clone(s.queue[i:])
	case offset < 0:
		if keep := int(-offset); len(s.queue) > keep {
			s.queue = slices.Clone(s.queue[len(s.queue)-keep:])
		}
	}
}

const (
	conflictWebhook = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	conflictPoll    = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)

// getUpdates implements long polling. It confirms updates below offset,
// then answers at once if updates are pending or timeout is 0, else waits up
// to timeout seconds for one. A newer getUpdates terminates a waiting one
// with 409, as Telegram does when two bot instances poll.
func (s *Server) getUpdates(ctx context.Context, c *Call) reply {
	offset, _ := strconv.ParseInt(c.Params["offset"], 10, 64)
	limit, _ := strconv.Atoi(c.Params["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(c.Params["timeout"])

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook.url != "" {
		return fail(http.StatusConflict, conflictWebhook)
	}
	if err := s.setAllowed(c.Params["allowed_updates"]); err != nil {
		return badRequest(err.Error())
	}
	s.confirm(offset)
	if s.poll != nil {
		close(s.poll)
	}
	mine := make(chan struct{})
	s.poll = mine
	defer func() {
		if s.poll == mine {
			s.poll = nil
		}
	}()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		expired = t.C
	}
	for len(s.queue) == 0 && expired != nil {
		wake := s.updatesCh
		s.mu.Unlock()
		select {
		case <-wake:
		case <-mine:
			s.mu.Lock()
			return fail(http.StatusConflict, conflictPoll)
		case <-expired:
			expired = nil
		case <-ctx.Done():
			expired = nil
		case <-s.ctx.Done():
			expired = nil
		}
		s.mu.Lock()
		if s.webhook.url != "" {
			break
		}
	}
	batch := []json.RawMessage{}
	if s.webhook.url == "" {
		for _, u := range s.queue[:min(limit, len(s.queue))] {
			batch = append(batch, u.raw)
		}
	}
	return ok(batch)
}

func (s *Server) setWebhook(c *Call) reply {
	raw := c.Params["url"]
	if raw == "" { // Telegram treats an empty url as deleteWebhook
		return s.deleteWebhook(c)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest("bad webhook: invalid webhook URL specified")
	}
	secret := c.Params["secret_token"]
	if len(secret) > 256 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return badRequest("bad webhook: secret token contains unallowed characters")
	}
	if err := s.setAllowed(c.Params["allowed_updates"]); err != nil {
		return badRequest(err.Error())
	}
	if c.Params["drop_pending_updates"] == "true" {
		s.queue = nil
	}
	maxConn, _ := strconv.Atoi(c.Params["max_connections"])
	if maxConn <= 0 {
		maxConn = 40
	}
	s.webhook = webhookState{url: raw, secret: secret, maxConnections: maxConn}
	s.wakeUpdates()
	return ok(true)
}

func (s *Server) deleteWebhook(c *Call) reply {
	if c.Params["drop_pending_updates"] == "true" {
		s.queue = nil
	}
	s.webhook = webhookState{}
	s.wakeUpdates()
	return ok(true)
}

func (s *Server) getWebhookInfo(*Call) reply {
	info := &models.WebhookInfo{URL: s.webhook.url, PendingUpdateCount: len(s.queue),
		LastErrorDate: s.webhook.lastErrorDate, LastErrorMessage: s.webhook.lastErrorMessage,
		MaxConnections: s.webhook.maxConnections}
	if s.allowed != nil {
		info.AllowedUpdates = slices.Sorted(maps.Keys(s.allowed))
	}
	return ok(info)
}

// deliverWebhooks runs for the server's lifetime. While a webhook is set it
// POSTs pending updates, forgetting one only on a 2xx answer and retrying
// otherwise with a short backoff (Telegram's is longer; tests should not
// wait). As Telegram does, it delivers up to the webhook's
// max_connections updates at once, but never two of one chat: a chat's
// next update waits for the answer to the one before, so order is kept.
func (s *Server) deliverWebhooks() {
	defer s.wg.Done()
	var backoff time.Duration
	var retryAt time.Time    // no new delivery before it, after a failure
	busy := map[int64]bool{} // chats with a delivery in flight
	inflight := 0
	type delivered struct {
		u       queuedUpdate
		problem string // "" on a 2xx answer
	}
	done := make(chan delivered)
	for {
		s.mu.Lock()
		hook, wake := s.webhook, s.updatesCh
		var next *queuedUpdate
		if hook.url != "" && inflight < max(1, hook.maxConnections) {
			for i := range s.queue {
				if !busy[s.queue[i].chat] {
					u := s.queue[i]
					next = &u
					break
				}
			}
		}
		s.mu.Unlock()
		wait := time.Until(retryAt)
		if next != nil && wait <= 0 {
			busy[next.chat] = true
			inflight++
			go func(u queuedUpdate) {
				done <- delivered{u, s.post(hook, u.raw)}
			}(*next)
			continue
		}
		var retry <-chan time.Time
		if next != nil && wait > 0 {
			retry = time.After(wait)
		}
		select {
		case <-wake:
			continue
		case <-retry:
			continue
		case r := <-done:
			inflight--
			delete(busy, r.u.chat)
			s.mu.Lock()
			if r.problem == "" {
				s.queue = slices.DeleteFunc(s.queue, func(u queuedUpdate) bool { return u.id == r.u.id })
				s.counts.webhookDelivered++
			} else if s.webhook.url == hook.url {
				s.webhook.lastErrorDate, s.webhook.lastErrorMessage = s.unixNow(), r.problem
				s.counts.webhookFailed++
			}
			s.notifyChanged()
			s.mu.Unlock()
			if r.problem == "" {
				backoff = 0
			} else {
				backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
				retryAt = time.Now().Add(backoff)
			}
		case <-s.ctx.Done():
			for inflight > 0 {
				<-done
				inflight--
			}
			return
		}
	}
}

// post delivers one update and describes what went wrong, "" if nothing.
func (s *Server) post(hook webhookState, raw []byte) string {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hook.url, bytes.NewReader(raw))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "Connection failed: " + err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "Wrong response from the webhook: " + resp.Status
	}
	return ""
}
