package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Series statuses.
const (
	SeriesActive  = "active"
	SeriesStopped = "stopped"
)

// Series is a recurring event: a schedule and the template of its
// occurrences. Each occurrence is a real event (Event.SeriesID).
type Series struct {
	ID        int64
	ChatID    int64 // where occurrences are posted
	CreatorID int64
	// Schedule is a normalised 5-field cron spec read in Timezone;
	// ScheduleText is what the organizer typed.
	Schedule     string
	ScheduleText string
	Timezone     string
	Title        string
	Description  string
	Place        string
	Capacity     int
	Length       time.Duration // 0: DefaultEventLength
	// ReminderOffsets is copied to every occurrence ("" = the default).
	ReminderOffsets string
	Lang            string // language cards are posted in
	// Lead: the next occurrence is created this long before it starts,
	// but never before the current one ends; 0 creates it when the
	// current one ends.
	Lead           time.Duration
	Status         string
	CurrentEventID int64     // the latest occurrence (0 before the first)
	CurrentSlot    time.Time // the schedule time it was created for
	NextAt         time.Time // when the scheduler looks again (zero when stopped)
	SkipSlot       time.Time // a future slot not to create
	CreatedAt      time.Time
	UpdatedAt      time.Time
	StoppedAt      time.Time
}

// Zone is the series' time zone (UTC if unknown).
func (s Series) Zone() *time.Location { return ZoneOr(s.Timezone, time.UTC) }

// OccurrenceLength is how long each occurrence lasts.
func (s Series) OccurrenceLength() time.Duration {
	if s.Length <= 0 {
		return DefaultEventLength
	}
	return s.Length
}

// Active reports whether the series still creates occurrences.
func (s Series) Active() bool { return s.Status == SeriesActive }

const seriesColumns = `id, chat_id, creator_id, schedule, schedule_text, timezone, title, description, place, capacity,
length_ms, reminder_offsets, lang, lead_ms, status, coalesce(current_event_id, 0), current_slot, next_at, skip_slot,
created_at, updated_at, stopped_at`

func scanSeries(s rowScanner) (Series, error) {
	var x Series
	var length, lead, slot, skip, created, updated int64
	var next, stopped sql.NullInt64
	err := s.Scan(&x.ID, &x.ChatID, &x.CreatorID, &x.Schedule, &x.ScheduleText, &x.Timezone, &x.Title, &x.Description,
		&x.Place, &x.Capacity, &length, &x.ReminderOffsets, &x.Lang, &lead, &x.Status, &x.CurrentEventID, &slot, &next,
		&skip, &created, &updated, &stopped)
	if err != nil {
		return Series{}, err
	}
	x.Length, x.Lead = time.Duration(length)*time.Millisecond, time.Duration(lead)*time.Millisecond
	x.CurrentSlot, x.SkipSlot = FromMillis(slot), FromMillis(skip)
	x.NextAt, x.StoppedAt = fromNullMillis(next), fromNullMillis(stopped)
	x.CreatedAt, x.UpdatedAt = FromMillis(created), FromMillis(updated)
	return x, nil
}

// CreateSeries stores a new active series and returns its id. NextAt is
// when the scheduler first looks at it (usually now: it creates the first
// occurrence), unless the caller creates the first occurrence itself and
// records it with SetSeriesOccurrence in the same transaction.
func CreateSeries(ctx context.Context, q Querier, s Series, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `
INSERT INTO series (chat_id, creator_id, schedule, schedule_text, timezone, title, description, place, capacity,
                    length_ms, reminder_offsets, lang, lead_ms, status, next_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)
RETURNING id`,
		s.ChatID, s.CreatorID, s.Schedule, s.ScheduleText, s.Timezone, s.Title, s.Description, s.Place, s.Capacity,
		s.Length.Milliseconds(), s.ReminderOffsets, s.Lang, s.Lead.Milliseconds(), Millis(s.NextAt), Millis(now), Millis(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("creating series: %w", err)
	}
	return id, nil
}

// GetSeries returns the series with id; ok is false if there is none.
func GetSeries(ctx context.Context, q Querier, id int64) (Series, bool, error) {
	s, err := scanSeries(q.QueryRowContext(ctx, `SELECT `+seriesColumns+` FROM series WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Series{}, false, nil
	}
	if err != nil {
		return Series{}, false, fmt.Errorf("reading series %d: %w", id, err)
	}
	return s, true, nil
}

func querySeries(ctx context.Context, q Querier, query string, args ...any) ([]Series, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Series
	for rows.Next() {
		s, err := scanSeries(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DueSeries lists active series whose next_at has come, or whose current
// occurrence was cancelled (the next one need not wait for the cancelled
// one's end), earliest first.
func DueSeries(ctx context.Context, q Querier, now time.Time, limit int) ([]Series, error) {
	return querySeries(ctx, q, `SELECT `+seriesColumns+` FROM series
WHERE status = 'active' AND ((next_at IS NOT NULL AND next_at <= ?)
   OR EXISTS (SELECT 1 FROM events e WHERE e.id = series.current_event_id AND e.status = 'cancelled'))
ORDER BY next_at, id LIMIT ?`, Millis(now), limit)
}

// ChatSeries lists a chat's active series, oldest first.
func ChatSeries(ctx context.Context, q Querier, chatID int64, limit int) ([]Series, error) {
	return querySeries(ctx, q, `SELECT `+seriesColumns+` FROM series
WHERE chat_id = ? AND status = 'active' ORDER BY id LIMIT ?`, chatID, limit)
}

// SetSeriesOccurrence records the occurrence just created for slot and
// when to look at the series again.
func SetSeriesOccurrence(ctx context.Context, q Querier, id, eventID int64, slot, nextAt, now time.Time) error {
	_, err := q.ExecContext(ctx, `
UPDATE series SET current_event_id = ?, current_slot = ?, next_at = ?,
    skip_slot = CASE WHEN skip_slot <= ? THEN 0 ELSE skip_slot END, updated_at = ?
WHERE id = ?`, nullID(eventID), Millis(slot), Millis(nextAt), Millis(slot), Millis(now), id)
	if err != nil {
		return fmt.Errorf("recording occurrence of series %d: %w", id, err)
	}
	return nil
}

// SetSeriesNextAt sets when the scheduler looks at the series again.
func SetSeriesNextAt(ctx context.Context, q Querier, id int64, nextAt, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE series SET next_at = ?, updated_at = ? WHERE id = ? AND status = 'active'`,
		Millis(nextAt), Millis(now), id)
	return err
}

// SetSeriesSkip records a future slot not to create (zero clears it).
func SetSeriesSkip(ctx context.Context, q Querier, id int64, slot, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE series SET skip_slot = ?, updated_at = ? WHERE id = ?`, Millis(slot), Millis(now), id)
	return err
}

// SetSeriesLead sets how long before its start each next occurrence is
// created (0: when the current one ends) and makes the series due now, so
// that the scheduler applies it.
func SetSeriesLead(ctx context.Context, q Querier, id int64, lead time.Duration, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE series SET lead_ms = ?, next_at = ?, updated_at = ? WHERE id = ? AND status = 'active'`,
		lead.Milliseconds(), Millis(now), Millis(now), id)
	return err
}

// SetSeriesReminderOffsets changes the offsets future occurrences get.
func SetSeriesReminderOffsets(ctx context.Context, q Querier, id int64, offsets string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE series SET reminder_offsets = ?, updated_at = ? WHERE id = ?`, offsets, Millis(now), id)
	return err
}

// StopSeries stops an active series: no occurrence is created any more
// (the current one stays). It reports false if it was not active.
func StopSeries(ctx context.Context, q Querier, id int64, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `
UPDATE series SET status = 'stopped', next_at = NULL, stopped_at = ?, updated_at = ? WHERE id = ? AND status = 'active'`,
		Millis(now), Millis(now), id)
	if err != nil {
		return false, fmt.Errorf("stopping series %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
