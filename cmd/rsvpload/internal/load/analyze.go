package load

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// outboxRow is what the checks need of an outbox row.
type outboxRow struct {
	id        int64
	chat      int64
	state     outbox.State
	lastError string
	ambiguous int // ambiguous attempts in the ledger
}

// problems collects examples of broken invariants, a few per kind, so the
// report points at concrete rows without drowning in them.
type problems struct {
	list  []string
	count map[string]int
}

func (p *problems) add(kind, format string, args ...any) {
	if p.count == nil {
		p.count = map[string]int{}
	}
	p.count[kind]++
	if p.count[kind] <= 5 {
		p.list = append(p.list, kind+": "+fmt.Sprintf(format, args...))
	}
}

// analysis is the input of the final checks.
type analysis struct {
	db        *store.DB
	fake      *bottest.Server
	tr        *tracker
	samples   []depthSample
	loadStart time.Time
	loadEnd   time.Time
	end       time.Time
	spike     *spikeRun
	flood     *floodRun
	// unanswered: update ids the bot's flood budgets left unanswered (from
	// its debug log).
	unanswered map[int64]bool
}

// check fills res from the database and the emulator's record. The bot
// must be stopped: the database is read as the final truth.
func (a *analysis) check(ctx context.Context, res *Result) error {
	var pr problems
	tr := a.tr
	tr.refresh(a.fake)
	tr.mu.Lock()
	defer tr.mu.Unlock()

	// Updates: each pushed update must be in the inbox and done.
	type inboxRow struct {
		done    sql.NullInt64
		problem string
	}
	inbox := map[int64]inboxRow{}
	rows, err := a.db.R.QueryContext(ctx, `SELECT update_id, done_at, error FROM inbox`)
	if err != nil {
		return err
	}
	var doneTimes []int64
	for rows.Next() {
		var id int64
		var r inboxRow
		if err := rows.Scan(&id, &r.done, &r.problem); err != nil {
			rows.Close()
			return err
		}
		inbox[id] = r
		if r.done.Valid {
			doneTimes = append(doneTimes, r.done.Int64)
		}
	}
	rows.Close()
	res.Updates.Pushed = len(tr.pushes)
	for _, p := range tr.pushes {
		r, ok := inbox[p.updateID]
		switch {
		case !ok:
			res.Checks.UpdatesLost++
			pr.add("update lost", "update %d (pushed at +%.1fs) is not in the inbox", p.updateID, p.at.Sub(a.loadStart).Seconds())
		case !r.done.Valid:
			res.Checks.UpdatesLost++
			pr.add("update lost", "update %d (pushed at +%.1fs) was stored but never handled", p.updateID, p.at.Sub(a.loadStart).Seconds())
		default:
			res.Updates.Handled++
			if r.problem != "" {
				res.Updates.Failed++
			}
		}
	}

	// The outbox and the ledger.
	ambiguous := map[int64]int{}
	err = outbox.EachAttempt(ctx, a.db.R, func(at outbox.Attempt) error {
		res.Sending.Attempts++
		if at.Attempt > 1 {
			res.Sending.Retries++
		}
		if at.Outcome == outbox.ClassRateLimited {
			res.Sending.TooManyReceived++
		}
		if at.Ambiguous {
			ambiguous[at.OutboxID]++
			res.Sending.Ambiguous++
		}
		return nil
	})
	if err != nil {
		return err
	}
	tagRows := map[int][]outboxRow{}
	bulkRows := map[int][]outboxRow{}
	// Cards the bot posted again because their group became a supergroup
	// (their old message cannot be edited there): a second copy by design,
	// not a second answer to the update.
	reposts := map[int]int{}
	err = outbox.EachRow(ctx, a.db.R, func(row outbox.Row) error {
		r := outboxRow{id: row.ID, chat: row.ChatID, state: row.State, lastError: row.LastError}
		method, params, dedup := row.Method, row.Params, row.DedupKey
		r.ambiguous = ambiguous[r.id]
		switch {
		case r.state.Queued():
			res.Checks.StuckRows++
			pr.add("row stuck", "outbox #%d (%s to %d) is still %s: %s", r.id, method, r.chat, r.state, r.lastError)
		case r.state == outbox.StateDead:
			res.Sending.DeadLetters++
			pr.add("dead letter", "outbox #%d (%s to %d): %s", r.id, method, r.chat, r.lastError)
		case r.state == outbox.StateDropped:
			res.Sending.Dropped++
		}
		if method != "sendMessage" {
			return nil
		}
		if n, ok := tr.re.findCard(params, params); ok && strings.HasPrefix(dedup, handlers.MigrationRepostKey) {
			reposts[n]++
		} else if ok {
			tagRows[n] = append(tagRows[n], r)
		} else if n, bulk, ok := tr.re.find(params); ok {
			if bulk {
				bulkRows[n] = append(bulkRows[n], r)
			} else {
				tagRows[n] = append(tagRows[n], r)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Replies, tag by tag.
	c := &res.Checks
	var lat, latPrivate, latGroup []time.Duration
	for _, n := range sortedKeys(tr.tags) {
		ti := tr.tags[n]
		rs := tagRows[n]
		if len(rs) > 1 {
			c.UpdatesHandledTwice++
			pr.add("handled twice", "tag %d (%s in chat %d): %d reply rows", n, ti.action, ti.chat, len(rs))
		}
		if ti.flooded {
			continue // judged by the flood figures
		}
		c.RepliesExpected++
		if len(ti.deliveries) > 0 {
			c.RepliesDelivered++
			// A draft's card comes after the conversation's later steps:
			// that is the user's typing time, not the bot's latency.
			if l := ti.deliveries[0].at.Sub(ti.pushedAt); !ti.unordered {
				lat = append(lat, l)
				if ti.chat > 0 {
					latPrivate = append(latPrivate, l)
				} else {
					latGroup = append(latGroup, l)
				}
			}
			extra := max(0, len(ti.deliveries)-1-reposts[n])
			allowed := 0
			for _, r := range rs {
				allowed += r.ambiguous
			}
			c.RepliesDuplicated += extra
			if extra > allowed {
				c.DuplicatesBeyond += extra - allowed
				pr.add("duplicate beyond the ambiguity rule", "tag %d (%s in chat %d) delivered %d times, %d ambiguous attempts",
					n, ti.action, ti.chat, len(ti.deliveries), allowed)
			}
			continue
		}
		if len(rs) == 0 && a.unanswered[ti.updateID] {
			c.RepliesBudgeted++
			continue
		}
		reason := a.whyMissing(ti, rs, inbox[ti.updateID].problem)
		if reason == "" {
			c.RepliesDropped++
			continue
		}
		c.RepliesLost++
		pr.add("reply lost", "tag %d (%s in chat %d, pushed at +%.1fs): %s", n, ti.action, ti.chat, ti.pushedAt.Sub(a.loadStart).Seconds(), reason)
	}
	for _, l := range [][]time.Duration{lat, latPrivate, latGroup} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	res.Latency, res.LatencyPrivate, res.LatencyGroup = latencyFigures(lat), latencyFigures(latPrivate), latencyFigures(latGroup)
	c.OrderViolations = orderViolations(tr.tags, &pr, "order violation")

	// Spike messages.
	for _, n := range sortedKeys(tr.bulk) {
		ti := tr.bulk[n]
		c.BulkExpected++
		if len(ti.deliveries) > 0 {
			continue
		}
		if reason := a.whyMissing(ti, bulkRows[n], ""); reason != "" {
			c.BulkLost++
			pr.add("spike message lost", "bulk %d to chat %d: %s", n, ti.chat, reason)
		}
	}
	c.BulkOrderViolations = orderViolations(tr.bulk, &pr, "spike order violation")

	for _, r := range tagRows {
		for _, row := range r {
			c.AmbiguousAttempts += row.ambiguous
		}
	}
	sum := a.fake.Summary()
	c.EmuDuplicates, c.EmuOrderViolations = sum.Duplicates, sum.OrderViolations
	res.Sending.TooManyGiven = sum.TooManyRequests
	res.Calls = sum.ByMethod
	for kind, n := range sum.Injected {
		if kind != "limit" {
			res.Sending.InjectedFaults += n
		}
	}

	res.Sending.Reminders = tr.reminders
	a.series(res, doneTimes)
	spikeOK := true
	if a.spike != nil {
		res.Spike = a.spike.figures(res, tr, a.loadStart)
		spikeOK = judgeSpike(res.Spike, a.spike.limit, &pr)
	}
	floodOK := true
	c.Unanswered = len(a.unanswered)
	if a.flood != nil {
		res.Flood = a.flood.figures(tr, a.fake, a.unanswered)
		floodOK = judgeFlood(res.Flood, &pr)
	}
	res.Problems = pr.list
	res.OK = floodOK && c.UpdatesLost == 0 && c.UpdatesHandledTwice == 0 && c.RepliesLost == 0 && c.DuplicatesBeyond == 0 &&
		c.OrderViolations == 0 && c.StuckRows == 0 && c.BulkLost == 0 && c.BulkOrderViolations == 0 &&
		len(res.Bot.Crashes) == 0 && spikeOK
	if len(res.Bot.Crashes) > 0 {
		res.Problems = append(res.Problems, "the bot exited on its own: "+res.Bot.Crashes[0])
	}
	return nil
}

// whyMissing explains an undelivered reply, "" when it was rightly not
// delivered: dropped because the user had blocked the bot (or is one the
// emulator refuses), or because the bot was blocked in or removed from the
// chat after the update was pushed. Call with tr.mu held.
func (a *analysis) whyMissing(ti *tagInfo, rs []outboxRow, handlerErr string) string {
	excused := ti.forbidden
	for _, at := range a.tr.disruptions[ti.chat] {
		excused = excused || !at.Before(ti.pushedAt)
	}
	if len(rs) == 0 {
		switch {
		case handlerErr != "":
			return "the handler failed (an apology was sent instead): " + handlerErr
		case excused && ti.unordered:
			// A draft whose questions were dropped with the chat never
			// reaches its Post button, so no card is ever enqueued.
			return ""
		}
		return "no reply was enqueued"
	}
	r := rs[len(rs)-1]
	switch {
	case r.state != outbox.StateDropped:
		return fmt.Sprintf("outbox #%d is %s and the emulator never got it (%s)", r.id, r.state, r.lastError)
	case excused:
		return ""
	}
	return fmt.Sprintf("outbox #%d was dropped (%s) though the bot was neither blocked nor removed after the update", r.id, r.lastError)
}

// orderViolations walks each chat's deliveries in the order the emulator
// took them: a tag below the highest seen in its chat arrived after a reply
// to a later update. A repeated tag is a duplicate (counted elsewhere).
func orderViolations(tags map[int]*tagInfo, pr *problems, kind string) int {
	type del struct {
		seq, n int
	}
	byChat := map[int64][]del{}
	for n, ti := range tags {
		if ti.unordered {
			continue
		}
		for _, d := range ti.deliveries {
			byChat[ti.chat] = append(byChat[ti.chat], del{d.seq, n})
		}
	}
	v := 0
	for chat, ds := range byChat {
		sort.Slice(ds, func(i, j int) bool { return ds[i].seq < ds[j].seq })
		seen := map[int]bool{}
		hi := 0
		for _, d := range ds {
			switch {
			case seen[d.n]:
			case d.n < hi:
				v++
				pr.add(kind, "chat %d: the reply to tag %d arrived after the reply to tag %d", chat, d.n, hi)
			}
			seen[d.n] = true
			hi = max(hi, d.n)
		}
	}
	return v
}

// series buckets the run into seconds, from the start of the load to the
// end of the drain.
func (a *analysis) series(res *Result, doneTimes []int64) {
	n := int(a.end.Sub(a.loadStart).Seconds()) + 1
	if n <= 0 {
		return
	}
	sec := make([]Second, n)
	for i := range sec {
		sec[i].T = i
	}
	bucket := func(t time.Time) int {
		i := int(t.Sub(a.loadStart).Seconds())
		if t.Before(a.loadStart) || i >= n {
			return -1
		}
		return i
	}
	for _, p := range a.tr.pushes {
		if i := bucket(p.at); i >= 0 {
			sec[i].Pushed++
		}
	}
	for _, ms := range doneTimes {
		if i := bucket(store.FromMillis(ms)); i >= 0 {
			sec[i].Handled++
		}
	}
	var first, last time.Time
	for _, s := range a.tr.sendCalls {
		res.Sending.Messages++
		if first.IsZero() || s.at.Before(first) {
			first = s.at
		}
		last = s.at
		if i := bucket(s.at); i >= 0 {
			sec[i].Sent++
		}
	}
	for _, at := range a.tr.tooMany {
		if i := bucket(at); i >= 0 {
			sec[i].TooMany++
		}
	}
	for _, d := range a.samples {
		if i := bucket(d.at); i >= 0 {
			sec[i].Pending, sec[i].InboxBacklog = d.pending, d.inboxBacklog
		}
	}
	// Seconds without a sample (a busy database) repeat the last one, so
	// the chart shows no false drops to zero.
	for i := 1; i < n; i++ {
		if a.sampledAt(i) {
			continue
		}
		sec[i].Pending, sec[i].InboxBacklog = sec[i-1].Pending, sec[i-1].InboxBacklog
	}
	var lastDone time.Time
	for _, ms := range doneTimes {
		if t := store.FromMillis(ms); t.After(lastDone) {
			lastDone = t
		}
	}
	for _, s := range sec {
		res.Updates.PeakPerSecond = max(res.Updates.PeakPerSecond, s.Handled)
		res.Sending.PeakPerSecond = max(res.Sending.PeakPerSecond, s.Sent)
	}
	if span := lastDone.Sub(a.loadStart).Seconds(); span > 0 {
		res.Updates.PerSecond = float64(res.Updates.Handled) / span
	}
	if span := last.Sub(first).Seconds(); span > 0 {
		res.Sending.PerSecond = float64(res.Sending.Messages) / span
	}
	res.Series = sec
}

func (a *analysis) sampledAt(i int) bool {
	for _, d := range a.samples {
		if int(d.at.Sub(a.loadStart).Seconds()) == i {
			return true
		}
	}
	return false
}

func sortedKeys(m map[int]*tagInfo) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// Targets of a spike run: while the spike drains, the sender runs at 95 %
// of the global limit or more, Telegram never answers 429, and replies to
// people talking meanwhile still come within a few seconds.
const (
	spikeMinPercent    = 95
	spikeMaxReplyP95   = 5 * time.Second
	spikeMinDrainSecs  = 3 // shorter drains are too short to judge a rate
	spikeMinDrainCalls = 50
)

// judgeSpike reports whether a spike run met its targets, adding a problem
// line for each miss.
func judgeSpike(f *SpikeFigures, limit float64, pr *problems) bool {
	if f == nil || f.Messages < spikeMinDrainCalls || f.DrainSecs < spikeMinDrainSecs {
		return true
	}
	ok := true
	if limit > 0 && f.PercentOfLimit < spikeMinPercent {
		pr.add("spike below the limit", "the spike drained at %.1f%% of the %.0f/s limit; the target is %d%%", f.PercentOfLimit, limit, spikeMinPercent)
		ok = false
	}
	if f.TooManyDuring > 0 {
		pr.add("429 during the spike", "%d 429s while the spike drained; the target is none", f.TooManyDuring)
		ok = false
	}
	if p95 := time.Duration(f.Interactive.P95Ms * float64(time.Millisecond)); f.Interactive.Count > 0 && p95 > spikeMaxReplyP95 {
		pr.add("slow replies during the spike", "replies to people took %s (p95) while the spike drained; the target is under %s", p95, spikeMaxReplyP95)
		ok = false
	}
	return ok
}

// budgetDrops reads the update ids the bot's flood budgets left
// unanswered from its JSON log (debug level).
func budgetDrops(logPath string) (map[int64]bool, error) {
	out := map[int64]bool{}
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte("flood budget exhausted")) {
			continue
		}
		var rec struct {
			Msg      string `json:"msg"`
			UpdateID int64  `json:"update_id"`
		}
		if json.Unmarshal(line, &rec) == nil && strings.HasPrefix(rec.Msg, "flood budget exhausted") {
			out[rec.UpdateID] = true
		}
	}
	return out, sc.Err()
}
