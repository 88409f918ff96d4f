package scheduler

// Recurring series.
//
// A schedule (package recurrence) is evaluated in the series' time zone,
// the chat's, so a 19:00 Europe/Berlin event stays at 19:00 local across
// DST changes.
//
// The series keeps one live occurrence, a real event. Series.Tick creates
// the next one when the current one has ended (or Lead before its start,
// never earlier than that end), posts its card through the OccurrencePoster
// (handlers) and records it, all in one transaction: an occurrence is
// created once even if the process dies at that moment.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/recurrence"
	"github.com/rsvpbot/rsvpbot/store"
)

// OccurrencePoster posts a new occurrence's card; handlers implement it.
// It runs inside the transaction that created the event.
type OccurrencePoster interface {
	PostOccurrence(ctx context.Context, tx *sql.Tx, s store.Series, eventID int64) error
}

// SeriesConfig configures Series.
type SeriesConfig struct {
	DB     *store.DB
	Poster OccurrencePoster
	// Plan, if set, plans the reminders of a new occurrence in its
	// transaction (Reminders.Plan); otherwise the reminders job does it
	// at its next tick.
	Plan   func(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) error
	Now    func() time.Time
	Logger *slog.Logger
}

// Series creates the occurrences of recurring series.
type Series struct {
	cfg SeriesConfig
	log *slog.Logger
}

// NewSeries makes a Series.
func NewSeries(cfg SeriesConfig) *Series {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Series{cfg: cfg, log: cfg.Logger}
}

// SeriesResult is what a tick of Series did.
type SeriesResult struct {
	Created int // occurrences created
	Skipped int // slots skipped (asked for, or the chat is inactive)
	Stopped int // series that will never fire again
	Waiting int // series looked at that have nothing to do yet
}

func (r SeriesResult) String() string {
	var parts []string
	if r.Created > 0 {
		parts = append(parts, fmt.Sprintf("created %d occurrence(s)", r.Created))
	}
	if r.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("skipped %d occurrence(s)", r.Skipped))
	}
	if r.Stopped > 0 {
		parts = append(parts, fmt.Sprintf("stopped %d series that will not fire again", r.Stopped))
	}
	return strings.Join(parts, ", ")
}

// Job is Tick as a scheduler job.
func (s *Series) Job() Job {
	return func(ctx context.Context) (string, error) {
		res, err := s.Tick(ctx)
		return res.String(), err
	}
}

// Tick advances every series that is due.
func (s *Series) Tick(ctx context.Context) (SeriesResult, error) {
	var res SeriesResult
	now := s.cfg.Now()
	due, err := store.DueSeries(ctx, s.cfg.DB.R, now, 500)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, x := range due {
		err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			a, err := s.Advance(ctx, tx, x.ID, now)
			if err == nil {
				res.add(a)
			}
			return err
		})
		if err != nil {
			s.log.Error("series could not be advanced; retrying at the next tick", "series", x.ID, "err", err)
			errs = append(errs, fmt.Errorf("series %d: %w", x.ID, err))
		}
	}
	return res, errors.Join(errs...)
}

func (r *SeriesResult) add(o SeriesResult) {
	r.Created += o.Created
	r.Skipped += o.Skipped
	r.Stopped += o.Stopped
	r.Waiting += o.Waiting
}

// NextSlot is the first slot of x's schedule strictly after t, passing
// over x's skipped slot; zero if the schedule never fires again.
func NextSlot(x store.Series, rec recurrence.Recurrence, t time.Time) time.Time {
	slot := rec.Next(t, x.Zone())
	if !slot.IsZero() && !x.SkipSlot.IsZero() && slot.Equal(x.SkipSlot) {
		slot = rec.Next(slot, x.Zone())
	}
	return slot
}

// UpcomingSlot is the slot the next occurrence to be created will have.
func UpcomingSlot(x store.Series, rec recurrence.Recurrence, now time.Time) time.Time {
	base := now
	if x.CurrentSlot.After(base) {
		base = x.CurrentSlot
	}
	return NextSlot(x, rec, base)
}

// Advance looks at one series inside tx: while its current occurrence is
// ahead or running it only sets when to look again; once it has ended (or
// was cancelled) it creates the next occurrence from the schedule — or,
// with a lead time, waits until Lead before that slot — and posts its card.
// Handlers call it too (creating a series, skipping an occurrence).
func (s *Series) Advance(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (SeriesResult, error) {
	var res SeriesResult
	x, ok, err := store.GetSeries(ctx, tx, id)
	if err != nil || !ok || !x.Active() {
		return res, err
	}
	rec, err := recurrence.ParseStoredRecurrence(x.Schedule)
	if err != nil {
		// Not ours to fix at run time: stop rather than fail every tick.
		s.log.Error("series has an unreadable schedule; stopping it", "series", x.ID, "schedule", x.Schedule, "err", err)
		res.Stopped++
		_, err := store.StopSeries(ctx, tx, x.ID, now)
		return res, err
	}
	if x.CurrentEventID != 0 {
		cur, ok, err := store.GetEvent(ctx, tx, x.CurrentEventID)
		if err != nil {
			return res, err
		}
		if ok && !cur.Cancelled() && now.Before(cur.End()) {
			res.Waiting++
			return res, store.SetSeriesNextAt(ctx, tx, x.ID, cur.End(), now)
		}
	}
	slot := UpcomingSlot(x, rec, now)
	if slot.IsZero() {
		res.Stopped++
		s.log.Info("series will not fire again; stopping it", "series", x.ID, "schedule", x.Schedule)
		_, err := store.StopSeries(ctx, tx, x.ID, now)
		return res, err
	}
	if x.Lead > 0 && slot.Add(-x.Lead).After(now) {
		// The current occurrence is over (or cancelled): forget it, so
		// that a cancelled one does not make the series due every tick.
		res.Waiting++
		return res, store.SetSeriesOccurrence(ctx, tx, x.ID, 0, x.CurrentSlot, slot.Add(-x.Lead), now)
	}
	end := slot.Add(x.OccurrenceLength())
	if chat, ok, err := store.GetChat(ctx, tx, x.ChatID); err != nil {
		return res, err
	} else if ok && !chat.Active {
		res.Skipped++
		s.log.Info("series occurrence skipped: the bot cannot post in the chat", "series", x.ID, "chat", x.ChatID,
			"slot", slot, "reason", chat.InactiveReason)
		return res, store.SetSeriesOccurrence(ctx, tx, x.ID, 0, slot, end, now)
	}
	ev := store.Event{ChatID: x.ChatID, CreatorID: x.CreatorID, Title: x.Title, Description: x.Description, Place: x.Place,
		StartsAt: slot.UTC(), Timezone: x.Timezone, Capacity: x.Capacity, SeriesID: x.ID, ReminderOffsets: x.ReminderOffsets}
	if x.Length > 0 {
		ev.EndsAt = end.UTC()
	}
	eid, err := store.CreateEvent(ctx, tx, ev, now)
	if err != nil {
		return res, err
	}
	if s.cfg.Plan != nil {
		if err := s.cfg.Plan(ctx, tx, eid, now); err != nil {
			return res, err
		}
	}
	if s.cfg.Poster != nil {
		if err := s.cfg.Poster.PostOccurrence(ctx, tx, x, eid); err != nil {
			return res, err
		}
	}
	res.Created++
	s.log.Info("series occurrence created", "series", x.ID, "event", eid, "starts", slot)
	return res, store.SetSeriesOccurrence(ctx, tx, x.ID, eid, slot, end, now)
}
