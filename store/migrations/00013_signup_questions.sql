-- +goose Up
-- A sign-up question: one per event, asked privately of whoever answers
-- Going (or joins the waitlist). An event without a row asks nothing.
CREATE TABLE event_questions (
    event_id   INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    question   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per (event, user) asked. state 'asked' is a question sent and
-- not yet answered: the pending state that survives a restart (the private
-- conversation row routes the next message to it); 'answered' holds the
-- answer. Changing the RSVP away from Going keeps the row: the answer is
-- shown again if they come back, and they are not asked twice.
CREATE TABLE signup_answers (
    event_id    INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('asked', 'answered')),
    answer      TEXT    NOT NULL DEFAULT '',
    asked_at    INTEGER NOT NULL,
    answered_at INTEGER,
    PRIMARY KEY (event_id, user_id)
) WITHOUT ROWID;
-- The next question a user still owes, oldest first.
CREATE INDEX signup_answers_pending ON signup_answers(user_id, asked_at) WHERE state = 'asked';

-- +goose Down
DROP INDEX signup_answers_pending;
DROP TABLE signup_answers;
DROP TABLE event_questions;
