-- +goose Up
-- The intake's durable buffer. A row is written before Telegram is asked for
-- the next offset (or before a webhook is answered 200), and marked done in
-- the same transaction as the handler's effects. The next getUpdates offset
-- is max(update_id)+1, so housekeeping never deletes the newest row.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL DEFAULT 0,   -- 0 for updates without a chat
    user_id     INTEGER NOT NULL DEFAULT 0,
    kind        TEXT    NOT NULL,             -- message, callback_query, my_chat_member, ...
    payload     BLOB    NOT NULL,             -- the update as Telegram sent it (JSON)
    received_at INTEGER NOT NULL,
    done_at     INTEGER,                      -- NULL while pending
    error       TEXT    NOT NULL DEFAULT ''   -- why the handler failed, if it did
);
-- Serves the dispatcher's "pending, in order" scan and the lag query.
CREATE INDEX inbox_pending ON inbox(update_id) WHERE done_at IS NULL;

-- Step-by-step conversations, one per (chat, user). data is the flow's own
-- JSON; the row is the whole state, so a restart resumes at the same step.
CREATE TABLE conversations (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    flow       TEXT    NOT NULL,              -- which conversation (e.g. event_create)
    step       TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX conversations_expiry ON conversations(expires_at);

-- +goose Down
DROP TABLE conversations;
DROP TABLE inbox;
