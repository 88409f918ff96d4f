package store

// Date polls (/poll): the polls, poll_options and poll_votes tables. See
// migration 00011 for the states; the rules of closing (who wins, ties)
// are the handlers'.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Poll states.
const (
	PollOpen   = "open"
	PollTie    = "tie"
	PollClosed = "closed"
)

// Poll is a date poll.
type Poll struct {
	ID          int64
	ChatID      int64
	CreatorID   int64
	Title       string
	Place       string
	Timezone    string
	Lang        string
	Deadline    time.Time // zero: none
	Status      string
	Winner      int // the chosen option, once closed; -1 before
	EventID     int64
	MessageID   int
	Version     int64
	CardVersion int64
	CreatedAt   time.Time
}

// Zone is the poll's time zone (UTC if unknown).
func (p Poll) Zone() *time.Location { return ZoneOr(p.Timezone, time.UTC) }

// PollOption is one candidate start time.
type PollOption struct {
	Idx      int
	StartsAt time.Time
}

// PollVote is one person's vote for one option.
type PollVote struct {
	Idx  int
	User User
}

const pollColumns = `id, chat_id, creator_id, title, place, timezone, lang, coalesce(deadline, 0), status,
coalesce(winner, -1), coalesce(event_id, 0), coalesce(message_id, 0), version, card_version, created_at`

func scanPoll(s rowScanner) (Poll, error) {
	var p Poll
	var deadline, created int64
	err := s.Scan(&p.ID, &p.ChatID, &p.CreatorID, &p.Title, &p.Place, &p.Timezone, &p.Lang, &deadline, &p.Status,
		&p.Winner, &p.EventID, &p.MessageID, &p.Version, &p.CardVersion, &created)
	p.Deadline, p.CreatedAt = FromMillis(deadline), FromMillis(created)
	return p, err
}

// CreatePoll stores a new open poll with its options (in order) and
// returns its id.
func CreatePoll(ctx context.Context, q Querier, p Poll, options []time.Time, now time.Time) (int64, error) {
	var deadline any
	if !p.Deadline.IsZero() {
		deadline = Millis(p.Deadline)
	}
	var id int64
	err := q.QueryRowContext(ctx, `
INSERT INTO polls (chat_id, creator_id, title, place, timezone, lang, deadline, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.ChatID, p.CreatorID, p.Title, p.Place, p.Timezone, p.Lang, deadline, Millis(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("creating poll: %w", err)
	}
	for i, t := range options {
		if _, err := q.ExecContext(ctx, `INSERT INTO poll_options (poll_id, idx, starts_at) VALUES (?, ?, ?)`,
			id, i, Millis(t)); err != nil {
			return 0, fmt.Errorf("creating poll option: %w", err)
		}
	}
	return id, nil
}

// GetPoll reads one poll.
func GetPoll(ctx context.Context, q Querier, id int64) (Poll, bool, error) {
	p, err := scanPoll(q.QueryRowContext(ctx, `SELECT `+pollColumns+` FROM polls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Poll{}, false, nil
	}
	if err != nil {
		return Poll{}, false, fmt.Errorf("reading poll %d: %w", id, err)
	}
	return p, true, nil
}

// PollOptions lists a poll's options in order.
func PollOptions(ctx context.Context, q Querier, pollID int64) ([]PollOption, error) {
	rows, err := q.QueryContext(ctx, `SELECT idx, starts_at FROM poll_options WHERE poll_id = ? ORDER BY idx`, pollID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PollOption
	for rows.Next() {
		var o PollOption
		var ms int64
		if err := rows.Scan(&o.Idx, &ms); err != nil {
			return nil, err
		}
		o.StartsAt = FromMillis(ms)
		out = append(out, o)
	}
	return out, rows.Err()
}

// PollVotes lists a poll's votes, each option's in the order they were
// cast.
func PollVotes(ctx context.Context, q Querier, pollID int64) ([]PollVote, error) {
	rows, err := q.QueryContext(ctx, `
SELECT v.idx, v.user_id, coalesce(u.username, ''), coalesce(u.first_name, ''), coalesce(u.last_name, '')
FROM poll_votes v LEFT JOIN users u ON u.id = v.user_id
WHERE v.poll_id = ? ORDER BY v.idx, v.voted_at, v.user_id`, pollID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PollVote
	for rows.Next() {
		var v PollVote
		if err := rows.Scan(&v.Idx, &v.User.ID, &v.User.Username, &v.User.FirstName, &v.User.LastName); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// TogglePollVote adds the user's vote for option idx of an open poll, or
// removes it if they had voted for it, and bumps the poll's version.
// voted is the vote's new state; ok is false (nothing changed) when the
// poll is not open or has no such option.
func TogglePollVote(ctx context.Context, q Querier, pollID int64, idx int, userID int64, now time.Time) (voted, ok bool, err error) {
	var open int
	if err := q.QueryRowContext(ctx, `
SELECT count(*) FROM polls p JOIN poll_options o ON o.poll_id = p.id
WHERE p.id = ? AND o.idx = ? AND p.status = 'open'`, pollID, idx).Scan(&open); err != nil {
		return false, false, err
	}
	if open == 0 {
		return false, false, nil
	}
	res, err := q.ExecContext(ctx, `DELETE FROM poll_votes WHERE poll_id = ? AND idx = ? AND user_id = ?`, pollID, idx, userID)
	if err != nil {
		return false, false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.ExecContext(ctx, `INSERT INTO poll_votes (poll_id, idx, user_id, voted_at) VALUES (?, ?, ?, ?)`,
			pollID, idx, userID, Millis(now)); err != nil {
			return false, false, err
		}
		voted = true
	}
	_, err = q.ExecContext(ctx, `UPDATE polls SET version = version + 1 WHERE id = ?`, pollID)
	return voted, true, err
}

// SetPollTie moves an open poll to 'tie' (the organizer must pick). It
// reports whether the poll was open.
func SetPollTie(ctx context.Context, q Querier, pollID int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE polls SET status = 'tie', version = version + 1 WHERE id = ? AND status = 'open'`, pollID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClosePoll marks an open or tied poll closed with its winning option and
// event (winner < 0 and eventID 0: closed without one). It reports whether
// it did: false means someone closed it first, and the caller's effects
// must not happen.
func ClosePoll(ctx context.Context, q Querier, pollID int64, winner int, eventID int64) (bool, error) {
	var w, ev any
	if winner >= 0 {
		w = winner
	}
	if eventID > 0 {
		ev = eventID
	}
	res, err := q.ExecContext(ctx, `
UPDATE polls SET status = 'closed', winner = ?, event_id = ?, version = version + 1
WHERE id = ? AND status IN ('open', 'tie')`, w, ev, pollID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetPollMessage records the card's message once sent.
func SetPollMessage(ctx context.Context, q Querier, pollID int64, messageID int) error {
	_, err := q.ExecContext(ctx, `UPDATE polls SET message_id = ? WHERE id = ?`, messageID, pollID)
	return err
}

// SetPollCardVersion records the version the card was rendered from.
func SetPollCardVersion(ctx context.Context, q Querier, pollID, version int64) error {
	_, err := q.ExecContext(ctx, `UPDATE polls SET card_version = ? WHERE id = ?`, version, pollID)
	return err
}

// DuePolls lists open polls whose deadline is at or before now, oldest
// first, at most limit.
func DuePolls(ctx context.Context, q Querier, now time.Time, limit int) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `
SELECT id FROM polls WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= ?
ORDER BY deadline, id LIMIT ?`, Millis(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
