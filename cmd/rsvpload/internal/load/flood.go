package load

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// A flood run: Flooders users, who are in one group only, send
// FloodCommands commands each into it as fast as a script does — /help,
// /events and /lang with a made-up code, so that half the answers are
// alike and half are not — while the group's other members keep asking a
// tagged command every FloodNormalEvery and post two event cards, and the
// rest of the simulated world talks at Rate as in a steady run. The group
// is kept out of the random actions, so everything in it is this script.
//
// What it measures: the flooded group's normal members' reply latency
// (target: p95 within 10 s, every one answered), the latency of the cards
// posted there, and the other chats' latency meanwhile; and how many
// messages the bot sent into the flooded group at all.

// floodDelay is when the flood starts after the load: the normal members'
// first questions show the group before it.
const floodDelay = 5 * time.Second

// floodNormalP95Target is the goal for the flooded group's normal members.
const floodNormalP95Target = 10 * time.Second

// floodBase: the flooders' user ids (they write in the group only).
const floodBase = 7_000_000

type floodRun struct {
	group    *simGroup
	flooders []models.User
	members  []*simUser
	cfg      Config
	t0       time.Time // the load's start

	sent       int            // flood commands pushed so far
	floodIDs   map[int64]bool // their update ids
	nextNormal time.Duration
	normalIdx  int
	events     []time.Duration // when a member posts an event card
	withEvents bool
	withEvList bool
}

func newFloodRun(d *driver, cfg Config, t0 time.Time) *floodRun {
	g := d.groups[0]
	g.quiet = true // no random actions there: this script is all that happens
	// At least eight normal members, none of them busy elsewhere: a
	// member in the middle of a private conversation would spend their
	// own budget there.
	for _, u := range d.users {
		if len(g.members) >= 8 {
			break
		}
		if !containsUser(g.members, u) {
			g.members = append(g.members, u)
		}
	}
	f := &floodRun{group: g, cfg: cfg, t0: t0, floodIDs: map[int64]bool{}, withEvents: d.features.Event, withEvList: d.features.Events,
		events: []time.Duration{floodDelay + cfg.FloodFor/4 + cfg.FloodNormalEvery/2, floodDelay + cfg.FloodFor*3/4 + cfg.FloodNormalEvery/2}}
	for _, u := range g.members {
		if !u.forbidden {
			u.busy = true
			f.members = append(f.members, u)
		}
	}
	for i := range cfg.Flooders {
		f.flooders = append(f.flooders, models.User{ID: int64(floodBase + i + 1), FirstName: fmt.Sprintf("Flooder%d", i+1),
			LanguageCode: d.randomLang()})
	}
	return f
}

func containsUser(us []*simUser, u *simUser) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}

// tick pushes what is due by now: flood commands spread evenly over
// FloodFor (round-robin over the flooders), the normal members' questions
// and the event cards.
func (f *floodRun) tick(d *driver, now time.Time) {
	el := now.Sub(f.t0)
	total := f.cfg.Flooders * f.cfg.FloodCommands
	if el >= floodDelay {
		due := int(min(1, (el-floodDelay).Seconds()/f.cfg.FloodFor.Seconds()) * float64(total))
		for ; f.sent < due; f.sent++ {
			i, j := f.sent%len(f.flooders), f.sent/len(f.flooders)
			at := time.Now()
			up := d.fake.PushMessage(f.group.chat, f.flooders[i], f.floodText(i, j))
			d.tr.pushed(up.ID, at, nil)
			f.floodIDs[up.ID] = true
		}
	}
	if el >= f.cfg.Duration {
		return
	}
	for el >= f.nextNormal && len(f.members) > 0 {
		u := f.members[f.normalIdx%len(f.members)]
		f.normalIdx++
		f.nextNormal += f.cfg.FloodNormalEvery
		ti := d.tr.newFloodedTag("flooded group", f.group.chat.ID, u.u.ID)
		d.say(f.group.chat, u.u, fmt.Sprintf("/lang [seq:%d]", ti.n), ti)
	}
	for f.withEvents && len(f.events) > 0 && el >= f.events[0] && len(f.members) > 0 {
		f.events = f.events[1:]
		u := f.members[f.normalIdx%len(f.members)]
		f.normalIdx++
		ti := d.tr.newFloodedTag("flooded group event", f.group.chat.ID, u.u.ID)
		start := now.Add(10 * time.Minute).UTC()
		d.say(f.group.chat, u.u, fmt.Sprintf("/event Team meeting {ev:%d} | %s | Room 4", ti.n, start.Format("2006-01-02 15:04")), ti)
	}
}

// floodText is flooder i's command number j.
func (f *floodRun) floodText(i, j int) string {
	switch j % 4 {
	case 0:
		return "/help"
	case 1:
		if f.withEvList {
			return "/events"
		}
		return "/help"
	}
	return fmt.Sprintf("/lang f%dx%d", i+1, j+1)
}

// FloodFigures are what a flood run measured in the flooded group.
type FloodFigures struct {
	Group       int64   `json:"group"`
	Flooders    int     `json:"flooders"`
	Commands    int     `json:"commands"` // pushed by the flooders
	Seconds     float64 `json:"seconds"`  // over which they were pushed
	Members     int     `json:"normal_members"`
	NormalAsked int     `json:"normal_asked"` // tagged questions of normal members
	// Normal is the latency of the answers to the normal members (Count:
	// how many were answered).
	Normal      LatencyFigures `json:"normal"`
	CardsAsked  int            `json:"cards_asked"`
	Cards       LatencyFigures `json:"cards"`
	SentToGroup int            `json:"sent_to_group"` // every message the bot sent into the group
	ToFlooders  int            `json:"to_flooders"`   // of which answers and notices to flooders
	// Commands the flood budgets left unanswered: the flooders', the
	// flooded group's normal members' and everybody else's.
	FloodersUnanswered int `json:"flooders_unanswered"`
	NormalUnanswered   int `json:"normal_unanswered"`
	OthersUnanswered   int `json:"others_unanswered"`
}

// figures reads the flood's outcome; call with tr.mu held.
func (f *floodRun) figures(tr *tracker, fake *bottest.Server, unanswered map[int64]bool) *FloodFigures {
	ff := &FloodFigures{Group: f.group.chat.ID, Flooders: f.cfg.Flooders, Commands: f.sent, Seconds: f.cfg.FloodFor.Seconds(), Members: len(f.members)}
	var normal, cards []time.Duration
	members := map[int64]bool{}
	for _, ti := range tr.tags {
		if !ti.flooded {
			continue
		}
		members[ti.updateID] = true
		lat := &normal
		if ti.action == "flooded group event" {
			lat = &cards
			ff.CardsAsked++
		} else {
			ff.NormalAsked++
		}
		if len(ti.deliveries) > 0 {
			*lat = append(*lat, ti.deliveries[0].at.Sub(ti.pushedAt))
		}
	}
	for _, l := range [][]time.Duration{normal, cards} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	ff.Normal, ff.Cards = latencyFigures(normal), latencyFigures(cards)
	for id := range unanswered {
		switch {
		case f.floodIDs[id]:
			ff.FloodersUnanswered++
		case members[id]:
			ff.NormalUnanswered++
		default:
			ff.OthersUnanswered++
		}
	}
	flooder := map[int]bool{} // message ids the flooders sent
	for _, m := range fake.Messages(f.group.chat.ID) {
		if m.From != nil && m.From.ID > floodBase && m.From.ID <= floodBase+int64(f.cfg.Flooders) {
			flooder[m.ID] = true
		}
	}
	for _, c := range fake.CallsTo("sendMessage") {
		if c.ChatID != f.group.chat.ID || !(c.OK() || c.Injected == "phantom") {
			continue
		}
		ff.SentToGroup++
		var rp struct {
			MessageID int `json:"message_id"`
		}
		if json.Unmarshal([]byte(c.Params["reply_parameters"]), &rp) == nil && flooder[rp.MessageID] {
			ff.ToFlooders++
		}
	}
	return ff
}

// judgeFlood reports whether the flooded group's normal members were all
// answered within the target, adding a problem line for each miss.
func judgeFlood(f *FloodFigures, pr *problems) bool {
	ok := true
	if f.Normal.Count < f.NormalAsked || f.Cards.Count < f.CardsAsked {
		pr.add("flooded group: member not answered", "%d of %d questions and %d of %d event cards of the flooded group's normal members were not answered",
			f.NormalAsked-f.Normal.Count, f.NormalAsked, f.CardsAsked-f.Cards.Count, f.CardsAsked)
		ok = false
	}
	if p95 := time.Duration(f.Normal.P95Ms * float64(time.Millisecond)); p95 > floodNormalP95Target {
		pr.add("flooded group: slow replies", "the flooded group's normal members waited %s (p95) for their answers; the target is at most %s",
			p95.Round(100*time.Millisecond), floodNormalP95Target)
		ok = false
	}
	return ok
}
