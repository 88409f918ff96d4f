-- +goose Up
-- Reminders: one row per (event, offset) with its due time. A row is
-- "pending" while sent_at is NULL; the scheduler claims it, enqueues its
-- messages in the outbox and sets sent_at in one transaction, so it is
-- enqueued exactly once whatever happens to the process. starts_at is the
-- event start the due time was computed from: a row whose starts_at no
-- longer matches the event is stale and is recomputed, never sent.
CREATE TABLE reminders (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    offset_ms   INTEGER NOT NULL CHECK (offset_ms > 0), -- how long before the start
    due_at      INTEGER NOT NULL,                       -- starts_at - offset_ms
    starts_at   INTEGER NOT NULL,                       -- the event start it was computed for
    sent_at     INTEGER,                                -- NULL: pending; else when it was settled
    outcome     TEXT    NOT NULL DEFAULT ''             -- how it was settled
                CHECK (outcome IN ('', 'sent', 'late', 'skipped_started', 'skipped_superseded', 'cancelled', 'failed')),
    recipients  INTEGER NOT NULL DEFAULT 0,             -- people reminded
    attempts    INTEGER NOT NULL DEFAULT 0,             -- failed claims (the error is in last_error)
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (event_id, offset_ms)
);
-- The scheduler's scan: pending rows by due time.
CREATE INDEX reminders_due ON reminders(due_at) WHERE sent_at IS NULL;

-- What the reminder rows of an event were computed from. The scheduler
-- (re)plans every upcoming event whose plan is missing or differs: a new
-- event, a moved start, changed offsets, or a changed default
-- (RSVPBOT_REMINDERS) for events that use it. So reminders follow edits
-- even when the code that edits an event does not call RescheduleReminders.
CREATE TABLE reminder_plans (
    event_id   INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    starts_at  INTEGER NOT NULL,  -- events.starts_at when planned
    spec       TEXT    NOT NULL,  -- events.reminder_offsets when planned ('' = default)
    offsets    TEXT    NOT NULL,  -- the offsets planned, in ms, comma-separated ('' = none)
    planned_at INTEGER NOT NULL
);

-- People who pressed "mute" on a reminder of an event.
CREATE TABLE reminder_mutes (
    event_id   INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
) WITHOUT ROWID;

-- Private reminder messages, so that one the sender had to drop (403:
-- "bot can't initiate conversation", blocked) is followed by a mention in
-- the group. settled = 1 once the outbox row reached a final state and,
-- if it was dropped, the mention was enqueued.
CREATE TABLE reminder_sends (
    reminder_id INTEGER NOT NULL REFERENCES reminders(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    outbox_id   INTEGER NOT NULL,
    settled     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (reminder_id, user_id)
);
CREATE INDEX reminder_sends_open ON reminder_sends(outbox_id) WHERE settled = 0;

-- Recurring series. The series keeps one live occurrence: a real event
-- (events.series_id) with its own card, RSVPs and reminders. When it ends,
-- the scheduler creates the next one from the schedule, read in the
-- series' time zone, so a 19:00 event stays at 19:00 across DST changes.
CREATE TABLE series (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,             -- where occurrences are posted; rewritten by store.MigrateChat
    creator_id       INTEGER NOT NULL,
    schedule         TEXT    NOT NULL,             -- normalised 5-field cron spec, in timezone
    schedule_text    TEXT    NOT NULL,             -- as the organizer typed it
    timezone         TEXT    NOT NULL,             -- IANA name
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    place            TEXT    NOT NULL DEFAULT '',
    capacity         INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    length_ms        INTEGER NOT NULL DEFAULT 0,   -- occurrence length; 0 = store.DefaultEventLength
    reminder_offsets TEXT    NOT NULL DEFAULT '',  -- copied to each occurrence
    lang             TEXT    NOT NULL DEFAULT '',  -- language cards are posted in
    lead_ms          INTEGER NOT NULL DEFAULT 0,   -- create the next occurrence this long before it starts
                                                   -- (never before the current one ends); 0 = when it ends
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stopped')),
    current_event_id INTEGER,                      -- the latest occurrence
    current_slot     INTEGER NOT NULL DEFAULT 0,   -- the schedule time it was created for
    next_at          INTEGER,                      -- when the scheduler looks at the series again
    skip_slot        INTEGER NOT NULL DEFAULT 0,   -- a future slot not to create (skip before it exists)
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    stopped_at       INTEGER
);
CREATE INDEX series_due ON series(next_at) WHERE status = 'active';
CREATE INDEX series_chat ON series(chat_id, status);

-- +goose Down
DROP TABLE series;
DROP TABLE reminder_sends;
DROP TABLE reminder_mutes;
DROP TABLE reminder_plans;
DROP TABLE reminders;
