-- +goose Up
-- Date polls (/poll): a title, an optional place, 2–10 candidate start
-- times, and everyone's votes (several options each). A poll is 'open'
-- while people vote, 'tie' when closing found several options with the
-- most votes and the organizer must pick, and 'closed' once its event
-- exists (event_id). The status changes in the transaction that does what
-- closing does (create the event, post its card, tell the voters), so a
-- poll is closed exactly once whatever happens to the process.
CREATE TABLE polls (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    creator_id   INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    place        TEXT    NOT NULL DEFAULT '',
    timezone     TEXT    NOT NULL,
    lang         TEXT    NOT NULL,                  -- the card's language unless the chat chose one
    deadline     INTEGER,                           -- closes by itself then; NULL: only by hand
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'tie', 'closed')),
    winner       INTEGER,                           -- the chosen option's idx once closed
    event_id     INTEGER REFERENCES events(id) ON DELETE SET NULL,
    message_id   INTEGER,                           -- the card; NULL until sent
    version      INTEGER NOT NULL DEFAULT 1,        -- bumped by every change the card shows
    card_version INTEGER NOT NULL DEFAULT 0,        -- the version the card shows or is about to
    created_at   INTEGER NOT NULL
);
-- The deadline job's scan: open polls by deadline.
CREATE INDEX polls_due ON polls(deadline) WHERE status = 'open' AND deadline IS NOT NULL;

CREATE TABLE poll_options (
    poll_id   INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL CHECK (idx >= 0 AND idx < 10),
    starts_at INTEGER NOT NULL,
    PRIMARY KEY (poll_id, idx)
);

CREATE TABLE poll_votes (
    poll_id  INTEGER NOT NULL,
    idx      INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    voted_at INTEGER NOT NULL,
    PRIMARY KEY (poll_id, idx, user_id),
    FOREIGN KEY (poll_id, idx) REFERENCES poll_options(poll_id, idx) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE poll_votes;
DROP TABLE poll_options;
DROP TABLE polls;
