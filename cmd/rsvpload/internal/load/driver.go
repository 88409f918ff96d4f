package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
)

// Id ranges of the simulated world. Group ids are basic groups (above
// -1e12), so that a migration to a supergroup (-100… ids) is possible.
const (
	userBase       = 1_000_000
	groupBase      = 4_000_000
	supergroupBase = 1_000_000_000_000
	subscriberBase = 5_000_000 // spike recipients: chats that never write
	probeUser      = 999_999
)

type simUser struct {
	u         models.User
	forbidden bool // the emulator answers 403 to every message to them
	busy      bool // in a conversation or has blocked the bot: no random actions
}

type simGroup struct {
	chat    models.Chat
	logical int64 // the group's first id, kept across migration
	admin   *simUser
	members []*simUser
	botIn   bool
	quiet   bool // no pushes for now (being migrated)
}

// followUp is an action scheduled for later: the next step of a
// conversation, unblocking, being added back to a group.
type followUp struct {
	due time.Time
	run func(now time.Time) int
}

// driver simulates the users. One goroutine runs it, so the world needs no
// lock; the tracker, which others read, locks itself.
type driver struct {
	fake     *bottest.Server
	emu      *emu.Emulator
	tr       *tracker
	rng      *rand.Rand
	users    []*simUser
	groups   []*simGroup
	actions  []action
	total    int // sum of weights
	pending  []followUp
	features features

	migration   *migrationState
	flood       *floodRun // flood mode: pushes of its own on every tick
	lastRefresh time.Time
	log         func(format string, args ...any)
}

// action is one kind of thing a user does, with its relative frequency.
type action struct {
	name   string
	weight int
	run    func(d *driver, now time.Time) int // returns updates pushed (0: could not, try another)
}

// randomLang picks a Telegram language code, English most often.
func (d *driver) randomLang() string {
	return [...]string{"en", "en", "en", "de", "es", "ru"}[d.rng.IntN(6)]
}

func newDriver(e *emu.Emulator, tr *tracker, cfg Config, feats features, log func(string, ...any)) *driver {
	d := &driver{fake: e.Fake, emu: e, tr: tr, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*7919+1)), features: feats, log: log}
	for i := range cfg.Users {
		id := int64(userBase + i + 1)
		u := models.User{ID: id, FirstName: fmt.Sprintf("User%d", i+1), LanguageCode: d.randomLang()}
		d.users = append(d.users, &simUser{u: u, forbidden: e.Config().IsForbidden(id)})
	}
	for j := range cfg.Groups {
		id := -int64(groupBase + j + 1)
		g := &simGroup{chat: bottest.Group(id, fmt.Sprintf("Group %d", j+1)), logical: id}
		n := min(len(d.users), 5+d.rng.IntN(20))
		for _, k := range d.rng.Perm(len(d.users))[:n] {
			g.members = append(g.members, d.users[k])
		}
		g.admin = g.members[0]
		d.groups = append(d.groups, g)
	}
	d.actions = baseActions()
	d.actions = append(d.actions, feats.actions(cfg.Mode)...)
	for _, a := range d.actions {
		d.total += a.weight
	}
	return d
}

// setup adds the bot to every group (as Telegram would have before the
// run) and makes each group's admin an administrator in the emulator.
func (d *driver) setup(now time.Time) int {
	n := 0
	for _, g := range d.groups {
		d.fake.SetChatMember(g.chat, g.admin.u, models.ChatMemberTypeAdministrator)
		n += d.joinGroup(g, now)
	}
	return n
}

// run pushes updates at rate(elapsed) per second until dur has passed or
// ctx ends. Follow-ups count toward the rate, so the rate is what the bot
// receives.
func (d *driver) run(ctx context.Context, dur time.Duration, rate func(elapsed time.Duration) float64) {
	start := time.Now()
	last := start
	credit := 0.0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= dur || ctx.Err() != nil {
			return
		}
		r := rate(el)
		credit += r * now.Sub(last).Seconds()
		last = now
		// A driver that fell behind (a slow push) catches up over the
		// next second, not in one burst.
		credit = min(credit, max(r, 1))
		// Read what the bot has sent now and then: RSVP bursts need the
		// cards posted so far.
		if now.Sub(d.lastRefresh) >= 500*time.Millisecond {
			d.tr.refresh(d.fake)
			d.lastRefresh = now
		}
		credit -= float64(d.runDue(now))
		d.stepMigration(now)
		if d.flood != nil {
			d.flood.tick(d, now) // on top of the rate: the flood is extra
		}
		for tries := 0; credit >= 1 && tries < 1000; tries++ {
			credit -= float64(d.act(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// finish runs every follow-up still scheduled, in order, so that the run
// ends with conversations closed, users unblocked and groups rejoined.
func (d *driver) finish() {
	for len(d.pending) > 0 {
		// Real waits: a follow-up may wait for the bot (a draft's preview).
		time.Sleep(min(time.Until(d.pending[0].due), time.Second))
		d.runDue(d.pending[0].due)
	}
	for d.migration != nil && d.migration.step != migDone {
		d.stepMigration(time.Now().Add(time.Hour))
	}
}

func (d *driver) later(after time.Duration, f func(now time.Time) int) {
	d.pending = append(d.pending, followUp{due: time.Now().Add(after), run: f})
	sort.SliceStable(d.pending, func(i, j int) bool { return d.pending[i].due.Before(d.pending[j].due) })
}

func (d *driver) runDue(now time.Time) int {
	n := 0
	for len(d.pending) > 0 && !d.pending[0].due.After(now) {
		f := d.pending[0]
		d.pending = d.pending[1:]
		n += f.run(now)
	}
	return n
}

// act runs one random action; it returns the updates pushed, at least 1
// so that a world where nothing is possible cannot spin.
func (d *driver) act(now time.Time) int {
	for range 20 {
		x := d.rng.IntN(d.total)
		for _, a := range d.actions {
			if x < a.weight {
				if n := a.run(d, now); n > 0 {
					return n
				}
				break
			}
			x -= a.weight
		}
	}
	return 1
}

// randomUser picks a user free for a random action; nil if none found.
func (d *driver) randomUser() *simUser {
	for range 20 {
		if u := d.users[d.rng.IntN(len(d.users))]; !u.busy {
			return u
		}
	}
	return nil
}

// randomGroup picks a group the bot is in and a free member of it.
func (d *driver) randomGroup() (*simGroup, *simUser) {
	for range 20 {
		g := d.groups[d.rng.IntN(len(d.groups))]
		if !g.botIn || g.quiet {
			continue
		}
		if u := g.members[d.rng.IntN(len(g.members))]; !u.busy {
			return g, u
		}
	}
	return nil, nil
}

// say pushes a text message and records it (and its tag, if any).
func (d *driver) say(chat models.Chat, from models.User, text string, ti *tagInfo) int {
	at := time.Now()
	u := d.fake.PushMessage(chat, from, text)
	d.tr.pushed(u.ID, at, ti)
	return 1
}

// tagged pushes text with "%d" replaced by a fresh tag number, expecting a
// reply that quotes it.
func (d *driver) tagged(action string, chat models.Chat, u *simUser, format string) int {
	forbidden := chat.Type == models.ChatTypePrivate && u.forbidden
	ti := d.tr.newTag(action, chat.ID, u.u.ID, forbidden)
	return d.say(chat, u.u, fmt.Sprintf(format, ti.n), ti)
}

func (d *driver) member(chat models.Chat, from models.User, oldS, newS models.ChatMemberType) int {
	at := time.Now()
	u := d.fake.PushMyChatMember(chat, from, oldS, newS)
	d.tr.pushed(u.ID, at, nil)
	return 1
}

func (d *driver) joinGroup(g *simGroup, now time.Time) int {
	g.botIn = true
	return d.member(g.chat, g.admin.u, models.ChatMemberTypeLeft, models.ChatMemberTypeMember)
}

// baseActions are what every version of the bot understands. Tagged
// commands are chosen so that the reply quotes the tag: an unknown time
// zone or language is echoed back, an unknown command is named.
func baseActions() []action {
	return []action{
		{"private /timezone tag", 20, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.tagged("timezone", bottest.PrivateChat(u.u), u, "/timezone [seq:%d]")
		}},
		{"private /lang tag", 8, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.tagged("lang", bottest.PrivateChat(u.u), u, "/lang [seq:%d]")
		}},
		{"private unknown command", 12, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.tagged("unknown", bottest.PrivateChat(u.u), u, "/zq%d")
		}},
		{"group /lang tag", 10, func(d *driver, now time.Time) int {
			g, u := d.randomGroup()
			if g == nil {
				return 0
			}
			return d.tagged("group lang", g.chat, u, "/lang [seq:%d]")
		}},
		{"group admin /timezone tag", 8, func(d *driver, now time.Time) int {
			g, _ := d.randomGroup()
			if g == nil || g.admin.busy {
				return 0
			}
			// Admin-only: the bot asks Telegram for the chat's admins first.
			return d.tagged("group timezone", g.chat, g.admin, "/timezone [seq:%d]")
		}},
		{"/help", 5, func(d *driver, now time.Time) int {
			if d.rng.IntN(2) == 0 {
				if g, u := d.randomGroup(); g != nil {
					return d.say(g.chat, u.u, "/help", nil)
				}
			}
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.say(bottest.PrivateChat(u.u), u.u, "/help", nil)
		}},
		{"/start", 3, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.say(bottest.PrivateChat(u.u), u.u, "/start", nil)
		}},
		{"/lang change", 2, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.say(bottest.PrivateChat(u.u), u.u, "/lang "+d.randomLang(), nil)
		}},
		{"/cancel", 1, func(d *driver, now time.Time) int {
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.say(bottest.PrivateChat(u.u), u.u, "/cancel", nil)
		}},
		{"/timezone conversation", 8, (*driver).timezoneConversation},
		{"block and unblock the bot", 1, (*driver).blockBot},
		{"bot removed and re-added", 1, (*driver).leaveGroup},
	}
}

// timezoneConversation: /timezone asks for a zone; the user first answers
// nonsense carrying a tag (the bot quotes it and asks again), then a real
// zone. The user waits a little between steps, as people do; the steps
// may straddle a SIGKILL, which the conversation must survive.
func (d *driver) timezoneConversation(now time.Time) int {
	u := d.randomUser()
	if u == nil {
		return 0
	}
	u.busy = true
	chat := bottest.PrivateChat(u.u)
	d.say(chat, u.u, "/timezone", nil)
	d.later(d.think(), func(time.Time) int {
		n := d.tagged("conversation", chat, u, "[seq:%d]")
		d.later(d.think(), func(time.Time) int {
			u.busy = false
			return d.say(chat, u.u, [...]string{"Europe/Berlin", "america/new_york", "Asia/Tokyo", "UTC"}[d.rng.IntN(4)], nil)
		})
		return n
	})
	return 1
}

func (d *driver) think() time.Duration { return time.Duration(200+d.rng.IntN(800)) * time.Millisecond }

// blockBot: the user blocks the bot (my_chat_member "kicked"), stays away
// a few seconds, then unblocks it and presses Start again.
func (d *driver) blockBot(now time.Time) int {
	u := d.randomUser()
	if u == nil {
		return 0
	}
	u.busy = true
	chat := bottest.PrivateChat(u.u)
	d.tr.disrupted(chat.ID, now)
	d.member(chat, u.u, models.ChatMemberTypeMember, models.ChatMemberTypeBanned)
	d.later(time.Duration(2+d.rng.IntN(5))*time.Second, func(time.Time) int {
		u.busy = false
		d.member(chat, u.u, models.ChatMemberTypeBanned, models.ChatMemberTypeMember)
		return 1 + d.say(chat, u.u, "/start", nil)
	})
	return 1
}

// leaveGroup: the group's admin removes the bot and adds it back a few
// seconds later (it greets the group again).
func (d *driver) leaveGroup(now time.Time) int {
	g, _ := d.randomGroup()
	if g == nil || d.liveGroups() < 2 {
		return 0
	}
	g.botIn = false
	d.tr.disrupted(g.chat.ID, now)
	d.member(g.chat, g.admin.u, models.ChatMemberTypeMember, models.ChatMemberTypeLeft)
	d.later(time.Duration(3+d.rng.IntN(6))*time.Second, func(now time.Time) int { return d.joinGroup(g, now) })
	return 1
}

func (d *driver) liveGroups() int {
	n := 0
	for _, g := range d.groups {
		if g.botIn && !g.quiet {
			n++
		}
	}
	return n
}
