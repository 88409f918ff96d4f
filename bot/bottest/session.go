package bottest

import (
	"encoding/json"
	"slices"

	"github.com/go-telegram/bot/models"
)

// What a long-lived session needs beyond a test's: the playground runs one
// fake for as long as a person plays with it, across restarts of the bot
// and of itself.

// WithFirstUpdateID makes update ids start at id rather than 1. A bot
// starts polling at the highest update id it stored plus one, so a fake
// that outlives nothing but the bot's database must continue above it, or
// the bot's first offset would confirm (and so lose) the new updates.
func WithFirstUpdateID(id int64) Option {
	return func(s *Server) { s.nextUpdateID = max(id, 1) - 1 }
}

// Changed returns a channel closed at the next change: a recorded call, a
// pushed update, a confirmed update or a webhook delivery. Take a new one
// after each close; the server's accessors then show the change.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changedCh
}

// ScopedCommands returns the commands set with setMyCommands for exactly
// this scope (its JSON form, e.g. {"type":"chat","chat_id":42}; "" is the
// default scope) and language ("" for all languages), and whether any were
// set. Telegram's choice among scopes is the caller's: see tgemu's menu.
func (s *Server) ScopedCommands(scope any, languageCode string) ([]models.BotCommand, bool) {
	raw := ""
	if scope != nil {
		b, err := json.Marshal(scope)
		if err != nil {
			return nil, false
		}
		raw = string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds, ok := s.commands[commandsKey(raw, languageCode)]
	return slices.Clone(cmds), ok
}

// IsChatAdmin reports whether a user is an administrator or the creator of
// a chat, as getChatAdministrators would list them.
func (s *Server) IsChatAdmin(chatID, userID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.chats[chatID]
	if !ok {
		return false
	}
	st := cs.members[userID]
	return st == models.ChatMemberTypeAdministrator || st == models.ChatMemberTypeOwner
}

// CallsSince returns the calls recorded after seq (Call.Seq), in order; a
// client following the log asks for what it has not seen. After
// ResetCalls sequence numbers start again at 1.
func (s *Server) CallsSince(seq int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[min(max(seq, 0), len(s.calls)):])
}

// WithBotName sets the first name getMe reports (default "Test Bot"):
// the name a client shows above the bot's messages.
func WithBotName(name string) Option { return func(s *Server) { s.botUser.FirstName = name } }
