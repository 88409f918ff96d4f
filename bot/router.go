package bot

import (
	"context"
	"strings"
)

// HandlerFunc handles one update. It returns an error only for failures the
// user should be apologised to for; bad input is answered, not returned.
type HandlerFunc func(ctx context.Context, u *Update) error

// Router picks the handler for an update: commands by name (any case, with
// or without @botname), callbacks by the prefix of their data before ':',
// chat-membership changes, and everything else (plain text, which is where
// conversations continue).
type Router struct {
	username  string // the bot's username, to ignore commands for other bots
	commands  map[string]HandlerFunc
	callbacks map[string]HandlerFunc
	member    HandlerFunc
	inline    HandlerFunc
	chosen    HandlerFunc
	text      HandlerFunc
	unknown   HandlerFunc
}

// NewRouter makes a router for the bot with the given username.
func NewRouter(username string) *Router {
	return &Router{
		username:  strings.ToLower(strings.TrimPrefix(username, "@")),
		commands:  map[string]HandlerFunc{},
		callbacks: map[string]HandlerFunc{},
	}
}

// Command registers h for /name.
func (r *Router) Command(name string, h HandlerFunc) { r.commands[strings.ToLower(name)] = h }

// Callback registers h for callback data "prefix" or "prefix:...".
func (r *Router) Callback(prefix string, h HandlerFunc) { r.callbacks[prefix] = h }

// MyChatMember registers h for changes of the bot's own membership.
func (r *Router) MyChatMember(h HandlerFunc) { r.member = h }

// InlineQuery registers h for inline queries (@bot typed in any chat).
func (r *Router) InlineQuery(h HandlerFunc) { r.inline = h }

// ChosenInlineResult registers h for inline results a user posted (sent
// only with inline feedback on).
func (r *Router) ChosenInlineResult(h HandlerFunc) { r.chosen = h }

// Text registers h for messages that are not commands.
func (r *Router) Text(h HandlerFunc) { r.text = h }

// Unknown registers h for commands nobody registered, and for callbacks
// whose prefix is unknown (stale buttons of an older version).
func (r *Router) Unknown(h HandlerFunc) { r.unknown = h }

// HasCommand reports whether /name is registered.
func (r *Router) HasCommand(name string) bool { _, ok := r.commands[strings.ToLower(name)]; return ok }

// Route calls the handler for u. Updates nobody handles return nil and are
// marked done by the dispatcher.
func (r *Router) Route(ctx context.Context, u *Update) error {
	switch {
	case u.MyChatMember != nil:
		return call(ctx, r.member, u)
	case u.InlineQuery != nil:
		return call(ctx, r.inline, u)
	case u.ChosenInlineResult != nil:
		return call(ctx, r.chosen, u)
	case u.CallbackQuery != nil:
		prefix, _, _ := strings.Cut(u.CallbackQuery.Data, ":")
		if h, ok := r.callbacks[prefix]; ok {
			return h(ctx, u)
		}
		return call(ctx, r.unknown, u)
	case u.Update.Message != nil:
		cmd, args, mine := r.command(u)
		if cmd != "" {
			if !mine {
				return nil // addressed to another bot in the group
			}
			u.Command, u.Args = cmd, args
			if h, ok := r.commands[cmd]; ok {
				return h(ctx, u)
			}
			return call(ctx, r.unknown, u)
		}
		return call(ctx, r.text, u)
	}
	return nil
}

// IsCommand reports whether Route would hand u to a command handler (or
// Unknown): a message whose text is a command not addressed to another bot.
func (r *Router) IsCommand(u *Update) bool {
	cmd, _, mine := r.command(u)
	return cmd != "" && mine
}

// command parses the command of a message update; mine is false when it
// is addressed to another bot ("/help@OtherBot").
func (r *Router) command(u *Update) (cmd, args string, mine bool) {
	m := u.Update.Message
	if m == nil {
		return "", "", false
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	cmd, args, to := parseCommand(text)
	return cmd, args, to == "" || r.username == "" || strings.EqualFold(to, r.username)
}

func call(ctx context.Context, h HandlerFunc, u *Update) error {
	if h == nil {
		return nil
	}
	return h(ctx, u)
}
