-- +goose Up
-- Calendar feeds (/calendar): the secret token in a feed's URL
-- (<RSVPBOT_PUBLIC_URL>/cal/<token>.ics) and whose feed it is. A person's
-- feed (user_id set) lists the events they organise or answered going,
-- maybe or waitlisted; a group's feed (chat_id set) lists that group's
-- events. The token is 22 base62 characters from crypto/rand, never an id:
-- whoever holds the URL may read the feed. /calendar reset replaces the
-- row's token, so the old URL answers 404 like one that never existed.
CREATE TABLE calendar_feeds (
    token      TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL DEFAULT 0,        -- a person's feed; 0 for a group's
    chat_id    INTEGER NOT NULL DEFAULT 0,        -- a group's feed; 0 for a person's; rewritten by store.MigrateChat
    created_by INTEGER NOT NULL,                  -- who asked for this token
    created_at INTEGER NOT NULL,
    CHECK ((user_id = 0) <> (chat_id = 0))
) WITHOUT ROWID;
-- One feed per person and per group.
CREATE UNIQUE INDEX calendar_feeds_owner ON calendar_feeds(user_id, chat_id);
-- Personal feeds: the events someone organises; group feeds: a chat's
-- events, cancelled ones included (events_chat_upcoming has only active).
CREATE INDEX events_creator ON events(creator_id, starts_at);
CREATE INDEX events_chat ON events(chat_id, starts_at);

-- +goose Down
DROP INDEX events_chat;
DROP INDEX events_creator;
DROP TABLE calendar_feeds;
