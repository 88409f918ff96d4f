package handlers

import (
	"context"
	"database/sql"
	"math"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"
	"golang.org/x/time/rate"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Flood budgets: what one user, and one group, may ask of the bot before
// commands go unanswered. A group can be posted to only 20 times a minute,
// so without them twenty users typing commands as fast as they can queue
// an hour and a half of replies, and the group's own members wait behind
// all of it.
//
//   - Every command a user sends (in any chat), every message in a private
//     chat and every answer to a conversation costs one token of the
//     user's bucket (RSVPBOT_FLOOD_USER; a burst of 30 seconds' worth, so
//     that a step-by-step /event fits). A command sent with an empty
//     bucket is not answered.
//   - In a group, an answered command also costs a token of the group's
//     bucket (RSVPBOT_FLOOD_CHAT; a burst of 10 seconds' worth, at least
//     2). Users whose own bucket is full (nothing asked for a while) need
//     one token. Users who have asked recently need a full bucket and no
//     reply of the group still queued: the group's replies go out at most
//     one every 3 s, so a heavy sender's answer must never stand in front of
//     a quiet member's. Quiet members go first, heavy senders get what is
//     left when the group is idle, and a flood cannot queue replies.
//     Answers to a conversation (the steps of /event) are not charged to
//     the group: a user has one conversation per chat and it goes one
//     question at a time, so it cannot flood, and a member creating an
//     event in a busy group must not lose a step half-way.
//   - A command not answered is still handled: the update is marked done
//     (nothing waits for it, nothing retries it), counted (OnDrop) and
//     logged at debug level.
//   - A user over their own budget is told once, in their language, when
//     to try again; at most once a minute, and again only after they have
//     paused. In a group the notice goes to the user's private chat with
//     the bot if they have started it; otherwise it is a message to the
//     group, sent only when a heavy sender would be answered (a full
//     bucket, nothing queued): twenty flooders cannot flood the group with
//     notices instead.
//   - Button presses are never charged or dropped: they are idempotent and
//     cheap (the callback answer is not paced per chat and card edits
//     coalesce), and an RSVP must never be lost.
//   - Bot admins (RSVPBOT_ADMINS) are exempt.
//
// The buckets are golang.org/x/time/rate limiters driven with the handlers'
// clock (Deps.Now) through the explicit-time API. They live in memory (a
// restart forgets them) and a bucket that has refilled carries no
// information, so idle ones are evicted: memory follows the users and
// groups active in the last minute or so.

// FloodConfig sets the flood budgets. The zero value disables both.
type FloodConfig struct {
	// UserPerMinute is the commands one user may send a minute; 0 disables.
	UserPerMinute float64
	// ChatPerMinute is the commands answered in one group a minute; 0
	// disables.
	ChatPerMinute float64
	// OnDrop, if set, is told about each command left unanswered, with the
	// budget that ran out ("user" or "chat").
	OnDrop func(scope string)
}

const (
	// floodUserBurstWindow: a user's bucket holds this much of their rate
	// (20/min: 10 commands at once).
	floodUserBurstWindow = 30 * time.Second
	// floodChatBurstWindow: a group's bucket holds this much of its rate,
	// at least floodChatMinBurst (20/min: 3). Kept small because every
	// reply beyond it waits 3 s per message already queued in the group;
	// big enough that a few members asking at once are all answered.
	floodChatBurstWindow = 10 * time.Second
	floodChatMinBurst    = 2
	// floodNoticeEvery is the least time between two notices to one user.
	floodNoticeEvery = time.Minute
	// floodSweepEvery is how often refilled buckets are evicted.
	floodSweepEvery = time.Minute
)

// Flood is the bot.Handler that applies the flood budgets in front of the
// App (App.FloodGuard makes it).
type Flood struct {
	app *App
	cfg FloodConfig

	userLimit, chatLimit rate.Limit
	userBurst, chatBurst int

	mu        sync.Mutex
	users     map[int64]*floodUser
	chats     map[int64]*rate.Limiter
	lastSweep time.Time
}

type floodUser struct {
	lim *rate.Limiter
	// noticeUntil: no notice before then (zero: one may be sent).
	noticeUntil time.Time
}

// floodVerdict is what the budgets decided about one update.
type floodVerdict struct {
	ok      bool
	scope   string        // "user" or "chat" when not ok
	wait    time.Duration // until the budget that ran out allows one more
	notify  bool          // tell the user (at most once per window)
	private bool          // in their private chat rather than the group
}

// FloodGuard returns the bot.Handler that applies the flood budgets of cfg
// before handing updates to a. With a zero cfg it is a plain pass-through.
func (a *App) FloodGuard(cfg FloodConfig) *Flood {
	f := &Flood{app: a, cfg: cfg, users: map[int64]*floodUser{}, chats: map[int64]*rate.Limiter{}}
	if cfg.UserPerMinute > 0 {
		f.userLimit = rate.Limit(cfg.UserPerMinute / 60)
		f.userBurst = burstFor(cfg.UserPerMinute, floodUserBurstWindow, 1)
	}
	if cfg.ChatPerMinute > 0 {
		f.chatLimit = rate.Limit(cfg.ChatPerMinute / 60)
		f.chatBurst = burstFor(cfg.ChatPerMinute, floodChatBurstWindow, floodChatMinBurst)
	}
	return f
}

func burstFor(perMinute float64, window time.Duration, least int) int {
	return max(least, int(math.Round(perMinute*window.Minutes())))
}

// Handle implements bot.Handler.
func (f *Flood) Handle(ctx context.Context, u *bot.Update) error {
	ctx = f.app.atInstant(ctx) // the budgets and the handler see one instant
	if f.userLimit == 0 && f.chatLimit == 0 {
		return f.app.Handle(ctx, u)
	}
	charged, conversation := f.charged(ctx, u)
	if !charged {
		return f.app.Handle(ctx, u)
	}
	var group int64
	if u.ChatID < 0 && !conversation {
		group = u.ChatID
	}
	queued := false
	if group != 0 && f.chatLimit > 0 {
		// A reply of this group still waiting to go out. Read before the
		// decision; the dispatcher runs one update per chat at a time, so
		// it cannot change under us but by the sender sending it.
		var err error
		if queued, err = outbox.HasQueued(ctx, f.app.DB.R, group, outbox.Interactive); err != nil {
			return err
		}
	}
	// A user who has started the bot is told privately: that costs the
	// group nothing.
	private := group != 0 && u.UserID > 0
	if private {
		su, ok, err := store.GetUser(ctx, f.app.DB.R, u.UserID)
		private = err == nil && ok && su.Started && !su.Blocked
	}
	v := f.decide(u.UserID, group, f.app.now(ctx), queued, private)
	v.private = v.notify && private
	if v.ok {
		return f.app.Handle(ctx, u)
	}
	return f.drop(ctx, u, v)
}

// Failed implements bot.Handler.
func (f *Flood) Failed(ctx context.Context, tx *sql.Tx, u *bot.Update, cause error) error {
	return f.app.Failed(ctx, tx, u, cause)
}

// charged reports whether u costs a token: a message from a person that
// the bot answers — a command, anything written in a private chat, an
// answer to a conversation in a group (conversation: charged to the user
// only). Button presses, membership changes, edits and group chatter are
// free.
func (f *Flood) charged(ctx context.Context, u *bot.Update) (charged, conversation bool) {
	m := u.Update.Message
	if m == nil || m.From == nil || m.From.IsBot || f.app.IsAdmin(m.From.ID) {
		return false, false
	}
	switch {
	case f.app.router.IsCommand(u):
		return true, false
	case m.Chat.Type == models.ChatTypePrivate:
		return m.Text != "", false
	case m.Text == "":
		return false, false
	}
	_, inConversation, err := store.GetConversation(ctx, f.app.DB.R, u.ChatID, u.UserID)
	return err == nil && inConversation, true
}

// decide takes the tokens u needs, or says which budget ran out. group is
// 0 for a private chat; queued tells whether a reply of the group is still
// waiting to go out.
// reachable tells whether the user can be told privately.
func (f *Flood) decide(user, group int64, now time.Time, queued, reachable bool) floodVerdict {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)

	light := true
	if f.userLimit > 0 {
		us := f.users[user]
		if us == nil {
			us = &floodUser{lim: rate.NewLimiter(f.userLimit, f.userBurst)}
			f.users[user] = us
		}
		// A full bucket: the user has not asked for anything for a while.
		light = us.lim.TokensAt(now) >= float64(f.userBurst)-1e-6
		if light {
			us.noticeUntil = time.Time{} // they paused: a new flood is told again
		}
		if !us.lim.AllowN(now, 1) {
			v := floodVerdict{scope: "user", wait: waitFor(us.lim, now, 1)}
			if !now.Before(us.noticeUntil) && (reachable || f.groupAffords(group, now, queued)) {
				v.notify = true
				us.noticeUntil = now.Add(max(v.wait, floodNoticeEvery))
			}
			return v
		}
	}
	if group != 0 && f.chatLimit > 0 {
		lim := f.chats[group]
		if lim == nil {
			lim = rate.NewLimiter(f.chatLimit, f.chatBurst)
			f.chats[group] = lim
		}
		need := float64(f.chatBurst) // heavy senders get only what nobody needs
		if light {
			need = 1
		} else if queued {
			return floodVerdict{scope: "chat", wait: max(waitFor(lim, now, need), 3*time.Second)}
		}
		if lim.TokensAt(now) < need-1e-6 {
			return floodVerdict{scope: "chat", wait: waitFor(lim, now, need)}
		}
		lim.AllowN(now, 1)
	}
	return floodVerdict{ok: true}
}

// groupAffords takes a group token for a notice if a heavy sender would be
// answered (a full bucket, nothing queued: a notice is the least important
// message to a busy group); it is always true in private chats and without
// a group budget.
func (f *Flood) groupAffords(group int64, now time.Time, queued bool) bool {
	if group == 0 || f.chatLimit == 0 {
		return true
	}
	lim := f.chats[group]
	if lim == nil {
		lim = rate.NewLimiter(f.chatLimit, f.chatBurst)
		f.chats[group] = lim
	}
	if queued || lim.TokensAt(now) < float64(f.chatBurst)-1e-6 {
		return false
	}
	return lim.AllowN(now, 1)
}

// waitFor is how long until lim holds need tokens.
func waitFor(lim *rate.Limiter, now time.Time, need float64) time.Duration {
	t := lim.TokensAt(now)
	if t >= need || lim.Limit() <= 0 {
		return 0
	}
	return time.Duration((need - t) / float64(lim.Limit()) * float64(time.Second))
}

// sweep evicts buckets that have refilled (they are equal to new ones)
// once per floodSweepEvery. Call with f.mu held.
func (f *Flood) sweep(now time.Time) {
	if now.Sub(f.lastSweep) < floodSweepEvery {
		return
	}
	f.lastSweep = now
	for id, us := range f.users {
		if us.lim.TokensAt(now) >= float64(f.userBurst) && !now.Before(us.noticeUntil) {
			delete(f.users, id)
		}
	}
	for id, lim := range f.chats {
		if lim.TokensAt(now) >= float64(f.chatBurst) {
			delete(f.chats, id)
		}
	}
}

// size reports how many buckets are kept (for tests).
func (f *Flood) size() (users, chats int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users), len(f.chats)
}

// drop marks an update over budget done, with the notice if it is due.
func (f *Flood) drop(ctx context.Context, u *bot.Update, v floodVerdict) error {
	f.app.Logger.Debug("flood budget exhausted; command not answered", "update_id", u.ID, "chat_id", u.ChatID,
		"user_id", u.UserID, "budget", v.scope, "retry_in", v.wait.Round(time.Second).String(), "notice", v.notify)
	if f.cfg.OnDrop != nil {
		f.cfg.OnDrop(v.scope)
	}
	if !v.notify {
		return u.Commit(ctx, nil)
	}
	lang := f.app.userLang(ctx, u)
	secs := max(1, int(math.Ceil(v.wait.Seconds())))
	text := f.app.tr(lang, "flood_slow_down", locales.Args{"Count": secs})
	if v.private {
		if c := u.Chat(); c != nil && c.Title != "" {
			text = esc(c.Title) + ": " + text
		}
	}
	return u.Commit(ctx, func(tx *sql.Tx) error {
		to := u.ChatID
		p := htmlMessage(to, text, nil)
		switch m := u.Msg(); {
		case v.private:
			to, p.ChatID = u.UserID, u.UserID
		case m != nil && m.Chat.Type != models.ChatTypePrivate:
			p.ReplyParameters = &models.ReplyParameters{MessageID: m.ID, AllowSendingWithoutReply: true}
		}
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: to, Method: "sendMessage", Params: p, Lane: outbox.Interactive})
		return err
	})
}
