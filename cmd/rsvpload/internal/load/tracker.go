package load

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
)

// Replies are matched to what caused them by tags the bot echoes back:
// "[seq:N]" (bottest.SeqTag) inside an argument the reply quotes (an
// unknown time zone or language), or the name of an unknown command
// "/zqN", which the bot's answer names. N is unique over the run and
// increases with push order, so within one chat the replies' tags must
// increase too. Bulk messages written straight into the outbox carry
// "{bulk:N}" instead: they travel in another lane, whose order is
// independent of the interactive one.
//
// Event titles carry "{ev:N}" (N from the same counter): the title comes
// back in the card, but also in /events lists and reminders, so only a
// message with RSVP buttons counts as the card's delivery.
type tagRegexps struct {
	interactive *regexp.Regexp
	bulk        *regexp.Regexp
	event       *regexp.Regexp
}

func newTagRegexps() tagRegexps {
	return tagRegexps{
		interactive: regexp.MustCompile(`\[seq:(\d+)\]|/zq(\d+)\b`),
		bulk:        regexp.MustCompile(`\{bulk:(\d+)\}`),
		event:       regexp.MustCompile(`\{ev:(\d+)\}`),
	}
}

// findCard returns the event tag of a posted card: a message with RSVP
// buttons whose text carries the tag.
func (r tagRegexps) findCard(text, markup string) (int, bool) {
	if !strings.Contains(markup, `"rsvp:`) {
		return 0, false
	}
	m := r.event.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// find returns the tag in text and whether it is a bulk one.
func (r tagRegexps) find(text string) (n int, bulk, ok bool) {
	if m := r.interactive.FindStringSubmatch(text); m != nil {
		s := m[1]
		if s == "" {
			s = m[2]
		}
		n, err := strconv.Atoi(s)
		return n, false, err == nil
	}
	if m := r.bulk.FindStringSubmatch(text); m != nil {
		n, err := strconv.Atoi(m[1])
		return n, true, err == nil
	}
	return 0, false, false
}

// tagInfo is one tagged update and what became of its reply.
type tagInfo struct {
	n         int
	action    string
	chat      int64 // logical chat: the chat's first id (a migrated group keeps it)
	user      int64
	forbidden bool // the user's private chat answers 403: the reply is expected to be dropped
	// unordered: the reply comes after later steps, not right after the
	// tagged update (a card posted only when the draft's Post is pressed),
	// so it is left out of the order check.
	unordered bool
	// flooded: asked by a normal member of the group a flood run floods;
	// judged by the flood figures (the budgets may rightly leave it
	// unanswered), not by the reply invariants.
	flooded  bool
	pushedAt time.Time
	updateID int64

	deliveries []delivery // successful sends carrying the tag, in call order
}

// delivery is one message carrying a tag, as the emulator recorded it.
type delivery struct {
	seq   int
	at    time.Time
	chat  int64 // as sent (a migrated group's new id)
	msgID int
}

// push is one update as pushed.
type push struct {
	updateID int64
	at       time.Time
}

// tracker remembers what was pushed and, from the emulator's call log,
// what was delivered. The driver writes; the ramp evaluator and the final
// analysis read; so it locks.
type tracker struct {
	re tagRegexps

	mu          sync.Mutex
	pushes      []push
	tags        map[int]*tagInfo // interactive
	bulk        map[int]*tagInfo // spike messages
	nextTag     int
	alias       map[int64]int64       // chat id -> logical chat
	disruptions map[int64][]time.Time // logical chat -> times the bot was blocked/removed there
	callsSeen   int                   // emulator calls already scanned
	sendCalls   []sendCall            // every successful send, for per-second series
	tooMany     []time.Time           // 429s given
	reminders   int                   // reminder messages delivered (with a mute button)
	cards       []*tagInfo            // events whose card was delivered, oldest first
}

// sendCall is a successful (or phantom: delivered but answered 500) call
// of a sending method.
type sendCall struct {
	at     time.Time
	method string
}

func newTracker() *tracker {
	return &tracker{re: newTagRegexps(), tags: map[int]*tagInfo{}, bulk: map[int]*tagInfo{},
		alias: map[int64]int64{}, disruptions: map[int64][]time.Time{}}
}

// newTag allocates the next interactive tag number.
func (t *tracker) newTag(action string, chat, user int64, forbidden bool) *tagInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextTag++
	ti := &tagInfo{n: t.nextTag, action: action, chat: t.logical(chat), user: user, forbidden: forbidden}
	t.tags[ti.n] = ti
	return ti
}

// newFloodedTag allocates a tag for a normal member of a flooded group.
func (t *tracker) newFloodedTag(action string, chat, user int64) *tagInfo {
	ti := t.newTag(action, chat, user, false)
	t.mu.Lock()
	defer t.mu.Unlock()
	ti.flooded = true
	return ti
}

// addBulk registers a bulk message written into the outbox.
func (t *tracker) addBulk(n int, chat int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bulk[n] = &tagInfo{n: n, action: "bulk", chat: t.logical(chat), pushedAt: at}
}

// pushed records an update; ti (may be nil) is the tag it carries.
func (t *tracker) pushed(updateID int64, at time.Time, ti *tagInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pushes = append(t.pushes, push{updateID: updateID, at: at})
	if ti != nil {
		ti.pushedAt, ti.updateID = at, updateID
	}
}

func (t *tracker) pushCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pushes)
}

// disrupted records that the bot was blocked in or removed from a chat:
// replies to updates pushed before may rightly be dropped.
func (t *tracker) disrupted(chat int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.logical(chat)
	t.disruptions[l] = append(t.disruptions[l], at)
}

// migrated makes a group's new id an alias of its logical chat.
func (t *tracker) migrated(from, to int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.alias[to] = t.logical(from)
}

func (t *tracker) logical(chat int64) int64 {
	if l, ok := t.alias[chat]; ok {
		return l
	}
	return chat
}

// refresh scans the emulator's calls recorded since the last refresh.
func (t *tracker) refresh(fake *bottest.Server) {
	calls := fake.Calls()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range calls[min(t.callsSeen, len(calls)):] {
		if c.Status == 429 {
			t.tooMany = append(t.tooMany, c.Time)
		}
		delivered := c.Status == 200 || c.Injected == "phantom"
		if !delivered || !emu.IsSending(c.Method) {
			continue
		}
		t.sendCalls = append(t.sendCalls, sendCall{at: c.Time, method: c.Method})
		if c.Method != "sendMessage" {
			continue
		}
		text, markup := c.Params["text"], c.Params["reply_markup"]
		if strings.Contains(markup, `"rem:`) {
			t.reminders++
		}
		if n, ok := t.re.findCard(text, markup); ok {
			if ti := t.tags[n]; ti != nil {
				if len(ti.deliveries) == 0 {
					t.cards = append(t.cards, ti)
				}
				ti.deliveries = append(ti.deliveries, delivery{seq: c.Seq, at: c.Time, chat: c.ChatID, msgID: c.MessageID})
			}
			continue
		}
		n, bulk, ok := t.re.find(text)
		if !ok {
			continue
		}
		m := t.tags
		if bulk {
			m = t.bulk
		}
		if ti := m[n]; ti != nil {
			ti.deliveries = append(ti.deliveries, delivery{seq: c.Seq, at: c.Time, chat: c.ChatID, msgID: c.MessageID})
		}
	}
	t.callsSeen = len(calls)
}

// recentCards returns up to n of the latest posted cards: where they are
// and the message to press buttons under.
func (t *tracker) recentCards(n int) []delivery {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []delivery
	for i := len(t.cards) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, t.cards[i].deliveries[0])
	}
	return out
}

// unresolved counts the tags of a logical chat not delivered yet.
func (t *tracker) unresolved(chat int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ti := range t.tags {
		if ti.chat == chat && len(ti.deliveries) == 0 && !ti.forbidden {
			n++
		}
	}
	return n
}

// delivered reports whether tag n has reached its chat.
func (t *tracker) delivered(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := t.tags[n]
	return ti != nil && len(ti.deliveries) > 0
}

// latencies returns push-to-first-delivery times of the tags pushed in
// [from, to), in private chats or in groups, that are not expected to be
// dropped; undelivered ones count
// as now minus their push time, so a stalled bot cannot look fast.
func (t *tracker) latencies(from, to, now time.Time, private bool) (lat []time.Duration, undelivered int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ti := range t.tags {
		if ti.forbidden || ti.unordered || ti.pushedAt.IsZero() || ti.pushedAt.Before(from) || !ti.pushedAt.Before(to) || (ti.chat > 0) != private {
			continue
		}
		if len(ti.deliveries) == 0 {
			undelivered++
			lat = append(lat, now.Sub(ti.pushedAt))
			continue
		}
		lat = append(lat, ti.deliveries[0].at.Sub(ti.pushedAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, undelivered
}

// tooManyBetween counts 429s given in [from, to).
func (t *tracker) tooManyBetween(from, to time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, at := range t.tooMany {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
