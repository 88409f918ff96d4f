package load

import (
	"time"

	"github.com/go-telegram/bot/models"
)

// A group migration is staged so that the order check can follow it: the
// group falls quiet until every reply due there has arrived, then one
// tagged command is pushed and the group is upgraded at once, so that the
// bot's reply meets "group chat was upgraded" and must be re-sent to the
// supergroup; the group stays quiet until that reply arrives there, then
// its users carry on in the supergroup. Without the quiet periods, replies
// to the old group re-sent late would interleave with replies to the new
// one, an order Telegram users would see too but that is not a bot bug.
type migStep int

const (
	migQuiesce migStep = iota
	migWaitReply
	migDone
)

// migrationWait bounds each quiet period, so a stuck bot cannot stall the
// run (what did not arrive is reported by the final checks anyway).
const migrationWait = 20 * time.Second

type migrationState struct {
	g           *simGroup
	step        migStep
	since       time.Time
	lastRefresh time.Time
	tag         int
	from, to    int64
}

// startMigration picks a group to upgrade; false if none can be.
func (d *driver) startMigration(now time.Time) bool {
	// A group where nobody is mid-conversation: Telegram would not deliver
	// a conversation's next step from the old id after the upgrade.
	for _, g := range d.groups {
		if !g.botIn || g.quiet || g.chat.Type != models.ChatTypeGroup {
			continue
		}
		busy := false
		for _, u := range g.members {
			busy = busy || u.busy
		}
		if !busy {
			g.quiet = true
			d.migration = &migrationState{g: g, step: migQuiesce, since: now}
			return true
		}
	}
	return false
}

func (d *driver) stepMigration(now time.Time) {
	m := d.migration
	if m == nil || m.step == migDone {
		return
	}
	if now.Sub(m.lastRefresh) < 250*time.Millisecond {
		return
	}
	m.lastRefresh = now
	d.tr.refresh(d.fake)
	g := m.g
	switch m.step {
	case migQuiesce:
		if d.tr.unresolved(g.logical) > 0 && now.Sub(m.since) < migrationWait {
			return
		}
		m.from, m.to = g.chat.ID, -(supergroupBase - g.chat.ID) // -4000001 -> -1000004000001
		ti := d.tr.newTag("migration", g.chat.ID, g.admin.u.ID, false)
		m.tag = ti.n
		d.say(g.chat, g.admin.u, "/lang [seq:"+itoa(ti.n)+"]", ti)
		d.emu.Migrate(m.from, m.to)
		d.tr.migrated(m.from, m.to)
		g.chat = models.Chat{ID: m.to, Type: models.ChatTypeSupergroup, Title: g.chat.Title}
		// Telegram carries admins over to the supergroup; the fake does not.
		d.fake.SetChatMember(g.chat, g.admin.u, models.ChatMemberTypeAdministrator)
		m.step, m.since = migWaitReply, now
		d.log("migrated group %d to supergroup %d", m.from, m.to)
	case migWaitReply:
		if !d.tr.delivered(m.tag) && now.Sub(m.since) < migrationWait {
			return
		}
		g.quiet = false
		m.step = migDone
	}
}
