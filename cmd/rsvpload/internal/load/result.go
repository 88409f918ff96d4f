package load

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Result is what a run measured. Times are in seconds or milliseconds, as
// the field names say, so that the JSON reads without a Go decoder.
type Result struct {
	Mode      Mode      `json:"mode"`
	Command   string    `json:"command,omitempty"` // how it was run, for the report
	Started   time.Time `json:"started"`
	LoadSecs  float64   `json:"load_seconds"`  // pushing updates
	DrainSecs float64   `json:"drain_seconds"` // after the load, until everything was handled and sent
	Users     int       `json:"users"`
	Groups    int       `json:"groups"`
	Rate      float64   `json:"rate"` // configured updates/s (ramp: the first step)
	Webhook   bool      `json:"webhook,omitempty"`
	Replicas  int       `json:"replicas,omitempty"` // bot processes behind a round-robin proxy (0: one bot, no proxy)
	Backend   string    `json:"backend,omitempty"`  // sqlite or postgres
	Features  features  `json:"features"`

	Emulator EmuSettings `json:"emulator"`
	BotLimit Limits      `json:"bot_limits"`

	Updates UpdateFigures  `json:"updates"`
	Latency LatencyFigures `json:"reply_latency"` // update pushed → tagged reply delivered
	// The same, split: groups are paced at 20 messages a minute, so their
	// replies queue long before private ones do.
	LatencyPrivate LatencyFigures `json:"reply_latency_private"`
	LatencyGroup   LatencyFigures `json:"reply_latency_group"`
	Sending        SendFigures    `json:"sending"`
	Bot            BotFigures     `json:"bot"`
	Checks         Invariants     `json:"invariants"`
	Ramp           []RampStep     `json:"ramp,omitempty"`
	Spike          *SpikeFigures  `json:"spike,omitempty"`
	Flood          *FloodFigures  `json:"flood,omitempty"`
	Calls          map[string]int `json:"calls_by_method"` // as the emulator answered them
	Series         []Second       `json:"series"`
	Kills          []float64      `json:"kills_at,omitempty"` // seconds since the load started
	Problems       []string       `json:"problems,omitempty"` // the broken invariants, with examples
	OK             bool           `json:"ok"`

	WorkDir string `json:"work_dir,omitempty"` // kept when the run failed or -keep
	// KeptSchema is the PostgreSQL database (-db) with the run's schema,
	// password redacted, when it is kept (a failed run, or -keep).
	KeptSchema string `json:"kept_schema,omitempty"`
}

// Limits are messages per second overall and per private chat, per minute
// per group.
type Limits struct {
	GlobalPerSecond  float64 `json:"global_per_second"`
	PrivatePerSecond float64 `json:"private_per_second"`
	GroupPerMinute   float64 `json:"group_per_minute"`
	Burst            int     `json:"burst,omitempty"`
}

// EmuSettings is the emulator's configuration, for the record.
type EmuSettings struct {
	Limits            Limits  `json:"limits"`
	ErrorRate         float64 `json:"error_rate"`
	PhantomRate       float64 `json:"phantom_rate"`
	DropRate          float64 `json:"drop_rate"`
	LatencyMinMs      float64 `json:"latency_min_ms"`
	LatencyMaxMs      float64 `json:"latency_max_ms"`
	ForbiddenFraction float64 `json:"forbidden_fraction"`
	ForbiddenUsers    int     `json:"forbidden_users"` // of the simulated ones
	Migrations        int     `json:"migrations"`
}

// UpdateFigures count updates.
type UpdateFigures struct {
	Pushed        int     `json:"pushed"`
	Handled       int     `json:"handled"`
	Failed        int     `json:"failed"` // handled with an error (the user got an apology)
	PerSecond     float64 `json:"handled_per_second"`
	PeakPerSecond int     `json:"peak_handled_per_second"`
}

// LatencyFigures summarise push-to-reply times of tagged updates.
type LatencyFigures struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func latencyFigures(sorted []time.Duration) LatencyFigures {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if len(sorted) == 0 {
		return LatencyFigures{}
	}
	return LatencyFigures{Count: len(sorted), P50Ms: ms(percentile(sorted, .5)), P95Ms: ms(percentile(sorted, .95)),
		P99Ms: ms(percentile(sorted, .99)), MaxMs: ms(sorted[len(sorted)-1])}
}

// SendFigures are the bot's outgoing traffic, from the emulator's record
// and the bot's ledger.
type SendFigures struct {
	Messages        int     `json:"messages"` // delivered sending calls (phantoms included)
	PerSecond       float64 `json:"per_second"`
	PeakPerSecond   int     `json:"peak_per_second"`
	GlobalLimit     float64 `json:"global_limit"`
	TooManyGiven    int     `json:"too_many_requests_given"`    // by the emulator
	TooManyReceived int     `json:"too_many_requests_received"` // in the ledger
	Attempts        int     `json:"attempts"`                   // ledger rows
	Retries         int     `json:"retries"`                    // attempts after a row's first
	Ambiguous       int     `json:"ambiguous"`                  // attempts that may have been delivered without a response
	DeadLetters     int     `json:"dead_letters"`
	Dropped         int     `json:"dropped"` // rows not sent on purpose (chat blocked or left)
	InjectedFaults  int     `json:"injected_faults"`
	Reminders       int     `json:"reminders"` // reminder messages delivered
}

// BotFigures are about the process.
type BotFigures struct {
	Starts   int      `json:"starts"`
	Kills    int      `json:"sigkills"`
	Crashes  []string `json:"crashes,omitempty"` // exits nobody asked for
	ExitCode int      `json:"final_exit_code"`   // of the graceful stop at the end
	// Webhooks counts the replicas' proxy's answers to the emulator's
	// webhook calls by status (502: the replica chosen was down).
	Webhooks map[int]int `json:"webhook_answers,omitempty"`
}

// Invariants are the promises checked; all must be zero (duplicates: not
// above the ambiguity rule's allowance) for the run to pass.
type Invariants struct {
	UpdatesLost         int `json:"updates_lost"`          // pushed, never handled
	UpdatesHandledTwice int `json:"updates_handled_twice"` // a tagged update's reply enqueued more than once
	RepliesExpected     int `json:"replies_expected"`
	RepliesDelivered    int `json:"replies_delivered"`
	RepliesDropped      int `json:"replies_dropped"`               // rightly: the user had blocked the bot, or it was removed
	RepliesBudgeted     int `json:"replies_unanswered_by_budget"`  // tagged commands a flood budget left unanswered
	Unanswered          int `json:"commands_unanswered_by_budget"` // all commands a flood budget left unanswered
	RepliesLost         int `json:"replies_lost"`
	RepliesDuplicated   int `json:"replies_duplicated"`    // extra deliveries
	AmbiguousAttempts   int `json:"ambiguous_attempts"`    // the rule's allowance
	DuplicatesBeyond    int `json:"duplicates_beyond"`     // duplicates of rows without as many ambiguous attempts
	OrderViolations     int `json:"order_violations"`      // a reply after a later update's reply, in its chat
	EmuDuplicates       int `json:"emulator_duplicates"`   // bottest's own SeqTag check
	EmuOrderViolations  int `json:"emulator_violations"`   // bottest's own SeqTag check
	StuckRows           int `json:"stuck_rows"`            // outbox rows still pending at the end
	BulkExpected        int `json:"bulk_expected"`         // spike messages
	BulkLost            int `json:"bulk_lost"`             // spike messages neither delivered nor rightly dropped
	BulkOrderViolations int `json:"bulk_order_violations"` // within their lane, per chat
}

// RampStep is one rate of a ramp.
type RampStep struct {
	Rate          float64 `json:"rate"` // updates/s asked
	Pushed        float64 `json:"pushed_per_second"`
	SentPerSecond float64 `json:"sent_per_second"`
	P50Ms         float64 `json:"p50_ms"`
	P95Ms         float64 `json:"p95_ms"` // private chats: the judged figure
	GroupP95Ms    float64 `json:"group_p95_ms"`
	TooMany       int     `json:"too_many_requests"`
	Pass          bool    `json:"pass"`
}

// SpikeFigures describe the drain of a spike.
type SpikeFigures struct {
	Messages       int            `json:"messages"`
	DrainSecs      float64        `json:"drain_seconds"`     // first to last spike message delivered
	SentPerSecond  float64        `json:"sent_per_second"`   // all messages, during the drain
	PercentOfLimit float64        `json:"percent_of_limit"`  // of the bot's global limit
	TooManyDuring  int            `json:"too_many_requests"` // during the drain
	Interactive    LatencyFigures `json:"interactive"`       // replies to updates pushed during the drain
}

// Second is one second of the run.
type Second struct {
	T            int    `json:"t"` // seconds since the load started
	Pushed       int    `json:"pushed"`
	Handled      int    `json:"handled"`
	Sent         int    `json:"sent"`
	TooMany      int    `json:"too_many"`
	Pending      [3]int `json:"pending"` // by lane: interactive, edit, bulk
	InboxBacklog int    `json:"inbox_backlog"`
}

// Text is the human summary.
func (r *Result) Text() string {
	var b strings.Builder
	status := "PASS"
	if !r.OK {
		status = "FAIL"
	}
	fmt.Fprintf(&b, "rsvpload %s: %s — %d users, %d groups, %.4g updates/s, load %.0fs + drain %.0fs\n",
		r.Mode, status, r.Users, r.Groups, r.Rate, r.LoadSecs, r.DrainSecs)
	intake := "long polling"
	if r.Webhook {
		intake = "webhook"
	}
	if r.Replicas > 0 {
		intake = fmt.Sprintf("webhook, %d replicas behind a round-robin proxy (answers by status %v)", r.Replicas, r.Bot.Webhooks)
	}
	if r.Backend != "" {
		intake += "; database " + r.Backend
	}
	fmt.Fprintf(&b, "bot intake: %s; features probed: %s\n", intake, r.Features)
	e := r.Emulator
	fmt.Fprintf(&b, "emulator: limits %g/s global, %g/s private, %g/min group (burst %d); faults: %.1f%% 5xx, %.1f%% phantom, %.1f%% dropped, latency %g–%g ms; 403 users %d; migrations %d\n",
		e.Limits.GlobalPerSecond, e.Limits.PrivatePerSecond, e.Limits.GroupPerMinute, e.Limits.Burst,
		100*e.ErrorRate, 100*e.PhantomRate, 100*e.DropRate, e.LatencyMinMs, e.LatencyMaxMs, e.ForbiddenUsers, e.Migrations)
	fmt.Fprintf(&b, "bot: %d starts, %d SIGKILLs, final exit %d", r.Bot.Starts, r.Bot.Kills, r.Bot.ExitCode)
	if len(r.Bot.Crashes) > 0 {
		fmt.Fprintf(&b, ", unexpected exits: %s", strings.Join(r.Bot.Crashes, "; "))
	}
	b.WriteString("\n\n")
	u := r.Updates
	fmt.Fprintf(&b, "updates: %d pushed, %d handled (%d failed), %.1f/s (peak %d/s)\n", u.Pushed, u.Handled, u.Failed, u.PerSecond, u.PeakPerSecond)
	l := r.Latency
	fmt.Fprintf(&b, "reply latency (%d tagged): p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms; private p95 %.0f ms, groups p95 %.0f ms\n",
		l.Count, l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs, r.LatencyPrivate.P95Ms, r.LatencyGroup.P95Ms)
	s := r.Sending
	fmt.Fprintf(&b, "sent: %d messages, %.1f/s (peak %d/s) against a limit of %g/s; 429s given %d, received %d\n",
		s.Messages, s.PerSecond, s.PeakPerSecond, s.GlobalLimit, s.TooManyGiven, s.TooManyReceived)
	fmt.Fprintf(&b, "calls: %s\n", joinCounts(r.Calls))
	fmt.Fprintf(&b, "attempts: %d (%d retries, %d ambiguous); dead letters %d; dropped %d; faults injected %d; reminders delivered %d\n",
		s.Attempts, s.Retries, s.Ambiguous, s.DeadLetters, s.Dropped, s.InjectedFaults, s.Reminders)
	if sp := r.Spike; sp != nil {
		fmt.Fprintf(&b, "spike: %d messages drained in %.1fs at %.1f/s = %.1f%% of the limit; 429s during the drain %d; interactive replies meanwhile p50 %.0f ms, p95 %.0f ms, max %.0f ms (%d)\n",
			sp.Messages, sp.DrainSecs, sp.SentPerSecond, sp.PercentOfLimit, sp.TooManyDuring,
			sp.Interactive.P50Ms, sp.Interactive.P95Ms, sp.Interactive.MaxMs, sp.Interactive.Count)
	}
	if f := r.Flood; f != nil {
		fmt.Fprintf(&b, "flood: %d flooders sent %d commands into group %d over %.0fs; the bot sent %d messages there (%d answers to its %d normal members, %d event cards, %d to the flooders)\n",
			f.Flooders, f.Commands, f.Group, f.Seconds, f.SentToGroup, f.Normal.Count, f.Members, f.Cards.Count, f.ToFlooders)
		fmt.Fprintf(&b, "flooded group's normal members: %d of %d answered, reply p50 %.0f ms, p95 %.0f ms, max %.0f ms (target p95 ≤ %s); event cards p95 %.0f ms, max %.0f ms (%d of %d)\n",
			f.Normal.Count, f.NormalAsked, f.Normal.P50Ms, f.Normal.P95Ms, f.Normal.MaxMs, floodNormalP95Target, f.Cards.P95Ms, f.Cards.MaxMs, f.Cards.Count, f.CardsAsked)
		fmt.Fprintf(&b, "other chats meanwhile: groups p95 %.0f ms (%d), private p95 %.0f ms (%d); their commands left unanswered by the budgets: %d (%d tagged)\n",
			r.LatencyGroup.P95Ms, r.LatencyGroup.Count, r.LatencyPrivate.P95Ms, r.LatencyPrivate.Count, f.OthersUnanswered, r.Checks.RepliesBudgeted)
		fmt.Fprintf(&b, "flood budgets left %d commands unanswered: %d of the flooders', %d of the flooded group's members', %d elsewhere\n",
			r.Checks.Unanswered, f.FloodersUnanswered, f.NormalUnanswered, f.OthersUnanswered)
	}
	if len(r.Ramp) > 0 {
		b.WriteString("ramp (reply latency in private chats; groups' p95 for information):\n  rate/s  pushed/s  sent/s   p50 ms   p95 ms  group p95  429s\n")
		for _, st := range r.Ramp {
			mark := ""
			if !st.Pass {
				mark = "  ← pushback"
			}
			fmt.Fprintf(&b, "  %6.1f  %8.1f  %6.1f  %7.0f  %7.0f  %9.0f  %4d%s\n", st.Rate, st.Pushed, st.SentPerSecond, st.P50Ms, st.P95Ms, st.GroupP95Ms, st.TooMany, mark)
		}
	}
	c := r.Checks
	b.WriteString("\ninvariants:\n")
	check := func(name string, v int, ok bool, extra string) {
		m := "ok  "
		if !ok {
			m = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %-34s %d%s\n", m, name, v, extra)
	}
	check("updates lost", c.UpdatesLost, c.UpdatesLost == 0, "")
	check("updates handled twice", c.UpdatesHandledTwice, c.UpdatesHandledTwice == 0, "")
	check("replies lost", c.RepliesLost, c.RepliesLost == 0,
		fmt.Sprintf(" (of %d expected: %d delivered, %d rightly dropped, %d left unanswered by flood budgets)", c.RepliesExpected, c.RepliesDelivered, c.RepliesDropped, c.RepliesBudgeted))
	check("replies duplicated", c.RepliesDuplicated, c.DuplicatesBeyond == 0,
		fmt.Sprintf(" (allowed by the ambiguity rule: %d ambiguous attempts; beyond it: %d)", c.AmbiguousAttempts, c.DuplicatesBeyond))
	check("order violations", c.OrderViolations, c.OrderViolations == 0,
		fmt.Sprintf(" (emulator's own check: %d, duplicates %d)", c.EmuOrderViolations, c.EmuDuplicates))
	check("rows stuck in the outbox", c.StuckRows, c.StuckRows == 0, "")
	if c.BulkExpected > 0 {
		check("spike messages lost", c.BulkLost, c.BulkLost == 0, fmt.Sprintf(" (of %d)", c.BulkExpected))
		check("spike order violations", c.BulkOrderViolations, c.BulkOrderViolations == 0, "")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	if r.WorkDir != "" {
		if r.KeptSchema != "" {
			fmt.Fprintf(&b, "\nbot logs kept in %s, the database in %s\n", r.WorkDir, r.KeptSchema)
		} else {
			fmt.Fprintf(&b, "\ndatabase and bot log kept in %s\n", r.WorkDir)
		}
	}
	return b.String()
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
