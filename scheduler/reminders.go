package scheduler

// Reminders.
//
// Every upcoming event has reminder rows (store.reminders), one per offset
// (RSVPBOT_REMINDERS, or the event's own /remind offsets), each with its
// due time. A tick of Reminders does three things, in this order:
//
//  1. Plan: events whose plan is missing or stale (new events, a moved
//     start, changed offsets, a changed default) get their rows
//     (re)computed. So reminders follow edits even if the code that edits
//     events never calls store.RescheduleReminders. The first tick looks
//     at every upcoming event; later ones only at the events that database
//     triggers queued since (created, moved, offsets or status changed).
//  2. Follow up: a private reminder the sender had to drop (403 "bot
//     can't initiate conversation with a user", blocked) is followed by a
//     mention in the event's group, if the event has not begun. The sender
//     also marked that private chat inactive, so that person's next
//     reminders go to the group mention directly — until they write to
//     the bot privately again, which marks the chat active (handlers'
//     touch) and brings their reminders back to the private chat.
//  3. Send: every due row is claimed in a transaction that re-reads the
//     event, enqueues the messages (outbox Bulk lane) and marks the row
//     settled. Claim and enqueue commit together, so a reminder is
//     enqueued exactly once even if the process dies at that moment; the
//     outbox dedup key (reminder, event start, user) is a second guard.
//
// Decisions at claim time: a cancelled event's reminder is dropped; one
// computed for another start is recomputed, not sent; when several
// reminders of an event are due at once (the bot was down) only the one
// closest to the start goes; one whose event has already begun is skipped
// and logged. A late reminder is worded from the time actually left
// ("starts in 40 minutes"), which the renderer is given.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// DefaultOffsets is RSVPBOT_REMINDERS' default.
var DefaultOffsets = []time.Duration{24 * time.Hour, time.Hour}

// Notice is one reminder message to write: to one person privately, or to
// a group, mentioning the people the bot cannot write to privately.
type Notice struct {
	Event   store.Event
	ChatID  int64 // where it goes
	Private bool
	// People is the addressee of a private notice, or everyone a group
	// notice mentions (going first, then the waitlist in order).
	People []store.Recipient
	// Left is the time actually left until the start when the reminder is
	// enqueued (after downtime it is less than the offset).
	Left time.Duration
	// Offset is the reminder's offset (24h, 1h...).
	Offset time.Duration
	// Undelivered marks a group notice for people whose private reminder
	// could not be delivered.
	Undelivered bool
}

// Renderer writes reminder messages: localized HTML and buttons (a mute
// button, a link to start the bot). handlers implements it; the scheduler
// builds the Bot API call and enqueues it. It runs inside the claiming
// transaction and must not do I/O besides reading q.
type Renderer interface {
	RenderReminder(ctx context.Context, q store.Querier, n Notice) (text string, markup *models.InlineKeyboardMarkup, err error)
}

// ReminderConfig configures Reminders.
type ReminderConfig struct {
	DB     *store.DB
	Render Renderer
	// Defaults are the offsets of events that have none of their own
	// (RSVPBOT_REMINDERS); nil means DefaultOffsets, an empty non-nil
	// slice means none.
	Defaults []time.Duration
	// Now is the clock (default time.Now). Tests advance it.
	Now    func() time.Time
	Logger *slog.Logger
	// Batch is how many reminders one transaction claims (default 200).
	Batch int
	// Grace is how late a reminder may be enqueued and still count as on
	// time (default 2 minutes); later ones are logged as late.
	Grace time.Duration
	// MaxAttempts is how many failed claims a reminder gets before it is
	// settled as failed (default 5).
	MaxAttempts int
	// MentionsPerMessage bounds the people one group reminder mentions
	// (default 30; Telegram notifies a limited number per message).
	MentionsPerMessage int
	// Leader, if set, tells whether this replica holds the leader lease
	// (several replicas on PostgreSQL): every replica sends the due
	// reminders it claims (store.LockDueReminder skips those another one
	// holds), but only the leader plans and follows up.
	Leader func() bool
}

// Reminders plans, claims and enqueues reminders. Its Tick is the
// "reminders" job; it is safe to call concurrently with handlers (every
// write is a transaction) but not with itself (the job runner never
// overlaps runs).
type Reminders struct {
	cfg        ReminderConfig
	log        *slog.Logger
	defaultKey string
	// fullPlanDone: the first tick's pass over every upcoming event is
	// done; later ticks plan from the replan queue.
	fullPlanDone bool
}

// NewReminders makes a Reminders.
func NewReminders(cfg ReminderConfig) *Reminders {
	if cfg.Defaults == nil {
		cfg.Defaults = DefaultOffsets
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MentionsPerMessage <= 0 {
		cfg.MentionsPerMessage = 30
	}
	return &Reminders{cfg: cfg, log: cfg.Logger, defaultKey: store.OffsetsKey(cfg.Defaults)}
}

// OffsetsFor resolves an event's reminder_offsets: "" is the default,
// "off" none, anything else its parsed list (an unreadable value, which
// /remind never stores, falls back to the default).
func OffsetsFor(spec string, defaults []time.Duration) ([]time.Duration, error) {
	if strings.TrimSpace(spec) == "" {
		return defaults, nil
	}
	offs, err := ParseOffsets(spec)
	if err != nil {
		return defaults, fmt.Errorf("reminder offsets %q: %w", spec, err)
	}
	return offs, nil
}

// FormatOffsets writes offsets the way ParseOffsets reads them: "24h,1h",
// "2d,90m", "1h30m"; none is "off".
func FormatOffsets(offsets []time.Duration) string {
	if len(offsets) == 0 {
		return "off"
	}
	parts := make([]string, len(offsets))
	for i, d := range offsets {
		parts[i] = formatOffset(d)
	}
	return strings.Join(parts, ",")
}

func formatOffset(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if d > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%gs", d.Seconds())
	}
	return b.String()
}

// TickResult is what one tick did.
type TickResult struct {
	Planned    int // events whose reminders were (re)computed
	Sent       int // reminders enqueued on time
	Late       int // reminders enqueued late (after downtime), before the start
	Started    int // skipped: due while down, the event had begun
	Superseded int // skipped: a reminder closer to the start was due too
	Cancelled  int // dropped: the event was cancelled
	Failed     int // gave up after MaxAttempts errors
	Errors     int // reminders whose claim failed this tick (retried next tick)
	Messages   int // outbox rows enqueued
	Followups  int // group mentions for undeliverable private reminders
}

func (t TickResult) String() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(t.Planned, "event(s) planned")
	add(t.Sent, "reminder(s) sent")
	add(t.Late, "sent late")
	add(t.Started, "skipped (event begun)")
	add(t.Superseded, "superseded")
	add(t.Cancelled, "dropped (event cancelled)")
	add(t.Failed, "failed")
	add(t.Errors, "error(s)")
	add(t.Messages, "message(s) enqueued")
	add(t.Followups, "group follow-up(s) for undelivered private reminders")
	return strings.Join(parts, ", ")
}

// Job is Tick as a scheduler job; quiet ticks log nothing.
func (r *Reminders) Job() Job {
	return func(ctx context.Context) (string, error) {
		res, err := r.Tick(ctx)
		return res.String(), err
	}
}

// crashHook lets the crash tests kill the process at a precise point:
// "claimed" inside the claiming transaction (after the messages are
// enqueued, before commit) and "committed" just after it.
var crashHook func(stage string)

// Tick plans, follows up and sends everything due at Now().
func (r *Reminders) Tick(ctx context.Context) (TickResult, error) {
	var res TickResult
	now := r.cfg.Now()
	if r.cfg.Leader == nil || r.cfg.Leader() {
		if err := r.plan(ctx, now, &res); err != nil {
			return res, fmt.Errorf("planning reminders: %w", err)
		}
		if err := r.followUp(ctx, now, &res); err != nil {
			return res, fmt.Errorf("following up undelivered reminders: %w", err)
		}
	}
	if err := r.sendDue(ctx, now, &res); err != nil {
		return res, fmt.Errorf("sending due reminders: %w", err)
	}
	return res, nil
}

// offsets resolves an event's offsets, logging an unreadable value.
func (r *Reminders) offsets(ev store.Event) []time.Duration {
	offs, err := OffsetsFor(ev.ReminderOffsets, r.cfg.Defaults)
	if err != nil {
		r.log.Warn("event has unreadable reminder offsets; using the default", "event", ev.ID, "err", err)
	}
	return offs
}

// Plan (re)computes the reminders of one event inside tx, from its current
// start and offsets. Handlers call it after changing an event's offsets.
func (r *Reminders) Plan(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) error {
	ev, ok, err := store.GetEvent(ctx, tx, eventID)
	if err != nil || !ok {
		return err
	}
	if ev.Cancelled() {
		_, err := store.DeleteReminders(ctx, tx, eventID)
		return err
	}
	return store.RescheduleReminders(ctx, tx, ev.ID, ev.StartsAt, r.offsets(ev), now)
}

// plan plans the events that need it: on the first tick, every upcoming
// event is looked at (EventsToPlan: that pass also catches a changed
// default and databases written before the replan queue); after that,
// only the events queued since (TakeReplans), so a tick does not read
// every upcoming event.
func (r *Reminders) plan(ctx context.Context, now time.Time, res *TickResult) error {
	const page = 500
	if !r.fullPlanDone {
		if err := r.planAll(ctx, now, res, page); err != nil {
			return err
		}
		r.fullPlanDone = true
		return nil
	}
	for range 1000 { // a bound, not a limit anyone reaches: 500k events per tick
		var planned, taken int
		err := r.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			cands, n, err := store.TakeReplans(ctx, tx, now, r.defaultKey, page)
			if err != nil {
				return err
			}
			for _, c := range cands {
				if err := r.Plan(ctx, tx, c.EventID, now); err != nil {
					return err
				}
			}
			planned, taken = len(cands), n
			return nil
		})
		if err != nil {
			return err
		}
		res.Planned += planned
		if taken < page {
			return nil
		}
	}
	return nil
}

func (r *Reminders) planAll(ctx context.Context, now time.Time, res *TickResult, page int) error {
	for range 1000 { // a bound, not a limit anyone reaches: 500k events per tick
		cands, err := store.EventsToPlan(ctx, r.cfg.DB.R, now, r.defaultKey, page)
		if err != nil || len(cands) == 0 {
			return err
		}
		err = r.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			for _, c := range cands {
				if err := r.Plan(ctx, tx, c.EventID, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Planned += len(cands)
		if len(cands) < page {
			return nil
		}
	}
	return nil
}

// errSettled aborts the work on a reminder someone else settled first.
var errSettled = errors.New("reminder already settled")

func (r *Reminders) sendDue(ctx context.Context, now time.Time, res *TickResult) error {
	var after int64
	for {
		due, err := store.DueReminders(ctx, r.cfg.DB.R, now, after, r.cfg.Batch)
		if err != nil || len(due) == 0 {
			return err
		}
		after = due[len(due)-1].ID
		var batch TickResult
		err = r.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			batch = TickResult{}
			for _, d := range due {
				if err := r.claim(ctx, tx, d.ID, now, &batch); err != nil && !errors.Is(err, errSettled) {
					return fmt.Errorf("reminder %d: %w", d.ID, err)
				}
			}
			if crashHook != nil {
				crashHook("claimed")
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			// Something in the batch failed: nothing of it committed. Do
			// the batch again one reminder per transaction, so one bad
			// reminder cannot hold the others back.
			r.log.Warn("reminder batch failed; claiming its reminders one by one", "err", err)
			batch = TickResult{}
			for _, d := range due {
				r.claimAlone(ctx, d.ID, now, &batch)
			}
		} else if err != nil {
			return err
		}
		if crashHook != nil {
			crashHook("committed")
		}
		res.add(batch)
		if len(due) < r.cfg.Batch {
			return nil
		}
	}
}

func (t *TickResult) add(o TickResult) {
	t.Planned += o.Planned
	t.Sent += o.Sent
	t.Late += o.Late
	t.Started += o.Started
	t.Superseded += o.Superseded
	t.Cancelled += o.Cancelled
	t.Failed += o.Failed
	t.Errors += o.Errors
	t.Messages += o.Messages
	t.Followups += o.Followups
}

// claimAlone claims one reminder in its own transaction; a failure is
// recorded on the reminder (it stays due, and is settled as failed after
// MaxAttempts) and logged.
func (r *Reminders) claimAlone(ctx context.Context, id int64, now time.Time, res *TickResult) {
	var mine TickResult
	err := r.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		mine = TickResult{}
		return r.claim(ctx, tx, id, now, &mine)
	})
	if err == nil || errors.Is(err, errSettled) {
		res.add(mine)
		return
	}
	if ctx.Err() != nil {
		return
	}
	res.Errors++
	var gaveUp bool
	if ferr := r.cfg.DB.Tx(ctx, func(tx *sql.Tx) (ferr error) {
		gaveUp, ferr = store.RecordReminderFailure(ctx, tx, id, err, r.cfg.MaxAttempts, now)
		return ferr
	}); ferr != nil {
		r.log.Error("cannot record a reminder failure", "reminder", id, "err", ferr)
	}
	if gaveUp {
		res.Failed++
		r.log.Error("reminder failed repeatedly; giving up", "reminder", id, "err", err)
	} else {
		r.log.Warn("reminder failed; retrying at the next tick", "reminder", id, "err", err)
	}
}

// claim decides what to do with one due reminder and does it.
func (r *Reminders) claim(ctx context.Context, tx *sql.Tx, id int64, now time.Time, res *TickResult) error {
	rem, ok, err := store.LockDueReminder(ctx, r.cfg.DB, tx, id)
	if err != nil {
		return err
	}
	if !ok || !rem.Pending() || rem.DueAt.After(now) {
		return errSettled // settled, deleted or moved since it was listed
	}
	settle := func(outcome string, recipients int) error {
		done, err := store.SettleReminder(ctx, tx, rem.ID, outcome, recipients, now)
		if err == nil && !done {
			// Cannot happen (it was pending in this very transaction), but
			// if it did, failing rolls back the messages enqueued above.
			err = fmt.Errorf("reminder %d settled concurrently", rem.ID)
		}
		return err
	}
	ev, ok, err := store.GetEvent(ctx, tx, rem.EventID)
	switch {
	case err != nil:
		return err
	case !ok || ev.Cancelled():
		res.Cancelled++
		return settle(store.ReminderCancelled, 0)
	case !ev.StartsAt.Equal(rem.StartsAt):
		// The event moved and nobody replanned it yet: recompute instead
		// of reminding of the old time.
		res.Planned++
		return store.RescheduleReminders(ctx, tx, ev.ID, ev.StartsAt, r.offsets(ev), now)
	}
	if !now.Before(ev.StartsAt) {
		res.Started++
		r.log.Warn("reminder skipped: it fell due while the bot was down and the event has begun",
			"reminder", rem.ID, "event", ev.ID, "offset", rem.Offset.String(), "due", rem.DueAt, "starts", ev.StartsAt)
		return settle(store.ReminderStarted, 0)
	}
	if later, err := store.LaterReminderDue(ctx, tx, rem, now); err != nil {
		return err
	} else if later {
		res.Superseded++
		return settle(store.ReminderSuperseded, 0)
	}
	people, err := store.ReminderRecipients(ctx, tx, ev.ID)
	if err != nil {
		return err
	}
	n := Notice{Event: ev, Left: ev.StartsAt.Sub(now), Offset: rem.Offset}
	count := 0
	var group []store.Recipient
	for _, p := range people {
		if p.Muted {
			continue
		}
		count++
		if !p.Private {
			group = append(group, p)
			continue
		}
		pn := n
		pn.ChatID, pn.Private, pn.People = p.User.ID, true, []store.Recipient{p}
		oid, err := r.enqueue(ctx, tx, pn, fmt.Sprintf("rem:%d:%d:%d", rem.ID, store.Millis(ev.StartsAt), p.User.ID))
		if err != nil {
			return err
		}
		res.Messages++
		if err := store.AddReminderSend(ctx, tx, rem.ID, p.User.ID, oid, now); err != nil {
			return err
		}
	}
	if len(group) > 0 {
		sent, err := r.mention(ctx, tx, n, group, false, fmt.Sprintf("rem:%d:%d:g", rem.ID, store.Millis(ev.StartsAt)))
		if err != nil {
			return err
		}
		res.Messages += sent
	}
	outcome := store.ReminderSent
	if now.Sub(rem.DueAt) > r.cfg.Grace {
		outcome = store.ReminderLate
		res.Late++
		r.log.Info("reminder sent late (it fell due while the bot was down)", "reminder", rem.ID, "event", ev.ID,
			"offset", rem.Offset.String(), "late_by", now.Sub(rem.DueAt).Round(time.Second).String(),
			"left", n.Left.Round(time.Minute).String())
	} else {
		res.Sent++
	}
	return settle(outcome, count)
}

// mention enqueues group notices for people the bot cannot write to
// privately, in chunks of MentionsPerMessage, and returns how many.
func (r *Reminders) mention(ctx context.Context, tx *sql.Tx, n Notice, people []store.Recipient, undelivered bool, key string) (int, error) {
	chat, ok, err := groupFor(ctx, tx, n.Event)
	if err != nil {
		return 0, err
	}
	if !ok {
		r.log.Info("people without a private chat with the bot cannot be reminded: the event has no active group",
			"event", n.Event.ID, "people", len(people))
		return 0, nil
	}
	sent := 0
	for i := 0; i < len(people); i += r.cfg.MentionsPerMessage {
		gn := n
		gn.ChatID, gn.Private, gn.Undelivered = chat, false, undelivered
		gn.People = people[i:min(i+r.cfg.MentionsPerMessage, len(people))]
		if _, err := r.enqueue(ctx, tx, gn, fmt.Sprintf("%s%d:%d", key, chat, i)); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// groupFor is the group a reminder mentions people in: the event's chat if
// it is an active group, else the first active group its card was shared
// to. ok is false if there is none (an event in a private chat).
func groupFor(ctx context.Context, q store.Querier, ev store.Event) (int64, bool, error) {
	active := func(id int64) (bool, error) {
		c, ok, err := store.GetChat(ctx, q, id)
		return err == nil && (!ok || c.Active), err
	}
	if ev.ChatID < 0 {
		if ok, err := active(ev.ChatID); err != nil || ok {
			return ev.ChatID, ok, err
		}
	}
	cards, err := store.EventCards(ctx, q, ev.ID)
	if err != nil {
		return 0, false, err
	}
	for _, c := range cards {
		if c.ChatID >= 0 || c.ChatID == ev.ChatID {
			continue
		}
		if ok, err := active(c.ChatID); err != nil || ok {
			return c.ChatID, ok, err
		}
	}
	return 0, false, nil
}

// enqueue renders n and queues it on the Bulk lane with dedup key key.
func (r *Reminders) enqueue(ctx context.Context, tx *sql.Tx, n Notice, key string) (int64, error) {
	text, markup, err := r.cfg.Render.RenderReminder(ctx, tx, n)
	if err != nil {
		return 0, fmt.Errorf("rendering reminder of event %d: %w", n.Event.ID, err)
	}
	p := &tg.SendMessageParams{ChatID: n.ChatID, Text: text, ParseMode: models.ParseModeHTML,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
	if markup != nil {
		p.ReplyMarkup = markup
	}
	m := outbox.Message{ChatID: n.ChatID, Method: "sendMessage", Params: p, Lane: outbox.Bulk, DedupKey: key}
	if n.Private {
		m.Ref = reminderRef // its fate decides whether the group is told (followUp)
	}
	return outbox.Enqueue(ctx, tx, m)
}

// reminderRef is the outbox reference of a private reminder message.
const reminderRef = "reminder"

// ReminderFate is the outbox's fate hook for reminders (the app's
// outbox.Config.OnFate calls it; other references are ignored): it
// records what became of a private reminder message, which the next tick
// settles (followUp).
func ReminderFate(ctx context.Context, tx *sql.Tx, f outbox.Fate) error {
	if f.Ref != reminderRef {
		return nil
	}
	return store.RecordReminderSendFate(ctx, tx, f.ID, string(f.State))
}

// followUp settles private reminder messages whose fate the outbox
// reported (ReminderFate) and, for those it dropped (the private chat is inactive: the user never
// started the bot, or blocked it), mentions the people in the group
// instead, if the event is still ahead.
func (r *Reminders) followUp(ctx context.Context, now time.Time, res *TickResult) error {
	open, err := store.OpenReminderSends(ctx, r.cfg.DB.R, 1000)
	if err != nil || len(open) == 0 {
		return err
	}
	return r.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		dropped := map[int64][]store.ReminderSend{} // by reminder
		var order []int64
		for _, s := range open {
			if outbox.State(s.Fate) == outbox.StateDropped {
				if len(dropped[s.ReminderID]) == 0 {
					order = append(order, s.ReminderID)
				}
				dropped[s.ReminderID] = append(dropped[s.ReminderID], s)
				continue
			}
			if _, err := store.SettleReminderSend(ctx, tx, s.ReminderID, s.UserID); err != nil {
				return err
			}
		}
		for _, remID := range order {
			n, err := r.followUpOne(ctx, tx, remID, dropped[remID], now)
			if err != nil {
				return err
			}
			if n > 0 {
				res.Followups++
				res.Messages += n
			}
		}
		return nil
	})
}

func (r *Reminders) followUpOne(ctx context.Context, tx *sql.Tx, remID int64, sends []store.ReminderSend, now time.Time) (int, error) {
	who := map[int64]bool{}
	for _, s := range sends {
		ok, err := store.SettleReminderSend(ctx, tx, s.ReminderID, s.UserID)
		if err != nil {
			return 0, err
		}
		if ok {
			who[s.UserID] = true
		}
	}
	rem, ok, err := store.GetReminder(ctx, tx, remID)
	if err != nil || !ok || len(who) == 0 {
		return 0, err
	}
	ev, ok, err := store.GetEvent(ctx, tx, rem.EventID)
	if err != nil || !ok || ev.Cancelled() || !now.Before(ev.StartsAt) || !ev.StartsAt.Equal(rem.StartsAt) {
		return 0, err
	}
	people, err := store.ReminderRecipients(ctx, tx, ev.ID)
	if err != nil {
		return 0, err
	}
	var group []store.Recipient
	for _, p := range people {
		if who[p.User.ID] && !p.Muted {
			p.Private = false
			group = append(group, p)
		}
	}
	if len(group) == 0 {
		return 0, nil
	}
	r.log.Info("private reminders could not be delivered; mentioning the people in the group instead",
		"reminder", remID, "event", ev.ID, "people", len(group))
	n := Notice{Event: ev, Left: ev.StartsAt.Sub(now), Offset: rem.Offset}
	return r.mention(ctx, tx, n, group, true, fmt.Sprintf("remfb:%d:%d:%d:", rem.ID, store.Millis(ev.StartsAt), sends[0].OutboxID))
}
