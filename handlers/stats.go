package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// StatsInfo is what /stats says about the running process.
type StatsInfo struct {
	Version string
	Started time.Time
}

// EnableStats registers /stats, which shows bot admins (RSVPBOT_ADMINS) how
// the bot is doing. Call it once, before the dispatcher starts.
func (a *App) EnableStats(info StatsInfo) {
	a.router.Command("stats", func(ctx context.Context, u *bot.Update) error { return a.stats(ctx, u, info) })
}

// HasCommand reports whether /name is handled. Metrics use it to label
// updates by command without letting arbitrary input create series.
func (a *App) HasCommand(name string) bool { return a.router.HasCommand(name) }

// statsActiveWindow is how recently a user must have been seen to count as
// active.
const statsActiveWindow = 30 * 24 * time.Hour

// stats answers /stats. Anyone who is not a bot admin gets exactly what an
// unknown command gets, so the command's existence does not leak, and the
// attempt is logged. Operational figures are only ever sent privately: in
// a group the admin gets them in their private chat (if they have started
// the bot; otherwise they are asked to) and the group a short notice.
func (a *App) stats(ctx context.Context, u *bot.Update, info StatsInfo) error {
	if !a.IsAdmin(u.UserID) {
		a.Logger.Warn("/stats refused: not a bot admin", "user_id", u.UserID, "chat_id", u.ChatID, "update_id", u.ID)
		return a.unknown(ctx, u)
	}
	lang := a.userLang(ctx, u)
	m := u.Msg()
	group := m != nil && m.Chat.Type != models.ChatTypePrivate
	if group {
		su, ok, err := store.GetUser(ctx, a.DB.R, u.UserID)
		if err != nil {
			return err
		}
		if !ok || !su.Started || su.Blocked {
			return a.commit(ctx, u, func(tx *sql.Tx) error {
				return a.reply(ctx, tx, u, a.tr(lang, "stats_start_privately", locales.Args{"Bot": a.BotUsername}), nil)
			})
		}
	}
	text, err := a.statsText(ctx, lang, info)
	if err != nil {
		return err
	}
	return a.commit(ctx, u, func(tx *sql.Tx) error {
		if !group {
			return a.reply(ctx, tx, u, text, nil)
		}
		if err := a.send(ctx, tx, u.UserID, text, nil); err != nil {
			return err
		}
		return a.reply(ctx, tx, u, a.tr(lang, "stats_sent_privately"), nil)
	})
}

// statsData is everything /stats shows, read in one snapshot.
type statsData struct {
	store.Community
	hour, day       outbox.Queue
	inboxOldest     time.Time
	inboxPending    int
	handledRecently int
	handledWindow   time.Duration
	now             time.Time
}

// readStats reads the figures in one read transaction, so they agree with
// each other.
func (a *App) readStats(ctx context.Context, now time.Time) (d statsData, err error) {
	d.now = now
	tx, err := a.DB.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, err
	}
	defer tx.Rollback()
	if d.Community, err = store.CountCommunity(ctx, tx, now, statsActiveWindow); err != nil {
		return d, fmt.Errorf("stats: %w", err)
	}
	if d.hour, err = outbox.ReadQueue(ctx, tx, now, time.Hour); err != nil {
		return d, fmt.Errorf("stats: outbox: %w", err)
	}
	if d.day, err = outbox.ReadQueue(ctx, tx, now, 24*time.Hour); err != nil {
		return d, fmt.Errorf("stats: outbox: %w", err)
	}
	if d.inboxOldest, d.inboxPending, err = store.InboxLag(ctx, tx); err != nil {
		return d, fmt.Errorf("stats: inbox: %w", err)
	}
	d.handledWindow = 10 * time.Minute
	if d.handledRecently, err = store.UpdatesHandledSince(ctx, tx, now.Add(-d.handledWindow)); err != nil {
		return d, fmt.Errorf("stats: inbox: %w", err)
	}
	return d, nil
}

// statsText renders /stats in lang: HTML, at most about fifteen short
// lines so it fits one phone screen.
func (a *App) statsText(ctx context.Context, lang string, info StatsInfo) (string, error) {
	now := a.now(ctx)
	d, err := a.readStats(ctx, now)
	if err != nil {
		return "", err
	}
	n := func(v int64) string { return a.Catalog.FormatInt(lang, v) }
	dur := func(v time.Duration) string { return a.humanDuration(lang, v) }
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	heading := func(id string) { line("<b>" + a.tr(lang, id) + "</b>") }

	heading("stats_title")
	version := info.Version
	if version == "" {
		version = "?"
	}
	uptime := time.Duration(0)
	if !info.Started.IsZero() {
		uptime = now.Sub(info.Started)
	}
	line(a.tr(lang, "stats_version", locales.Args{"Version": version, "Uptime": dur(uptime)}))

	b.WriteByte('\n')
	heading("stats_section_community")
	line(a.tr(lang, "stats_users", locales.Args{"Total": n(d.Users), "Active": n(d.UsersActive)}))
	line(a.tr(lang, "stats_private_chats", locales.Args{"Active": n(d.PrivateActive), "Blocked": n(d.PrivateBlocked)}))
	line(a.tr(lang, "stats_groups", locales.Args{"Active": n(d.GroupsActive), "Inactive": n(d.GroupsInactive)}))
	line(a.tr(lang, "stats_events", locales.Args{"Upcoming": n(d.EventsUpcoming), "Past": n(d.EventsPast),
		"Cancelled": n(d.EventsCancelled)}))
	line(a.tr(lang, "stats_rsvps", locales.Args{"Total": n(d.RSVPs), "Going": n(d.RSVPsGoing)}))

	b.WriteByte('\n')
	heading("stats_section_delivery")
	q := d.hour
	line(a.tr(lang, "stats_queue", locales.Args{"Pending": n(q.PendingTotal()), "Interactive": n(q.Pending[outbox.Interactive]),
		"Edit": n(q.Pending[outbox.Edit]), "Bulk": n(q.Pending[outbox.Bulk]), "Sending": n(q.SendingTotal()), "Dead": n(q.DeadTotal())}))
	window := func(s outbox.Queue) locales.Args {
		return locales.Args{"Sent": n(s.Sent), "Failed": n(s.Failed), "RateLimited": n(s.RateLimited), "Retries": n(s.Retries)}
	}
	line(a.tr(lang, "stats_window_hour", window(d.hour)))
	line(a.tr(lang, "stats_window_day", window(d.day)))
	if d.hour.Sent > 0 {
		line(a.tr(lang, "stats_latency", locales.Args{"P50": dur(d.hour.LatencyP50), "P95": dur(d.hour.LatencyP95)}))
	} else {
		line(a.tr(lang, "stats_latency_none"))
	}
	perMin := float64(d.handledRecently) / d.handledWindow.Minutes()
	rate := message.NewPrinter(language.Make(a.Catalog.Resolve(lang))).Sprintf("%.1f", perMin)
	// The /stats update itself is not done yet: it does not count as waiting.
	if waiting := d.inboxPending - 1; waiting > 0 {
		line(a.tr(lang, "stats_intake", locales.Args{"Rate": rate, "Pending": n(int64(waiting)),
			"Lag": dur(max(now.Sub(d.inboxOldest), 0))}))
	} else {
		line(a.tr(lang, "stats_intake_idle", locales.Args{"Rate": rate}))
	}

	for _, c := range q.Conditions() {
		switch {
		case !c.Holds:
		case c.Name == outbox.CondPendingDepth:
			line(a.tr(lang, "stats_warn_depth", locales.Args{"Limit": n(c.Threshold)}))
		case c.Name == outbox.CondDeadGrowth:
			line(a.tr(lang, "stats_warn_dead", locales.Args{"Count": n(c.Value)}))
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// humanDuration writes d in the largest unit that reads well: "850 ms",
// "4.2 s", "35 s", "12 min", "3 h 5 min", "2 d 4 h" (units from the
// catalog, decimals in the language's style).
func (a *App) humanDuration(lang string, d time.Duration) string {
	n := func(v int64) string { return a.Catalog.FormatInt(lang, v) }
	switch {
	case d < time.Second:
		return a.Catalog.T(lang, "stats_dur_ms", locales.Args{"N": n(d.Milliseconds())})
	case d < 10*time.Second:
		s := message.NewPrinter(language.Make(a.Catalog.Resolve(lang))).Sprintf("%.1f", d.Seconds())
		return a.Catalog.T(lang, "stats_dur_s", locales.Args{"N": s})
	case d < 90*time.Second:
		return a.Catalog.T(lang, "stats_dur_s", locales.Args{"N": n(int64(d.Round(time.Second) / time.Second))})
	case d < 90*time.Minute:
		return a.Catalog.T(lang, "stats_dur_min", locales.Args{"N": n(int64(d.Round(time.Minute) / time.Minute))})
	case d < 48*time.Hour:
		m := int64(d.Round(time.Minute) / time.Minute)
		return a.Catalog.T(lang, "stats_dur_h", locales.Args{"H": n(m / 60), "M": n(m % 60)})
	}
	h := int64(d.Round(time.Hour) / time.Hour)
	return a.Catalog.T(lang, "stats_dur_d", locales.Args{"D": n(h / 24), "H": n(h % 24)})
}
