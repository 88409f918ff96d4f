package load

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// features are the commands the bot under test turned out to have. Several
// are being built while this tool is, so rather than assume, the run asks:
// a command the bot does not know is answered exactly like an unknown one.
type features struct {
	Event   bool `json:"event"`
	Events  bool `json:"events"`
	Weather bool `json:"weather"`
}

func (f features) String() string {
	var on []string
	if f.Event {
		on = append(on, "/event")
	}
	if f.Events {
		on = append(on, "/events")
	}
	if f.Weather {
		on = append(on, "/weather")
	}
	if len(on) == 0 {
		return "none of /event, /events, /weather"
	}
	return strings.Join(on, ", ")
}

// probeFeatures asks the bot, in a private chat of its own, about each
// command and compares the answer with the answer to a made-up command.
func probeFeatures(ctx context.Context, fake *bottest.Server, tr *tracker) (features, error) {
	probe := models.User{ID: probeUser, FirstName: "Probe", LanguageCode: "en"}
	chat := bottest.PrivateChat(probe)
	wait := time.Minute // the first question waits for the bot to start
	ask := func(text string) (string, error) {
		before := botMessages(fake, chat.ID)
		at := time.Now()
		u := fake.PushMessage(chat, probe, text)
		tr.pushed(u.ID, at, nil)
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		var reply string
		err := fake.Wait(wctx, func() bool {
			msgs := botMessages(fake, chat.ID)
			if len(msgs) > len(before) {
				reply = msgs[len(before)]
				return true
			}
			return false
		})
		if err != nil {
			return "", fmt.Errorf("the bot did not answer %q within %s", text, wait)
		}
		wait = 20 * time.Second
		return reply, nil
	}
	unknown, err := ask("/zqprobe")
	if err != nil {
		return features{}, err
	}
	known := func(cmd string) (bool, error) {
		reply, err := ask("/" + cmd)
		if err != nil {
			return false, err
		}
		// Leave no conversation open behind.
		if _, err := ask("/cancel"); err != nil {
			return false, err
		}
		return reply != strings.ReplaceAll(unknown, "/zqprobe", "/"+cmd), nil
	}
	var f features
	for _, c := range []struct {
		cmd string
		on  *bool
	}{{"event", &f.Event}, {"events", &f.Events}, {"weather", &f.Weather}} {
		if *c.on, err = known(c.cmd); err != nil {
			return f, err
		}
	}
	return f, nil
}

func botMessages(fake *bottest.Server, chat int64) []string {
	var out []string
	for _, m := range fake.Messages(chat) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m.Text)
		}
	}
	return out
}

// actions are the load for the features found. The ramp leaves out
// step-by-step drafts: it drives the bot past its limits on purpose, where
// each of a draft's questions waits its turn in a long group queue and the
// draft would hold the run for minutes after the load ends.
func (f features) actions(m Mode) []action {
	var out []action
	if f.Weather {
		out = append(out, action{"/weather", 4, func(d *driver, now time.Time) int {
			place := [...]string{"Berlin", "London", "Paris", "Madrid", "Moscow", "Tokyo"}[d.rng.IntN(6)]
			if d.rng.IntN(2) == 0 {
				if g, u := d.randomGroup(); g != nil {
					return d.say(g.chat, u.u, "/weather "+place, nil)
				}
			}
			u := d.randomUser()
			if u == nil {
				return 0
			}
			return d.say(bottest.PrivateChat(u.u), u.u, "/weather "+place, nil)
		}})
	}
	if f.Event {
		out = append(out,
			action{"group /event one-liner", 4, (*driver).createEvent},
			action{"RSVP burst on a popular card", 6, (*driver).rsvpBurst})
		if m != Ramp {
			out = append(out, action{"/event step by step", 1, (*driver).eventConversation})
		}
	}
	if f.Events {
		out = append(out, action{"/events", 4, func(d *driver, now time.Time) int {
			if g, u := d.randomGroup(); g != nil {
				return d.say(g.chat, u.u, "/events", nil)
			}
			return 0
		}})
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// createEvent posts a one-line /event in a group. The title carries a tag,
// so the card's delivery is matched like any reply; the event starts a few
// minutes ahead, so that short reminder offsets (RSVPBOT_REMINDERS) fall
// due while the run goes on.
func (d *driver) createEvent(now time.Time) int {
	g, u := d.randomGroup()
	if g == nil {
		return 0
	}
	title := [...]string{"Picnic", "Board games", "Hike", "Movie night", "Pub quiz", "Climbing"}[d.rng.IntN(6)]
	place := [...]string{"Central Park", "Cafe Luna", "the old mill", "Room 4"}[d.rng.IntN(4)]
	start := now.Add(150*time.Second + time.Duration(d.rng.IntN(150))*time.Second).UTC()
	return d.tagged("event", g.chat, u, "/event "+title+" {ev:%d} | "+start.Format("2006-01-02 15:04")+" | "+place)
}

// rsvpBurst: several members of a group press RSVP buttons on one of the
// latest cards at about the same time, as happens when a card is posted in
// a busy group. Each press is a callback the bot answers and an edit of the
// card (coalesced by the outbox when presses come faster than edits).
func (d *driver) rsvpBurst(now time.Time) int {
	cards := d.tr.recentCards(8)
	if len(cards) == 0 {
		return 0
	}
	c := cards[d.rng.IntN(len(cards))]
	var g *simGroup
	for _, cand := range d.groups {
		if cand.chat.ID == c.chat && cand.botIn && !cand.quiet {
			g = cand
		}
	}
	if g == nil {
		return 0 // the group migrated, or the bot is out of it for now
	}
	msg, ok := d.fake.Message(c.chat, c.msgID)
	if !ok || msg.ReplyMarkup == nil {
		return 0
	}
	var choices []string
	for _, row := range msg.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.HasPrefix(b.CallbackData, "rsvp:") && !strings.HasSuffix(b.CallbackData, "plus") && !strings.HasSuffix(b.CallbackData, "minus") {
				choices = append(choices, b.CallbackData)
			}
		}
	}
	if len(choices) == 0 {
		return 0
	}
	n := 0
	for range 3 + d.rng.IntN(10) {
		u := g.members[d.rng.IntN(len(g.members))]
		if u.busy {
			continue
		}
		// Most press the first button (Going).
		data := choices[0]
		if d.rng.IntN(3) == 0 {
			data = choices[d.rng.IntN(len(choices))]
		}
		at := time.Now()
		up := d.fake.PushCallback(g.chat, u.u, c.msgID, data)
		d.tr.pushed(up.ID, at, nil)
		n++
	}
	return n
}

// eventConversation creates an event step by step: /event alone, then
// title (tagged), date, place, capacity and description one message at a
// time, then the Post button under the preview. The card it posts is the
// tagged reply. Steps are spaced like a person typing, so restarts land in
// the middle of conversations.
func (d *driver) eventConversation(now time.Time) int {
	g, u := d.randomGroup()
	if g == nil {
		return 0
	}
	u.busy = true
	chat := g.chat
	start := now.Add(150*time.Second + time.Duration(d.rng.IntN(150))*time.Second).UTC()
	ti := d.tr.newTag("event conversation", chat.ID, u.u.ID, false)
	ti.unordered = true
	answers := []string{fmt.Sprintf("Potluck {ev:%d}", ti.n), start.Format("2006-01-02 15:04"), "Community hall", "12", "Bring a dish to share", "-"}
	d.say(chat, u.u, "/event", nil)
	var step func(i int) func(time.Time) int
	step = func(i int) func(time.Time) int {
		return func(time.Time) int {
			if i == 0 {
				d.say(chat, u.u, answers[0], ti)
			} else {
				d.say(chat, u.u, answers[i], nil)
			}
			if i+1 < len(answers) {
				d.later(d.think(), step(i+1))
			} else {
				d.later(d.think(), d.pressPost(chat, u, ti.n, 0))
			}
			return 1
		}
	}
	d.later(d.think(), step(0))
	return 1
}

// pressPost presses Post under the draft's preview (the one showing the
// tagged title: another member may be drafting too) once it has arrived;
// it looks again a little later until then (for two minutes: a draft whose
// preview never comes shows up as a lost reply in the checks).
func (d *driver) pressPost(chat models.Chat, u *simUser, tag, tries int) func(time.Time) int {
	return func(time.Time) int {
		msgs := d.fake.Messages(chat.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			if m.From == nil || !m.From.IsBot || m.ReplyMarkup == nil || !strings.Contains(m.Text, fmt.Sprintf("{ev:%d}", tag)) {
				continue
			}
			for _, row := range m.ReplyMarkup.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData == "evc:post" {
						u.busy = false
						at := time.Now()
						up := d.fake.PushCallback(chat, u.u, m.ID, b.CallbackData)
						d.tr.pushed(up.ID, at, nil)
						return 1
					}
				}
			}
		}
		// Two minutes: in a busy group every question of the draft waits
		// its turn at 20 messages a minute, so the preview can be slow.
		if tries >= 400 {
			u.busy = false
			return 0
		}
		d.later(300*time.Millisecond, d.pressPost(chat, u, tag, tries+1))
		return 0
	}
}
