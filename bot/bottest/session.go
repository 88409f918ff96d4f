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

// snapshot is a fake's visible state in JSON: what chats show and who is
// in them, the files and menus the bot set, and the next update id.
type snapshot struct {
	NextUpdateID int64                          `json:"next_update_id"`
	FileSeq      int                            `json:"file_seq"`
	Chats        []chatSnapshot                 `json:"chats"`
	Users        []models.User                  `json:"users"`
	Files        map[string]File                `json:"files"`
	Commands     map[string][]models.BotCommand `json:"commands"`
}

type chatSnapshot struct {
	Chat     models.Chat                     `json:"chat"`
	LastID   int                             `json:"last_id"`
	Pinned   int                             `json:"pinned"`
	Members  map[int64]models.ChatMemberType `json:"members"`
	Messages []json.RawMessage               `json:"messages"`
}

// Snapshot returns what the fake shows, for a session that outlives the
// process (Restore reads it): chats with their messages, pins and members,
// known users, uploaded files, command menus and the next update id.
// Recorded calls, counters, faults, pending updates and unanswered
// callback queries are not part of it.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{NextUpdateID: s.nextUpdateID, FileSeq: s.fileSeq, Files: s.files, Commands: s.commands}
	for _, u := range s.users {
		snap.Users = append(snap.Users, u)
	}
	for _, cs := range s.chats {
		c := chatSnapshot{Chat: cs.chat, LastID: cs.lastID, Pinned: cs.pinned, Members: cs.members}
		for _, m := range cs.msgs {
			raw, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			c.Messages = append(c.Messages, raw)
		}
		snap.Chats = append(snap.Chats, c)
	}
	return json.Marshal(snap)
}

// Restore loads a Snapshot into a fake nobody has called yet. Update ids
// continue above both the snapshot's and WithFirstUpdateID's.
func (s *Server) Restore(raw []byte) error {
	var snap snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		return err
	}
	chats := map[int64]*chatState{}
	for _, c := range snap.Chats {
		cs := &chatState{chat: c.Chat, lastID: c.LastID, pinned: c.Pinned, members: c.Members, tags: map[int]bool{}}
		if cs.members == nil {
			cs.members = map[int64]models.ChatMemberType{}
		}
		for _, rm := range c.Messages {
			m := &models.Message{}
			if err := json.Unmarshal(rm, m); err != nil {
				return err
			}
			cs.msgs = append(cs.msgs, m)
		}
		chats[c.Chat.ID] = cs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats = chats
	s.users = map[int64]models.User{}
	for _, u := range snap.Users {
		s.users[u.ID] = u
	}
	if snap.Files != nil {
		s.files = snap.Files
	}
	if snap.Commands != nil {
		s.commands = snap.Commands
	}
	s.fileSeq = max(s.fileSeq, snap.FileSeq)
	s.nextUpdateID = max(s.nextUpdateID, snap.NextUpdateID)
	return nil
}
