package report

import (
	"fmt"
	"sort"
	"strings"
)

func beginMarker(name string) string { return "<!-- rsvpload:begin " + name + " -->" }
func endMarker(name string) string   { return "<!-- rsvpload:end " + name + " -->" }

// block is a generated block with its markers.
func block(name, body string) string {
	return beginMarker(name) + "\n" + strings.TrimRight(body, "\n") + "\n" + endMarker(name)
}

// mergeHere marks where an area owner's figures go; the lead merges them by
// hand, and the report never touches them.
const mergeHere = "<!-- Figures from this area's owner go below this line (merged by hand; `make bench` keeps them). -->\n_None merged yet._"

// skeleton is the whole file, for a first run.
func skeleton() string {
	var b strings.Builder
	b.WriteString(`# Benchmarks

Figures of rsvpbot's speed and crash safety, measured without Telegram: Go
benchmarks per area, and load runs of the real binary against the Telegram
emulator (` + "`cmd/tgemu`, `cmd/rsvpload`" + `). The blocks between
` + "`rsvpload:begin`/`rsvpload:end`" + ` markers are rewritten by ` + "`make bench`" + `;
everything else is kept, so figures merged by hand stay.

`)
	b.WriteString(block("machine", "") + "\n\n")
	sections := []struct{ key, title, intro string }{
		{"intake", "Intake", "Updates in: getUpdates or the webhook, the inbox write, per-chat dispatch, the handler's transaction."},
		{"outbox", "Outbox", "Replies out: enqueue, the rate-limited sender, the ledger. The pacing under load is in [Load runs](#load-runs)."},
		{"events", "Events", "Creating events, RSVP buttons and keeping every copy of a card current."},
		{"reminders", "Reminders", "The scheduler: due reminders, recurring series, housekeeping."},
		{"api", "API", "The message API and the ops server."},
		{"other", "Other packages", "Benchmarks of packages outside the areas above."},
	}
	for _, s := range sections {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n%s\n\n", s.title, s.intro, block("go-bench "+s.key, ""))
		if s.key != "other" {
			b.WriteString(mergeHere + "\n\n")
		}
	}
	b.WriteString(`## Load runs

` + "`rsvpload`" + ` builds the bot, starts it against the emulator with a fresh
SQLite file, and simulates users in private chats and groups: tagged commands
whose replies quote the tag (an unknown time zone or language, an unknown
command), ` + "`/timezone`" + ` conversations whose steps straddle restarts,
` + "`/event`" + ` one-liners and step-by-step drafts in groups (the title carries the
tag; the card is the reply), bursts of RSVP presses on the latest cards,
` + "`/events`, `/help`, `/start`, `/lang`, `/weather`" + `, users blocking and unblocking
the bot, the bot removed from and re-added to groups. Commands the bot does not
have yet are left out: each run first asks the bot about ` + "`/event`, `/events`" + `
and ` + "`/weather`" + ` and compares the answers with an unknown command's. Events
start a few minutes ahead and the bot runs with ` + "`RSVPBOT_REMINDERS=2m,1m`" + `, so
reminders fall due during the longer runs. Each reply is
matched to its update by the tag, which gives the push-to-delivery latency and
lets the run check, from the emulator's record and the bot's database:

- **updates lost**: pushed but not in the inbox, or never marked done;
- **updates handled twice**: a tagged update whose reply was enqueued more than once;
- **replies lost**: no delivery, unless the row was dropped because the user had
  blocked the bot (or is one the emulator answers 403) or the bot was removed
  from the group after the update;
- **duplicates beyond the ambiguity rule**: a reply delivered n+1 times whose
  outbox row has fewer than n ambiguous attempts in the ledger (a crash
  mid-call, a timeout, a 5xx that may have been acted on);
- **order violations**: in a chat, a reply arriving after the reply to a later
  update (checked by rsvpload and, independently, by bottest's ` + "`SeqTag`" + `).

A run exits non-zero when one is broken. Modes: **steady** (a rate for a
duration), **ramp** (×1.5 per step until the reply p95 exceeds 2 s or the
emulator answers 429), **spike** (bulk messages written into the outbox at
once, as a wave of reminders would be, while users keep talking), **chaos**
(SIGKILL and restart every ~10 s with 5xx, phantom failures, dropped
connections, latency, 403 users and a group migration).

"Sent/s" counts messages the emulator limits (sendMessage, edits);
` + "`answerCallbackQuery`" + ` also spends the bot's global budget but not Telegram's
message limit, so under RSVP bursts the bot's sender runs at its limit while
"sent/s" stays below it. Reply latency is split between private chats and
groups: the sender paces each group at 20 messages a minute with no burst, so
group replies queue well before private ones.

The charts show messages sent per second against the global limit line, updates
handled per second, and the outbox's pending depth (right axis); dotted
vertical lines are SIGKILLs.

**Where the emulator runs.** ` + "`rsvpload`" + ` runs the emulator (package
` + "`cmd/tgemu/emu`" + `, built on ` + "`bot/bottest`" + `) inside its own process, because every
check needs the time and content of every call, which it reads from memory.
The same emulator is the standalone ` + "`tgemu`" + ` binary, for pointing a bot at by
hand with the same flags (limits, ` + "`-error-rate`, `-phantom-rate`, `-drop-rate`, `-latency-min/-max`, `-forbid`, `-forbid-fraction`, `-migrate`" + `):

` + "```" + `
go run ./cmd/tgemu -addr 127.0.0.1:8081 -error-rate 0.05 &
TELEGRAM_API_URL=http://127.0.0.1:8081 TELEGRAM_BOT_TOKEN=123456:TEST-token go run ./cmd/rsvpbot
curl -d '{"from":{"id":42,"first_name":"Ann"},"text":"/start"}' 127.0.0.1:8081/_emu/push
curl '127.0.0.1:8081/_emu/messages?chat=42'
curl '127.0.0.1:8081/_emu/summary?format=text'     # also printed on Ctrl-C
` + "```" + `

` + "`GET /_emu/`" + ` lists the control API (push updates, read messages and calls,
block users, migrate groups, change limits and faults at run time). During a
load run, the emulator's address is printed at start, so its summary can be
watched live too.

`)
	b.WriteString(block("load", "") + "\n\n")
	b.WriteString("### Load figures merged by hand\n\n" + mergeHere + "\n")
	return b.String()
}

// Merge replaces each named block of doc (between its markers) with the
// new body; a doc without any marker is replaced by the skeleton first. A
// block whose markers are missing from an existing doc is appended at the
// end, so that a new area never silently disappears.
func Merge(doc string, blocks map[string]string) string {
	if !strings.Contains(doc, "<!-- rsvpload:begin ") {
		doc = skeleton()
	}
	for _, name := range sortedNames(blocks) {
		body := blocks[name]
		begin, end := beginMarker(name), endMarker(name)
		i := strings.Index(doc, begin)
		j := strings.Index(doc, end)
		if i < 0 || j < i {
			doc = strings.TrimRight(doc, "\n") + "\n\n" + block(name, body) + "\n"
			continue
		}
		doc = doc[:i] + block(name, body) + doc[j+len(end):]
	}
	return doc
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names) // the same input writes the same file
	return names
}
