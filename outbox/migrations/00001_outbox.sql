-- +goose Up
-- The outbox's own schema (store.Options.Schemas, via outbox.WithSchema;
-- version table goose_outbox). Databases created before the outbox owned
-- its schema got these tables from the store's migration 00003, identical
-- to these: IF NOT EXISTS adopts them as they are.
--
-- Every Bot API call that changes what a user sees is a row here, written in
-- the same transaction as the state change that caused it, and sent later by
-- outbox.Sender. See the outbox package doc for the life of a row.
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,             -- pacing key; moved with its chat when a group migrates (record.go)
    lane            INTEGER NOT NULL CHECK (lane IN (0, 1, 2)), -- 0 interactive, 1 edit, 2 bulk
    method          TEXT    NOT NULL,             -- Bot API method name
    params          TEXT    NOT NULL,             -- Bot API wire JSON
    dedup_key       TEXT    UNIQUE,               -- NULL: no deduplication
    coalesce_key    TEXT,                         -- a newer pending row with the same key replaces this one
    on_sent         TEXT    NOT NULL DEFAULT '',  -- opaque reference for the OnSent hook
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'dead', 'dropped', 'replaced')),
    head            INTEGER NOT NULL DEFAULT 0,   -- 1: first of its (chat_id, lane) line; only heads are claimed
    attempts        INTEGER NOT NULL DEFAULT 0,   -- calls made (one ledger row each)
    failures        INTEGER NOT NULL DEFAULT 0,   -- transient failures since (re)queued; the limit dead-letters
    next_attempt_at INTEGER NOT NULL,             -- not claimed before this (backoff, retry_after)
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    done_at         INTEGER,                      -- when it reached sent, dead, dropped or replaced
    tg_message_id   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT ''
);
-- The sender's scan: the due heads of one lane, oldest due first.
CREATE INDEX IF NOT EXISTS outbox_ready ON outbox(lane, next_attempt_at, id) WHERE head = 1 AND state = 'pending';
-- A chat's lines: "is anything earlier queued in this line", promotion of the
-- next head, dropping a blocked chat's rows, store.MigrateChat.
CREATE INDEX IF NOT EXISTS outbox_line ON outbox(chat_id, lane, state, id);
-- Counts by state (stats, depth warnings), the dead-letter list, recovery of 'sending'.
CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state, lane);
CREATE INDEX IF NOT EXISTS outbox_coalesce ON outbox(coalesce_key) WHERE coalesce_key IS NOT NULL AND state = 'pending';
-- Stats windows and retention.
CREATE INDEX IF NOT EXISTS outbox_done ON outbox(done_at) WHERE done_at IS NOT NULL;

-- One row per call made (append-only), kept for the retention period.
CREATE TABLE IF NOT EXISTS ledger (
    id            INTEGER PRIMARY KEY,
    outbox_id     INTEGER NOT NULL,
    chat_id       INTEGER NOT NULL,               -- the chat the call went to (not migrated)
    method        TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,               -- 1 for the first call of the row
    outcome       TEXT    NOT NULL,               -- ok, not_modified, rate_limited, server_error, network, ambiguous, ...
    http_status   INTEGER NOT NULL DEFAULT 0,     -- 0: no response
    error_code    INTEGER NOT NULL DEFAULT 0,
    description   TEXT    NOT NULL DEFAULT '',
    retry_after   INTEGER NOT NULL DEFAULT 0,     -- seconds
    tg_message_id INTEGER NOT NULL DEFAULT 0,
    latency_ms    INTEGER NOT NULL DEFAULT 0,
    ambiguous     INTEGER NOT NULL DEFAULT 0,     -- 1: may have been delivered without a response
    response      BLOB,                           -- raw response body (truncated)
    created_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_outbox ON ledger(outbox_id);
CREATE INDEX IF NOT EXISTS ledger_created ON ledger(created_at);

-- +goose Down
DROP TABLE ledger;
DROP TABLE outbox;
