package locales

// Command is one entry of the bot's command menu (setMyCommands).
type Command struct {
	Command     string // without the slash: "event"
	Description string // localized, from cmd_<command>_desc
	Admin       bool   // only shown to bot admins
}

// commands is the command menu in display order. Command names are part of
// the bot's protocol and are not translated; only their descriptions are.
// Admin commands come last so that an admin's menu is everyone's menu plus
// extras.
var commands = [...]struct {
	name  string
	admin bool
}{
	{"start", false},
	{"help", false},
	{"event", false},
	{"poll", false},
	{"events", false},
	{"myevents", false},
	{"editevent", false},
	{"cancelevent", false},
	{"export", false},
	{"remind", false},
	{"series", false},
	{"calendar", false},
	{"weather", false},
	{"timezone", false},
	{"lang", false},
	{"cancel", false},
	{"stats", true},
}

// Commands returns the command menu in lang: the commands everyone may use
// and, if admin is true, the admin-only ones after them. Non-admins are not
// told admin commands exist (they get unknown_command), so this is also the
// list for /help.
func (c *Catalog) Commands(lang string, admin bool) []Command {
	out := make([]Command, 0, len(commands))
	for _, cmd := range commands {
		if cmd.admin && !admin {
			continue
		}
		out = append(out, Command{
			Command:     cmd.name,
			Description: c.T(lang, commandDescID(cmd.name)),
			Admin:       cmd.admin,
		})
	}
	return out
}

// commandDescID is the catalog id of a command's description.
func commandDescID(name string) string { return "cmd_" + name + "_desc" }
