package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// replicaLoad is what the replica tests push: tagged commands in private
// chats (each answered with a reply naming it) and RSVP presses on event
// cards in groups (each answered with answerCallbackQuery), with every
// update id pushed, so that the checks can account for each.
type replicaLoad struct {
	fake    *bottest.Server
	users   []models.User
	groups  []models.Chat
	cards   map[int64]models.Message // group → its event card
	eventOf map[int64]int64          // group → the card's event id
	prefix  string                   // of the commands, e.g. "r": /r3_7

	mu      sync.Mutex
	pushed  []int64             // every update id
	presses map[int64][]string  // group → callback query ids, in push order
	sent    map[int]int         // commands sent per user index
	pressOf map[string]struct{} // every callback query id
}

func newReplicaLoad(fake *bottest.Server, prefix string, users, groups int, base int64) *replicaLoad {
	l := &replicaLoad{fake: fake, prefix: prefix, cards: map[int64]models.Message{}, eventOf: map[int64]int64{},
		presses: map[int64][]string{}, sent: map[int]int{}, pressOf: map[string]struct{}{}}
	for i := range users {
		l.users = append(l.users, models.User{ID: base + int64(i), FirstName: fmt.Sprintf("U%d", i), LanguageCode: "en"})
	}
	for i := range groups {
		l.groups = append(l.groups, bottest.Group(-(base+100+int64(i)), fmt.Sprintf("G%d", i)))
	}
	return l
}

func (l *replicaLoad) note(u models.Update) {
	l.mu.Lock()
	l.pushed = append(l.pushed, u.ID)
	l.mu.Unlock()
}

// command pushes user i's next tagged command.
func (l *replicaLoad) command(i int) {
	l.mu.Lock()
	n := l.sent[i]
	l.sent[i]++
	l.mu.Unlock()
	u := l.users[i]
	l.note(l.fake.PushCommand(bottest.PrivateChat(u), u, fmt.Sprintf("/%s%d_%d", l.prefix, i, n)))
}

// postCards has each group's first user create an event and waits for
// the cards.
func (l *replicaLoad) postCards(t *testing.T) {
	t.Helper()
	day := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	for i, g := range l.groups {
		l.note(l.fake.PushMessage(g, l.users[i%len(l.users)], fmt.Sprintf("/event Meetup %d | %s 19:30 | Park", i, day)))
	}
	waitUntil(t, 60*time.Second, "the event cards", func() bool {
		for _, g := range l.groups {
			for _, m := range l.fake.Messages(g.ID) {
				if strings.HasPrefix(m.Text, "📅 Meetup") && m.ReplyMarkup != nil {
					l.cards[g.ID] = m
				}
			}
		}
		return len(l.cards) == len(l.groups)
	})
	for g, card := range l.cards {
		for _, row := range card.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				var id int64
				if _, err := fmt.Sscanf(b.CallbackData, "rsvp:%d:", &id); err == nil && l.eventOf[g] == 0 {
					l.eventOf[g] = id
				}
			}
		}
		if l.eventOf[g] == 0 {
			t.Fatalf("no rsvp button on the card: %+v", card.ReplyMarkup)
		}
	}
}

// press has user i press an RSVP button on group g's card.
func (l *replicaLoad) press(g, i int, status string) {
	grp := l.groups[g]
	u := l.users[i]
	up := l.fake.PushCallback(grp, u, l.cards[grp.ID].ID, fmt.Sprintf("rsvp:%d:%s", l.eventOf[grp.ID], status))
	l.mu.Lock()
	l.pushed = append(l.pushed, up.ID)
	l.presses[grp.ID] = append(l.presses[grp.ID], up.CallbackQuery.ID)
	l.pressOf[up.CallbackQuery.ID] = struct{}{}
	l.mu.Unlock()
}

// stream pushes rounds of load until stop is closed or rounds are done:
// each round every user sends a command and a few presses land on each
// card; it returns when done.
func (l *replicaLoad) stream(rounds int, every time.Duration, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(7, 11))
	statuses := []string{"go", "maybe", "no"}
	for r := range rounds {
		for i := range l.users {
			l.command(i)
		}
		for g := range l.groups {
			for k := range 2 {
				l.press(g, (r+k+g)%len(l.users), statuses[(r+k)%3])
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(every/2 + time.Duration(rng.Int64N(int64(every)))):
		}
	}
}

// streamInBackground runs stream in a goroutine: done is closed when it
// ends; stop ends it early and waits for it (calling it again is fine).
func (l *replicaLoad) streamInBackground(rounds int, every time.Duration) (done <-chan struct{}, stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() { defer close(finished); l.stream(rounds, every, quit) }()
	var once sync.Once
	return finished, func() { once.Do(func() { close(quit) }); <-finished }
}

func (l *replicaLoad) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pushed)
}

// drained waits until every pushed update is handled and every reply is
// sent (nothing pending or in flight in the outbox).
func (l *replicaLoad) drained(t *testing.T, db *store.DB, within time.Duration) {
	t.Helper()
	count := func(q string) int {
		var n int
		if err := db.R.QueryRow(q).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	total := l.total()
	deadline := time.Now().Add(within)
	for !(l.fake.PendingUpdates() == 0 &&
		count(`SELECT count(*) FROM inbox WHERE done_at IS NOT NULL`) == total &&
		count(`SELECT count(*) FROM outbox WHERE state IN ('pending','sending')`) == 0) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for all %d updates handled and every reply sent; the fake holds %d undelivered\n%s",
				within, total, l.fake.PendingUpdates(), diagnose(db))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diagnose describes what the replicas left undone: pending updates, the
// claims and leases, unfinished outbox rows.
func diagnose(db *store.DB) string {
	var b strings.Builder
	dump := func(title, q string) {
		fmt.Fprintf(&b, "%s:\n", title)
		rows, err := db.R.Query(q)
		if err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
			return
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			if n++; n <= 20 {
				fmt.Fprintf(&b, "  %v\n", vals)
			}
		}
		if n > 20 {
			fmt.Fprintf(&b, "  … %d rows\n", n)
		}
	}
	now := store.Millis(time.Now())
	fmt.Fprintf(&b, "now %d\n", now)
	dump("pending updates (update_id, chat_id, kind, received_at)", `SELECT update_id, chat_id, kind, received_at FROM inbox WHERE done_at IS NULL ORDER BY update_id`)
	dump("chat claims (chat_id, owner, expires_at)", `SELECT chat_id, owner, expires_at FROM chat_claims ORDER BY chat_id`)
	dump("leases (name, holder, term, expires_at)", `SELECT name, holder, term, expires_at FROM leases ORDER BY name`)
	dump("unfinished outbox rows (id, chat_id, method, state, head, attempts, next_attempt_at, last_error)",
		`SELECT id, chat_id, method, state, head, attempts, next_attempt_at, last_error FROM outbox WHERE state IN ('pending','sending') ORDER BY id`)
	return b.String()
}

// replicaFigures are what check found beyond pass or fail.
type replicaFigures struct {
	replies, presses int // answered
	dups             int // replies delivered more than once
	ambiguous        int // ambiguous attempts in the ledger
}

// check asserts the promises: every update stored and handled once, no
// failure; each command answered by exactly one outbox row, each press by
// one answerCallbackQuery row; delivered replies in each chat's order,
// a reply delivered more than once only as often as its row's ledger has
// ambiguous attempts (a send cut off by a kill); each press answered once,
// in its group's order.
func (l *replicaLoad) check(t *testing.T, db *store.DB) replicaFigures {
	t.Helper()
	var f replicaFigures
	l.mu.Lock()
	defer l.mu.Unlock()

	// The inbox: every update, once, done, without error.
	inbox := map[int64]bool{}
	rows, err := db.R.Query(`SELECT update_id, done_at IS NOT NULL, error FROM inbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var done bool
		var problem string
		if err := rows.Scan(&id, &done, &problem); err != nil {
			t.Fatal(err)
		}
		if !done || problem != "" {
			t.Errorf("update %d: done %v, error %q", id, done, problem)
		}
		inbox[id] = true
	}
	rows.Close()
	for _, id := range l.pushed {
		if !inbox[id] {
			t.Errorf("update %d lost: not in the inbox", id)
		}
	}
	if len(inbox) != len(l.pushed) {
		t.Errorf("inbox holds %d updates, %d were pushed", len(inbox), len(l.pushed))
	}

	// The ledger's ambiguous attempts per outbox row.
	ambiguous := map[int64]int{}
	rows, err = db.R.Query(`SELECT outbox_id, count(*) FROM ledger WHERE ambiguous = 1 GROUP BY outbox_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var n int
		rows.Scan(&id, &n)
		ambiguous[id] = n
		f.ambiguous += n
	}
	rows.Close()

	// Commands: one reply row each, enqueued in each chat's order.
	re := regexp.MustCompile(`/` + l.prefix + `(\d+)_(\d+)`)
	rowOf := map[string]int64{}
	last := map[int64]int{}
	rows, err = db.R.Query(`SELECT id, chat_id, params FROM outbox WHERE method = 'sendMessage' AND chat_id > 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, chat int64
		var params string
		rows.Scan(&id, &chat, &params)
		m := re.FindStringSubmatch(params)
		if m == nil {
			continue
		}
		if _, twice := rowOf[m[0]]; twice {
			t.Errorf("%s handled twice: a second reply row %d", m[0], id)
		}
		rowOf[m[0]] = id
		var n int
		fmt.Sscan(m[2], &n)
		if prev, ok := last[chat]; ok && n <= prev {
			t.Errorf("chat %d: reply to #%d enqueued after #%d", chat, n, prev)
		}
		last[chat] = n
	}
	rows.Close()

	// Delivered: every reply, in order; repeats only where ambiguous.
	for i, u := range l.users {
		want := 0
		seen := map[int]int{}
		for _, m := range l.fake.Messages(u.ID) {
			if m.From == nil || !m.From.IsBot {
				continue
			}
			mm := re.FindStringSubmatch(m.Text)
			if mm == nil {
				continue
			}
			var n int
			fmt.Sscan(mm[2], &n)
			seen[n]++
			switch {
			case n == want:
				want++
				f.replies++
			case n < want:
				f.dups++
				if seen[n]-1 > ambiguous[rowOf[mm[0]]] {
					t.Errorf("%s delivered %d times; its row %d has %d ambiguous attempts", mm[0], seen[n], rowOf[mm[0]], ambiguous[rowOf[mm[0]]])
				}
			default:
				t.Errorf("chat %d shows reply #%d when #%d was due (order broken or a reply lost)", u.ID, n, want)
			}
		}
		if want != l.sent[i] {
			t.Errorf("chat %d shows %d of %d replies", u.ID, want, l.sent[i])
		}
	}

	// Presses: one answer row each; answered once, in each group's order.
	answerRows := map[string]int{}
	rows, err = db.R.Query(`SELECT params FROM outbox WHERE method = 'answerCallbackQuery'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var params string
		rows.Scan(&params)
		var p struct {
			ID string `json:"callback_query_id"`
		}
		json.Unmarshal([]byte(params), &p)
		answerRows[p.ID]++
	}
	rows.Close()
	for id := range l.pressOf {
		if answerRows[id] != 1 {
			t.Errorf("press %s: %d answer rows, want 1", id, answerRows[id])
		}
	}
	answered := map[string]int{}
	var order []string
	for _, c := range l.fake.CallsTo("answerCallbackQuery") {
		if c.OK() {
			id := c.Params["callback_query_id"]
			answered[id]++
			order = append(order, id)
		}
	}
	for g, ids := range l.presses {
		k := 0
		for _, id := range order {
			if k < len(ids) && id == ids[k] {
				k++
				continue
			}
			for _, other := range ids[k:] {
				if other == id {
					t.Errorf("group %d: press %s answered before an earlier one (%s)", g, id, ids[k])
				}
			}
		}
		if k != len(ids) {
			t.Errorf("group %d: %d of %d presses answered in order", g, k, len(ids))
		}
		for _, id := range ids {
			if answered[id] != 1 {
				t.Errorf("group %d: press %s answered %d times", g, id, answered[id])
			}
		}
		f.presses += k
	}
	return f
}

// TestReplicasWebhookSIGKILL runs three replicas of the real binary in
// webhook mode on one PostgreSQL database, behind a round-robin proxy,
// while users write in private chats and press buttons in groups, and
// SIGKILLs one replica every few seconds (then starts it again). Nothing
// may be lost, handled twice or answered out of a chat's order; a reply
// may be delivered twice only where the ledger records an ambiguous
// attempt; the fake's limits are never hit (429); and /readyz shows the
// leases.
func TestReplicasWebhookSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dsn := storetest.Postgres(t, "webhook")
	// The emulator's burst: network jitter between a correctly paced bot
	// and the fake must not count as flooding.
	limits := bottest.Limits{GlobalPerSecond: 30, PrivatePerSecond: 1, GroupPerMinute: 120, Burst: 3}
	// Latency on every call, so that a kill can cut a send off mid-call.
	fake := bottest.NewServer(bottest.WithLimits(limits),
		bottest.WithFaults(bottest.Faults{MinLatency: 20 * time.Millisecond, MaxLatency: 120 * time.Millisecond}))
	defer fake.Close()
	rs := newReplicaSet(t, fake, dsn, 3, true,
		"RSVPBOT_RATE_GLOBAL=30", "RSVPBOT_RATE_CHAT=1", "RSVPBOT_RATE_GROUP=120")
	rs.startAll()
	db := openDSN(t, dsn)

	load := newReplicaLoad(fake, "r", 6, 2, 8100)
	load.postCards(t)

	streamed, stopLoad := load.streamInBackground(12, 2*time.Second)
	defer stopLoad()

	rng := rand.New(rand.NewPCG(1, 2))
	kills, streaming := 0, true
	for streaming || kills < 6 {
		time.Sleep(time.Duration(2500+rng.IntN(2000)) * time.Millisecond)
		p := rs.procs[kills%len(rs.procs)]
		p.kill()
		kills++
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		p.start()
		select {
		case <-streamed:
			streaming = false
		default:
		}
	}
	load.drained(t, db, 90*time.Second)

	// Every replica ready, and /readyz names the holders of both leases.
	for i := range rs.procs {
		var body string
		waitUntil(t, 30*time.Second, fmt.Sprintf("replica %d ready", i), func() bool {
			var code int
			code, body = rs.readyz(i)
			return code == 200
		})
		if !regexp.MustCompile(`replicas: ok: this replica \S+; leader: \S+ \(term \d+, .*; sender: \S+ \(term \d+`).MatchString(body) {
			t.Errorf("replica %d's /readyz does not show the leases:\n%s", i, body)
		}
		if i == 0 {
			t.Logf("replica 0's /readyz:\n%s", body)
		}
	}
	rs.stopAll()

	f := load.check(t, db)
	sum := fake.Summary()
	if sum.TooManyRequests != 0 {
		t.Errorf("the fake answered %d calls with 429", sum.TooManyRequests)
	}
	total := rs.proxy.Total()
	for i, st := range rs.proxy.Stats() {
		if st.Status[200] == 0 {
			t.Errorf("replica %d took no webhook: %+v", i, st)
		}
	}
	t.Logf("%d updates (%d replies, %d presses answered), %d SIGKILLs; webhook calls %d (%v by status); "+
		"replies delivered twice %d, ambiguous attempts %d (%.2f extra replies per kill)",
		load.total(), f.replies, f.presses, kills, total.Requests, total.Status, f.dups, f.ambiguous, float64(f.dups)/float64(kills))
}
