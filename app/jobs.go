package app

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/recurrence"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// The retention policy: how long rows the bot no longer needs are kept.
const (
	// InboxRetention is how long a handled update stays in the inbox.
	InboxRetention = 7 * 24 * time.Hour
	// ReminderRetention is how long the reminders of an event are kept
	// after it ended.
	ReminderRetention = 90 * 24 * time.Hour
	// DefaultLedgerRetention is how long the outbox ledger keeps each
	// attempt unless configured (RSVPBOT_LEDGER_RETENTION).
	DefaultLedgerRetention = 90 * 24 * time.Hour
)

// JobInfo names a scheduled job and its cron schedule.
type JobInfo struct {
	Name     string
	Schedule string
}

type job struct {
	JobInfo
	run scheduler.Job
}

// Jobs lists the App's scheduled jobs, in the order they were added.
func (a *App) Jobs() []JobInfo {
	out := make([]JobInfo, len(a.jobs))
	for i, j := range a.jobs {
		out[i] = j.JobInfo
	}
	return out
}

// RunJob runs the job called name once, now, and returns what it did.
// Tests with Config.ManualJobs drive the jobs with it.
func (a *App) RunJob(ctx context.Context, name string) (string, error) {
	for _, j := range a.jobs {
		if j.Name == name {
			return j.run(ctx)
		}
	}
	return "", fmt.Errorf("no job %q", name)
}

func (a *App) add(name, schedule string, run scheduler.Job) error {
	// robfig/cron panics on some malformed specs; the guarded parse
	// refuses them here, at New, rather than at Run.
	if _, err := recurrence.ParseSpec(schedule); err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	a.jobs = append(a.jobs, job{JobInfo{name, schedule}, run})
	return nil
}

// addJobs is every periodic job with its policy: the clean-ups, card
// forecasts, reminders (planned, claimed and enqueued every 10 s) and
// recurring series (the next occurrence, every minute).
func (a *App) addJobs() error {
	db, h, now := a.db, a.handlers, a.cfg.Now
	// Each purge deletes in short batches (store.DB.PurgeBatched), so
	// updates go on while it runs.
	purge := func(what string, f func(ctx context.Context, db *store.DB) (int64, error)) scheduler.Job {
		return func(ctx context.Context) (string, error) {
			n, err := f(ctx, db)
			return fmt.Sprintf("purged %d %s", n, what), err
		}
	}
	jobs := []job{
		{JobInfo{"expire-conversations", "@every 1m"}, func(ctx context.Context) (string, error) {
			n, err := h.ExpireConversations(ctx)
			if n == 0 {
				return "", err
			}
			return fmt.Sprintf("expired %d conversation(s)", n), err
		}},
		{JobInfo{"purge-inbox", "@every 1h"}, purge("handled update(s) older than 7 days", func(ctx context.Context, db *store.DB) (int64, error) {
			return store.PurgeInbox(ctx, db, now().Add(-InboxRetention))
		})},
	}
	if keep := a.cfg.LedgerRetention; keep > 0 {
		jobs = append(jobs, job{JobInfo{"purge-ledger", "@every 6h"},
			purge(fmt.Sprintf("ledger row(s) older than %s (RSVPBOT_LEDGER_RETENTION)", keep), func(ctx context.Context, db *store.DB) (int64, error) {
				return outbox.PurgeLedger(ctx, db, now().Add(-keep))
			})})
	}
	jobs = append(jobs,
		// Card forecasts: new events, edited places or times, and
		// forecasts older than handlers.ForecastRefresh, a few lookups a
		// minute.
		job{JobInfo{"card-forecasts", "@every 1m"}, h.RefreshForecasts},
		// The first run also sends what fell due while the bot was down.
		job{JobInfo{"reminders", "@every 10s"}, a.rem.Job()},
		job{JobInfo{"series", "@every 1m"}, a.series.Job()},
		// Date polls whose deadline passed: closed once each.
		job{JobInfo{"poll-deadlines", "@every 1m"}, h.ClosePollsDue},
		job{JobInfo{"purge-reminders", "@every 6h"}, purge("reminder(s) of events that ended over 90 days ago", func(ctx context.Context, db *store.DB) (int64, error) {
			return store.PurgeReminders(ctx, db, now().Add(-ReminderRetention))
		})},
	)
	for _, j := range jobs {
		if err := a.add(j.Name, j.Schedule, j.run); err != nil {
			return err
		}
	}
	return a.addBackupJob() // backup.go
}

// lateHandlers lets the scheduler's reminders and series, which the
// handlers receive, render and post through those handlers once built.
type lateHandlers struct{ h *handlers.App }

var (
	_ scheduler.Renderer         = (*lateHandlers)(nil)
	_ scheduler.OccurrencePoster = (*lateHandlers)(nil)
)

func (l *lateHandlers) RenderReminder(ctx context.Context, q store.Querier, n scheduler.Notice) (string, *models.InlineKeyboardMarkup, error) {
	return l.h.RenderReminder(ctx, q, n)
}

func (l *lateHandlers) PostOccurrence(ctx context.Context, tx *sql.Tx, s store.Series, eventID int64) error {
	return l.h.PostOccurrence(ctx, tx, s, eventID)
}
