package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sign-up questions (migration 00013): an event's one question, and each
// attendee's answer to it. The state of an answer is SignupAsked while the
// question waits for its answer, SignupAnswered once given.
const (
	SignupAsked    = "asked"
	SignupAnswered = "answered"
)

// SignupAnswer is one user's answer to an event's question.
type SignupAnswer struct {
	EventID    int64
	UserID     int64
	State      string // SignupAsked or SignupAnswered
	Answer     string
	AskedAt    time.Time
	AnsweredAt time.Time // zero until answered
}

// SignupQuestion is the event's question, "" if it has none.
func SignupQuestion(ctx context.Context, q Querier, eventID int64) (string, error) {
	var s string
	err := q.QueryRowContext(ctx, `SELECT question FROM event_questions WHERE event_id = ?`, eventID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// SetSignupQuestion sets the event's question; "" removes it. Answers
// already given are kept.
func SetSignupQuestion(ctx context.Context, q Querier, eventID int64, question string, now time.Time) error {
	if question == "" {
		_, err := q.ExecContext(ctx, `DELETE FROM event_questions WHERE event_id = ?`, eventID)
		return err
	}
	_, err := q.ExecContext(ctx, `
INSERT INTO event_questions (event_id, question, updated_at) VALUES (?, ?, ?)
ON CONFLICT(event_id) DO UPDATE SET question = excluded.question, updated_at = excluded.updated_at`,
		eventID, question, Millis(now))
	return err
}

// GetSignupAnswer returns the user's answer row for the event, if any.
func GetSignupAnswer(ctx context.Context, q Querier, eventID, userID int64) (SignupAnswer, bool, error) {
	var a SignupAnswer
	var asked int64
	var answered sql.NullInt64
	err := q.QueryRowContext(ctx, `
SELECT event_id, user_id, state, answer, asked_at, answered_at FROM signup_answers
WHERE event_id = ? AND user_id = ?`, eventID, userID).Scan(&a.EventID, &a.UserID, &a.State, &a.Answer, &asked, &answered)
	if errors.Is(err, sql.ErrNoRows) {
		return SignupAnswer{}, false, nil
	}
	if err != nil {
		return SignupAnswer{}, false, err
	}
	a.AskedAt = FromMillis(asked)
	if answered.Valid {
		a.AnsweredAt = FromMillis(answered.Int64)
	}
	return a, true, nil
}

// MarkSignupAsked records that the question was put to the user; it
// reports false (and changes nothing) if they were asked or answered
// before.
func MarkSignupAsked(ctx context.Context, q Querier, eventID, userID int64, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `
INSERT INTO signup_answers (event_id, user_id, state, asked_at) VALUES (?, ?, 'asked', ?)
ON CONFLICT(event_id, user_id) DO NOTHING`, eventID, userID, Millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SaveSignupAnswer stores (or replaces) the user's answer.
func SaveSignupAnswer(ctx context.Context, q Querier, eventID, userID int64, answer string, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO signup_answers (event_id, user_id, state, answer, asked_at, answered_at) VALUES (?, ?, 'answered', ?, ?, ?)
ON CONFLICT(event_id, user_id) DO UPDATE SET state = 'answered', answer = excluded.answer, answered_at = excluded.answered_at`,
		eventID, userID, answer, Millis(now), Millis(now))
	return err
}

// NextPendingSignup is the oldest question the user was asked and has not
// answered, on an event that is still active, other than exceptEvent.
func NextPendingSignup(ctx context.Context, q Querier, userID, exceptEvent int64) (eventID int64, ok bool, err error) {
	err = q.QueryRowContext(ctx, `
SELECT s.event_id FROM signup_answers s
JOIN events e ON e.id = s.event_id
JOIN event_questions qq ON qq.event_id = s.event_id
WHERE s.user_id = ? AND s.state = 'asked' AND s.event_id <> ? AND e.status = 'active'
ORDER BY s.asked_at, s.event_id LIMIT 1`, userID, exceptEvent).Scan(&eventID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return eventID, err == nil, err
}

// SignupAnswers are the answers given to the event's question, by user
// id (questions asked and not answered are left out). /export and "Who's
// going" read them.
func SignupAnswers(ctx context.Context, q Querier, eventID int64) (map[int64]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT user_id, answer FROM signup_answers WHERE event_id = ? AND state = 'answered'`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}
